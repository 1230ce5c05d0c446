//! The playing controls of a rendered stem, as written into its metadata.yaml under `render:
//! performance:`: what a person's General MIDI file adds to the notes (mod-wheel vibrato,
//! expression swells, pitch-bend scoops, sustain pedal). Schema only; drawing them and turning
//! them into MIDI events is `synth::performance`'s.

use serde::{Deserialize, Serialize};

/// Controllers sent to the synthesiser beside a stem's notes. Each is absent when not drawn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vibrato: Option<Vibrato>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swell: Option<Swell>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoops: Option<Scoops>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pedal: Option<Pedal>,
}

/// Mod wheel (CC 1) raised on held notes, as players bring in vibrato: 0 at each note's start,
/// from `delay_s` into the note it rises to `depth` over `rise_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Vibrato {
    /// Mod-wheel value reached, 1-127 (the SoundFont default maps 127 to ±50 cents).
    pub depth: u8,
    pub delay_s: f32,
    pub rise_s: f32,
}

/// Expression (CC 11) following a slow sine: 127 at its top, `127 × (1 − depth)` at its bottom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Swell {
    /// 0-1.
    pub depth: f32,
    pub period_s: f32,
    /// Phase at time 0, radians.
    pub phase: f32,
}

/// Pitch-bend scoops: a share of the notes (chosen by `seed`) start `semitones` below their
/// pitch and bend up to it in `time_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scoops {
    pub share: f32,
    /// Within the default bend range of ±2 semitones.
    pub semitones: f32,
    pub time_s: f32,
    pub seed: u64,
}

/// Sustain pedal (CC 64): pressed at the first note, lifted for 50 ms and pressed again every
/// `span_s` seconds, as a pianist changes pedal with the harmony.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pedal {
    pub span_s: f32,
}
