//! The production effects of a rendered track, as written into its metadata.yaml: per stem under
//! `render: production:`, for the mix as the track's `bus_production:`. Schema only; drawing and
//! applying them is `synth::production`'s.

use serde::{Deserialize, Serialize};

/// Production effects on a stem or on the mix, applied in this order: EQ, compressor,
/// saturation, chorus, stereo width folded to mono, reverb; then the signal is brought back to
/// its level before the effects, and the level automation applies. The mix bus draws only EQ,
/// compressor, saturation and reverb; the stems do not take the bus's effects, so they no longer
/// sum exactly to the mix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Production {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eq: Vec<EqBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<Compressor>,
    /// Drive into a tanh saturator, dB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation_db: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chorus: Option<Chorus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stereo_width: Option<StereoWidth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverb: Option<Reverb>,
    /// Gain breakpoints (seconds, dB), linear in dB between them and held past the ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub automation: Vec<(f32, f32)>,
}

/// One EQ filter (RBJ cookbook biquad).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EqBand {
    pub kind: EqKind,
    pub hz: f32,
    /// Gain of shelves and peaks, dB (ignored by the passes).
    pub db: f32,
    pub q: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EqKind {
    LowShelf,
    HighShelf,
    Peak,
    HighPass,
    LowPass,
}

/// A feed-forward compressor on the signal's envelope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Compressor {
    /// dB below the signal's playing level where compression starts.
    pub threshold_below_level_db: f32,
    pub ratio: f32,
    pub attack_ms: f32,
    pub release_ms: f32,
}

/// A modulated delay mixed with the dry signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chorus {
    pub delay_ms: f32,
    pub depth_ms: f32,
    pub rate_hz: f32,
    /// Share of the delayed signal, 0-1.
    pub mix: f32,
}

/// A stem spread wide in stereo (one side delayed, as a Haas widener does), heard in mono: the
/// sum of the two sides, a comb filter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StereoWidth {
    pub delay_ms: f32,
    /// Level of the delayed side against the direct one, 0-1; negative: polarity inverted.
    pub side_gain: f32,
}

/// A Schroeder-Moorer reverb (parallel damped combs, then allpasses).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reverb {
    /// 0 (small room) to 1 (hall): the combs' feedback.
    pub size: f32,
    /// 0-1: how fast the highs die.
    pub damping: f32,
    /// Share of the reverberated signal, 0-1.
    pub wet: f32,
    pub predelay_ms: f32,
}
