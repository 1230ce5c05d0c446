//! Binary cross-entropy on logits in its numerically stable form.
//!
//! `BCE(z, y) = max(z, 0) − z·y + log(1 + e^(−|z|))`, which is finite for any finite logit.
//! (candle's `binary_cross_entropy_with_logit` takes a sigmoid and then a log, and gives inf/NaN on
//! confident predictions.) An optional per-class positive weight `w` scales the positive term, as
//! PyTorch's `pos_weight`: `w·y·softplus(−z) + (1 − y)·softplus(z)`.
//!
//! [`asymmetric_with_logits`] changes only the negative term, as the asymmetric loss of Ridnik et
//! al. (2021): a negative whose probability `p` is below a margin `m` costs nothing, and the rest
//! are weighted by `(p − m)^γ`, so that the many easy negatives of a multi-label window (the
//! classes plainly absent) stop outweighing the hard ones (a class that sounds like one playing).

use candle_core::{Result, Tensor};

/// Mean binary cross-entropy of `logits` against `targets` (same shape, values in [0, 1]), with
/// an optional per-class weight for positives, broadcast over the last dimension.
pub fn bce_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
) -> Result<Tensor> {
    let (softplus_neg, positive) = positive_term(logits, targets, pos_weight)?;
    // softplus(z) = softplus(−z) + z.
    let softplus_pos = (&softplus_neg + logits)?;
    let negative = (targets.affine(-1.0, 1.0)? * softplus_pos)?;
    (positive + negative)?.mean_all()
}

/// `softplus(−z)` (= −log σ(z)) and the weighted positive term `w·y·softplus(−z)` that both
/// losses share.
fn positive_term(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
) -> Result<(Tensor, Tensor)> {
    // softplus(−z) = log(1 + e^(−z)) = max(−z, 0) + log(1 + e^(−|z|)), finite for any z.
    let log1p_exp_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let softplus_neg = (logits.neg()?.relu()? + &log1p_exp_neg_abs)?;
    let positive = match pos_weight {
        Some(w) => (targets.broadcast_mul(w)? * &softplus_neg)?,
        None => (targets * &softplus_neg)?,
    };
    Ok((softplus_neg, positive))
}

/// How the negative terms of [`asymmetric_with_logits`] are shaped: `focus` is the exponent γ of
/// the weight `p_m^γ` and `margin` the shift `m` in `p_m = max(p − m, 0)`. Both 0: plain BCE.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NegativeShaping {
    pub focus: f32,
    pub margin: f32,
}

impl NegativeShaping {
    /// Plain binary cross-entropy.
    pub fn is_plain(&self) -> bool {
        self.focus == 0.0 && self.margin == 0.0
    }
}

