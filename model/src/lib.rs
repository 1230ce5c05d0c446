//! InstruNET's model crate: the instrument taxonomy, the log-Mel front end, the CNN (on candle, and
//! a fast CPU inference path), self-describing safetensors weights and the inference API.
//!
//! Data flow: audio at `spec.mel.sample_rate` → [`MelFrontend`] (one frame per hop) → a window of
//! `window_frames` frames, mel-major → [`Classifier::predict`] → per-class probabilities. The
//! [`ModelSpec`] read from the weights file is the one source of the class list and the settings.

pub mod classes;
pub mod classifier;
pub mod cpu;
pub mod error;
pub mod kernels;
pub mod loss;
pub mod mel;
pub mod net;
pub mod ops;
pub mod realtime;
pub mod shape;
pub mod spec;
pub mod stream;
pub mod weights;

/// The candle device type, for building a [`Classifier`] without depending on candle directly.
pub use candle_core::Device;
pub use classes::{ClassError, InstrumentClass};
pub use classifier::{Classifier, DEFAULT_WEIGHTS, PredictError, sigmoid};
pub use error::{InputError, WeightsError};
pub use mel::{MelFilterbank, MelFrontend, frames_to_window, window_to_frames};
pub use net::InstruNet;
pub use spec::{
    DEFAULT_THRESHOLD, FORMAT_VERSION, MelSettings, ModelSpec, NetworkKind, NetworkShape,
    Normalization, Provenance, Smoothing,
};
pub use stream::{
    DEFAULT_HOP_SECONDS, HOP_SECONDS_MAX, HOP_SECONDS_MIN, StreamAnalyzer, StreamError,
    resampler_to_model_rate,
};
pub use weights::{TensorMap, Weights};
