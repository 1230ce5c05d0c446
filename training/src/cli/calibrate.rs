//! `instrunet calibrate`: the live engine's causal mean and the per-class thresholds, chosen on
//! validation songs and written into a weights file.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::Smoothing as EngineSmoothing;
use instrunet_training::eval::metrics::{evaluate, tune_thresholds};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::smooth::{Smoothing, smooth_within_tracks};

use instrunet_training::data::dataset::WindowSet;
use instrunet_training::train::augment::change_timbres;

use crate::cli::common::{DataArgs, eq_range, load_all, threads, weights_or_embedded};

/// The draw of `--timbre-eq-db`'s changes: one fixed draw, so that calibrating twice agrees.
const TIMBRE_SEED: u64 = 19;

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
    /// Tune on the validation windows with their timbres changed as training's augmentation
    /// does (EQ of ± this many dB, see --timbre-mel-shift; seeded), standing for fonts and
    /// instruments the model never heard: thresholds that hold there, not only on the training
    /// fonts' sounds. 0 (default): the windows as they are.
    #[arg(long, default_value_t = 0.0, value_parser = eq_range)]
    timbre_eq_db: f32,
    /// With --timbre-eq-db: the largest Mel-axis shift, bands (0 to 8).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    timbre_mel_shift: u8,
    /// Held-out data folders (repeatable; all their tracks) to measure the calibrated model on,
    /// recorded in the file's held-out metrics under each folder's name. The metrics the file
    /// held before were measured at other thresholds and are dropped.
    #[arg(long, value_name = "DIR")]
    test: Vec<PathBuf>,
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
    let mut set = if args.split == "all" {
        merged(sets)
    } else {
        let [_, validation, _] = sets;
        validation
    };
    anyhow::ensure!(!set.is_empty(), "the {} split has no windows", args.split);
    let timbre = args.timbre_eq_db > 0.0 || args.timbre_mel_shift > 0;
    if timbre {
        change_timbres(
            &mut set,
            weights.spec.mel.window_frames,
            args.timbre_eq_db,
            args.timbre_mel_shift as usize,
            TIMBRE_SEED,
        );
    }
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
        let smoothing = causal_mean(seconds, stride_seconds);
        let before = smoothing.before;
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
    let changed = if timbre {
        format!(
            ", timbres changed (EQ ±{} dB, Mel shift up to {} bands)",
            args.timbre_eq_db, args.timbre_mel_shift
        )
    } else {
        String::new()
    };
    let note = format!(
        "Calibrated on {} ({} split{changed}, {} windows): causal mean {seconds} s and thresholds tuned for F1 there (macro F1 {f1:.3}).",
        args.data
            .data
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        args.split,
        set.len()
    );
    weights.spec.provenance.metrics.clear();
    for dir in &args.test {
        let measured = held_out(&weights, dir, &args.data, stride_seconds)?;
        weights.spec.provenance.metrics.extend(measured);
    }
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

/// The calibrated model on every track of one held-out folder, at its own thresholds and causal
/// mean, as the file's metrics entries named after the folder.
fn held_out(
    weights: &instrunet_model::Weights,
    dir: &std::path::Path,
    data: &DataArgs,
    stride_seconds: f64,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("--test {}: name a folder", dir.display()))?;
    let mut args = data.clone();
    args.data = vec![dir.to_path_buf()];
    let set = merged(load_all(&args, &weights.spec)?);
    anyhow::ensure!(!set.is_empty(), "--test {}: no windows", dir.display());
    let probs = predict_with(weights, &set, threads(&args))?;
    let smoothing = causal_mean(weights.spec.smoothing.causal_seconds, stride_seconds);
    let c = weights.spec.n_classes();
    let smoothed = smooth_within_tracks(&probs, c, &set.track_of, smoothing);
    let m = evaluate(
        &smoothed,
        &set.labels,
        &weights.spec.classes,
        &weights.spec.thresholds,
    );
    let scores = if m.empty_windows < m.windows {
        format!(
            "mAP {:.3}, macro F1 {:.3}, macro P / R {:.3} / {:.3}, weighted F1 {:.3}, lowest ROC-AUC {:.3}, ",
            m.map,
            m.macro_avg.f1,
            m.macro_avg.precision,
            m.macro_avg.recall,
            m.weighted.f1,
            m.min_roc_auc
        )
    } else {
        String::new()
    };
    println!(
        "held-out {name} ({} windows of {} tracks): {scores}no instrument lit {:.1} %",
        set.len(),
        set.tracks.len(),
        100.0 * m.empty_reported
    );
    let mut entries = Vec::new();
    if m.empty_windows < m.windows {
        entries.extend([
            ("map", m.map),
            ("macro_f1", m.macro_avg.f1),
            ("macro_precision", m.macro_avg.precision),
            ("macro_recall", m.macro_avg.recall),
            ("weighted_f1", m.weighted.f1),
            ("subset_accuracy", m.subset_accuracy),
        ]);
    }
    if m.empty_windows > 0 {
        entries.push(("no_instrument_lit", m.empty_reported));
    }
    let mut metrics = serde_json::Map::new();
    metrics.insert(format!("{name}_windows"), serde_json::json!(m.windows));
    for (k, v) in entries {
        metrics.insert(
            format!("{name}_{k}"),
            serde_json::json!((v * 1e4).round() / 1e4),
        );
    }
    Ok(metrics)
}

/// Every split of a data folder as one set.
fn merged([mut all, validation, test]: [WindowSet; 3]) -> WindowSet {
    all.append(validation);
    all.append(test);
    all
}

/// The engine's causal mean of `seconds` over windows `stride_seconds` apart: the window and
/// those before it within the span.
fn causal_mean(seconds: f32, stride_seconds: f64) -> Smoothing {
    Smoothing {
        before: (seconds as f64 / stride_seconds).round() as usize,
        after: 0,
    }
}
