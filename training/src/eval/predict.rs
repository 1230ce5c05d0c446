//! Running InstruNET weights over a set of windows (the inference kernels the plugin runs), and
//! scoring them at their own thresholds.

use instrunet_model::{Classifier, Device, Weights};

use crate::data::dataset::WindowSet;
use crate::eval::metrics::{Metrics, evaluate};

/// Probabilities of InstruNET weights on a set.
pub fn predict_with(
    weights: &Weights,
    set: &WindowSet,
    threads: usize,
) -> anyhow::Result<Vec<f32>> {
    let mut classifier = Classifier::new(weights, &Device::Cpu)?;
    classifier.set_threads(threads);
    let mut out = Vec::with_capacity(set.len() * weights.spec.n_classes());
    for start in (0..set.len()).step_by(64) {
        let n = (set.len() - start).min(64);
        out.extend(classifier.predict_batch(&set.windows_f32(start, n), n)?);
    }
    Ok(out)
}

/// Evaluates InstruNET weights on a set at their own thresholds.
pub fn evaluate_weights(
    weights: &Weights,
    set: &WindowSet,
    threads: usize,
) -> anyhow::Result<Metrics> {
    let probs = predict_with(weights, set, threads)?;
    Ok(evaluate(
        &probs,
        &set.labels,
        &weights.spec.classes,
        &weights.spec.thresholds,
    ))
}
