//! `instrunet analyze FILE`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::common::{EngineArgs, check_engine_args, weights_or_fallback};

#[derive(clap::Args)]
pub(crate) struct AnalyzeArgs {
    /// The audio file.
    file: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Folder for FILE.instrunet.csv, .json and .png (default: next to FILE).
    #[arg(long)]
    out_dir: Option<PathBuf>,
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
