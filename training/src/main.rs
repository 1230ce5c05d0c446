//! `instrunet`: InstruNET's data, training and evaluation tool.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use instrunet_model::NetworkShape;
use instrunet_training::train::config::DEFAULT_MIX_PROBABILITY;

mod commands;

#[derive(Parser)]
#[command(
    name = "instrunet",
    version,
    about = "InstruNET data, training and evaluation tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe the embedded default model, or a weights file: classes, network, data, metrics.
    Info {
        /// A weights file (default: the embedded model).
        weights: Option<PathBuf>,
    },
    /// Run the plugin's streaming engine over an audio file (WAV, FLAC, MP3, OGG): prints which
    /// classes play when, and writes CSV, JSON and a PNG activity plot.
    Analyze(AnalyzeArgs),
    /// Name the instrument in every audio file of a folder of stems (WAV, FLAC, MP3, OGG): a
    /// table of the classes each plays, its main class and a suggested track name; CSV, JSON and
    /// a reviewable rename script on request.
    Tag(TagArgs),
    /// Render MIDI files into Slakh-format tracks with SoundFonts.
    Synth(SynthArgs),
    /// Train InstruNET on Slakh-format data; writes the weights, a JSON log, a training-curve PNG
    /// and a checkpoint next to --out.
    Train(TrainArgs),
    /// Train the paper's shallow feed-forward baseline on the same split.
    Baseline(TrainArgs),
    /// Evaluate weights on a data folder's test split (or another split): Markdown table, and
    /// JSON with --json.
    Eval(EvalArgs),
    /// Work with Slakh-format data folders.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Folder to write TrackNNNNN/ folders into (numbering continues after the tracks already
    /// there).
    #[arg(long)]
    out: PathBuf,
    /// How many tracks: songs to compose, or at most this many MIDI files with --midi-dir.
    #[arg(long)]
    tracks: Option<usize>,
    /// SoundFonts to draw from per stem (repeatable); default: the training fonts installed at
    /// their Debian paths.
    #[arg(long = "soundfont")]
    soundfonts: Vec<PathBuf>,
    /// Render the MIDI files (*.mid, *.midi) of this folder, one track each, as Slakh was made
    /// from Lakh MIDI, instead of composing songs.
    #[arg(long)]
    midi_dir: Option<PathBuf>,
    /// With --midi-dir: give every part a new General MIDI program from the composer's
    /// instrument picker (for score corpora whose parts are all piano or unnamed).
    #[arg(long, requires = "midi_dir")]
    arrange: bool,
    /// Seed for the songs, the per-stem font choice and the timbre variation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sample rate of the written audio, Hz (default: the model's). The synthesiser runs at
    /// 44.1 kHz or above and lower rates are resampled from it, so no aliases; Slakh is at
    /// 44.1 kHz; the readers resample any rate to the model's.
    #[arg(long)]
    sample_rate: Option<u32>,
}

