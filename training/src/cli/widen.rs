//! `instrunet widen`: the same function in wider convolution blocks (Net2Net's "wider" step), so a
//! wider network can train on from trained weights instead of from a random draw. Every new
//! channel copies an existing one (its filter, bias and BatchNorm parameters and statistics); the
//! next layer's weights from a channel are split among the channel and its copies in random
//! proportions that sum to one. The output is the input network's, to rounding, in inference and
//! in training (copies share their batch statistics); the uneven split makes the copies'
//! gradients differ, so they grow apart as training goes on.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::shape::TIME_MAX_GATE;
use instrunet_model::{Provenance, TensorMap, Weights};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(clap::Args)]
pub(crate) struct WidenArgs {
    /// The weights to widen (`instrunet info` shows their channels).
    #[arg(long)]
    weights: PathBuf,
    /// Output channels of the three convolution blocks after widening: each at least the
    /// input's and a multiple of 8 (the paper's are 32,64,128).
    #[arg(long, value_delimiter = ',', value_name = "C1,C2,C3", required = true)]
    channels: Vec<usize>,
    /// Seed of which channels are copied and of the split of their outgoing weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the widened weights (thresholds kept; calibrate again after training).
    #[arg(long)]
    out: PathBuf,
}

pub fn widen(args: WidenArgs) -> anyhow::Result<()> {
    let input = Weights::from_file(&args.weights)
        .with_context(|| format!("loading {}", args.weights.display()))?;
    let channels: [usize; 3] =
        args.channels.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!("--channels takes three widths, got {:?}", args.channels)
        })?;
    let from = input.spec.network.conv_channels;
    let wide = widened(&input, channels, args.seed)
        .with_context(|| format!("widening {}", args.weights.display()))?;
    wide.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {}: blocks of {from:?} widened to {channels:?} channels, same outputs",
        args.out.display()
    );
    Ok(())
}

/// `w`'s network with blocks of `channels` output channels computing the same function.
pub(crate) fn widened(w: &Weights, channels: [usize; 3], seed: u64) -> anyhow::Result<Weights> {
    let old = w.spec.network.conv_channels;
    for (i, (&new, &was)) in channels.iter().zip(&old).enumerate() {
        anyhow::ensure!(
            new >= was,
            "block {} has {was} channels; widening cannot make it {new}",
            i + 1
        );
    }
    let mut spec = w.spec.clone();
    spec.network.conv_channels = channels;
    spec.validate()
        .map_err(|e| anyhow::anyhow!("--channels {channels:?}: {e}"))?;

    let mut rng = StdRng::seed_from_u64(seed);
    // Which old channel each new channel of each block copies: itself for the first `old`, then
    // the old channels in a random order, round after round, so copies spread evenly.
    let sources: Vec<Vec<usize>> = old
        .iter()
        .zip(&channels)
        .map(|(&was, &new)| {
            let mut map: Vec<usize> = (0..was).collect();
            while map.len() < new {
                let mut round: Vec<usize> = (0..was).collect();
                // Fisher-Yates by hand, not `SliceRandom::shuffle`: that draws differently, and
                // the recipe's `--seed 9` must keep giving run 9's starting weights bit for bit.
                for i in (1..round.len()).rev() {
                    round.swap(i, rng.random_range(0..=i));
                }
                map.extend(round.into_iter().take(new - map.len()));
            }
            map
        })
        .collect();

    let get = |name: &str| -> anyhow::Result<&(Vec<usize>, Vec<f32>)> {
        w.tensors
            .0
            .get(name)
            .with_context(|| format!("the weights have no tensor {name}"))
    };
    let mut out = TensorMap(Default::default());
    let mut c_in = 1;
    let mut in_sources: Vec<usize> = vec![0];
    for block in 0..3 {
        let n = block + 1;
        let c_out = channels[block];
        let c_in_old = if block == 0 { 1 } else { old[block - 1] };
        let rows = &sources[block];
        // `Weights` checked every tensor's shape against its spec when it was loaded.
        let (_, weight) = get(&format!("conv{n}.weight"))?;
        let shares = split_shares(&mut rng, &in_sources, c_in_old, c_out * 9);
        let mut wide = vec![0.0f32; c_out * c_in * 9];
        for (o, &src_o) in rows.iter().enumerate() {
            for (i, &src_i) in in_sources.iter().enumerate() {
                for k in 0..9 {
                    let v = weight[(src_o * c_in_old + src_i) * 9 + k];
                    wide[(o * c_in + i) * 9 + k] = v * shares[i * c_out * 9 + o * 9 + k];
                }
            }
        }
        out.0
            .insert(format!("conv{n}.weight"), (vec![c_out, c_in, 3, 3], wide));
        for name in [
            format!("conv{n}.bias"),
            format!("bn{n}.weight"),
            format!("bn{n}.bias"),
            format!("bn{n}.running_mean"),
            format!("bn{n}.running_var"),
        ] {
            let (_, values) = get(&name)?;
            let copied = rows.iter().map(|&s| values[s]).collect();
            out.0.insert(name, (vec![c_out], copied));
        }
        c_in = c_out;
        in_sources = rows.clone();
    }

    // fc1 reads the last block's channels band by band (index channel · bands + band).
    let bands = spec.network.pool_bands;
    let (shape, fc1) = get("fc1.weight")?;
    let (hidden, old_inputs) = (shape[0], shape[1]);
    let shares = split_shares(&mut rng, &in_sources, old[2], hidden * bands);
    let mut wide = vec![0.0f32; hidden * c_in * bands];
    for h in 0..hidden {
        for (i, &src) in in_sources.iter().enumerate() {
            for b in 0..bands {
                let v = fc1[h * old_inputs + src * bands + b];
                wide[h * c_in * bands + i * bands + b] =
                    v * shares[i * hidden * bands + h * bands + b];
            }
        }
    }
    out.0
        .insert("fc1.weight".into(), (vec![hidden, c_in * bands], wide));
    if spec.network.time_max {
        // A copy's maximum over time equals its source's: it keeps the source's gate.
        let (_, gate) = get(TIME_MAX_GATE)?;
        let copied = in_sources
            .iter()
            .flat_map(|&src| (0..bands).map(move |b| gate[src * bands + b]))
            .collect();
        out.0
            .insert(TIME_MAX_GATE.into(), (vec![c_in * bands], copied));
    }
    for name in ["fc1.bias", "fc2.weight", "fc2.bias"] {
        out.0.insert(name.into(), get(name)?.clone());
    }

    spec.provenance = Provenance {
        data: format!(
            "{:?} widened to {channels:?} channels by `instrunet widen` from: {}",
            old, w.spec.provenance.data
        ),
        epochs: w.spec.provenance.epochs,
        metrics: Default::default(),
        notes: "widened (same outputs as the narrower network); thresholds kept".into(),
    };
    Ok(Weights::new(spec, out)?)
}

