//! The real-time engine driven directly, as the plugin drives it: the audio side in blocks of any
//! size at any rate, the worker thread behind it, results read from the shared atomics.
//!
//! The classifier here is built by hand so that its behaviour is known: class 0 ("loud") fires
//! when the input is loud, every other class stays low.

use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::Device;
use instrunet_model::realtime::{Analysis, ChannelMode, Engine, Shared};
use instrunet_model::{Classifier, ModelSpec, Provenance, StreamAnalyzer, TensorMap, Weights};

mod common;
use common::allocations;

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

/// A network whose class 0 measures loudness: channel 0 of every layer passes on the centre tap
/// of channel 0 (ReLU of the normalised dB value), the average pool turns that into the mean
/// level above −40 dB, and class 0's logit is `10·level − 5`. Every other logit is −5.
fn loudness_classifier() -> Classifier {
    let spec = ModelSpec::new_default(Provenance::default());
    let mut t = TensorMap::random_init(&spec, 1);
    for (name, (_, values)) in t.0.iter_mut() {
        values.fill(0.0);
        match name.as_str() {
            // [out, in, 3, 3]: out 0, in 0, tap (1, 1) is flat index 4.
            "conv1.weight" | "conv2.weight" | "conv3.weight" => values[4] = 1.0,
            n if n.starts_with("bn") && (n.ends_with(".weight") || n.ends_with("running_var")) => {
                values.fill(1.0)
            }
            "fc1.weight" => values[0] = 1.0,
            "fc2.weight" => values[0] = 10.0,
            "fc2.bias" => values.fill(-5.0),
            _ => {}
        }
    }
    Classifier::new(&Weights::new(spec, t).unwrap(), &Device::Cpu).unwrap()
}

fn noise(rate: u32, seconds: f32, amplitude: f32, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(747_796_405).wrapping_add(1);
    (0..(rate as f32 * seconds) as usize)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            amplitude * (x as f32 / u32::MAX as f32 * 2.0 - 1.0)
        })
        .collect()
}

/// Feeds stereo audio in blocks of `block` frames (both channels the same), no faster than the
/// worker keeps up with, and returns when the worker has seen it all.
fn feed(engine: &mut Engine, shared: &Shared, audio: &[f32], rate: u32, block: usize) {
    let start = shared.stream_seconds();
    let mut sent = 0usize;
    for chunk in audio.chunks(block.max(1)) {
        engine
            .audio()
            .push(&[chunk, chunk], chunk.len(), ChannelMode::Mix);
        sent += chunk.len();
        // Stay within half a second of the worker, as real time would.
        while (sent as f64 / rate as f64) - (shared.stream_seconds() - start) > 0.5 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    // The last partial block stays with the audio side until more audio comes.
    let whole = sent.saturating_sub(audio::BLOCK);
    while shared.stream_seconds() - start < whole as f64 / rate as f64 && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(2));
    }
}

mod audio {
    pub const BLOCK: usize = instrunet_model::realtime::BLOCK_LEN;
}

fn start(rate: u32, hop: f32) -> (Engine, Arc<Shared>) {
    let shared = Arc::new(Shared::new());
    shared.set_hop_seconds(hop);
    let engine = Engine::start(loudness_classifier(), rate, shared.clone()).unwrap();
    (engine, shared)
}

/// The latest analysis of the current stream (all zeros when there is none).
fn latest(shared: &Shared) -> Analysis {
    let mut a = Analysis::default();
    shared.latest(&mut a);
    a
}

#[test]
fn the_meter_rises_within_one_window_and_one_hop_and_silence_stays_low() {
    let rate = 48_000;
    let (mut engine, shared) = start(rate, 0.25);
    feed(&mut engine, &shared, &noise(rate, 4.0, 0.5, 1), rate, 480);
    // When did class 0 first cross 0.5, in stream time?
    let mut first = None;
    let mut scratch = Analysis::default();
    shared.history(1e9, &mut scratch, |a| {
        let p = &a.probabilities[..shared.n_classes()];
        if first.is_none() && p[0] > 0.5 {
            first = Some(a.time);
        }
        assert!(p[1..].iter().all(|&v| v < 0.05), "{p:?}");
        // The gate's decision travels with the probabilities it was made on.
        // (the default model thresholds are 0.5, the hysteresis 0.05).
        assert!(p[0] < 0.5 || a.is_present(0), "{a:?}");
        assert!(!a.is_present(0) || p[0] >= 0.45, "{a:?}");
        assert_eq!(a.present & !1, 0, "{a:?}");
    });
    let first = first.expect("the loud class fired");
    let window = ModelSpec::new_default(Provenance::default())
        .mel
        .window_seconds();
    assert!(
        first <= window + 0.256 + 0.05,
        "first loud analysis at {first:.3} s"
    );
    assert!(latest(&shared).probabilities[0] > 0.99);
    // Silence: after one window, everything is low.
    feed(
        &mut engine,
        &shared,
        &vec![0.0; rate as usize * 3],
        rate,
        480,
    );
    let a = latest(&shared);
    assert!(a.probabilities[0] < 0.01 && a.present == 0, "{a:?}");
    assert_eq!(shared.dropped_blocks(), 0);
    engine.stop();
}

