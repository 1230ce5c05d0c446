//! Reading the Slakh2100 / BabySlakh layout: a data root of `TrackNNNNN/` folders (BabySlakh's
//! flat layout) or of `train/`, `validation/` and `test/` (and `omitted/`) folders holding them
//! (Slakh2100). See `shared/slakh-format.md`.
//!
//! Which stems exist is decided by the files on disk (BabySlakh's `audio_rendered` is `false`
//! everywhere); each stem's class comes from its `inst_class` (an unknown string is an error), and
//! drum stems are Drums whatever their program number.

pub mod metadata;
pub mod performance;
pub mod production;

use std::path::{Path, PathBuf};

use instrunet_model::InstrumentClass;

use crate::data::audio::{MonoAudio, read_mono};
use crate::error::DataError;
pub use metadata::{RenderSettings, StemMetadata, TrackMetadata};

/// The split a track belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    Train,
    Validation,
    Test,
    /// slakh2100-redux's `omitted` folder (duplicates left out of the splits).
    Omitted,
}

impl Split {
    fn from_folder(name: &str) -> Option<Self> {
        match name {
            "train" => Some(Split::Train),
            "validation" => Some(Split::Validation),
            "test" => Some(Split::Test),
            "omitted" => Some(Split::Omitted),
            _ => None,
        }
    }
}

/// A track folder found under a data root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackDir {
    /// Folder name, e.g. `Track00001`.
    pub id: String,
    pub path: PathBuf,
    /// The split folder it sits in, for Slakh2100's layout.
    pub split: Option<Split>,
}

fn is_track_folder(path: &Path) -> bool {
    path.is_dir()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("Track"))
}

fn track_dirs_in(dir: &Path, split: Option<Split>) -> Result<Vec<TrackDir>, DataError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if is_track_folder(&path) {
            let id = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            out.push(TrackDir { id, path, split });
        }
    }
    Ok(out)
}

/// Finds every track folder under `root`, sorted by split and id.
pub fn discover(root: &Path) -> Result<Vec<TrackDir>, DataError> {
    let mut tracks = track_dirs_in(root, None)?;
    for entry in std::fs::read_dir(root).map_err(|e| DataError::io(root, e))? {
        let path = entry.map_err(|e| DataError::io(root, e))?.path();
        if let Some(split) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(Split::from_folder)
            && path.is_dir()
        {
            tracks.extend(track_dirs_in(&path, Some(split))?);
        }
    }
    if tracks.is_empty() {
        return Err(DataError::NoTracks {
            path: root.to_owned(),
        });
    }
    tracks.sort_by(|a, b| (a.split, &a.id).cmp(&(b.split, &b.id)));
    Ok(tracks)
}

/// A stem with an audio file on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Stem {
    /// `S00`, `S01`, ...
    pub name: String,
    pub class: InstrumentClass,
    pub program: u32,
    pub is_drum: bool,
    pub audio_path: PathBuf,
}

/// A track's metadata and the stems that exist on disk.
#[derive(Debug, Clone)]
pub struct Track {
    pub dir: TrackDir,
    pub metadata: TrackMetadata,
    pub mix_path: PathBuf,
    /// Stems with audio files, in name order.
    pub stems: Vec<Stem>,
    /// Stems listed in metadata.yaml with no audio file (not rendered).
    pub missing_stems: Vec<String>,
}

/// A folder named in metadata.yaml. BabySlakh names it relative to the track (`stems`),
/// Slakh2100 relative to the split folder (`Track00001/stems`); when neither exists, the usual
/// name inside the track.
fn resolve_dir(track: &Path, given: &str, usual: &str) -> PathBuf {
    let candidates = [
        Some(track.join(given)),
        track.parent().map(|p| p.join(given)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .unwrap_or_else(|| track.join(usual))
}

/// The first of `base.wav`, `base.flac` that exists.
fn audio_file(dir: &Path, base: &str) -> Option<PathBuf> {
    ["wav", "flac"]
        .iter()
        .map(|ext| dir.join(format!("{base}.{ext}")))
        .find(|p| p.is_file())
}

impl Track {
    /// Reads `metadata.yaml` and finds the mix and stem files. Checks the classes; does not decode
    /// audio (see [`Track::load_audio`]).
    pub fn open(dir: &TrackDir) -> Result<Self, DataError> {
        let meta_path = dir.path.join("metadata.yaml");
        let text = std::fs::read_to_string(&meta_path).map_err(|e| DataError::io(&meta_path, e))?;
        let metadata: TrackMetadata =
            serde_yaml_ng::from_str(&text).map_err(|e| DataError::Metadata {
                path: meta_path.clone(),
                reason: e.to_string(),
            })?;
        let mix_path = audio_file(&dir.path, "mix").ok_or_else(|| DataError::MissingMix {
            path: dir.path.clone(),
        })?;
        let audio_dir = resolve_dir(&dir.path, &metadata.audio_dir, "stems");
        let mut stems = Vec::new();
        let mut missing_stems = Vec::new();
        for (name, stem) in &metadata.stems {
            // An unknown inst_class is an error even on a drum stem: the file is not what we think.
            let family = InstrumentClass::from_slakh_inst_class(&stem.inst_class).map_err(|e| {
                DataError::Stem {
                    path: meta_path.clone(),
                    stem: name.clone(),
                    reason: e.to_string(),
                }
            })?;
            let class = if stem.is_drum {
                InstrumentClass::Drums
            } else {
                family
            };
            match audio_file(&audio_dir, name) {
                Some(audio_path) => stems.push(Stem {
                    name: name.clone(),
                    class,
                    program: stem.program_num,
                    is_drum: stem.is_drum,
                    audio_path,
                }),
                None => missing_stems.push(name.clone()),
            }
        }
        Ok(Self {
            dir: dir.clone(),
            metadata,
            mix_path,
            stems,
            missing_stems,
        })
    }

    /// Decodes the mix and every stem (mono), checking that each stem has the mix's length and
    /// sample rate.
    pub fn load_audio(&self) -> Result<(MonoAudio, Vec<MonoAudio>), DataError> {
        let mix = read_mono(&self.mix_path)?;
        let mut stems = Vec::with_capacity(self.stems.len());
        for stem in &self.stems {
            let audio = read_mono(&stem.audio_path)?;
            if audio.samples.len() != mix.samples.len() || audio.sample_rate != mix.sample_rate {
                return Err(DataError::LengthMismatch {
                    path: stem.audio_path.clone(),
                    samples: audio.samples.len(),
                    rate: audio.sample_rate,
                    mix_samples: mix.samples.len(),
                    mix_rate: mix.sample_rate,
                });
            }
            stems.push(audio);
        }
        Ok((mix, stems))
    }
}
