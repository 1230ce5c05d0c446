//! Errors of the data tools. Every one names the file or folder it concerns.

use std::path::PathBuf;

/// Why a track or a data folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: malformed metadata.yaml: {reason}")]
    Metadata { path: PathBuf, reason: String },
    #[error("{path}: stem {stem}: {reason}")]
    Stem {
        path: PathBuf,
        stem: String,
        reason: String,
    },
    #[error("{path}: not readable audio: {reason}")]
    Audio { path: PathBuf, reason: String },
    #[error(
        "{path}: {samples} samples at {rate} Hz, but the mix has {mix_samples} at {mix_rate} Hz"
    )]
    LengthMismatch {
        path: PathBuf,
        samples: usize,
        rate: u32,
        mix_samples: usize,
        mix_rate: u32,
    },
    #[error("{path}: no mix.wav or mix.flac")]
    MissingMix { path: PathBuf },
    #[error(
        "{path}: no Track folders (expected TrackNNNNN/ folders, or train/ validation/ test/ folders holding them)"
    )]
    NoTracks { path: PathBuf },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            error: source,
        }
    }
}