/// How audio is run through the streaming engine (`analyze`, `tag`).
#[derive(clap::Args)]
struct EngineArgs {
    /// Weights file (default: the embedded model). A bad file falls back to the embedded model
    /// with a warning that says why.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seconds between analyses (0.05 to 1).
    #[arg(long, default_value_t = instrunet_model::DEFAULT_HOP_SECONDS)]
    hop: f32,
    /// Average each analysis's probabilities with its neighbours' over this many seconds,
    /// centred, before deciding what plays (0: the engine's raw output, as the plugin sees it).
    #[arg(long, default_value_t = 4.0)]
    smooth: f64,
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// The audio file.
    file: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Folder for FILE.instrunet.csv, .json and .png (default: next to FILE).
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct TagArgs {
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

#[derive(clap::Args)]
struct DataArgs {
    /// Data roots (repeatable): TrackNNNNN/ folders, or train/ validation/ test/ holding them.
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// Where computed windows are cached (default: ~/.cache/instrunet/windows).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Skip tracks that cannot be read (counted and reported) instead of stopping.
    #[arg(long)]
    skip_bad: bool,
    /// Frames between window starts when cutting tracks (64 = 1.02 s at the defaults).
    #[arg(long, default_value_t = 64)]
    stride: usize,
    /// Threads for decoding, inference and training.
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct TrainArgs {
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
    /// Epochs without a better validation mAP before stopping.
    #[arg(long, default_value_t = 4)]
    patience: usize,
    /// Share of training examples mixed with a window of another track (quieter, added in
    /// power; the labels are the union of both), from 0 (never) to 1 (always).
    #[arg(long, default_value_t = DEFAULT_MIX_PROBABILITY, value_parser = probability)]
    mix_probability: f64,
    /// Fine-tune: start from these weights (`default`: the embedded model) instead of a random
    /// draw, keeping their classes, front end, network and input normalisation; the optimiser and
    /// the learning-rate schedule start afresh. With --resume, the checkpoint's weights win.
    #[arg(long, value_name = "WEIGHTS", conflicts_with_all = ["pool_bands", "channels"])]
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

#[derive(clap::Args)]
struct EvalArgs {
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

#[derive(Subcommand)]
enum DataCommand {
    /// Read every track of a BabySlakh / Slakh2100 folder and print a summary: tracks, stems per
    /// class, hours, problems found.
    Check {
        /// The data root: TrackNNNNN/ folders, or train/ validation/ test/ folders holding them.
        dir: PathBuf,
        /// Skip tracks that cannot be read (counted and listed at the end) instead of stopping.
        #[arg(long)]
        skip_bad: bool,
    },
    /// List the General MIDI programs of different classes that a SoundFont plays with mostly
    /// the same samples (e.g. a Fiddle that is the Violin sample): stems of either sound the same
    /// under two labels.
    Fonts {
        /// SoundFonts (default: the training fonts installed at their Debian paths).
        fonts: Vec<PathBuf>,
        /// Smallest share of shared samples (over all the samples either program plays) to list.
        #[arg(long, default_value_t = 0.5, value_parser = probability)]
        min_share: f64,
    },
}

/// A share from 0 to 1, for `--mix-probability`.
fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Ok(p) => Err(format!("{p} is not between 0 and 1")),
        Err(e) => Err(format!("{text:?} is not a number: {e}")),
    }
}

fn main() -> anyhow::Result<()> {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`instrunet synth | head -n 1`) would
    // panic; restore the default, under which the process ends quietly as other tools do.
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match Cli::parse().command {
        Command::Synth(args) => synth(args)?,
        Command::Train(args) => commands::train(
            args,
            instrunet_training::train::config::Architecture::InstruNet,
        )?,
        Command::Baseline(args) => commands::train(
            args,
            instrunet_training::train::config::Architecture::Baseline,
        )?,
        Command::Eval(args) => commands::eval(args)?,
        Command::Analyze(args) => commands::analyze(args)?,
        Command::Tag(args) => commands::tag(args)?,
        Command::Info { weights } => {
            let spec = commands::weights_or_embedded(weights.as_deref())?.spec;
            let name = weights
                .as_ref()
                .map_or("InstruNET embedded model".into(), |p| {
                    p.display().to_string()
                });
            println!(
                "{name}: {} classes: {}",
                spec.n_classes(),
                spec.classes.join(", ")
            );
            println!(
                "network: blocks of {:?} channels, {} frequency band(s) after the adaptive average pool; input {} Mel bands x {} frames",
                spec.network.conv_channels,
                spec.network.pool_bands,
                spec.mel.n_mels,
                spec.mel.window_frames
            );
            println!(
                "trained on: {} ({} epochs)",
                spec.provenance.data, spec.provenance.epochs
            );
            if !spec.provenance.metrics.is_empty() {
                let metrics: Vec<String> = spec
                    .provenance
                    .metrics
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                println!("held-out metrics: {}", metrics.join(", "));
            }
            if !spec.provenance.notes.is_empty() {
                println!("notes: {}", spec.provenance.notes);
            }
        }
        Command::Data {
            command: DataCommand::Check { dir, skip_bad },
        } => {
            let summary =
                instrunet_training::data::check::check(&dir, skip_bad).with_context(|| {
                    format!(
                        "checking {} (use --skip-bad to skip unreadable tracks)",
                        dir.display()
                    )
                })?;
            print!("{summary}");
        }
        Command::Data {
            command: DataCommand::Fonts { fonts, min_share },
        } => commands::sound_alikes(&fonts, min_share)?,
    }
    Ok(())
}

/// One track to make: a song to compose or a MIDI file to render.
enum SynthJob {
    Compose(u64),
    Midi(PathBuf),
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    use instrunet_training::synth::compose::{arrange, compose, song_seed};
    use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
    use instrunet_training::synth::midi::{stems_from_midi_tracks, stems_to_midi};
    use instrunet_training::synth::render::render_track;
    let paths = if args.soundfonts.is_empty() {
        installed_training_soundfonts().map_err(anyhow::Error::msg)?
    } else {
        args.soundfonts.clone()
    };
    let fonts = paths
        .iter()
        .map(|p| Font::load(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let jobs: Vec<SynthJob> = match &args.midi_dir {
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("mid") || x.eq_ignore_ascii_case("midi")
                    })
                })
                .collect();
            files.sort();
            files.truncate(args.tracks.unwrap_or(usize::MAX));
            anyhow::ensure!(!files.is_empty(), "no .mid files in {}", dir.display());
            files.into_iter().map(SynthJob::Midi).collect()
        }
        None => (0..args.tracks.unwrap_or(10) as u64)
            .map(|i| SynthJob::Compose(song_seed(args.seed, i)))
            .collect(),
    };
    let rate = args
        .sample_rate
        .unwrap_or(instrunet_model::MelSettings::default().sample_rate);
    // Checked here too so that a bad rate stops the run before anything is written, not per track.
    anyhow::ensure!(
        instrunet_training::synth::render::RENDER_RATES.contains(&rate),
        "--sample-rate {rate}: choose between {} and {} Hz",
        instrunet_training::synth::render::RENDER_RATES.start(),
        instrunet_training::synth::render::RENDER_RATES.end()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let first_id = next_track_number(&args.out)?;
    let (mut ok, mut seconds, started) = (0usize, 0.0f64, std::time::Instant::now());
    // Per class: tracks it sounds in, and stems.
    let mut classes =
        std::collections::BTreeMap::<instrunet_model::InstrumentClass, (usize, usize)>::new();
    let bar = indicatif::ProgressBar::new(jobs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} tracks, {elapsed} elapsed, ~{eta} left  {msg}",
        )
        .expect("valid template"),
    );
    for (i, job) in jobs.iter().enumerate() {
        let id = format!("Track{:05}", first_id + i);
        let render_seed = song_seed(args.seed ^ 0x5eed, i as u64);
        let made = match job {
            SynthJob::Compose(song) => {
                let song = compose(*song);
                bar.set_message(format!("{:?}", song.style));
                let midi = song.to_midi();
                render_track(
                    &midi,
                    &format!("composer:{:016x}", song.seed),
                    &fonts,
                    rate,
                    render_seed,
                    &args.out,
                    &id,
                )
                .map(|r| (r, song.describe()))
            }
            SynthJob::Midi(file) => {
                bar.set_message(
                    file.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                std::fs::read(file)
                    .map_err(|e| format!("{}: {e}", file.display()))
                    .and_then(|bytes| {
                        if args.arrange {
                            Ok(stems_to_midi(&arrange(
                                &stems_from_midi_tracks(&bytes)?,
                                render_seed,
                            )))
                        } else {
                            Ok(bytes)
                        }
                    })
                    .and_then(|midi| {
                        render_track(
                            &midi,
                            &file.display().to_string(),
                            &fonts,
                            rate,
                            render_seed,
                            &args.out,
                            &id,
                        )
                    })
                    .map(|r| (r, file.display().to_string()))
                    .map_err(|e| format!("{}: {e}", file.display()))
            }
        };
        match made {
            Ok(((meta, track_seconds), what)) => {
                ok += 1;
                seconds += track_seconds;
                let mut in_track = std::collections::BTreeSet::new();
                for stem in meta.stems.values() {
                    if let Ok(class) =
                        instrunet_model::InstrumentClass::from_stem(stem.program_num, stem.is_drum)
                    {
                        classes.entry(class).or_default().1 += 1;
                        in_track.insert(class);
                    }
                }
                for class in in_track {
                    classes.entry(class).or_default().0 += 1;
                }
                say(&bar, format!("{id}: {what}"));
            }
            Err(e) => say(&bar, format!("{id}: skipped: {e}")),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let took = started.elapsed().as_secs_f64();
    println!(
        "{ok} of {} tracks written to {}: {seconds:.0} s of audio in {took:.1} s ({:.0}x real time)",
        jobs.len(),
        args.out.display(),
        seconds / took.max(1e-9)
    );
    println!("{:<22} {:>7} {:>7}", "class", "tracks", "stems");
    for class in instrunet_model::InstrumentClass::ALL {
        let (t, s) = classes.get(&class).copied().unwrap_or_default();
        println!(
            "{:<22} {t:>7} {s:>7}  {}",
            class.name(),
            "#".repeat((t * 40).div_ceil(ok.max(1)))
        );
    }
    Ok(())
}

/// The number after the highest TrackNNNNN folder in `dir` (1 for an empty folder).
fn next_track_number(dir: &std::path::Path) -> anyhow::Result<usize> {
    let mut highest = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix("Track"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            highest = highest.max(n);
        }
    }
    Ok(highest + 1)
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output not a terminal).
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
