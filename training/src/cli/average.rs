//! `instrunet average`: the element-wise mean of several weights files of one network (a "model
//! soup"). Networks fine-tuned from the same weights stay in one basin of the loss, where their
//! mean usually generalises better than each of them, at no cost to the plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use instrunet_model::{Provenance, TensorMap, Weights};
use instrunet_training::train::checkpoint::{
    MODEL_PREFIX as CHECKPOINT_MODEL_PREFIX, progress_from_bytes,
};

#[derive(clap::Args)]
pub(crate) struct AverageArgs {
    /// Weights files or training checkpoints to average (two or more; give one twice to weigh it
    /// double). They must
    /// share classes, front end, normalisation and network shape, and should descend from the
    /// same training run: the mean of unrelated networks is not a network.
    #[arg(long = "weights", required = true, num_args = 1)]
    weights: Vec<PathBuf>,
    /// Where to write the averaged weights. Their thresholds are the inputs' mean, not tuned:
    /// run `instrunet calibrate` on them next.
    #[arg(long)]
    out: PathBuf,
    /// What the mean is, written first into its provenance (`instrunet info`'s "trained on"),
    /// e.g. the run and its data: a checkpoint carries no description of its own.
    #[arg(long, default_value = "")]
    describe: String,
}

pub fn average(args: AverageArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.weights.len() >= 2,
        "--weights: give at least two files to average ({} given)",
        args.weights.len()
    );
    let all: Vec<Weights> = args
        .weights
        .iter()
        .map(|p| weights_or_checkpoint(p).with_context(|| format!("loading {}", p.display())))
        .collect::<anyhow::Result<_>>()?;
    let mut averaged = mean_of(&all, &args.weights)?;
    if !args.describe.is_empty() {
        let data = &mut averaged.spec.provenance.data;
        *data = format!("{}; {data}", args.describe);
    }
    averaged
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {}: the mean of {} weights files; thresholds not tuned (run `instrunet calibrate`)",
        args.out.display(),
        all.len()
    );
    Ok(())
}

/// A weights file, or the network of a training checkpoint (its tensors under `model.`, beside
/// the optimiser's): averaging the last epochs' checkpoints of one run is a soup too. A
/// checkpoint's network gets its epochs done as its provenance's epochs and data (which a
/// checkpoint does not describe otherwise).
fn weights_or_checkpoint(path: &Path) -> anyhow::Result<Weights> {
    let bytes = std::fs::read(path)?;
    let (mut spec, tensors) = Weights::parts_from_bytes(&bytes)?;
    if let Some(progress) = progress_from_bytes(&bytes)? {
        spec.provenance.epochs = progress.epochs_done as u32;
        if spec.provenance.data.is_empty() {
            spec.provenance.data =
                format!("a training checkpoint after epoch {}", progress.epochs_done);
        }
    }
    let model: BTreeMap<_, _> = tensors
        .0
        .iter()
        .filter_map(|(n, v)| {
            n.strip_prefix(CHECKPOINT_MODEL_PREFIX)
                .map(|n| (n.to_owned(), v.clone()))
        })
        .collect();
    let tensors = if model.is_empty() {
        tensors
    } else {
        TensorMap(model)
    };
    Ok(Weights::new(spec, tensors)?)
}

/// The element-wise mean of `all` (named by `paths` in errors and provenance). The spec is the
/// first file's, with the mean thresholds, no held-out metrics (they were measured on other
/// networks) and a provenance that names every input.
pub(crate) fn mean_of(all: &[Weights], paths: &[PathBuf]) -> anyhow::Result<Weights> {
    let first = &all[0];
    for (w, p) in all.iter().zip(paths).skip(1) {
        let what = if w.spec.classes != first.spec.classes {
            Some("classes")
        } else if w.spec.mel != first.spec.mel {
            Some("front end (Mel settings)")
        } else if w.spec.normalization != first.spec.normalization {
            Some("input normalisation")
        } else if w.spec.network != first.spec.network {
            Some("network shape")
        } else {
            None
        };
        if let Some(what) = what {
            anyhow::bail!(
                "{} differs from {} in its {what}: only weights of one network can be averaged",
                p.display(),
                paths[0].display()
            );
        }
    }
    let n = all.len() as f32;
    let mut tensors = TensorMap(Default::default());
    for (name, (shape, values)) in &first.tensors.0 {
        let mut sum = values.clone();
        for w in &all[1..] {
            // Same spec, so `Weights` validation guarantees the same tensors and shapes.
            let (_, other) = &w.tensors.0[name];
            for (s, o) in sum.iter_mut().zip(other) {
                *s += o;
            }
        }
        sum.iter_mut().for_each(|s| *s /= n);
        tensors.0.insert(name.clone(), (shape.clone(), sum));
    }
    let mut spec = first.spec.clone();
    spec.thresholds = (0..spec.n_classes())
        .map(|c| all.iter().map(|w| w.spec.thresholds[c]).sum::<f32>() / n)
        .collect();
    let inputs: Vec<String> = all
        .iter()
        .zip(paths)
        .map(|(w, p)| match w.spec.provenance.data.as_str() {
            "" => p.display().to_string(),
            data => format!("{} ({data})", p.display()),
        })
        .collect();
    spec.provenance = Provenance {
        data: format!(
            "the mean of {} weights files: {}",
            all.len(),
            inputs.join("; ")
        ),
        epochs: all
            .iter()
            .map(|w| w.spec.provenance.epochs)
            .max()
            .unwrap_or(0),
        metrics: Default::default(),
        notes: "averaged by `instrunet average`; thresholds are the inputs' mean until calibrated"
            .into(),
    };
    Ok(Weights::new(spec, tensors)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use instrunet_model::ModelSpec;

    fn weights(seed: u64) -> Weights {
        Weights::random(ModelSpec::new_default(Provenance::default()), seed)
    }

    #[test]
    fn the_mean_of_two_networks_is_their_element_wise_mean() {
        let (mut a, mut b) = (weights(1), weights(2));
        a.spec.provenance.data = "run a".into();
        b.spec.thresholds = vec![0.7; b.spec.n_classes()];
        let paths = [PathBuf::from("a"), PathBuf::from("b")];
        let m = mean_of(&[a.clone(), b.clone()], &paths).unwrap();
        for (name, (_, values)) in &m.tensors.0 {
            let (_, va) = &a.tensors.0[name];
            let (_, vb) = &b.tensors.0[name];
            for i in 0..values.len() {
                assert!(
                    (values[i] - (va[i] + vb[i]) / 2.0).abs() < 1e-6,
                    "{name}[{i}]"
                );
            }
        }
        assert!(m.spec.thresholds.iter().all(|t| (t - 0.6).abs() < 1e-6));
        assert!(m.spec.provenance.metrics.is_empty());
        // Each input by path, with what it was trained on where it says (b does not).
        assert!(
            m.spec.provenance.data.ends_with("files: a (run a); b"),
            "{}",
            m.spec.provenance.data
        );
    }

    #[test]
    fn networks_of_different_classes_are_refused_by_name() {
        let a = weights(1);
        let mut b = weights(2);
        b.spec.classes.swap(0, 1);
        let paths = [
            PathBuf::from("first.safetensors"),
            PathBuf::from("second.safetensors"),
        ];
        let err = mean_of(&[a, b], &paths).unwrap_err().to_string();
        assert!(
            err.contains("second.safetensors") && err.contains("classes"),
            "{err}"
        );
    }
}
