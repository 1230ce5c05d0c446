//! `instrunet calibrate`: the live engine's causal mean and the per-class thresholds, chosen on
//! validation songs and written into a weights file.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::Smoothing as EngineSmoothing;
use instrunet_training::eval::metrics::{evaluate, tune_thresholds};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::smooth::{Smoothing, smooth_within_tracks};

use crate::cli::common::{DataArgs, load_all, threads, weights_or_embedded};

#[derive(clap::Args)]
pub(crate) struct CalibrateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Weights to calibrate (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// The split of the --data folders to calibrate on: validation (default) or all.
    #[arg(long, default_value = "validation", value_parser = ["validation", "all"])]
    split: String,
    /// Causal means to try, seconds (comma-separated). Each is tried with thresholds tuned for
    /// it; the one with the best macro F1 is kept (the shorter one when within 0.002, since a
    /// longer mean lights meters later).
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4")]
    causal: Vec<f32>,
    /// Where to write the calibrated weights.
    #[arg(long)]
    out: PathBuf,
}

pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut weights = weights_or_embedded(args.weights.as_deref())?;
    for &s in &args.causal {
        anyhow::ensure!(
            (0.0..=EngineSmoothing::MAX_CAUSAL_SECONDS).contains(&s),
            "--causal {s}: choose between 0 and {} s",
            EngineSmoothing::MAX_CAUSAL_SECONDS
        );
    }
    anyhow::ensure!(
        !args.causal.is_empty(),
        "--causal: give at least one length"
    );
    let sets = load_all(&args.data, &weights.spec)?;
    let [train, validation, test] = sets;
    let set = if args.split == "all" {
        let mut all = train;
        all.append(validation);
        all.append(test);
        all
    } else {
        validation
    };
    anyhow::ensure!(!set.is_empty(), "the {} split has no windows", args.split);
    let probs = predict_with(&weights, &set, threads(&args.data))?;
    let c = weights.spec.n_classes();
    let mel = &weights.spec.mel;
    let stride_seconds = args.data.stride as f64 * mel.hop_length as f64 / mel.sample_rate as f64;
    println!(
        "{} windows of {} tracks ({} split), stride {stride_seconds:.2} s\n",
        set.len(),
        set.tracks.len(),
        args.split
    );
    println!(
        "| causal mean | windows | macro F1 | macro P / R | weighted F1 | subset acc. | mAP | no instrument, lit |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    // (seconds, macro F1, thresholds)
    let mut best: Option<(f32, f64, Vec<f32>)> = None;
    for &seconds in &args.causal {
        // The engine averages the analyses of the last `seconds`, a mean that spans about that
        // long; over windows a stride apart, the window and those before it within the span.
        let before = (seconds as f64 / stride_seconds).round() as usize;
        let smoothing = Smoothing { before, after: 0 };
        let smoothed = smooth_within_tracks(&probs, c, &set.track_of, smoothing);
        let thresholds = tune_thresholds(&smoothed, &set.labels, c);
        let m = evaluate(&smoothed, &set.labels, &weights.spec.classes, &thresholds);
        println!(
            "| {seconds} s | {} | {:.3} | {:.3} / {:.3} | {:.3} | {:.1} % | {:.3} | {:.1} % |",
            before + 1,
            m.macro_avg.f1,
            m.macro_avg.precision,
            m.macro_avg.recall,
            m.weighted.f1,
            100.0 * m.subset_accuracy,
            m.map,
            100.0 * m.empty_reported
        );
        let better = match &best {
            None => true,
            Some((_, f1, _)) => m.macro_avg.f1 > f1 + 0.002,
        };
        if better {
            best = Some((seconds, m.macro_avg.f1, thresholds));
        }
    }
    let (seconds, f1, thresholds) = best.expect("at least one length was tried");
    weights.spec.thresholds = thresholds;
    weights.spec.smoothing = EngineSmoothing {
        causal_seconds: seconds,
    };
    let note = format!(
        "Calibrated on {} ({} split, {} windows): causal mean {seconds} s and thresholds tuned for F1 there (macro F1 {f1:.3}).",
        args.data
            .data
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.split,
        set.len()
    );
    let notes = &mut weights.spec.provenance.notes;
    if !notes.is_empty() {
        notes.push(' ');
    }
    notes.push_str(&note);
    weights
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "\nKept a causal mean of {seconds} s; wrote {}",
        args.out.display()
    );
    Ok(())
}