#[test]
fn bad_samples_give_finite_probabilities_and_good_audio_recovers() {
    let rate = 44_100;
    let (mut engine, shared) = start(rate, 0.05);
    let bad: Vec<f32> = (0..rate as usize * 3)
        .map(|i| {
            [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e-42,
                1.0,
                -1.0,
                1e9,
            ][i % 7]
        })
        .collect();
    feed(&mut engine, &shared, &bad, rate, 1024);
    let mut scratch = Analysis::default();
    let mut n = 0;
    shared.history(1e9, &mut scratch, |a| {
        let p = &a.probabilities[..shared.n_classes()];
        n += 1;
        assert!(
            p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
            "{p:?}"
        );
    });
    assert!(n > 0);
    feed(
        &mut engine,
        &shared,
        &vec![0.0; rate as usize * 3],
        rate,
        1024,
    );
    assert!(latest(&shared).probabilities[0] < 0.01);
    feed(&mut engine, &shared, &noise(rate, 3.0, 0.5, 2), rate, 1024);
    assert!(latest(&shared).probabilities[0] > 0.99);
    engine.stop();
}

#[test]
fn a_stalled_worker_drops_counted_blocks_and_nothing_queues_without_bound() {
    let rate = 96_000;
    let (mut engine, shared) = start(rate, 0.25);
    // Ten seconds pushed at once, far faster than real time: the one-second pool runs dry.
    let audio = noise(rate, 10.0, 0.5, 3);
    for chunk in audio.chunks(4096) {
        engine
            .audio()
            .push(&[chunk], chunk.len(), ChannelMode::Left);
    }
    assert!(shared.dropped_blocks() > 0);
    engine.stop();
}