/// Mean asymmetric loss of `logits` against `targets`: the positive term as in
/// [`bce_with_logits`] (with its optional weight), the negative term
/// `(1 − y)·p_m^γ·(−log(1 − p_m))` with `p = σ(z)` and `p_m = max(p − m, 0)`. With γ = 0 and
/// m = 0 it is [`bce_with_logits`] itself. γ must be 0 or at least 1 (below 1 the weight's
/// gradient is infinite at `p_m = 0`) and m in [0, 0.5).
pub fn asymmetric_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
    shaping: NegativeShaping,
) -> Result<Tensor> {
    let NegativeShaping { focus, margin } = shaping;
    if !(focus == 0.0 || (1.0..=16.0).contains(&focus)) || !(0.0..0.5).contains(&margin) {
        candle_core::bail!(
            "asymmetric loss: focus {focus} must be 0 or 1 to 16, margin {margin} in [0, 0.5)"
        );
    }
    if shaping.is_plain() {
        return bce_with_logits(logits, targets, pos_weight);
    }
    let (softplus_neg, positive) = positive_term(logits, targets, pos_weight)?;
    // −log(1 − p_m): with a margin 1 − p_m ≥ m, so the log is safe; without one it is softplus(z).
    let p = softplus_neg.neg()?.exp()?;
    let (shifted, neg_log) = if margin > 0.0 {
        let shifted = (p - margin as f64)?.relu()?;
        let neg_log = shifted.affine(-1.0, 1.0)?.log()?.neg()?;
        (shifted, neg_log)
    } else {
        (p, (&softplus_neg + logits)?)
    };
    let weighted = if focus > 0.0 {
        (shifted.powf(focus as f64)? * neg_log)?
    } else {
        neg_log
    };
    let negative = (targets.affine(-1.0, 1.0)? * weighted)?;
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

    /// The asymmetric loss of one logit, written out from its definition in f64.
    fn asymmetric_naive(z: f64, y: f64, w: f64, focus: f64, margin: f64) -> f64 {
        let p = 1.0 / (1.0 + (-z).exp());
        let pm = (p - margin).max(0.0);
        -(w * y * p.ln() + (1.0 - y) * pm.powf(focus) * (1.0 - pm).ln())
    }

    #[test]
    fn the_asymmetric_loss_matches_its_definition_and_its_plain_form_is_bce() {
        let dev = Device::Cpu;
        let zs = [-3.0f32, -0.5, 0.0, 0.7, 4.0, -1.2, 2.5, 0.1];
        let ys = [0.0f32, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let ws = [2.0f32, 1.0];
        let z = Tensor::new(&zs, &dev).unwrap().reshape((4, 2)).unwrap();
        let y = Tensor::new(&ys, &dev).unwrap().reshape((4, 2)).unwrap();
        let w = Tensor::new(&ws, &dev).unwrap();
        for (focus, margin) in [
            (0.0f32, 0.0f32),
            (4.0, 0.05),
            (2.0, 0.0),
            (0.0, 0.1),
            (1.0, 0.2),
        ] {
            let shaping = NegativeShaping { focus, margin };
            let got: f32 = asymmetric_with_logits(&z, &y, Some(&w), shaping)
                .unwrap()
                .to_scalar()
                .unwrap();
            let want = (0..8)
                .map(|i| {
                    let wi = ws[i % 2] as f64;
                    asymmetric_naive(zs[i] as f64, ys[i] as f64, wi, focus as f64, margin as f64)
                })
                .sum::<f64>()
                / 8.0;
            assert!(
                (got as f64 - want).abs() < 1e-5,
                "{shaping:?}: {got} vs {want}"
            );
        }
        let plain: f32 = bce_with_logits(&z, &y, Some(&w))
            .unwrap()
            .to_scalar()
            .unwrap();
        let same: f32 = asymmetric_with_logits(&z, &y, Some(&w), NegativeShaping::default())
            .unwrap()
            .to_scalar()
            .unwrap();
        assert_eq!(plain, same);
    }

    #[test]
    fn the_asymmetric_loss_ignores_easy_negatives_and_has_finite_gradients() {
        let dev = Device::Cpu;
        let shaping = NegativeShaping {
            focus: 4.0,
            margin: 0.05,
        };
        // p = σ(−4) ≈ 0.018 < m: no loss and no gradient; σ(1) ≈ 0.73: a hard negative.
        let z = candle_core::Var::new(&[-4.0f32, 1.0, 60.0, -60.0], &dev).unwrap();
        let y = Tensor::new(&[0.0f32, 0.0, 0.0, 1.0], &dev).unwrap();
        let loss = asymmetric_with_logits(z.as_tensor(), &y, None, shaping).unwrap();
        let g = loss.backward().unwrap();
        let g: Vec<f32> = g.get(z.as_tensor()).unwrap().to_vec1().unwrap();
        assert_eq!(g[0], 0.0);
        assert!(g.iter().all(|x| x.is_finite()), "{g:?}");
        // Numerical gradient of the hard negative's term.
        let h = 1e-3;
        let term = |z: f64| asymmetric_naive(z, 0.0, 1.0, 4.0, 0.05) / 4.0;
        let numeric = (term(1.0 + h) - term(1.0 - h)) / (2.0 * h);
        assert!(
            (g[1] as f64 - numeric).abs() < 1e-4,
            "{} vs {numeric}",
            g[1]
        );
        assert!(g[1] > 0.0);
        // Confident and wrong: finite loss.
        let l: f32 = loss.to_scalar().unwrap();
        assert!(l.is_finite() && l > 10.0, "{l}");
        assert!(
            asymmetric_with_logits(
                z.as_tensor(),
                &y,
                None,
                NegativeShaping {
                    focus: 0.5,
                    margin: 0.0
                }
            )
            .is_err()
        );
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