/// Shares of the weights from each new input channel, `elements` per channel (one per weight
/// that reads it): for every element, the copies of one old channel get a random partition of
/// one (weights in [0.5, 1.5] normalised, so no copy starts near zero); a channel without copies
/// keeps it all. Indexed `[channel * elements + element]`.
fn split_shares(rng: &mut StdRng, sources: &[usize], old: usize, elements: usize) -> Vec<f32> {
    let mut groups = vec![Vec::new(); old];
    for (i, &s) in sources.iter().enumerate() {
        groups[s].push(i);
    }
    let mut shares = vec![1.0f32; sources.len() * elements];
    for group in groups.iter().filter(|g| g.len() > 1) {
        for e in 0..elements {
            let draws: Vec<f32> = group.iter().map(|_| rng.random_range(0.5..1.5)).collect();
            let sum: f32 = draws.iter().sum();
            for (&i, d) in group.iter().zip(&draws) {
                shares[i * elements + e] = d / sum;
            }
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_weights::paper_trained_looking;
    use instrunet_model::{Device, InstruNet};

    fn logits(w: &Weights, xs: &candle_core::Tensor, train: bool) -> Vec<f32> {
        let vb = w.tensors.var_builder(&Device::Cpu).unwrap();
        let net = InstruNet::new(&w.spec, 0.0, vb).unwrap();
        net.forward_t(xs, train)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn the_widened_network_computes_the_same_logits() {
        let narrow = paper_trained_looking(3);
        let mut gated = crate::cli::time_max::with_time_max(&narrow, 0.0).unwrap();
        let gate = gated.tensors.0.get_mut(TIME_MAX_GATE).unwrap();
        gate.1
            .iter_mut()
            .enumerate()
            .for_each(|(i, g)| *g = (i % 7) as f32 * 0.3 - 0.5);
        let xs = candle_core::Tensor::randn(-40f32, 15.0, (3, 1, 128, 128), &Device::Cpu).unwrap();
        // Also with the pool's gated maximum over time, whose gates the copies keep.
        for (narrow, train) in [(&narrow, false), (&narrow, true), (&gated, false)] {
            let wide = widened(narrow, [40, 96, 256], 7).unwrap();
            assert_eq!(wide.spec.network.conv_channels, [40, 96, 256]);
            let (a, b) = (logits(narrow, &xs, train), logits(&wide, &xs, train));
            let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1.0);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (x - y).abs() < 1e-4 * scale,
                    "train {train}, logit {i}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn copies_start_with_different_outgoing_weights() {
        let narrow = paper_trained_looking(4);
        let wide = widened(&narrow, [32, 64, 136], 1).unwrap();
        let bands = wide.spec.network.pool_bands;
        let fc1 = wide.tensors.values("fc1.weight").unwrap();
        let b3 = wide.tensors.values("bn3.running_mean").unwrap();
        // Channels 128.. copy some channel below 128: find it by its statistics.
        let src = (0..128).find(|&c| b3[c] == b3[128]).unwrap();
        let inputs = 136 * bands;
        let (mine, theirs) = (fc1[128 * bands], fc1[src * bands]);
        let old = narrow.tensors.values("fc1.weight").unwrap()[src * bands];
        assert!(
            (mine + theirs - old).abs() < 1e-6,
            "{mine} + {theirs} vs {old}"
        );
        assert!(
            (mine - theirs).abs() > 1e-4 * old.abs(),
            "an even split: {mine} {theirs}"
        );
        assert_eq!(fc1.len(), 256 * inputs);
    }

    #[test]
    fn narrowing_is_refused_by_block() {
        let err = widened(&paper_trained_looking(1), [32, 48, 128], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("block 2") && err.contains("48"), "{err}");
        let err = widened(&paper_trained_looking(1), [32, 64, 130], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("130"), "{err}");
    }
}
