//! `metadata.yaml` of a Slakh track, with serde. Field names are Slakh's own.

use std::collections::BTreeMap;

use rand::{Rng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// A track's `metadata.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackMetadata {
    /// The Lakh MIDI file's md5.
    #[serde(rename = "UUID")]
    pub uuid: String,
    /// Folder of the stem audio files, relative to the track (normally `stems`).
    pub audio_dir: String,
    /// Folder of the stem MIDI files (normally `MIDI`).
    pub midi_dir: String,
    #[serde(default)]
    pub lmd_midi_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization_factor: Option<f64>,
    #[serde(default)]
    pub normalized: Option<bool>,
    #[serde(default)]
    pub overall_gain: Option<f64>,
    #[serde(default)]
    pub target_peak: Option<f64>,
    /// Tracks made by `instrunet synth`: the seed that renders them again exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_seed: Option<u64>,
    /// Tracks made by `instrunet synth`: the rate they were rendered at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Non-music tracks made by `instrunet synth --non-music` (no stems, no instrument in any
    /// window): what they hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_music: Option<String>,
    /// Tracks made by `instrunet synth`: the effects on the mix (none when rendered dry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus_production: Option<super::production::Production>,
    /// The stems by name (`S00`, `S01`, ...).
    pub stems: BTreeMap<String, StemMetadata>,
}

/// One stem's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StemMetadata {
    /// General MIDI family, one of Slakh's 17 strings (case matters).
    pub inst_class: String,
    /// 0-127; 128 = drums.
    pub program_num: u32,
    pub is_drum: bool,
    #[serde(default)]
    pub midi_program_name: Option<String>,
    /// The sampled patch; `None` when the stem was not rendered.
    #[serde(default)]
    pub plugin_name: Option<String>,
    /// LUFS; absent when the stem was not rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrated_loudness: Option<f64>,
    /// BabySlakh says `false` everywhere, even for rendered stems: do not trust it.
    #[serde(default)]
    pub audio_rendered: Option<bool>,
    #[serde(default)]
    pub midi_saved: Option<bool>,
    /// Tracks made by `instrunet synth`: how this stem was rendered (font, gain, tilt, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<RenderSettings>,
}

/// How one stem was rendered: enough to render it again exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderSettings {
    /// SoundFont file name.
    pub soundfont: String,
    /// Gain of the stem, dB, relative to the renderer's `STEM_LEVEL_DBFS` (its level while it plays).
    pub gain_db: f32,
    /// Spectral tilt around 1 kHz, dB (positive: brighter).
    pub tilt_db: f32,
    /// Factor on every note velocity.
    pub velocity_scale: f32,
    /// Detune through pitch bend, cents (melodic stems only).
    pub detune_cents: f32,
    /// Production effects after the font (none in tracks rendered dry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<super::production::Production>,
    /// Playing controls beside the notes (none unless the track was rendered with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<super::performance::Performance>,
    /// Formant shift, semitones (melodic stems; 0: the font's own sound): the notes are played
    /// this much lower, slower by as much, and the audio read back faster, so pitch and timing
    /// stay while the samples' spectral envelope moves up (a smaller instrument; negative: a
    /// larger one). A timbre no font has, from the fonts' own samples.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub formant_semitones: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

impl RenderSettings {
    /// The stem as the font plays it: no gain, tilt or detune, velocities as written.
    pub fn neutral(soundfont: String) -> Self {
        Self {
            soundfont,
            gain_db: 0.0,
            tilt_db: 0.0,
            velocity_scale: 1.0,
            detune_cents: 0.0,
            production: None,
            performance: None,
            formant_semitones: 0,
        }
    }

    /// Random settings within musical ranges: gain ±6 dB, tilt ±6 dB, velocity ×0.7-1.15,
    /// detune ±15 cents.
    pub fn random(rng: &mut StdRng, soundfont: String, is_drum: bool) -> Self {
        Self {
            soundfont,
            gain_db: rng.random_range(-6.0..6.0),
            tilt_db: rng.random_range(-6.0..6.0),
            velocity_scale: rng.random_range(0.7..1.15),
            detune_cents: if is_drum {
                0.0
            } else {
                rng.random_range(-15.0..15.0)
            },
            production: None,
            performance: None,
            formant_semitones: 0,
        }
    }
}
