//! The learning-rate schedule: a warm-up, then cosine decay.

/// The learning rate at `step` of `total`: linear warm-up over the first 3 %, then cosine decay
/// to 5 % of the peak.
pub fn learning_rate(peak: f64, step: u64, total: u64) -> f64 {
    let warmup = (total / 33).max(1);
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let progress = ((step - warmup) as f64 / (total - warmup).max(1) as f64).min(1.0);
    peak * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_warms_up_then_decays() {
        let peak = 1e-3;
        assert!(learning_rate(peak, 0, 1000) < peak / 10.0);
        assert!((learning_rate(peak, 29, 1000) - peak).abs() < 1e-9);
        assert!(
            learning_rate(peak, 500, 1000) < peak && learning_rate(peak, 500, 1000) > peak / 3.0
        );
        assert!((learning_rate(peak, 1000, 1000) - 0.05 * peak).abs() < 1e-9);
    }
}