#[test]
fn the_audio_side_allocates_nothing_at_any_rate_and_block_size() {
    for rate in [22_050u32, 44_100, 48_000, 96_000, 192_000] {
        let (mut engine, shared) = start(rate, 0.25);
        let audio = noise(rate, 1.5, 0.3, 4);
        let mut rng = 12345u32;
        for block in [1usize, 31, 64, 512, 4096, 0] {
            let mut i = 0;
            let mut count = 0;
            while i < audio.len() {
                let n = if block == 0 {
                    rng ^= rng << 13;
                    rng ^= rng >> 17;
                    rng ^= rng << 5;
                    1 + (rng % 3000) as usize
                } else {
                    block
                }
                .min(audio.len() - i);
                let chunk = &audio[i..i + n];
                count += allocations(|| engine.audio().push(&[chunk, chunk], n, ChannelMode::Mix));
                i += n;
                // Keep pace with the worker so the pool does not run dry.
                if i % (rate as usize / 4) < n {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            assert_eq!(count, 0, "{rate} Hz, block {block}: {count} allocations");
        }
        let _ = shared;
        engine.stop();
    }
}

#[test]
fn the_worker_allocates_nothing_per_block_once_running() {
    let mut analyzer = StreamAnalyzer::new(loudness_classifier(), 44_100, 0.25).unwrap();
    let audio = noise(44_100, 6.0, 0.3, 5);
    let mut sink = |_: f64, _: &[f32]| {};
    // Warm up (thread-local workspaces), then count.
    analyzer.push(&audio[..44_100 * 3], &mut sink).unwrap();
    let n = allocations(|| {
        for chunk in audio[44_100 * 3..].chunks(512) {
            analyzer.push(chunk, &mut sink).unwrap();
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn activation_a_hundred_times_leaves_no_thread_and_a_new_rate_works() {
    for i in 0..100 {
        let rate = [44_100, 48_000, 8_000, 384_000][i % 4];
        let (mut engine, shared) = start(rate, 0.25);
        let chunk = vec![0.1f32; 700];
        engine
            .audio()
            .push(&[&chunk], chunk.len(), ChannelMode::Left);
        engine.stop();
        // The worker was joined: the shared state has no other owner left.
        assert_eq!(Arc::strong_count(&shared), 1, "activation {i}");
    }
}

#[test]
fn a_reset_reads_zeros_at_once_and_the_analysis_starts_afresh() {
    let rate = 48_000;
    let (mut engine, shared) = start(rate, 0.25);
    feed(&mut engine, &shared, &noise(rate, 4.0, 0.5, 6), rate, 480);
    let before = latest(&shared);
    assert!(
        before.probabilities[0] > 0.99 && before.is_present(0),
        "{before:?}"
    );
    // Loud audio that is still queued when the reset comes must not count.
    let queued = noise(rate, 0.5, 0.5, 7);
    engine
        .audio()
        .push(&[&queued], queued.len(), ChannelMode::Left);
    let n = allocations(|| engine.audio().reset());
    assert_eq!(n, 0, "reset allocated");
    let mut after = Analysis::default();
    assert!(
        !shared.latest(&mut after),
        "the last stream's result right after the reset"
    );
    assert_eq!(after, Analysis::default());
    // The new stream is silence: its first analysis needs a whole window of it, and says quiet
    // (with the old frames still in the ring it would have said loud).
    let analyses_before = shared.analyses();
    // The worker restarts the stream clock at the new stream's first block; wait for that, so
    // that `feed` paces against the new clock.
    let silence = vec![0.0f32; rate as usize * 3];
    engine
        .audio()
        .push(&[&silence[..1024]], 1024, ChannelMode::Left);
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.stream_seconds() > 1.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        shared.stream_seconds() <= 1.0,
        "the stream clock did not restart"
    );
    feed(&mut engine, &shared, &silence[1024..], rate, 480);
    assert!(shared.analyses() > analyses_before);
    let mut scratch = Analysis::default();
    let mut times = Vec::new();
    shared.history(1e9, &mut scratch, |a| {
        times.push(a.time);
        assert!(
            a.probabilities[0] < 0.01 && a.present == 0,
            "loud after the reset at {:.3} s: {a:?}",
            a.time
        );
    });
    let window = ModelSpec::new_default(Provenance::default())
        .mel
        .window_seconds();
    // Only the new stream's analyses show, timed from the reset.
    assert!(
        times
            .first()
            .is_some_and(|&t| t >= window - 0.01 && t < window + 0.3),
        "{times:?}"
    );
    assert!(shared.stream_seconds() < 3.1, "{}", shared.stream_seconds());
    engine.stop();
}

#[test]
fn the_published_gate_follows_the_threshold_settings_at_the_next_analysis() {
    let rate = 48_000;
    let (mut engine, shared) = start(rate, 0.1);
    let loud = noise(rate, 6.0, 0.5, 8);
    let (first, rest) = loud.split_at(rate as usize * 3);
    feed(&mut engine, &shared, first, rate, 512);
    let a = latest(&shared);
    assert!(a.is_present(0) && a.present == 1, "{a:?}");
    // One threshold for all, above any probability: nothing is present, though the loud
    // class's probability is the same.
    shared.set_gate(false, 1.01, 0.0);
    let (second, third) = rest.split_at(rate as usize);
    feed(&mut engine, &shared, second, rate, 512);
    let b = latest(&shared);
    assert!(b.probabilities[0] > 0.9 && b.present == 0, "{b:?}");
    // Every class over a threshold of 0: all present, the decision travelling with the values.
    shared.set_gate(false, 0.0, 0.0);
    feed(&mut engine, &shared, third, rate, 512);
    let c = latest(&shared);
    assert_eq!(c.present, (1u32 << shared.n_classes()) - 1, "{c:?}");
    engine.stop();
}

/// The worker is background work: on Linux it runs at nice 10, below the host's threads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_worker_thread_runs_below_normal_priority() {
    let (mut engine, shared) = start(48_000, 0.25);
    // The worker lowers its priority as it starts: wait for it to have taken a block.
    let chunk = vec![0.0f32; 48_000];
    engine
        .audio()
        .push(&[&chunk], chunk.len(), ChannelMode::Left);
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.stream_seconds() == 0.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let nice_of_workers: Vec<i64> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            if name.trim() != "instrunet-analy" && name.trim() != "instrunet-analysis" {
                return None;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Field 19 (nice), counted after the command name in parentheses.
            stat[stat.rfind(')')? + 2..]
                .split_whitespace()
                .nth(16)?
                .parse()
                .ok()
        })
        .collect();
    engine.stop();
    // Other tests' workers may be starting at this moment (at nice 0 for an instant): this
    // engine's worker, which has taken a block, is at 10.
    assert!(nice_of_workers.contains(&10), "{nice_of_workers:?}");
}
