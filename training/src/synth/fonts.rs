//! The SoundFonts training renders with: where Debian installs them, loading one and which
//! programs it has, and which programs of different classes it plays with the same samples.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use instrunet_model::InstrumentClass;
use rustysynth::SoundFont;

// The constants FLUID_R3_GM, OPL3_FM_GM, CSOUND_GM, BLACK_PEARL_DRUMS, RED_ZEPPELIN_DRUMS and the
// table TRAINING_SOUNDFONTS (path, Debian package), made by build.rs from training/soundfonts.tsv,
// the one list of the training SoundFonts (scripts/ensure-tools.sh installs the same list).
// TimGM6mb and MuseScore General are deliberately absent: they are for testing only.
include!(concat!(env!("OUT_DIR"), "/soundfonts.rs"));

/// The training SoundFonts that are installed; an error naming the packages when none is.
pub fn installed_training_soundfonts() -> Result<Vec<PathBuf>, String> {
    let found: Vec<PathBuf> = TRAINING_SOUNDFONTS
        .iter()
        .map(|(p, _)| PathBuf::from(p))
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        let pkgs: Vec<&str> = TRAINING_SOUNDFONTS.iter().map(|(_, p)| *p).collect();
        return Err(format!(
            "no SoundFont found; install one of the Debian packages {} (or pass --soundfont)",
            pkgs.join(", ")
        ));
    }
    Ok(found)
}

/// A loaded SoundFont and which programs it has.
pub struct Font {
    pub path: PathBuf,
    pub font: Arc<SoundFont>,
    /// Melodic programs (bank 0) it defines.
    programs: Vec<bool>,
    has_drums: bool,
    /// A font that is one drum kit at bank 0, program 0 (the AVL kits): it serves drum stems only,
    /// played on a melodic channel.
    pub(super) kit_only: bool,
}

impl Font {
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let font = SoundFont::new(&mut file)
            .map_err(|e| format!("{}: not a SoundFont: {e:?}", path.display()))?;
        let mut programs = vec![false; 128];
        let mut has_drums = false;
        for p in font.get_presets() {
            match (p.get_bank_number(), p.get_patch_number()) {
                (0, n) if (0..128).contains(&n) => programs[n as usize] = true,
                (128, _) => has_drums = true,
                _ => {}
            }
        }
        // One preset and no General MIDI set: a drum kit (the AVL kits name theirs "…_4pc").
        let kit_only = font.get_presets().len() == 1 && !has_drums;
        if kit_only {
            programs.fill(false);
            has_drums = true;
        }
        Ok(Self {
            path: path.to_owned(),
            font: Arc::new(font),
            programs,
            has_drums,
            kit_only,
        })
    }

    /// Whether the font can play this program (128 / `is_drum`: a drum kit).
    pub fn covers(&self, program: u32, is_drum: bool) -> bool {
        if is_drum {
            self.has_drums
        } else {
            self.programs
                .get(program as usize)
                .copied()
                .unwrap_or(false)
        }
    }

    /// A one-kit font (the AVL kits), used for drum stems only.
    pub fn is_kit_only(&self) -> bool {
        self.kit_only
    }

    pub(super) fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The samples each melodic program (bank 0) plays, each named by where its audio starts
    /// in the font (two headers over the same audio are the same sound).
    fn program_samples(&self) -> BTreeMap<u32, BTreeSet<i32>> {
        let (instruments, headers) = (self.font.get_instruments(), self.font.get_sample_headers());
        let mut out = BTreeMap::new();
        for preset in self.font.get_presets() {
            if preset.get_bank_number() != 0 || !(0..128).contains(&preset.get_patch_number()) {
                continue;
            }
            let samples: BTreeSet<i32> = preset
                .get_regions()
                .iter()
                .filter_map(|r| instruments.get(r.get_instrument_id()))
                .flat_map(|i| i.get_regions())
                .filter_map(|r| headers.get(r.get_sample_id()))
                .map(|h| h.get_start())
                .collect();
            out.insert(preset.get_patch_number() as u32, samples);
        }
        out
    }

    /// Pairs of melodic programs of different classes that play mostly the same samples in this
    /// font (shared samples over all the samples either plays, at least `min_share`), most
    /// shared first: stems of either program sound the same under two labels.
    pub fn sound_alikes(&self, min_share: f64) -> Vec<SoundAlike> {
        let programs = self.program_samples();
        let class = |p: u32| InstrumentClass::from_program(p).ok();
        let mut out = Vec::new();
        for (&a, sa) in &programs {
            for (&b, sb) in programs.range(a + 1..) {
                if sa.is_empty() || sb.is_empty() || class(a) == class(b) {
                    continue;
                }
                let shared = sa.intersection(sb).count() as f64;
                let share = shared / ((sa.len() + sb.len()) as f64 - shared);
                if share >= min_share {
                    out.push(SoundAlike {
                        programs: [a, b],
                        share,
                    });
                }
            }
        }
        out.sort_by(|x, y| {
            y.share
                .total_cmp(&x.share)
                .then(x.programs.cmp(&y.programs))
        });
        out
    }
}

/// Two General MIDI programs of different classes that a font plays with mostly the same
/// samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundAlike {
    pub programs: [u32; 2],
    /// Shared samples over all the samples either plays, 0 to 1.
    pub share: f64,
}
