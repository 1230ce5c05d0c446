//! `instrunet`: InstruNET's data, training and evaluation tool. This file parses the command line
//! and hands each command to its module under `cli/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use instrunet_model::NetworkKind;

mod cli;

#[derive(Parser)]
#[command(
    name = "instrunet",
    version,
    about = "InstruNET data, training and evaluation tools"
)]
struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
    Analyze(cli::analyze::AnalyzeArgs),
    /// Name the instrument in every audio file of a folder of stems (WAV, FLAC, MP3, OGG): a
    /// table of the classes each plays, its main class and a suggested track name; CSV, JSON and
    /// a reviewable rename script on request.
    Tag(cli::tag::TagArgs),
    /// Render MIDI files into Slakh-format tracks with SoundFonts.
    Synth(cli::synth::SynthArgs),
    /// Train InstruNET on Slakh-format data; writes the weights, a JSON log, a training-curve PNG
    /// and a checkpoint next to --out.
    Train(cli::train::TrainArgs),
    /// Train the paper's shallow feed-forward baseline on the same split.
    Baseline(cli::train::TrainArgs),
    /// Evaluate weights on a data folder's test split (or another split): Markdown table, and
    /// JSON with --json.
    Eval(cli::eval::EvalArgs),
    /// How long meters take to light after an instrument enters (from its stem), for the engine's
    /// raw output, causal means and the offline centred mean, with precision, recall and F1 of
    /// each, on the tracks of Slakh-format folders.
    Latency(cli::latency::LatencyArgs),
    /// Choose the live engine's causal mean and the per-class thresholds on validation songs
    /// (each length tried with thresholds tuned for it; the best macro F1 kept) and write them
    /// into a copy of the weights.
    Calibrate(cli::calibrate::CalibrateArgs),
    /// Two weights files side by side on the held-out sets `calibrate --test` recorded in both,
    /// with a verdict per set: is the candidate better on every one (the ship rule)?
    Compare(cli::compare::CompareArgs),
    /// Average several weights files of one network (fine-tuned from the same weights) into
    /// one; calibrate the result next.
    Average(cli::average::AverageArgs),
    /// Widen the convolution blocks of trained weights without changing what they compute, to
    /// train a wider network on from them.
    Widen(cli::widen::WidenArgs),
    /// Add convolution blocks (no pooling, at the last block's width) to trained weights without
    /// changing what they compute, to train a deeper network on from them.
    Deepen(cli::deepen::DeepenArgs),
    /// Add each frequency band's maximum over time to the pool of trained weights, its gate
    /// closed so that they compute what they did, to train on from them.
    TimeMax(cli::time_max::TimeMaxArgs),
    /// Work with Slakh-format data folders.
    Data {
        #[command(subcommand)]
        command: cli::data::DataCommand,
    },
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
        Command::Synth(args) => cli::synth::synth(args)?,
        Command::Train(args) => cli::train::train(args, NetworkKind::Instrunet)?,
        Command::Baseline(args) => cli::train::train(args, NetworkKind::Baseline)?,
        Command::Eval(args) => cli::eval::eval(args)?,
        Command::Analyze(args) => cli::analyze::analyze(args)?,
        Command::Tag(args) => cli::tag::tag(args)?,
        Command::Info { weights } => cli::info::info(weights.as_deref())?,
        Command::Latency(args) => cli::latency::latency(args)?,
        Command::Calibrate(args) => cli::calibrate::calibrate(args)?,
        Command::Compare(args) => cli::compare::compare(args)?,
        Command::Average(args) => cli::average::average(args)?,
        Command::Widen(args) => cli::widen::widen(args)?,
        Command::Deepen(args) => cli::deepen::deepen(args)?,
        Command::TimeMax(args) => cli::time_max::time_max(args)?,
        Command::Data { command } => cli::data::run(command)?,
    }
    Ok(())
}
