//! Binary cross-entropy on logits in its numerically stable form.
//!
//! `BCE(z, y) = max(z, 0) − z·y + log(1 + e^(−|z|))`, which is finite for any finite logit.
//! (candle's `binary_cross_entropy_with_logit` takes a sigmoid and then a log, and gives inf/NaN on
//! confident predictions.) An optional per-class positive weight `w` scales the positive term, as
//! PyTorch's `pos_weight`: `w·y·softplus(−z) + (1 − y)·softplus(z)`.

use candle_core::{Result, Tensor};

/// Mean binary cross-entropy of `logits` against `targets` (same shape, values in [0, 1]), with
/// an optional per-class weight for positives, broadcast over the last dimension.
pub fn bce_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
) -> Result<Tensor> {
    // softplus(−z) = log(1 + e^(−z)) = max(−z, 0) + log(1 + e^(−|z|)); softplus(z) = softplus(−z) + z.
    let log1p_exp_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let softplus_neg = (logits.neg()?.relu()? + &log1p_exp_neg_abs)?;
    let softplus_pos = (&softplus_neg + logits)?;
    let positive = match pos_weight {
        Some(w) => (targets.broadcast_mul(w)? * &softplus_neg)?,
        None => (targets * &softplus_neg)?,
    };
    let negative = (targets.affine(-1.0, 1.0)? * softplus_pos)?;
    (positive + negative)?.mean_all()
}

/// Mean binary cross-entropy of probabilities (not logits) against labels, as reported for
/// predictions already made (validation loss); each probability is clamped to [1e-7, 1 − 1e-7]
/// so that a confident wrong answer costs a large but finite amount. Empty input: 0.
pub fn bce_of_probabilities(probabilities: &[f32], labels: &[f32]) -> f64 {
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let (p, y) = ((p as f64).clamp(1e-7, 1.0 - 1e-7), y as f64);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    sum / probabilities.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The loss of one logit by the textbook route (a sigmoid, then the probabilities' BCE): the
    /// two functions of this module check each other.
    fn bce_naive(z: f64, y: f64) -> f64 {
        let p = 1.0 / (1.0 + (-z).exp());
        bce_of_probabilities(&[p as f32], &[y as f32])
    }

    #[test]
    fn matches_the_textbook_formula_and_stays_finite() {
        let dev = Device::Cpu;
        let zs = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
        let ys = [0.0f32, 1.0, 1.0, 0.0, 1.0];
        let z = Tensor::new(&zs, &dev).unwrap();
        let y = Tensor::new(&ys, &dev).unwrap();
        let got: f32 = bce_with_logits(&z, &y, None).unwrap().to_scalar().unwrap();
        let want = zs
            .iter()
            .zip(&ys)
            .map(|(&z, &y)| bce_naive(z as f64, y as f64))
            .sum::<f64>()
            / 5.0;
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        // Confident predictions: finite, right or wrong.
        let z = Tensor::new(&[200.0f32, -200.0, 200.0, -200.0], &dev).unwrap();
        let y = Tensor::new(&[1.0f32, 0.0, 0.0, 1.0], &dev).unwrap();
        let l: f32 = bce_with_logits(&z, &y, None).unwrap().to_scalar().unwrap();
        assert!((l - 100.0).abs() < 1e-3, "{l}");
    }

    #[test]
    fn positive_weights_scale_only_positive_terms() {
        let dev = Device::Cpu;
        let z = Tensor::new(&[[0.3f32, -1.0]], &dev).unwrap();
        let y = Tensor::new(&[[1.0f32, 0.0]], &dev).unwrap();
        let w = Tensor::new(&[3.0f32, 3.0], &dev).unwrap();
        let plain: f32 = bce_with_logits(&z, &y, None).unwrap().to_scalar().unwrap();
        let weighted: f32 = bce_with_logits(&z, &y, Some(&w))
            .unwrap()
            .to_scalar()
            .unwrap();
        let pos = bce_naive(0.3, 1.0) as f32;
        assert!((weighted - plain - 2.0 * pos / 2.0).abs() < 1e-6);
    }

    #[test]
    fn its_gradient_is_sigmoid_minus_target() {
        let dev = Device::Cpu;
        let z = candle_core::Var::new(&[1.5f32, -2.0], &dev).unwrap();
        let y = Tensor::new(&[0.0f32, 1.0], &dev).unwrap();
        let g = bce_with_logits(z.as_tensor(), &y, None)
            .unwrap()
            .backward()
            .unwrap();
        let g: Vec<f32> = g.get(z.as_tensor()).unwrap().to_vec1().unwrap();
        let s = |x: f32| 1.0 / (1.0 + (-x).exp());
        assert!((g[0] - (s(1.5) - 0.0) / 2.0).abs() < 1e-6);
        assert!((g[1] - (s(-2.0) - 1.0) / 2.0).abs() < 1e-6);
    }
}
