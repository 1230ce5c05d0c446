//! `instrunet train`, `instrunet baseline` and `instrunet eval`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use instrunet_model::{ModelSpec, Provenance, Weights};
use instrunet_training::data::dataset::{LoadOptions, WindowSet, load};
use instrunet_training::data::windows::WindowSettings;
use instrunet_training::eval::metrics::{
    Metrics, PAPER_CLASSES, class_columns, evaluate, false_alarms, select_classes,
};
use instrunet_training::eval::predict::predict_with;
use instrunet_training::eval::report::{markdown_false_alarms, predictions_csv};
use instrunet_training::train::baseline::baseline_probabilities;
use instrunet_training::train::config::{Architecture, TrainConfig};
use instrunet_training::train::curves::plot_curves;
use instrunet_training::train::{Progress, run_files, train as run_training};

use crate::{AnalyzeArgs, DataArgs, EngineArgs, EvalArgs, TagArgs, TrainArgs};

fn threads(args: &DataArgs) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn cache_dir(args: &DataArgs) -> PathBuf {
    args.cache.clone().unwrap_or_else(|| {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("instrunet")
            .join("windows")
    })
}

/// Every data root's windows, merged split by split.
fn load_all(args: &DataArgs, spec: &ModelSpec) -> anyhow::Result<[WindowSet; 3]> {
    let options = LoadOptions {
        windows: WindowSettings {
            stride_frames: args.stride,
            ..Default::default()
        },
        skip_bad: args.skip_bad,
        threads: threads(args),
        ..Default::default()
    };
    let (wl, nc) = (spec.mel.window_len(), spec.n_classes());
    let mut sets = [
        WindowSet::new(wl, nc),
        WindowSet::new(wl, nc),
        WindowSet::new(wl, nc),
    ];
    let cache = cache_dir(args);
    for root in &args.data {
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} tracks read ({elapsed}, ~{eta} left)",
            )
            .expect("valid template"),
        );
        let (loaded, report) = load(root, &cache, spec, &options, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .with_context(|| {
            format!(
                "reading {} (use --skip-bad to skip unreadable tracks)",
                root.display()
            )
        })?;
        bar.finish_and_clear();
        eprintln!(
            "{}: {} tracks ({} from the cache in {}, {} computed), {} skipped",
            root.display(),
            report.cache_hits + report.cache_misses,
            report.cache_hits,
            cache.display(),
            report.cache_misses,
            report.skipped.len()
        );
        for e in &report.skipped {
            eprintln!("  skipped: {e}");
        }
        for (all, part) in sets.iter_mut().zip(loaded) {
            all.append(part);
        }
    }
    for (name, set) in ["train", "validation", "test"].iter().zip(&sets) {
        eprintln!(
            "  {name}: {} windows from {} tracks of {} songs",
            set.len(),
            set.tracks.len(),
            set.songs.len()
        );
    }
    Ok(sets)
}

/// Weights from a file, or the embedded default model's when there is no path; an error names
/// which.
pub fn weights_or_embedded(path: Option<&Path>) -> anyhow::Result<Weights> {
    match path {
        Some(p) => Weights::from_file(p).with_context(|| format!("loading {}", p.display())),
        None => Weights::from_bytes(instrunet_model::DEFAULT_WEIGHTS)
            .context("loading the embedded model"),
    }
}

/// Weights for a command that runs a model on the user's audio: a file, or the embedded model
/// when there is no path or the file is unusable (with a warning that says why). Also returns
/// what to call the model in the output.
fn weights_or_fallback(path: Option<&Path>) -> (Weights, String) {
    const EMBEDDED: &str = "embedded default model";
    match (weights_or_embedded(path), path) {
        (Ok(w), Some(p)) => (w, p.display().to_string()),
        (Ok(w), None) => (w, EMBEDDED.to_owned()),
        (Err(e), _) => {
            // The path, then the weights error (which already says its own cause).
            let why: Vec<String> = e.chain().take(2).map(|c| c.to_string()).collect();
            eprintln!(
                "warning: {}; using the embedded model instead",
                why.join(": ")
            );
            let w = weights_or_embedded(None).expect("the embedded weights are valid (tested)");
            (w, EMBEDDED.to_owned())
        }
    }
}

/// The engine flags checked: the hop range the engine takes, the smoothing span.
fn check_engine_args(args: &EngineArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (instrunet_model::HOP_SECONDS_MIN..=instrunet_model::HOP_SECONDS_MAX).contains(&args.hop),
        "--hop {}: choose between {} and {} seconds",
        args.hop,
        instrunet_model::HOP_SECONDS_MIN,
        instrunet_model::HOP_SECONDS_MAX
    );
    anyhow::ensure!(
        (0.0..=60.0).contains(&args.smooth),
        "--smooth {}: choose between 0 (off) and 60 seconds",
        args.smooth
    );
    Ok(())
}

