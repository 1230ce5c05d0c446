//! Errors of the model crate, split by phase: loading weights (setup) versus feeding data (per
//! frame or per window). Nothing in this crate panics on bad input; it returns one of these.

use std::path::PathBuf;

/// Why a weights file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read weights file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a valid safetensors file (truncated or another format): {0}")]
    NotSafetensors(String),
    #[error("the weights file has no {0:?} metadata entry (is it an InstruNET weights file?)")]
    MissingMetadata(String),
    #[error("metadata entry {key:?} is invalid: {reason}")]
    BadMetadata { key: String, reason: String },
    #[error(
        "weights format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    /// The file holds another network (its `network.kind`, named).
    #[error(
        "the file holds the {0} network, not InstruNET's (only the training tool reads it: \
         `instrunet eval --baseline FILE`)"
    )]
    NotInstruNet(String),
    #[error("tensor {0:?} is missing")]
    MissingTensor(String),
    #[error("unexpected tensor {0:?} (not part of InstruNET)")]
    UnexpectedTensor(String),
    #[error("tensor {tensor:?} has shape {got:?}, expected {expected:?}")]
    Shape {
        tensor: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("tensor {tensor:?} has dtype {got}, expected F32")]
    DType { tensor: String, got: String },
    #[error("tensor {tensor:?} holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        tensor: String,
        index: usize,
        value: f32,
    },
    #[error("class-count mismatch: the class list has {expected} classes but {what} has {got}")]
    ClassCount {
        what: String,
        expected: usize,
        got: usize,
    },
    #[error("tensor library error: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Why a frame or window of input could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{what} has length {got}, expected {expected}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("batch size must be at least 1")]
    EmptyBatch,
}
