//! The plugin's parameters (automatable, saved with the project) and persisted state.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::Mutex;

/// MIDI notes and controllers are configurable for this many classes (the default model has 14).
pub const CLASS_MIDI_PARAMS: usize = 16;
/// Class k's default note: from C1 up, one key per class.
pub const FIRST_NOTE: i32 = 36;
/// Class k's default controller: 102-117 are undefined in the MIDI specification, so free for
/// this.
pub const FIRST_CC: i32 = 102;

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
    /// The host's bypass: audio passes through, nothing is analysed, notes are released and no
    /// CCs go out.
    #[id = "bypass"]
    pub bypass: BoolParam,
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
    /// Send each class's smoothed probability as a MIDI controller (CC), for automation.
    #[id = "midi-cc"]
    pub midi_cc: BoolParam,
    /// Time constant of the smoothing of the CC values.
    #[id = "cc-smoothing"]
    pub cc_smoothing_ms: FloatParam,
    #[nested(array)]
    pub per_class: [ClassMidiParams; CLASS_MIDI_PARAMS],
    /// Path of user-chosen weights; empty for the embedded model.
    #[persist = "weights-path"]
    pub weights_path: Arc<Mutex<String>>,
}

/// One class's MIDI note and controller.
#[derive(Params)]
pub struct ClassMidiParams {
    #[id = "note"]
    pub note: IntParam,
    #[id = "cc"]
    pub cc: IntParam,
}

impl Default for InstrunetParams {
    fn default() -> Self {
        Self {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            model_thresholds: BoolParam::new("Model thresholds", true),
            threshold: FloatParam::new(
                "Threshold",
                instrunet_model::DEFAULT_THRESHOLD,
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
                1000.0 * instrunet_model::DEFAULT_HOP_SECONDS,
                FloatRange::Skewed {
                    min: 1000.0 * instrunet_model::HOP_SECONDS_MIN,
                    max: 1000.0 * instrunet_model::HOP_SECONDS_MAX,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            input: EnumParam::new("Input", InputChannels::Mix),
            midi_out: BoolParam::new("MIDI out", true),
            midi_channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            midi_cc: BoolParam::new("CC out", false),
            cc_smoothing_ms: FloatParam::new(
                "CC smoothing",
                300.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: 5000.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            per_class: std::array::from_fn(|k| ClassMidiParams {
                note: IntParam::new(
                    format!("Note, class {}", k + 1),
                    FIRST_NOTE + k as i32,
                    IntRange::Linear { min: 0, max: 127 },
                ),
                cc: IntParam::new(
                    format!("CC, class {}", k + 1),
                    FIRST_CC + k as i32,
                    IntRange::Linear {
                        min: 0,
                        max: crate::midi_cc::MAX_CC as i32,
                    },
                ),
            }),
            weights_path: Arc::new(Mutex::new(String::new())),
        }
    }
}
