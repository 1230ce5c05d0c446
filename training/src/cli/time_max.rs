//! `instrunet time-max`: trained weights given the pool's gated maximum over time (`time_max`),
//! with the gate at 0 so that the network computes what it did, to train on from there.
//!
//! The pool after the last block averages each frequency band over the window's two seconds, so a
//! part heard in a few of its frames weighs little against what plays throughout. A `time_max`
//! network adds each band's maximum over time, times a learnt per-feature gate. At gate 0 that
//! term is nothing; its gradient (the loss's gradient at the feature, times the maximum) is not,
//! so training opens the gates where the maxima help.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::shape::TIME_MAX_GATE;
use instrunet_model::{Provenance, Weights};

#[derive(clap::Args)]
pub(crate) struct TimeMaxArgs {
    /// The weights to extend (`instrunet info` shows their pool).
    #[arg(long)]
    weights: PathBuf,
    /// Every feature's starting gate: 0 keeps the network's outputs; 1 is PANNs' plain mean +
    /// max (what `train --time-max` starts a new network with).
    #[arg(long, default_value_t = 0.0)]
    gate: f32,
    /// Where to write the weights (thresholds kept; calibrate again after training).
    #[arg(long)]
    out: PathBuf,
}

pub fn time_max(args: TimeMaxArgs) -> anyhow::Result<()> {
    let input = Weights::from_file(&args.weights)
        .with_context(|| format!("loading {}", args.weights.display()))?;
    let out = with_time_max(&input, args.gate)
        .with_context(|| format!("extending {}", args.weights.display()))?;
    out.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {}: the pool's maximum over time added at gate {}{}",
        args.out.display(),
        args.gate,
        if args.gate == 0.0 {
            ", same outputs"
        } else {
            ""
        }
    );
    Ok(())
}

/// `w`'s network with the pool's maximum over time added, every gate at `gate`.
pub(crate) fn with_time_max(w: &Weights, gate: f32) -> anyhow::Result<Weights> {
    anyhow::ensure!(
        !w.spec.network.time_max,
        "the network's pool already takes the maximum over time"
    );
    anyhow::ensure!(gate.is_finite(), "--gate {gate} is not a number");
    let mut spec = w.spec.clone();
    spec.network.time_max = true;
    let features = spec.network.conv_channels[2] * spec.network.pool_bands;
    let mut tensors = w.tensors.clone();
    tensors
        .0
        .insert(TIME_MAX_GATE.into(), (vec![features], vec![gate; features]));
    spec.provenance = Provenance {
        data: format!(
            "the pool's maximum over time added by `instrunet time-max` (gate {gate}) to: {}",
            w.spec.provenance.data
        ),
        epochs: w.spec.provenance.epochs,
        metrics: Default::default(),
        notes: if gate == 0.0 {
            "time maximum added at gate 0 (same outputs); thresholds kept".into()
        } else {
            format!("time maximum added at gate {gate}; thresholds kept, calibrate again")
        },
    };
    Ok(Weights::new(spec, tensors)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_weights::trained_looking;
    use instrunet_model::cpu::CpuNet;
    use instrunet_model::{Device, InstruNet, ModelSpec};

    fn weights() -> Weights {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = [16, 32, 64];
        spec.network.pool_bands = 4;
        trained_looking(spec, 11)
    }

    fn candle_logits(w: &Weights, xs: &candle_core::Tensor) -> Vec<f32> {
        let net =
            InstruNet::new(&w.spec, 0.0, w.tensors.var_builder(&Device::Cpu).unwrap()).unwrap();
        net.forward_t(xs, false)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    fn cpu_logits(w: &Weights, xs: &candle_core::Tensor, n: usize) -> Vec<f32> {
        let cpu = CpuNet::new(w);
        let mut scratch = vec![cpu.scratch()];
        let mut out = vec![0.0; n * w.spec.n_classes()];
        let windows: Vec<f32> = xs.flatten_all().unwrap().to_vec1().unwrap();
        cpu.logits_batch(&windows, n, 1, &mut scratch, &mut out)
            .unwrap();
        out
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
    }

    #[test]
    fn at_gate_zero_the_network_computes_the_same_logits_and_at_one_it_does_not() {
        let plain = weights();
        let xs = candle_core::Tensor::randn(-40f32, 15.0, (3, 1, 128, 128), &Device::Cpu).unwrap();
        let before = candle_logits(&plain, &xs);
        let closed = with_time_max(&plain, 0.0).unwrap();
        assert!(closed.spec.network.time_max);
        // Through a file, on both inference paths.
        let closed = Weights::from_bytes(&closed.to_bytes().unwrap()).unwrap();
        let err = max_diff(&before, &candle_logits(&closed, &xs));
        assert!(err < 1e-5, "candle logits moved by {err}");
        let err = max_diff(&before, &cpu_logits(&closed, &xs, 3));
        assert!(err < 1e-3, "CPU logits moved by {err}");
        // An open gate changes them, the same way on both paths.
        let open = with_time_max(&plain, 1.0).unwrap();
        let (a, b) = (candle_logits(&open, &xs), cpu_logits(&open, &xs, 3));
        assert!(max_diff(&before, &a) > 1e-2, "gate 1 changed nothing");
        let err = max_diff(&a, &b);
        assert!(err < 1e-3, "CPU and candle disagree by {err}");
    }

    #[test]
    fn a_network_that_has_it_is_refused() {
        let once = with_time_max(&weights(), 0.0).unwrap();
        let err = with_time_max(&once, 0.0).unwrap_err().to_string();
        assert!(err.contains("already"), "{err}");
        let err = with_time_max(&weights(), f32::NAN).unwrap_err().to_string();
        assert!(err.contains("--gate"), "{err}");
    }
}
