//! Trains InstruNET twice from the same initialisation on the same batches, once with the fused
//! CPU kernels and once with candle's own ops, and writes both loss curves to a CSV file, so that
//! the kernels can be checked to train like the reference (fast-kernels issue).
//!
//! ```text
//! cargo run --release -p instrunet-model --example loss_curves -- [--steps 300] [--batch 8] [--seed 1] [--out curves.csv]
//! ```
//! The data are synthetic log-Mel windows in which each of the 14 classes, when present, lights
//! up its own group of Mel bands for a random stretch of time over a noise floor: learnable, and
//! the same for both runs. Dropout is off so that both runs see identical computations.

use std::io::Write;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use instrunet_model::loss::bce_with_logits;
use instrunet_model::net::InstruNet;
use instrunet_model::{ModelSpec, Provenance, TensorMap, ops};
use rand::{Rng, SeedableRng, rngs::StdRng};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One batch of synthetic windows `(batch, 1, n_mels, frames)` and labels `(batch, classes)`.
fn batch(rng: &mut StdRng, n: usize, spec: &ModelSpec) -> (Tensor, Tensor) {
    let (m, t, c) = (spec.mel.n_mels, spec.mel.window_frames, spec.n_classes());
    let mut x = vec![0.0f32; n * m * t];
    let mut y = vec![0.0f32; n * c];
    for i in 0..n {
        let win = &mut x[i * m * t..(i + 1) * m * t];
        win.iter_mut()
            .for_each(|v| *v = -75.0 + 10.0 * rng.random::<f32>());
        for k in 0..c {
            if rng.random::<f32>() >= 0.3 {
                continue;
            }
            y[i * c + k] = 1.0;
            let (start, len) = (rng.random_range(0..t / 2), rng.random_range(t / 4..t / 2));
            let level = -30.0 + 15.0 * rng.random::<f32>();
            let base = (k * m) / c;
            for band in base..(base + m / c / 2 + 1).min(m) {
                for f in start..(start + len).min(t) {
                    let v = level + 3.0 * rng.random::<f32>();
                    let cell = &mut win[band * t + f];
                    *cell = cell.max(v);
                }
            }
        }
    }
    let dev = Device::Cpu;
    (
        Tensor::from_vec(x, (n, 1, m, t), &dev).unwrap(),
        Tensor::from_vec(y, (n, c), &dev).unwrap(),
    )
}

fn main() -> candle_core::Result<()> {
    ops::keep_freed_memory_for_reuse();
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = arg(&args, "--steps", 300);
    let batch_size: usize = arg(&args, "--batch", 8);
    let seed: u64 = arg(&args, "--seed", 1);
    let out: String = arg(&args, "--out", "loss_curves.csv".to_string());
    let dev = Device::Cpu;
    let spec = ModelSpec::new_default(Provenance::default());
    let init = TensorMap::random_init(&spec, seed);

    let make = |candle_ops: bool| -> candle_core::Result<(InstruNet, AdamW)> {
        let varmap = VarMap::new();
        let mut net = InstruNet::new(
            &spec,
            0.0,
            VarBuilder::from_varmap(&varmap, DType::F32, &dev),
        )?;
        init.copy_into_varmap(&varmap)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        net.use_candle_ops(candle_ops);
        let opt = AdamW::new(
            varmap.all_vars(),
            ParamsAdamW {
                lr: 1e-3,
                ..Default::default()
            },
        )?;
        Ok((net, opt))
    };
    let (fast, mut fast_opt) = make(false)?;
    let (reference, mut ref_opt) = make(true)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut file = std::fs::File::create(&out)?;
    writeln!(
        file,
        "step,loss_fused,loss_candle,seconds_fused,seconds_candle"
    )?;
    let (mut t_fast, mut t_ref, mut max_diff) = (0.0, 0.0, 0.0f32);
    println!(
        "{:>6} {:>12} {:>12} {:>10}",
        "step", "fused", "candle ops", "|diff|"
    );
    for step in 0..steps {
        let (x, y) = batch(&mut rng, batch_size, &spec);
        let t = Instant::now();
        let l_fast = bce_with_logits(&fast.forward_t(&x, true)?, &y, None)?;
        fast_opt.backward_step(&l_fast)?;
        let dt_fast = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let l_ref = bce_with_logits(&reference.forward_t(&x, true)?, &y, None)?;
        ref_opt.backward_step(&l_ref)?;
        let dt_ref = t.elapsed().as_secs_f64();
        let (a, b) = (l_fast.to_scalar::<f32>()?, l_ref.to_scalar::<f32>()?);
        max_diff = max_diff.max((a - b).abs());
        t_fast += dt_fast;
        t_ref += dt_ref;
        writeln!(file, "{step},{a},{b},{dt_fast:.4},{dt_ref:.4}")?;
        if step % 25 == 0 || step + 1 == steps {
            println!("{step:>6} {a:>12.5} {b:>12.5} {:>10.2e}", (a - b).abs());
        }
    }
    println!(
        "\n{steps} steps at batch {batch_size}: max |loss difference| {max_diff:.2e}; \
         {:.1} examples/s fused, {:.1} examples/s candle ops (one thread each); curves in {out}",
        (steps * batch_size) as f64 / t_fast,
        (steps * batch_size) as f64 / t_ref
    );
    Ok(())
}
