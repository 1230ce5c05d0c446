//! The shipped default weights on songs they have never seen: a small set composed and rendered
//! with a fixed seed (not one of the training seeds), scored against a conservative floor — far
//! below what the model card reports, so that only a broken model or a broken pipeline fails.

use instrunet_model::Weights;
use instrunet_training::data::dataset::{LoadOptions, load};
use instrunet_training::eval::metrics::{Metrics, evaluate};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::synth::compose::{compose, song_seed};
use instrunet_training::synth::fonts::Font;
use instrunet_training::synth::render::render_track;

/// Floors for the embedded model on this set (the model card's figures are far higher).
const MIN_MAP: f64 = 0.40;
const MIN_WEIGHTED_F1: f64 = 0.45;

#[test]
fn the_embedded_model_recognises_instruments_in_new_songs() {
    // The same songs written at the model's rate (synthesised at 44.1 kHz and resampled by the
    // renderer, as the training data is) and at 48 kHz (resampled by the reader, as a host's
    // audio is by the plugin): two resampling paths, both must clear the floor.
    let fonts: Vec<Font> = instrunet_training::synth::fonts::installed_training_soundfonts()
        .expect("the test command installs the training SoundFonts")
        .iter()
        .map(|p| Font::load(p).unwrap())
        .collect();
    let weights = Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS).unwrap();
    for rate in [16_000, 48_000] {
        let m = metrics_at(rate, &fonts, &weights);
        println!(
            "rendered at {rate} Hz:\n{}",
            Metrics::markdown_summary(&[("embedded", &m)])
        );
        assert!(
            m.map >= MIN_MAP,
            "{rate} Hz: mAP {:.3} below the floor {MIN_MAP}",
            m.map
        );
        assert!(
            m.weighted.f1 >= MIN_WEIGHTED_F1,
            "{rate} Hz: weighted F1 {:.3} below the floor {MIN_WEIGHTED_F1}",
            m.weighted.f1
        );
    }
}

/// The model's metrics on eight new songs rendered at `rate` with `fonts`.
fn metrics_at(rate: u32, fonts: &[Font], weights: &Weights) -> Metrics {
    let root =
        std::env::temp_dir().join(format!("instrunet-shipped-{}-{rate}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..8u64 {
        let song = compose(song_seed(777_001, i));
        render_track(
            &song.to_midi(),
            &format!("composer:floor:{i}"),
            fonts,
            rate,
            1000 + i,
            false,
            &data,
            &format!("Track{:05}", i + 1),
        )
        .unwrap();
    }
    let (sets, _) = load(
        &data,
        &root.join("cache"),
        &weights.spec,
        &LoadOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    let mut all = sets[0].clone();
    for s in &sets[1..] {
        all.append(s.clone());
    }
    assert!(all.len() > 150, "{} windows", all.len());
    let probs = predict_with(weights, &all, 2).unwrap();
    std::fs::remove_dir_all(&root).ok();
    evaluate(
        &probs,
        &all.labels,
        &weights.spec.classes,
        &weights.spec.thresholds,
    )
}
