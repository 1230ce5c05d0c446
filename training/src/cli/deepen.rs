//! `instrunet deepen`: the same function with more convolution blocks (Net2Net's "deeper" step),
//! so a deeper network can train on from trained weights instead of from a random draw.
//!
//! Each new block (conv → BatchNorm → ReLU at the last block's width, no pool) starts as the
//! identity: the convolution passes every channel through its centre tap, and BatchNorm, given
//! the last block's output statistics as its running statistics and as its scale and shift,
//! undoes its own normalisation. The input of a new block is a ReLU's output (≥ 0), so its ReLU
//! changes nothing: in inference the network computes what it did, to rounding. In training
//! BatchNorm normalises with the batch's statistics instead; with the statistics measured on
//! training windows the two agree closely, so training starts where the shallower network was.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::shape::BN_EPS;
use instrunet_model::{Device, InstruNet, NetworkShape, Provenance, Weights};

use crate::cli::common::{DataArgs, load_all, threads};
use instrunet_training::data::dataset::WindowSet;

#[derive(clap::Args)]
pub(crate) struct DeepenArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The weights to deepen (`instrunet info` shows their blocks).
    #[arg(long)]
    weights: PathBuf,
    /// Blocks to add after the last one.
    #[arg(long, default_value_t = 1)]
    add: usize,
    /// Training windows (spread evenly over the --data folders' training split) on which the
    /// last block's output statistics are measured.
    #[arg(long, default_value_t = 4096)]
    windows: usize,
    /// Where to write the deepened weights (thresholds kept; calibrate again after training).
    #[arg(long)]
    out: PathBuf,
}

pub fn deepen(args: DeepenArgs) -> anyhow::Result<()> {
    let input = Weights::from_file(&args.weights)
        .with_context(|| format!("loading {}", args.weights.display()))?;
    let total = input.spec.network.extra_blocks + args.add;
    anyhow::ensure!(args.add > 0, "--add: add at least one block");
    anyhow::ensure!(
        total <= NetworkShape::MAX_EXTRA_BLOCKS,
        "--add {}: {} has {} blocks after the third; at most {} are allowed",
        args.add,
        args.weights.display(),
        input.spec.network.extra_blocks,
        NetworkShape::MAX_EXTRA_BLOCKS
    );
    anyhow::ensure!(
        args.windows > 0,
        "--windows: measure on at least one window"
    );
    let [train, _, _] = load_all(&args.data, &input.spec)?;
    anyhow::ensure!(
        !train.is_empty(),
        "the --data folders' training split has no windows"
    );
    let sample = spread(&train, args.windows);
    let (mean, var) = last_block_statistics(&input, &sample, threads(&args.data), false)?;
    let deep = deepened(&input, args.add, &mean, &var)
        .with_context(|| format!("deepening {}", args.weights.display()))?;
    deep.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {}: {} block(s) added after block {} (statistics of {} training windows), same outputs",
        args.out.display(),
        args.add,
        input.spec.network.n_blocks(),
        sample.len() / train.window_len
    );
    Ok(())
}

/// Up to `n` windows spread evenly over `set`, back to back as f32.
fn spread(set: &WindowSet, n: usize) -> Vec<f32> {
    let n = n.min(set.len());
    let mut out = Vec::with_capacity(n * set.window_len);
    for k in 0..n {
        out.extend(set.windows_f32(k * set.len() / n, 1));
    }
    out
}

/// Per-channel mean and (biased) variance of the last block's output over `windows` (back to
/// back, in batches of 64), in inference mode or, with `train`, in training mode (batch
/// statistics), accumulated in f64.
pub(crate) fn last_block_statistics(
    w: &Weights,
    windows: &[f32],
    threads: usize,
    train: bool,
) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let dev = Device::Cpu;
    let mut net = InstruNet::new(&w.spec, 0.0, w.tensors.var_builder(&dev)?)?;
    net.set_threads(threads);
    let window_len = w.spec.mel.window_len();
    let channels = *w.spec.network.block_channels().last().expect("blocks");
    let (mut sum, mut sq, mut count) = (vec![0.0f64; channels], vec![0.0f64; channels], 0usize);
    for batch in windows.chunks(64 * window_len) {
        let n = batch.len() / window_len;
        let xs = instrunet_model::net::windows_to_tensor(batch, n, &w.spec, &dev)?;
        let ys = net.block_features_t(&xs, train)?;
        let (_, c, h, wd) = ys.dims4()?;
        let values: Vec<f32> = ys.flatten_all()?.to_vec1()?;
        for (i, v) in values.iter().enumerate() {
            let ch = (i / (h * wd)) % c;
            sum[ch] += *v as f64;
            sq[ch] += (*v as f64) * (*v as f64);
        }
        count += n * h * wd;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
    let var = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| ((q / count as f64) - m * m).max(0.0) as f32)
        .collect();
    Ok((mean.iter().map(|&m| m as f32).collect(), var))
}

