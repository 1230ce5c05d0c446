//! `instrunet tag DIR`.

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::common::{EngineArgs, check_engine_args, probability, weights_or_fallback};

#[derive(clap::Args)]
pub(crate) struct TagArgs {
    /// The folder of audio files.
    dir: PathBuf,
    /// Also the files in its subfolders.
    #[arg(long, short)]
    recursive: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// RMS level (dBFS) of a stretch from which it counts as sounding; a file with no such
    /// stretch is silent.
    #[arg(long, default_value_t = -50.0, allow_hyphen_values = true)]
    silence_db: f32,
    /// Smallest share of a file's sounding time for a class to be listed as heard.
    #[arg(long, default_value_t = 0.2, value_parser = probability)]
    min_share: f64,
    /// Also write the table as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Also write the table as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a shell script of `mv -n` lines that would give each file its suggested name, for
    /// you to review and run (nothing is renamed by `tag` itself).
    #[arg(long, value_name = "SCRIPT")]
    rename_plan: Option<PathBuf>,
    /// Files analysed at once (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
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
