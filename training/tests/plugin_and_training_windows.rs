//! The plugin and training see the same windows. The plugin streams host audio (here 48 kHz, in
//! 512-sample blocks) through `StreamAnalyzer` (its own resampler, a frame per hop, a ring of
//! frames); training resamples whole clips (`ClipResampler`) and cuts windows from one
//! spectrogram (`label_windows`). For a rendered song, every plugin analysis must have a training
//! window ending at the same sample, and the model must say the same of both.

use instrunet_model::{Classifier, StreamAnalyzer};
use instrunet_training::data::audio::{MonoAudio, read_mono};
use instrunet_training::data::resample::ClipResampler;
use instrunet_training::data::windows::{WindowSettings, label_windows};
use instrunet_training::synth::compose::{compose, song_seed};
use instrunet_training::synth::fonts::{FLUID_R3_GM, Font};
use instrunet_training::synth::render::render_track;

#[test]
fn the_streaming_path_at_48k_and_the_clip_path_give_the_same_windows() {
    compare(48_000);
}

#[test]
fn the_streaming_path_at_16k_and_the_clip_path_give_the_same_windows() {
    compare(16_000);
}

fn compare(rate: u32) {
    // A folder per rate: the two tests run at the same time.
    let dir = std::env::temp_dir().join(format!("instrunet-windows-{}-{rate}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let font = Font::load(std::path::Path::new(FLUID_R3_GM)).expect("fluid-soundfont-gm");
    let song = compose(song_seed(31_337, 0));
    render_track(
        &song.to_midi(),
        "test",
        &[font],
        rate,
        3,
        false,
        &dir,
        "Track",
    )
    .unwrap();
    let mix = read_mono(&dir.join("Track").join("mix.wav")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let seconds = 24.0f64.min(mix.seconds());
    let mix = MonoAudio {
        samples: mix.samples[..(seconds * rate as f64) as usize].to_vec(),
        sample_rate: rate,
    };

    let mut classifier = Classifier::embedded_default();
    let spec = classifier.spec().clone();
    let mel = &spec.mel;
    let stride = 64;

    // Training: the clip at the model's rate, windows every `stride` frames.
    let at_model_rate = ClipResampler::new(rate, mel.sample_rate)
        .unwrap()
        .process(&mix)
        .unwrap();
    let settings = WindowSettings {
        stride_frames: stride,
        ..WindowSettings::default()
    };
    let windows = label_windows(&at_model_rate.samples, &[], &spec, &settings).unwrap();
    let n_classes = spec.n_classes();
    let mut probs = vec![0.0; n_classes];
    let training: Vec<(f64, Vec<f32>)> = (0..windows.len())
        .map(|k| {
            let w = &windows.windows[k * mel.window_len()..(k + 1) * mel.window_len()];
            classifier.predict(w, &mut probs).unwrap();
            let end = windows.start_samples[k] + mel.window_samples();
            (end as f64 / mel.sample_rate as f64, probs.clone())
        })
        .collect();

    // Plugin: the same audio streamed in host blocks, an analysis every `stride` frames.
    let hop_seconds = (stride * mel.hop_length) as f32 / mel.sample_rate as f32;
    let mut analyzer = StreamAnalyzer::new(classifier, rate, hop_seconds).unwrap();
    let mut streamed: Vec<(f64, Vec<f32>)> = Vec::new();
    for block in mix.samples.chunks(512) {
        analyzer
            .push(block, &mut |t, p| streamed.push((t, p.to_vec())))
            .unwrap();
    }

    assert!(streamed.len() >= 15, "{} analyses", streamed.len());
    let sample = 1.0 / mel.sample_rate as f64;
    let (mut worst, mut sum, mut n) = (0.0f32, 0.0f64, 0usize);
    for (t, p) in &streamed {
        let (_, q) = training
            .iter()
            .find(|(end, _)| (end - t).abs() < sample)
            .unwrap_or_else(|| panic!("no training window ends at the plugin's {t:.5} s"));
        if std::env::var_os("DBG").is_some() {
            println!("{t:.4}\n  s {:?}\n  t {:?}", &p[..6], &q[..6]);
        }
        for (a, b) in p.iter().zip(q) {
            worst = worst.max((a - b).abs());
            sum += (a - b).abs() as f64;
            n += 1;
        }
    }
    let mean = sum / n as f64;
    println!(
        "{} analyses: probabilities differ by {mean:.5} on average, {worst:.4} at most",
        streamed.len()
    );
    assert!(mean < 0.005 && worst < 0.05, "mean {mean}, worst {worst}");
}
