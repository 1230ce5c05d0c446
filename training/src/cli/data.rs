//! `instrunet data check`, `instrunet data fonts` and `instrunet data solo`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::cli::common::probability;

#[derive(Subcommand)]
pub(crate) enum DataCommand {
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
        #[arg(long, default_value_t = instrunet_training::eval::study::SOUND_ALIKE_MIN_SHARE, value_parser = probability)]
        min_share: f64,
    },
    /// Make a "solo" set from a BabySlakh / Slakh2100-format folder: one track per stem, whose
    /// mix is that stem alone (symbolic links to the stem's audio, nothing copied; metadata.yaml
    /// with only that stem), numbered Track00001, ... `instrunet eval --split all` on it shows
    /// what the model names when nothing else plays.
    Solo {
        /// The source data root (e.g. made by `instrunet synth`).
        src: PathBuf,
        /// Where the solo tracks go (created; must not hold solo tracks already).
        dst: PathBuf,
    },
}

/// Runs a `data` subcommand.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Check { dir, skip_bad } => {
            let summary =
                instrunet_training::data::check::check(&dir, skip_bad).with_context(|| {
                    format!(
                        "checking {} (use --skip-bad to skip unreadable tracks)",
                        dir.display()
                    )
                })?;
            print!("{summary}");
        }
        DataCommand::Fonts { fonts, min_share } => sound_alikes(&fonts, min_share)?,
        DataCommand::Solo { src, dst } => {
            let n = instrunet_training::data::solo::solo_set(&src, &dst)
                .with_context(|| format!("making a solo set of {}", src.display()))?;
            println!("{n} solo tracks in {}", dst.display());
        }
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
