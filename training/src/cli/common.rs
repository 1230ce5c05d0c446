//! What several commands share: the data flags and loading the data roots (`train`, `baseline`,
//! `eval`), the engine flags and the weights (`analyze`, `tag`, `info`, `train --init`, `eval`), and
//! the share parser.

use std::path::{Path, PathBuf};

use anyhow::Context;
use instrunet_model::{ModelSpec, Weights};
use instrunet_training::data::dataset::{LoadOptions, WindowSet, load};
use instrunet_training::data::windows::WindowSettings;

/// A share from 0 to 1, for `--mix-probability`.
pub(crate) fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("{p} is not between 0 and 1")),
        Err(e) => Err(format!("{text:?} is not a number: {e}")),
    }
}

/// An EQ range, 0 to 24 dB (`train --eq-db`, `calibrate --timbre-eq-db`).
pub(crate) fn eq_range(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(db) if (0.0..=24.0).contains(&db) => Ok(db),
        Ok(db) => Err(format!("{db} dB is outside 0 to 24")),
        Err(e) => Err(format!("{text:?} is not a number: {e}")),
    }
}

/// How audio is run through the streaming engine (`analyze`, `tag`).
#[derive(clap::Args)]
pub(crate) struct EngineArgs {
    /// Weights file (default: the embedded model). A bad file falls back to the embedded model
    /// with a warning that says why.
    #[arg(long)]
    pub(crate) weights: Option<PathBuf>,
    /// Seconds between analyses (0.05 to 1).
    #[arg(long, default_value_t = instrunet_model::DEFAULT_HOP_SECONDS)]
    pub(crate) hop: f32,
    /// Average each analysis's probabilities with its neighbours' over this many seconds,
    /// centred, before deciding what plays (0: the engine's raw output, as the plugin sees it).
    #[arg(long, default_value_t = 4.0)]
    pub(crate) smooth: f64,
}

#[derive(clap::Args, Clone)]
pub(crate) struct DataArgs {
    /// Data roots (repeatable): TrackNNNNN/ folders, or train/ validation/ test/ holding them.
    #[arg(long = "data", required = true)]
    pub(crate) data: Vec<PathBuf>,
    /// Where computed windows are cached (default: ~/.cache/instrunet/windows).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Skip tracks that cannot be read (counted and reported) instead of stopping.
    #[arg(long)]
    pub(crate) skip_bad: bool,
    /// Frames between window starts when cutting tracks (64 = 1.02 s at the defaults).
    #[arg(long, default_value_t = 64)]
    pub(crate) stride: usize,
    /// A stem counts as playing in a window from this RMS level there, in dBFS (the labels'
    /// rule; a higher level leaves quiet parts unlabelled).
    #[arg(long, default_value_t = WindowSettings::default().active_dbfs, allow_negative_numbers = true)]
    pub(crate) active_dbfs: f32,
    /// Threads for decoding, inference and training.
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

pub(crate) fn threads(args: &DataArgs) -> usize {
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
pub(crate) fn load_all(args: &DataArgs, spec: &ModelSpec) -> anyhow::Result<[WindowSet; 3]> {
    Ok(load_all_with_roots(args, spec)?.0)
}

/// [`load_all`], and per split the index in `args.data` of the root each track came from.
pub(crate) fn load_all_with_roots(
    args: &DataArgs,
    spec: &ModelSpec,
) -> anyhow::Result<([WindowSet; 3], [Vec<usize>; 3])> {
    anyhow::ensure!(
        args.active_dbfs.is_finite() && args.active_dbfs < 0.0,
        "--active-dbfs must be a level below full scale (a negative number of dB), got {}",
        args.active_dbfs
    );
    let mut roots: [Vec<usize>; 3] = Default::default();
    let options = LoadOptions {
        windows: WindowSettings {
            stride_frames: args.stride,
            active_dbfs: args.active_dbfs,
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
    for (r, root) in args.data.iter().enumerate() {
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
        if let Some(why) = &report.cache_unstored_why {
            eprintln!(
                "  {} of them could not be cached and were computed twice (is the disk full?): {why}",
                report.cache_unstored
            );
        }
        for e in &report.skipped {
            eprintln!("  skipped: {e}");
        }
        for ((all, part), of) in sets.iter_mut().zip(loaded).zip(&mut roots) {
            of.extend(std::iter::repeat_n(r, part.tracks.len()));
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
    Ok((sets, roots))
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
pub(crate) fn weights_or_fallback(path: Option<&Path>) -> (Weights, String) {
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
pub(crate) fn check_engine_args(args: &EngineArgs) -> anyhow::Result<()> {
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
