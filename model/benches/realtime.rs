//! The plugin's real-time costs: the audio thread's work per 512-frame stereo block (downmix and
//! hand-off; target ≤ 2 µs), and the worker's CPU time per second of 48 kHz audio at the default
//! 250 ms hop (resampling, Mel frames, four classifications; target ≤ 2 % of a core, 20 ms).
//! The worker runs the embedded model, or the weights file `INSTRUNET_BENCH_WEIGHTS` names (to
//! measure a wider or deeper network before it ships).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use instrunet_model::realtime::{ChannelMode, Shared, audio};
use instrunet_model::{Classifier, StreamAnalyzer};

fn bench(c: &mut Criterion) {
    let frames = 512;
    let left: Vec<f32> = (0..frames).map(|i| (i as f32 * 0.01).sin()).collect();
    let right: Vec<f32> = (0..frames).map(|i| (i as f32 * 0.013).cos()).collect();
    let (mut side, blocks, pool) = audio::detached(64, Arc::new(Shared::new()));
    c.bench_function("audio thread: 512-frame stereo block", |b| {
        b.iter(|| {
            side.push(black_box(&[&left, &right]), frames, ChannelMode::Mix);
            // The worker's part, returning the block to the pool (a few ns, included).
            if let Ok(block) = blocks.try_recv() {
                let _ = pool.try_send(block);
            }
        })
    });

    let rate = 48_000u32;
    let second: Vec<f32> = (0..rate)
        .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.1 * (i as f32 * 0.31).sin())
        .collect();
    let classifier = match std::env::var_os("INSTRUNET_BENCH_WEIGHTS") {
        Some(path) => Classifier::from_file(&path)
            .unwrap_or_else(|e| panic!("INSTRUNET_BENCH_WEIGHTS={}: {e}", path.to_string_lossy())),
        None => Classifier::embedded_default(),
    };
    let mut analyzer = StreamAnalyzer::new(classifier, rate, 0.25).unwrap();
    // Fill the first window so that every second analyses four times.
    for _ in 0..3 {
        analyzer.push(&second, &mut |_, _| {}).unwrap();
    }
    c.bench_function("worker: one second of 48 kHz audio, 250 ms hop", |b| {
        b.iter(|| {
            for chunk in second.chunks(512) {
                analyzer
                    .push(black_box(chunk), &mut |_, p| {
                        black_box(p);
                    })
                    .unwrap();
            }
        })
    });
}

criterion_group! {
    name = benches;
    // No plots: plotters' text backend here has no font registered (criterion's plots crash).
    config = Criterion::default().without_plots();
    targets = bench
}
criterion_main!(benches);