/// `w`'s network with `add` identity blocks after its last one, whose BatchNorm takes the last
/// block's per-channel output `mean` and `var` (see the module's description).
pub(crate) fn deepened(
    w: &Weights,
    add: usize,
    mean: &[f32],
    var: &[f32],
) -> anyhow::Result<Weights> {
    let mut spec = w.spec.clone();
    let first_new = spec.network.n_blocks() + 1;
    let c = spec.network.conv_channels[2];
    anyhow::ensure!(
        mean.len() == c && var.len() == c,
        "statistics of {} channels for blocks of {c}",
        mean.len()
    );
    spec.network.extra_blocks += add;
    let mut tensors = w.tensors.clone();
    let mut identity = vec![0.0f32; c * c * 9];
    for ch in 0..c {
        identity[(ch * c + ch) * 9 + 4] = 1.0;
    }
    let scale: Vec<f32> = var
        .iter()
        .map(|&v| (v as f64 + BN_EPS).sqrt() as f32)
        .collect();
    for index in first_new..first_new + add {
        let mut put = |name: &str, shape: Vec<usize>, values: Vec<f32>| {
            tensors.0.insert(name.to_owned(), (shape, values));
        };
        put(
            &format!("conv{index}.weight"),
            vec![c, c, 3, 3],
            identity.clone(),
        );
        put(&format!("conv{index}.bias"), vec![c], vec![0.0; c]);
        put(&format!("bn{index}.running_mean"), vec![c], mean.to_vec());
        put(&format!("bn{index}.running_var"), vec![c], var.to_vec());
        put(&format!("bn{index}.weight"), vec![c], scale.clone());
        put(&format!("bn{index}.bias"), vec![c], mean.to_vec());
    }
    spec.provenance = Provenance {
        data: format!(
            "{} block(s) added by `instrunet deepen` to: {}",
            add, w.spec.provenance.data
        ),
        epochs: w.spec.provenance.epochs,
        metrics: Default::default(),
        notes: "deepened (same outputs as the shallower network); thresholds kept".into(),
    };
    Ok(Weights::new(spec, tensors)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use instrunet_model::ModelSpec;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The network the tests deepen: narrow, so that they run fast.
    fn trained_looking(seed: u64) -> Weights {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = [16, 32, 64];
        spec.network.pool_bands = 4;
        crate::cli::test_weights::trained_looking(spec, seed)
    }

    fn windows(w: &Weights, n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n * w.spec.mel.window_len())
            .map(|_| rng.random_range(-90.0..0.0))
            .collect()
    }

    fn logits(w: &Weights, xs: &[f32], n: usize, train: bool) -> Vec<f32> {
        let dev = Device::Cpu;
        let net = InstruNet::new(&w.spec, 0.0, w.tensors.var_builder(&dev).unwrap()).unwrap();
        let xs = instrunet_model::net::windows_to_tensor(xs, n, &w.spec, &dev).unwrap();
        net.forward_t(&xs, train)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
    }

    #[test]
    fn the_deepened_network_computes_the_same_logits() {
        let shallow = trained_looking(3);
        let xs = windows(&shallow, 6, 4);
        let (mean, var) = last_block_statistics(&shallow, &xs, 2, false).unwrap();
        let deep = deepened(&shallow, 2, &mean, &var).unwrap();
        assert_eq!(deep.spec.network.extra_blocks, 2);
        assert_eq!(deep.spec.network.n_blocks(), 5);
        let before = logits(&shallow, &xs, 6, false);
        let after = logits(&deep, &xs, 6, false);
        let err = max_diff(&before, &after);
        assert!(err < 1e-4, "inference logits moved by {err}");
        // The same through a file, and on the CPU inference path the plugin runs.
        let back = Weights::from_bytes(&deep.to_bytes().unwrap()).unwrap();
        let cpu = instrunet_model::cpu::CpuNet::new(&back);
        let mut scratch = vec![cpu.scratch()];
        let mut got = vec![0.0; before.len()];
        cpu.logits_batch(&xs, 6, 1, &mut scratch, &mut got).unwrap();
        let err = max_diff(&before, &got);
        assert!(err < 1e-3, "CPU path logits moved by {err}");
        // Deepening again continues the numbering.
        let (m2, v2) = last_block_statistics(&deep, &xs, 1, false).unwrap();
        let deeper = deepened(&deep, 1, &m2, &v2).unwrap();
        assert!(deeper.tensors.values("conv6.weight").is_some());
        let err = max_diff(&before, &logits(&deeper, &xs, 6, false));
        assert!(err < 1e-4, "after a second deepening: {err}");
    }

    #[test]
    fn in_training_mode_the_new_blocks_are_the_identity_at_their_statistics() {
        // Training mode normalises with the batch's statistics: where they are the ones the
        // new block was given (here: measured in training mode on this very batch), the block
        // gives back its input and the logits do not move.
        let shallow = trained_looking(5);
        let xs = windows(&shallow, 8, 6);
        let (mean, var) = last_block_statistics(&shallow, &xs, 1, true).unwrap();
        let deep = deepened(&shallow, 1, &mean, &var).unwrap();
        let before = logits(&shallow, &xs, 8, true);
        let after = logits(&deep, &xs, 8, true);
        let err = max_diff(&before, &after);
        assert!(err < 1e-3, "training-mode logits moved by {err}");
        // And statistics measured elsewhere do move them: the check above can fail.
        let moved = deepened(&shallow, 1, &vec![0.0; 64], &vec![1.0; 64]).unwrap();
        let err = max_diff(&before, &logits(&moved, &xs, 8, true));
        assert!(
            err > 1e-2,
            "identity BatchNorm parameters moved logits by only {err}"
        );
    }

    #[test]
    fn statistics_of_the_wrong_width_are_refused() {
        let w = trained_looking(1);
        let err = deepened(&w, 1, &[0.0; 8], &[1.0; 8]).unwrap_err();
        assert!(err.to_string().contains("64"), "{err}");
    }
}
