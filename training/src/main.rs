//! `instrunet`: InstruNET's data, training and evaluation tool.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

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
    /// Describe the embedded default model.
    Info,
    /// Render MIDI files into Slakh-format tracks with SoundFonts.
    Synth(SynthArgs),
    /// Work with Slakh-format data folders.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Folder to write TrackNNNNN/ folders into.
    #[arg(long)]
    out: PathBuf,
    /// Render the MIDI files (*.mid, *.midi) of this folder, one track each, as Slakh was made
    /// from Lakh MIDI. (Composing new songs is a separate step, not in this command yet.)
    #[arg(long)]
    midi_dir: PathBuf,
    /// SoundFonts to draw from per stem (repeatable); default: the training fonts installed at
    /// their Debian paths.
    #[arg(long = "soundfont")]
    soundfonts: Vec<PathBuf>,
    /// Seed for the per-stem font choice and timbre variation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Render at most this many files.
    #[arg(long)]
    tracks: Option<usize>,
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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Synth(args) => synth(args)?,
        Command::Info => {
            let classifier = instrunet_model::Classifier::embedded_default();
            let spec = classifier.spec();
            println!(
                "InstruNET embedded model: {} classes: {}",
                spec.n_classes(),
                spec.classes.join(", ")
            );
            println!(
                "trained on: {} ({} epochs)",
                spec.provenance.data, spec.provenance.epochs
            );
        }
        Command::Data {
            command: DataCommand::Check { dir, skip_bad },
        } => {
            let summary = instrunet_training::check::check(&dir, skip_bad).with_context(|| {
                format!(
                    "checking {} (use --skip-bad to skip unreadable tracks)",
                    dir.display()
                )
            })?;
            print!("{summary}");
        }
    }
    Ok(())
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    use instrunet_training::render::{Font, installed_training_soundfonts, render_track};
    let paths = if args.soundfonts.is_empty() {
        installed_training_soundfonts().map_err(anyhow::Error::msg)?
    } else {
        args.soundfonts.clone()
    };
    let fonts = paths
        .iter()
        .map(|p| Font::load(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.midi_dir)
        .with_context(|| format!("reading {}", args.midi_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("mid") || x.eq_ignore_ascii_case("midi"))
        })
        .collect();
    files.sort();
    files.truncate(args.tracks.unwrap_or(usize::MAX));
    anyhow::ensure!(
        !files.is_empty(),
        "no .mid files in {}",
        args.midi_dir.display()
    );
    let rate = instrunet_model::MelSettings::default().sample_rate;
    let (mut ok, mut seconds, started) = (0usize, 0.0f64, std::time::Instant::now());
    let mut classes = std::collections::BTreeMap::<String, usize>::new();
    let bar = indicatif::ProgressBar::new(files.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} tracks, {elapsed} elapsed, ~{eta} left  {msg}",
        )
        .expect("valid template"),
    );
    for (i, file) in files.iter().enumerate() {
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let id = format!("Track{:05}", i + 1);
        match render_track(
            &bytes,
            &file.display().to_string(),
            &fonts,
            rate,
            args.seed.wrapping_add(i as u64),
            &args.out,
            &id,
        ) {
            Ok((meta, track_seconds)) => {
                ok += 1;
                seconds += track_seconds;
                for stem in meta.stems.values() {
                    *classes.entry(stem.inst_class.clone()).or_default() += 1;
                }
                say(
                    &bar,
                    format!("{id}: {} ({} stems)", file.display(), meta.stems.len()),
                );
            }
            Err(e) => say(&bar, format!("{}: skipped: {e}", file.display())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let took = started.elapsed().as_secs_f64();
    println!(
        "{ok} of {} files rendered: {seconds:.0} s of audio in {took:.1} s ({:.0}x real time)",
        files.len(),
        seconds / took.max(1e-9)
    );
    println!("stems per Slakh inst_class: {classes:?}");
    Ok(())
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output not a terminal).
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}
