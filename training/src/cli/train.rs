//! `instrunet train` and `instrunet baseline`.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_model::{ModelSpec, NetworkKind, NetworkShape, Provenance};
use instrunet_training::eval::metrics::{Metrics, evaluate};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::train::augment::change_timbres;
use instrunet_training::train::baseline::baseline_probabilities;
use instrunet_training::train::config::{DEFAULT_MIX_PROBABILITY, TrainConfig};
use instrunet_training::train::curves::plot_curves;
use instrunet_training::train::{Progress, run_files, train as run_training};

use crate::cli::common::{DataArgs, eq_range, load_all, probability, threads, weights_or_embedded};

/// The draw of `--val-timbre-eq-db`'s changes: fixed, so that every epoch and every resume
/// validates on the same windows.
const VAL_TIMBRE_SEED: u64 = 23;

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The weights file to write (the log, curves and checkpoint go next to it).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Peak learning rate (AdamW; warm-up, then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Stop after the epoch that crosses this many minutes.
    #[arg(long)]
    max_minutes: Option<f64>,
    /// Steps per epoch (default: one pass over the training windows).
    #[arg(long)]
    steps_per_epoch: Option<usize>,
    /// From this epoch on, also write each epoch's network beside the checkpoint
    /// (OUT.ckpt.epochN.safetensors), to average a run's last epochs with `instrunet average`.
    #[arg(long, value_name = "EPOCH")]
    keep_epochs_from: Option<usize>,
    /// Epochs without a better validation mAP before stopping.
    #[arg(long, default_value_t = 4)]
    patience: usize,
    /// Share of training examples mixed with a window of another track (quieter, added in
    /// power; the labels are the union of both), from 0 (never) to 1 (always).
    #[arg(long, default_value_t = DEFAULT_MIX_PROBABILITY, value_parser = probability)]
    mix_probability: f64,
    /// Random EQ of each source window, ± dB (a tilt across the Mel bands and one bell of random
    /// centre and width): timbres known by more than the training fonts' exact spectra. 0: off.
    #[arg(long, default_value_t = 0.0, value_parser = eq_range)]
    eq_db: f32,
    /// Largest random shift of each source window along the Mel axis, in bands (0 to 8): the
    /// spectral envelope and pitch moved by a few per cent. 0: off.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    mel_shift: u8,
    /// Widest run of neighbouring Mel bands silenced at random in each example, in bands (0 to
    /// 32; at most a quarter of the bands): an instrument known by more than one part of its
    /// spectrum. 0: off.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=32))]
    freq_mask: u8,
    /// Bells in each source's random EQ curve (1 to 4; each of up to ±--eq-db, at a random
    /// centre and width): spectral envelopes further from the training fonts'.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    eq_bells: u8,
    /// Widest run of frames silenced at random in every band of each example, in frames (0 to
    /// 32; at most a quarter of the window): an instrument known from the rest of the window.
    /// 0: off.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=32))]
    time_mask: u8,
    /// Validate (and so pick the best epoch and stop early) on the validation windows with
    /// their timbres changed once, as training's augmentation changes a source (EQ of ± this
    /// many dB, one bell; see --val-timbre-mel-shift; seeded, the same every epoch): windows
    /// that stand for fonts the model never heard (they rank networks much as the clean ones do,
    /// a little closer to how unheard fonts rank them). 0: off.
    #[arg(long, default_value_t = 0.0, value_parser = eq_range)]
    val_timbre_eq_db: f32,
    /// With --val-timbre-eq-db: the largest Mel-axis shift of the validation windows, bands (0
    /// to 8).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    val_timbre_mel_shift: u8,
    /// The loss's focus on hard negatives (the asymmetric loss's γ, 0 or 1 to 8): a class the
    /// window lacks costs in proportion to its probability (less the margin) to this power, so
    /// that classes plainly absent stop outweighing ones that sound alike. 0: plain binary
    /// cross-entropy's negative term.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    neg_focus: u8,
    /// The asymmetric loss's margin (0 to 0.3): an absent class whose probability is below it
    /// costs nothing, and every absent class's probability counts less this much. 0: none.
    #[arg(long, default_value_t = 0.0, value_parser = neg_margin)]
    neg_margin: f32,
    /// Draw the training windows with rare classes more often (0 to 1): each window in
    /// proportion to the largest (most frequent class's windows / its class's windows)^this over
    /// the classes in it, with replacement. 0: every epoch a shuffled pass over all windows.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    balance: f64,
    /// Multiple of --lr at which the pool's time-max gates step (networks with `time_max`; see
    /// `instrunet time-max`): one number per feature, which at --lr itself barely moves in a
    /// fine-tune.
    #[arg(long, default_value_t = instrunet_training::train::config::DEFAULT_TIME_MAX_GATE_LR)]
    time_max_gate_lr: f64,
    /// Fine-tune: start from these weights (`default`: the embedded model) instead of a random
    /// draw, keeping their classes, front end, network and input normalisation; the optimiser and
    /// the learning-rate schedule start afresh. With --resume, the checkpoint's weights win.
    #[arg(long, value_name = "WEIGHTS", conflicts_with_all = ["pool_bands", "channels", "time_max"])]
    init: Option<PathBuf>,
    /// Frequency bands the network's adaptive average pool keeps (1: the global average pool;
    /// more let it hear which register a sound sits in; the shipped model has 8). Stored in the
    /// weights file.
    #[arg(long, default_value_t = 8)]
    pool_bands: usize,
    /// Output channels of the three convolution blocks (the paper's: 32,64,128). Each a multiple
    /// of 8; wider blocks cost training and inference time. Stored in the weights file.
    #[arg(long, value_delimiter = ',', value_name = "C1,C2,C3", default_values_t = NetworkShape::PAPER_CHANNELS)]
    channels: Vec<usize>,
    /// The pool after the last block also adds each frequency band's maximum over time, weighted
    /// by a learnt per-feature gate (starting at 1), so that parts heard in a few frames of the
    /// window count. Stored in the weights file. `instrunet time-max` adds it to trained weights.
    #[arg(long)]
    time_max: bool,
    /// Train on the first N training songs only (validation and test stay whole): for studies
    /// of how much data helps.
    #[arg(long)]
    train_songs: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Continue from the checkpoint next to --out.
    #[arg(long)]
    resume: bool,
    /// cpu, or cuda / metal when built with those features.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Free text for the weights' provenance (what the data is).
    #[arg(long, default_value = "")]
    describe: String,
}

