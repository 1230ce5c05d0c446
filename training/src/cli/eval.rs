//! `instrunet eval`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use instrunet_model::{ModelSpec, NetworkKind, Weights};
use instrunet_training::eval::metrics::{
    Metrics, PAPER_CLASSES, class_columns, evaluate, false_alarms, select_classes,
};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::report::{markdown_false_alarms, predictions_csv};
use instrunet_training::train::baseline::baseline_probabilities;

use crate::cli::common::{DataArgs, load_all, threads, weights_or_embedded};

#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    /// InstruNET weights (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Baseline weights from `instrunet baseline`, shown side by side.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Which split to evaluate: test, validation, train or all.
    #[arg(long, default_value = "test")]
    split: String,
    /// Score only these classes, as if the model knew no others (comma-separated names; `paper`:
    /// the five the paper's table was measured on, Piano, Guitar, Bass, Strings and Drums).
    #[arg(long, value_delimiter = ',', value_name = "CLASS,...")]
    classes: Vec<String>,
    /// Also write the metrics as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write every window's probabilities and labels as CSV here (track, song, start in
    /// seconds, then a probability and a label column per scored class), for analyses of your own.
    #[arg(long)]
    predictions: Option<PathBuf>,
}

/// Reads a weights file written by `instrunet baseline`.
fn load_baseline(path: &Path) -> anyhow::Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (spec, tensors) = Weights::parts_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(
        spec.network.kind == NetworkKind::Baseline,
        "{}: not baseline weights (its network kind is {}; `instrunet baseline` writes them)",
        path.display(),
        spec.network.kind
    );
    for (name, shape) in instrunet_training::train::baseline::Baseline::tensor_shapes(&spec) {
        let got = tensors.0.get(&name).map(|(s, _)| s.clone());
        anyhow::ensure!(
            got.as_ref() == Some(&shape),
            "{}: tensor {name} is {got:?}, expected {shape:?}",
            path.display()
        );
    }
    Ok(Weights { spec, tensors })
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let weights = weights_or_embedded(args.weights.as_deref())?;
    let label = args
        .weights
        .as_ref()
        .map_or("InstruNET (embedded)".into(), |p| {
            p.file_name()
                .map_or("InstruNET".into(), |n| n.to_string_lossy().into_owned())
        });
    // The classes scored: all of the model's unless --classes names some.
    let wanted: Vec<String> = match args.classes.as_slice() {
        [] => weights.spec.classes.clone(),
        [p] if p.eq_ignore_ascii_case("paper") => {
            PAPER_CLASSES.iter().map(|c| c.to_string()).collect()
        }
        named => named.to_vec(),
    };
    // Checked before the data is read.
    class_columns(&weights.spec.classes, &wanted).map_err(|e| anyhow::anyhow!("--classes: {e}"))?;
    let [train_set, validation, test] = load_all(&args.data, &weights.spec)?;
    let set = match args.split.as_str() {
        "test" => test,
        "validation" => validation,
        "train" => train_set,
        "all" => {
            let mut all = train_set;
            all.append(validation);
            all.append(test);
            all
        }
        other => anyhow::bail!("--split {other}: expected test, validation, train or all"),
    };
    anyhow::ensure!(!set.is_empty(), "the {} split has no windows", args.split);
    let threads = threads(&args.data);
    // Everything below sees only the chosen classes' columns.
    let scored = |probs: Vec<f32>, spec: &ModelSpec| {
        select_classes(
            &probs,
            &set.labels,
            &spec.classes,
            &spec.thresholds,
            &wanted,
        )
        .map_err(|e| anyhow::anyhow!("--classes: {e}"))
    };
    let ours = scored(predict_with(&weights, &set, threads)?, &weights.spec)?;
    let metrics = evaluate(&ours.probs, &ours.labels, &ours.names, &ours.thresholds);
    let baseline = match &args.baseline {
        Some(p) => {
            let b = load_baseline(p)?;
            let s = scored(baseline_probabilities(&b, &set)?, &b.spec)?;
            Some(evaluate(&s.probs, &s.labels, &s.names, &s.thresholds))
        }
        None => None,
    };
    println!(
        "{} split: {} windows, {} tracks, {} songs{}\n",
        args.split,
        set.len(),
        set.tracks.len(),
        set.songs.len(),
        if args.classes.is_empty() {
            String::new()
        } else {
            format!("; scored on {} only", ours.names.join(", "))
        }
    );
    let mut columns: Vec<(&str, &Metrics)> = Vec::new();
    if let Some(b) = &baseline {
        columns.push(("Baseline (feed-forward)", b));
    }
    columns.push((label.as_str(), &metrics));
    println!("{}", Metrics::markdown_summary(&columns));
    println!("{label}, per class:\n\n{}", metrics.markdown_classes());
    let alarms = false_alarms(&ours.probs, &ours.labels, &ours.names, &ours.thresholds);
    println!(
        "{label}, false alarms (what played when a class was reported but absent):\n\n{}",
        markdown_false_alarms(&alarms)
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "split": args.split,
            "windows": set.len(),
            "songs": set.songs.len(),
            "model": label,
            "classes": ours.names,
            "metrics": metrics,
            "baseline": baseline,
            "false_alarms": alarms,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.predictions {
        let mel = &weights.spec.mel;
        let stride_s = (args.data.stride * mel.hop_length) as f64 / mel.sample_rate as f64;
        let csv = predictions_csv(&set, &ours.probs, &ours.labels, &ours.names, stride_s);
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