pub fn train(args: TrainArgs, architecture: Architecture) -> anyhow::Result<()> {
    instrunet_training::train::config::device_named(&args.device)?;
    // The checkpoint is written there after the first epoch: a missing folder must not cost it.
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Read before the data: a bad file fails in a second, not after minutes of loading.
    let (start, started_from) = match &args.init {
        None => (None, String::new()),
        Some(_) if architecture != Architecture::InstruNet => {
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
    let [mut train_set, validation, test] = load_all(&args.data, &spec)?;
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
        mix_probability: args.mix_probability,
        device: args.device.clone(),
        ..Default::default()
    };
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
    // The held-out test split, at the thresholds tuned on validation.
    let probs = match architecture {
        Architecture::InstruNet => predict_with(&weights, &test, config.threads)?,
        Architecture::Baseline => baseline_probabilities(&weights, &test)?,
    };
    let test_metrics = evaluate(
        &probs,
        &test.labels,
        &weights.spec.classes,
        &weights.spec.thresholds,
    );
    let name = match architecture {
        Architecture::InstruNet => "InstruNET",
        Architecture::Baseline => "Baseline (feed-forward)",
    };
    println!(
        "\nTest split ({} windows, {} songs never seen in training):\n",
        test.len(),
        test.songs.len()
    );
    println!("{}", Metrics::markdown_summary(&[(name, &test_metrics)]));
    println!("{}", test_metrics.markdown_classes());
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
        "architecture {architecture:?}; {started_from}trained by `instrunet {}` {}; {:.1} min on {} threads; best epoch {} of {}; seed {}",
        if architecture == Architecture::InstruNet {
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
    let m = &test_metrics;
    for (k, v) in [
        ("test_subset_accuracy", m.subset_accuracy),
        ("test_hamming_accuracy", m.hamming_accuracy),
        ("test_weighted_f1", m.weighted.f1),
        ("test_macro_f1", m.macro_avg.f1),
        ("test_micro_f1", m.micro.f1),
        ("test_map", m.map),
    ] {
        p.metrics
            .insert(k.into(), serde_json::json!((v * 1e4).round() / 1e4));
    }
    weights
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    std::fs::write(
        &log_path,
        serde_json::to_string_pretty(&serde_json::json!({
            "config": config,
            "epochs": outcome.log,
            "best_epoch": outcome.best_epoch,
            "test": test_metrics,
        }))?,
    )?;
    if let Err(e) = plot_curves(&outcome.log, &png_path, name) {
        eprintln!("no training-curve plot: {e}");
    }
    println!(
        "wrote {} (and {}, {}, checkpoint {})",
        args.out.display(),
        log_path.display(),
        png_path.display(),
        ckpt_path.display()
    );
    Ok(())
}

/// Reads a weights file written by `instrunet baseline`.
fn load_baseline(path: &Path) -> anyhow::Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (spec, tensors) = Weights::parts_from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(
        spec.provenance.notes.contains("Baseline"),
        "{}: not baseline weights (its provenance does not say `architecture Baseline`)",
        path.display()
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

pub fn analyze(args: AnalyzeArgs) -> anyhow::Result<()> {
    use instrunet_model::Classifier;
    check_engine_args(&args.engine)?;
    let (weights, model) = weights_or_fallback(args.engine.weights.as_deref());
    let classifier = Classifier::new(&weights, &instrunet_model::Device::Cpu)
        .with_context(|| format!("running {model}"))?;
    let audio = instrunet_training::data::audio::read_mono(&args.file)?;
    let started = std::time::Instant::now();
    let timeline = instrunet_training::eval::analyze::analyze(
        classifier,
        &audio.samples,
        audio.sample_rate,
        args.engine.hop,
        args.engine.smooth,
    )?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "{}: {:.1} s at {} Hz, analysed in {:.2} s ({:.0}x real time); {model}, {} classes, a window every {:.3} s, probabilities averaged over {:.1} s centred",
        args.file.display(),
        timeline.duration_seconds,
        audio.sample_rate,
        took,
        timeline.duration_seconds / took.max(1e-9),
        timeline.classes.len(),
        timeline.hop_seconds,
        timeline.smoothing_seconds
    );
    if timeline.times.is_empty() {
        println!(
            "the file is shorter than one model window ({:.2} s): nothing to analyse",
            timeline.window_seconds
        );
        return Ok(());
    }
    println!("\nclass, seconds active, when:\n{}", timeline.text());
    let dir = args
        .out_dir
        .clone()
        .or_else(|| args.file.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audio".into());
    let base = dir.join(format!("{stem}.instrunet"));
    let (csv, json, png) = (
        base.with_extension("instrunet.csv"),
        base.with_extension("instrunet.json"),
        base.with_extension("instrunet.png"),
    );
    std::fs::write(&csv, timeline.csv()).with_context(|| format!("writing {}", csv.display()))?;
    let doc = serde_json::json!({"file": args.file.display().to_string(), "model": model, "timeline": timeline});
    std::fs::write(&json, serde_json::to_string_pretty(&doc)?)
        .with_context(|| format!("writing {}", json.display()))?;
    match timeline.plot(&png, &format!("{stem}: instrument activity ({model})")) {
        Ok(()) => println!(
            "wrote {}, {} and {}",
            csv.display(),
            json.display(),
            png.display()
        ),
        Err(e) => println!(
            "wrote {} and {}; no plot: {e}",
            csv.display(),
            json.display()
        ),
    }
    Ok(())
}

/// `instrunet data fonts`: programs of different classes that a font plays with the same samples.
pub fn sound_alikes(fonts: &[PathBuf], min_share: f64) -> anyhow::Result<()> {
    use instrunet_model::InstrumentClass;
    use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
    use instrunet_training::synth::gm::PROGRAM_NAMES;
    let paths = if fonts.is_empty() {
        installed_training_soundfonts().map_err(|e| anyhow::anyhow!(e))?
    } else {
        fonts.to_vec()
    };
    let describe = |p: u32| {
        let class = InstrumentClass::from_program(p).map_or("?", |c| c.name());
        format!("{p} {} ({class})", PROGRAM_NAMES[p as usize])
    };
    for path in &paths {
        let font = Font::load(path).map_err(|e| anyhow::anyhow!(e))?;
        if font.is_kit_only() {
            println!("{}: a drum kit, no melodic programs\n", path.display());
            continue;
        }
        let pairs = font.sound_alikes(min_share);
        let mut programs: Vec<u32> = pairs.iter().flat_map(|p| p.programs).collect();
        programs.sort_unstable();
        programs.dedup();
        println!(
            "{}: {} pairs of programs of different classes share at least {:.0} % of their samples ({} programs)",
            path.display(),
            pairs.len(),
            min_share * 100.0,
            programs.len()
        );
        for pair in &pairs {
            let [a, b] = pair.programs;
            println!("  {:.2}  {}  ~  {}", pair.share, describe(a), describe(b));
        }
        println!();
    }
    Ok(())
}

/// `instrunet tag DIR`: the instrument in each audio file of a folder.
pub fn tag(args: TagArgs) -> anyhow::Result<()> {
    use instrunet_training::eval::tag::{
        TagSettings, csv, find_audio_files, rename_plan, reports, table,
    };
    check_engine_args(&args.engine)?;
    let files = find_audio_files(&args.dir, args.recursive)
        .with_context(|| format!("reading {}", args.dir.display()))?;
    anyhow::ensure!(
        !files.is_empty(),
        "no audio files ({}) in {}{}",
        instrunet_training::eval::tag::AUDIO_EXTENSIONS.join(", "),
        args.dir.display(),
        if args.recursive {
            " or its subfolders"
        } else {
            " (add --recursive for its subfolders)"
        }
    );
    let (weights, model) = weights_or_fallback(args.engine.weights.as_deref());
    let settings = TagSettings {
        hop_seconds: args.engine.hop,
        smoothing_seconds: args.engine.smooth,
        silence_db: args.silence_db,
        min_share: args.min_share,
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let bar = indicatif::ProgressBar::new(files.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} files, {elapsed} elapsed, ~{eta} left",
        )
        .expect("valid template"),
    );
    let started = std::time::Instant::now();
    let outcomes =
        instrunet_training::eval::tag::tag_files(&files, &weights, &settings, threads, &|_, _| {
            bar.inc(1)
        });
    bar.finish_and_clear();
    let took = started.elapsed().as_secs_f64();
    let display: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&args.dir).unwrap_or(f).display().to_string())
        .collect();
    let classes = &weights.spec.classes;
    let reports = reports(&display, &outcomes, classes);
    let count = |status: &str| reports.iter().filter(|r| r.status == status).count();
    let (failed, silent) = (count("unreadable"), count("silent"));
    let audio_seconds: f64 = reports.iter().filter_map(|r| r.seconds).sum();
    print!("{}", table(&reports));
    println!(
        "\n{} files ({} tagged, {silent} silent, {failed} unreadable), {audio_seconds:.0} s of audio in {took:.1} s on {threads} thread(s); {model}",
        files.len(),
        files.len() - failed - silent,
    );
    if let Some(path) = &args.csv {
        std::fs::write(path, csv(&reports, classes))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "folder": args.dir.display().to_string(),
            "model": model,
            "hop_seconds": args.engine.hop,
            "smoothing_seconds": args.engine.smooth,
            "silence_db": args.silence_db,
            "min_share": args.min_share,
            "files": reports,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.rename_plan {
        std::fs::write(path, rename_plan(&files, &reports))
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "wrote {} (review it, then run: sh {})",
            path.display(),
            path.display()
        );
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} files could not be read (listed above); the others were tagged",
        files.len()
    );
    Ok(())
}
