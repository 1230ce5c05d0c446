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
    /// Work with Slakh-format data folders.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
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
