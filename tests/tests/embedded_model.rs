//! End to end through the public API only: audio → log-Mel frames → windows → probabilities, with
//! the embedded default model, the way the plugin and `instrunet analyze` will use it.

use instrunet_model::{Classifier, MelFrontend, frames_to_window};

#[test]
fn audio_to_probabilities_with_the_embedded_model() {
    let mut classifier = Classifier::embedded_default();
    let spec = classifier.spec().clone();
    let mel = &spec.mel;
    let audio: Vec<f32> = (0..mel.window_samples())
        .map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / mel.sample_rate as f32).sin() * 0.5)
        .collect();
    let mut fe = MelFrontend::new(mel);
    let frames = fe.spectrogram(&audio);
    assert_eq!(frames.len(), mel.window_len());
    let mut window = vec![0.0; mel.window_len()];
    frames_to_window(&frames, mel.n_mels, &mut window).unwrap();
    let mut probs = vec![f32::NAN; classifier.n_classes()];
    classifier.predict(&window, &mut probs).unwrap();
    assert!(
        probs
            .iter()
            .all(|p| p.is_finite() && (0.0..=1.0).contains(p))
    );
    // A batch of identical windows gives identical rows, on one thread or two.
    classifier.set_threads(2);
    let batch: Vec<f32> = window
        .iter()
        .cycle()
        .take(3 * window.len())
        .copied()
        .collect();
    let out = classifier.predict_batch(&batch, 3).unwrap();
    for row in out.chunks_exact(classifier.n_classes()) {
        assert_eq!(row, &probs[..]);
    }
}
