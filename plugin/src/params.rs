//! The plugin's parameters (automatable, saved with the project) and persisted state.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::Mutex;

/// MIDI notes are configurable for this many classes (the default model has 14).
pub const NOTE_PARAMS: usize = 16;

/// Which input channels are analysed.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputChannels {
    #[name = "Mix (L+R)"]
    Mix,
    Left,
    Right,
}

#[derive(Params)]
pub struct InstrunetParams {
    /// Use each class's threshold from the model (tuned on validation data) ...
    #[id = "model-thresholds"]
    pub model_thresholds: BoolParam,
    /// ... or this one threshold for every class.
    #[id = "threshold"]
    pub threshold: FloatParam,
    /// How far below its threshold a class must fall to count as gone (stops flicker).
    #[id = "hysteresis"]
    pub hysteresis: FloatParam,
    /// Meter release: how fast the meters fall, ms to fall most of the way.
    #[id = "release"]
    pub release_ms: FloatParam,
    /// Time between analyses.
    #[id = "hop"]
    pub hop_ms: FloatParam,
    #[id = "input"]
    pub input: EnumParam<InputChannels>,
    /// Send a MIDI note while each class is present.
    #[id = "midi-out"]
    pub midi_out: BoolParam,
    #[id = "midi-channel"]
    pub midi_channel: IntParam,
    #[nested(array)]
    pub notes: [NoteParam; NOTE_PARAMS],
    /// Path of user-chosen weights; empty for the embedded model.
    #[persist = "weights-path"]
    pub weights_path: Arc<Mutex<String>>,
}

#[derive(Params)]
pub struct NoteParam {
    #[id = "note"]
    pub note: IntParam,
}

impl Default for InstrunetParams {
    fn default() -> Self {
        Self {
            model_thresholds: BoolParam::new("Model thresholds", true),
            threshold: FloatParam::new(
                "Threshold",
                0.5,
                FloatRange::Linear {
                    min: 0.01,
                    max: 0.99,
                },
            )
            .with_step_size(0.01),
            hysteresis: FloatParam::new(
                "Hysteresis",
                0.05,
                FloatRange::Linear { min: 0.0, max: 0.3 },
            )
            .with_step_size(0.01),
            release_ms: FloatParam::new(
                "Meter release",
                300.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: 3000.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            hop_ms: FloatParam::new(
                "Analysis hop",
                250.0,
                FloatRange::Skewed {
                    min: 50.0,
                    max: 1000.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            input: EnumParam::new("Input", InputChannels::Mix),
            midi_out: BoolParam::new("MIDI out", true),
            midi_channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            notes: std::array::from_fn(|k| NoteParam {
                note: IntParam::new(
                    format!("Note, class {}", k + 1),
                    36 + k as i32,
                    IntRange::Linear { min: 0, max: 127 },
                ),
            }),
            weights_path: Arc::new(Mutex::new(String::new())),
        }
    }
}