pub fn train(args: TrainArgs, architecture: NetworkKind) -> anyhow::Result<()> {
    instrunet_training::train::config::device_named(&args.device)?;
    anyhow::ensure!(
        args.time_max_gate_lr.is_finite() && args.time_max_gate_lr > 0.0,
        "--time-max-gate-lr {}: give a positive multiple of --lr",
        args.time_max_gate_lr
    );
    // The checkpoint is written there after the first epoch: a missing folder must not cost it.
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Read before the data: a bad file fails in a second, not after minutes of loading.
    let (start, started_from) = match &args.init {
        None => (None, String::new()),
        Some(_) if architecture != NetworkKind::Instrunet => {
            anyhow::bail!("--init: only `instrunet train` can start from weights")
        }
        Some(p) => {
            let file = (p.as_os_str() != "default").then_some(p.as_path());
            let weights = weights_or_embedded(file).context("--init")?;
            let from = file.map_or("the embedded model".into(), |f| f.display().to_string());
            (Some(weights), format!("started from {from}, then "))
        }
    };
    let spec = match &start {
        Some(w) => ModelSpec {
            provenance: Provenance::default(),
            ..w.spec.clone()
        },
        None => {
            let mut spec = ModelSpec::new_default(Provenance::default());
            spec.network.pool_bands = args.pool_bands;
            spec.network.time_max = args.time_max;
            spec.network.conv_channels = args.channels.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!("--channels takes three widths, got {:?}", args.channels)
            })?;
            spec.validate().map_err(|e| {
                anyhow::anyhow!(
                    "--pool-bands {} / --channels {:?}: {e}",
                    args.pool_bands,
                    args.channels
                )
            })?;
            spec
        }
    };
    let [mut train_set, mut validation, test] = load_all(&args.data, &spec)?;
    if let Some(n) = args.train_songs {
        train_set = train_set.first_songs(n);
        eprintln!(
            "  training on the first {} songs: {} windows",
            train_set.songs.len(),
            train_set.len()
        );
    }
    let config = TrainConfig {
        architecture,
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        patience: args.patience,
        seed: args.seed,
        threads: threads(&args.data),
        max_minutes: args.max_minutes,
        steps_per_epoch: args.steps_per_epoch,
        keep_epochs_from: args.keep_epochs_from,
        mix_probability: args.mix_probability,
        eq_db: args.eq_db,
        mel_shift: args.mel_shift as usize,
        freq_mask: args.freq_mask as usize,
        eq_bells: args.eq_bells as usize,
        time_mask: args.time_mask as usize,
        val_timbre_eq_db: args.val_timbre_eq_db,
        val_timbre_mel_shift: args.val_timbre_mel_shift as usize,
        neg_focus: args.neg_focus as f32,
        neg_margin: args.neg_margin,
        balance: args.balance,
        time_max_gate_lr: args.time_max_gate_lr,
        device: args.device.clone(),
        ..Default::default()
    };
    // The config is the one record of the validation's change (a resume checks it).
    if config.val_timbre_eq_db > 0.0 || config.val_timbre_mel_shift > 0 {
        change_timbres(
            &mut validation,
            spec.mel.window_frames,
            config.val_timbre_eq_db,
            config.val_timbre_mel_shift,
            VAL_TIMBRE_SEED,
        );
        eprintln!(
            "  validating on the validation windows with timbres changed (EQ ±{} dB, Mel shift up to {} bands)",
            config.val_timbre_eq_db, config.val_timbre_mel_shift
        );
    }
    let (log_path, png_path, ckpt_path) = run_files(&args.out);
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "epoch {prefix} {bar:30} {pos}/{len} steps, {per_sec}, ~{eta} left, {msg}",
        )
        .expect("valid template"),
    );
    let hidden = bar.is_hidden();
    let mut report = |p: Progress| match p {
        Progress::Step {
            epoch,
            step_in_epoch,
            steps_per_epoch,
            loss,
        } => {
            bar.set_prefix(format!("{}", epoch + 1));
            bar.set_length(steps_per_epoch as u64);
            bar.set_position(step_in_epoch as u64);
            bar.set_message(format!("loss {loss:.4}"));
            if hidden && step_in_epoch % 100 == 0 {
                println!(
                    "epoch {} step {step_in_epoch}/{steps_per_epoch} loss {loss:.4}",
                    epoch + 1
                );
            }
        }
        Progress::Epoch(e) => {
            let line = format!(
                "epoch {:>2}: train loss {:.4}, validation loss {:.4}, mAP {:.3}, macro F1 {:.3}, weighted F1 {:.3} ({:.0} examples/s, {:.1} min)",
                e.epoch,
                e.train_loss,
                e.val_loss,
                e.val_map,
                e.val_macro_f1,
                e.val_weighted_f1,
                e.examples_per_second,
                e.seconds / 60.0
            );
            if hidden {
                println!("{line}")
            } else {
                bar.println(line)
            }
        }
        Progress::Note(n) => {
            if hidden {
                println!("{n}")
            } else {
                bar.println(n)
            }
        }
    };
    let outcome = run_training(
        &spec,
        &train_set,
        &validation,
        &config,
        start.as_ref(),
        Some(&ckpt_path),
        args.resume,
        &mut report,
    )?;
    bar.finish_and_clear();
    let mut weights = outcome.weights;
    // The held-out test split, at the thresholds tuned on validation. Data in train/ and
    // validation/ folders alone has no test split: then nothing is recorded, rather than zeros
    // that would read as measured ones.
    let test_metrics = if test.is_empty() {
        None
    } else {
        let probs = match architecture {
            NetworkKind::Instrunet => predict_with(&weights, &test, config.threads)?,
            NetworkKind::Baseline => baseline_probabilities(&weights, &test)?,
        };
        Some(evaluate(
            &probs,
            &test.labels,
            &weights.spec.classes,
            &weights.spec.thresholds,
        ))
    };
    let name = match architecture {
        NetworkKind::Instrunet => "InstruNET",
        NetworkKind::Baseline => "Baseline (feed-forward)",
    };
    match &test_metrics {
        Some(m) => {
            println!(
                "\nTest split ({} windows, {} songs never seen in training):\n",
                test.len(),
                test.songs.len()
            );
            println!("{}", Metrics::markdown_summary(&[(name, m)]));
            println!("{}", m.markdown_classes());
        }
        None => println!(
            "\nNo test split in the data: no held-out metrics recorded (`instrunet eval` measures \
             them; `instrunet calibrate --test` records them in a weights file)."
        ),
    }
    let p = &mut weights.spec.provenance;
    p.data = format!(
        "{}{}{} training songs ({} windows), {} validation songs; data roots {}",
        args.describe,
        if args.describe.is_empty() { "" } else { "; " },
        train_set.songs.len(),
        train_set.len(),
        validation.songs.len(),
        args.data
            .data
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    p.notes = format!(
        "{started_from}trained by `instrunet {}` {}; {:.1} min on {} threads; best epoch {} of {}; seed {}",
        if architecture == NetworkKind::Instrunet {
            "train"
        } else {
            "baseline"
        },
        env!("CARGO_PKG_VERSION"),
        outcome.seconds / 60.0,
        config.threads,
        outcome.best_epoch,
        outcome.log.len(),
        config.seed
    );
    if config.balance > 0.0 {
        p.notes.push_str(&format!(
            "; windows drawn with rare classes more often (balance {})",
            config.balance
        ));
    }
    if spec.network.time_max {
        p.notes.push_str(&format!(
            "; the pool's time-max gates at {} times the learning rate",
            config.time_max_gate_lr
        ));
    }
    if !config.negative_shaping().is_plain() {
        p.notes.push_str(&format!(
            "; asymmetric loss (negatives' focus {}, margin {})",
            config.neg_focus, config.neg_margin
        ));
    }
    for (k, v) in test_metrics.iter().flat_map(|m| {
        [
            ("test_subset_accuracy", m.subset_accuracy),
            ("test_hamming_accuracy", m.hamming_accuracy),
            ("test_weighted_f1", m.weighted.f1),
            ("test_macro_f1", m.macro_avg.f1),
            ("test_micro_f1", m.micro.f1),
            ("test_map", m.map),
        ]
    }) {
        p.metrics
            .insert(k.into(), serde_json::json!((v * 1e4).round() / 1e4));
    }
    weights
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    // The last epoch beside the best when they differ (same data and notes, its own epoch).
    let last_path = args.out.with_extension("last.safetensors");
    let wrote_last = match outcome.last {
        Some(mut last) => {
            let epoch = last.spec.provenance.epochs;
            let val_map = outcome
                .log
                .iter()
                .find(|e| e.epoch == epoch as usize)
                .map_or(f64::NAN, |e| e.val_map);
            last.spec.provenance.data = weights.spec.provenance.data.clone();
            last.spec.provenance.notes = format!(
                "{}; these are the last epoch's weights (epoch {epoch}, validation mAP {val_map:.3}), not the best's",
                weights.spec.provenance.notes
            );
            last.save(&last_path)
                .with_context(|| format!("writing {}", last_path.display()))?;
            true
        }
        None => {
            // A file from an earlier run to this path would pass for this run's last epoch.
            let _ = std::fs::remove_file(&last_path);
            false
        }
    };
    std::fs::write(
        &log_path,
        serde_json::to_string_pretty(&serde_json::json!({
            "config": config,
            "epochs": outcome.log,
            "best_epoch": outcome.best_epoch,
            "starting_map": outcome.starting_map,
            "test": test_metrics,
        }))?,
    )?;
    if let Err(e) = plot_curves(&outcome.log, outcome.starting_map, &png_path, name) {
        eprintln!("no training-curve plot: {e}");
    }
    println!(
        "wrote {} (and {}, {}, checkpoint {})",
        args.out.display(),
        log_path.display(),
        png_path.display(),
        ckpt_path.display()
    );
    if wrote_last {
        println!(
            "the last epoch is not the best: its weights are in {}",
            last_path.display()
        );
    }
    Ok(())
}

/// `--neg-margin`: a probability margin from 0 to 0.3.
fn neg_margin(s: &str) -> Result<f32, String> {
    let m: f32 = s.parse().map_err(|e| format!("{s}: {e}"))?;
    if (0.0..=0.3).contains(&m) {
        Ok(m)
    } else {
        Err(format!("{s}: choose a margin from 0 to 0.3"))
    }
}
