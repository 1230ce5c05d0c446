//! The real-time promises: computing a Mel frame and classifying a window on the CPU allocate
//! nothing once the front end, the classifier and their scratch space exist. A counting global
//! allocator watches every allocation made by this test binary's threads.

use instrunet_model::{Classifier, MelFrontend};

mod common;
use common::allocations;

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

#[test]
fn a_mel_frame_and_a_window_allocate_nothing() {
    let mut classifier = Classifier::embedded_default();
    let spec = classifier.spec().clone();
    let mut fe = MelFrontend::new(&spec.mel);
    let frame: Vec<f32> = (0..spec.mel.n_fft)
        .map(|i| (i as f32 * 0.1).sin())
        .collect();
    let mut mel = vec![0.0; spec.mel.n_mels];
    let window: Vec<f32> = (0..spec.mel.window_len())
        .map(|i| -60.0 + (i % 40) as f32)
        .collect();
    let mut probs = vec![0.0; spec.n_classes()];
    // Warm up: thread-local workspaces (gemm's) and feature detection are set up on first use.
    fe.process_frame(&frame, &mut mel).unwrap();
    classifier.predict(&window, &mut probs).unwrap();

    let n = allocations(|| {
        for _ in 0..10 {
            fe.process_frame(&frame, &mut mel).unwrap();
        }
    });
    assert_eq!(n, 0, "MelFrontend::process_frame allocated");
    let n = allocations(|| {
        for _ in 0..3 {
            classifier.predict(&window, &mut probs).unwrap();
        }
    });
    assert_eq!(n, 0, "Classifier::predict allocated");
    // The counter works: a Vec allocates.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 100]))) > 0);
}
