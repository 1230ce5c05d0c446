//! Non-music tracks: silence, room tone, noise, mains hum, clicks and crackle, and speech
//! (Debian's `espeak-ng`, many voices and languages), alone or layered, written in the Slakh
//! layout with no stems, so every window of them is labelled "no instrument". In training they
//! teach the network that sound is not music; the mixing augmentation also lays them under music
//! windows (whose labels they leave alone).
//!
//! No recordings: every sound here is generated (espeak-ng is a formant synthesiser), so nothing
//! that is kept for testing leaks into training.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::audio::MonoAudio;
use crate::data::resample::ClipResampler;
use crate::data::slakh::TrackMetadata;
use crate::synth::render::write_wav;

/// What a non-music track holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonMusic {
    /// Digital silence with a trace of dither.
    Silence,
    /// A quiet room: soft low-passed noise.
    Room,
    /// White noise.
    WhiteNoise,
    /// Pink noise (−3 dB per octave).
    PinkNoise,
    /// Brown noise (−6 dB per octave).
    BrownNoise,
    /// Mains hum at 50 or 60 Hz with harmonics.
    Hum,
    /// Clicks, pops and crackle.
    Clicks,
    /// Synthetic speech.
    Speech,
}

impl NonMusic {
    pub const ALL: [NonMusic; 8] = [
        Self::Silence,
        Self::Room,
        Self::WhiteNoise,
        Self::PinkNoise,
        Self::BrownNoise,
        Self::Hum,
        Self::Clicks,
        Self::Speech,
    ];

    /// How often each kind is drawn for a track, in [`NonMusic::ALL`]'s order: speech most
    /// (the non-music a plugin on a voice track or a podcast hears), then hum, room and clicks.
    const WEIGHTS: [u32; 8] = [4, 10, 7, 7, 5, 10, 10, 47];

    /// A kind drawn by [`NonMusic::WEIGHTS`].
    pub fn draw(rng: &mut StdRng) -> Self {
        let total: u32 = Self::WEIGHTS.iter().sum();
        let mut r = rng.random_range(0..total);
        for (kind, w) in Self::ALL.into_iter().zip(Self::WEIGHTS) {
            if r < w {
                return kind;
            }
            r -= w;
        }
        unreachable!("r < total")
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Silence => "silence",
            Self::Room => "room",
            Self::WhiteNoise => "white noise",
            Self::PinkNoise => "pink noise",
            Self::BrownNoise => "brown noise",
            Self::Hum => "hum",
            Self::Clicks => "clicks",
            Self::Speech => "speech",
        }
    }
}

/// espeak-ng voices (language codes its Debian package speaks).
const VOICES: [&str; 24] = [
    "en",
    "en-us",
    "en-gb-scotland",
    "de",
    "fr",
    "es",
    "es-419",
    "it",
    "pt",
    "pt-br",
    "nl",
    "sv",
    "da",
    "nb",
    "fi",
    "pl",
    "cs",
    "ru",
    "uk",
    "el",
    "tr",
    "hu",
    "ro",
    "id",
];
/// espeak-ng voice variants: male, female, and a few odd ones.
const VARIANTS: [&str; 14] = [
    "", "m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4", "f5", "croak", "klatt",
];
/// What the voices say: text in several languages (each voice reads it with its own rules).
const SENTENCES: [&str; 12] = [
    "Good evening, and welcome to the programme. Tonight we talk about the weather, the harvest \
     and the new bridge across the river.",
    "Please check the microphone before we start recording. One, two, three, testing, testing.",
    "The meeting has been moved to Thursday afternoon at half past three, in the small room.",
    "Guten Abend. Heute sprechen wir über das Wetter, die Ernte und die neue Brücke.",
    "Bonsoir et bienvenue. Ce soir, nous parlons du temps, de la récolte et du nouveau pont.",
    "Buenas noches. Hoy hablamos del tiempo, de la cosecha y del nuevo puente sobre el río.",
    "Buonasera. Stasera parliamo del tempo, del raccolto e del nuovo ponte sul fiume.",
    "Boa noite. Hoje falamos sobre o tempo, a colheita e a nova ponte sobre o rio.",
    "Goedenavond. Vanavond praten we over het weer, de oogst en de nieuwe brug.",
    "Dobry wieczór. Dzisiaj rozmawiamy o pogodzie, żniwach i nowym moście na rzece.",
    "Добрый вечер. Сегодня мы говорим о погоде, урожае и новом мосте через реку.",
    "Where is the station? Turn left at the church, then walk straight on for ten minutes.",
];

/// Renders `seconds` of `kind` at `rate`, its level and details drawn from `rng`; returns the
/// samples and a description of what was drawn.
pub fn render_non_music(
    kind: NonMusic,
    seconds: f64,
    rate: u32,
    rng: &mut StdRng,
) -> Result<(Vec<f32>, String), String> {
    let n = (seconds * rate as f64).round() as usize;
    let level = |rng: &mut StdRng, lo: f32, hi: f32| rng.random_range(lo..hi);
    Ok(match kind {
        NonMusic::Silence => {
            let mut x = white(n, rng);
            scale_to_dbfs(&mut x, -96.0);
            (x, "silence (dither at -96 dBFS)".into())
        }
        NonMusic::Room => {
            let db = level(rng, -72.0, -45.0);
            let mut x = brown(n, rng);
            let pink = pink(n, rng);
            x.iter_mut().zip(&pink).for_each(|(a, b)| *a += 0.3 * b);
            scale_to_dbfs(&mut x, db);
            (x, format!("room tone at {db:.0} dBFS"))
        }
        NonMusic::WhiteNoise | NonMusic::PinkNoise | NonMusic::BrownNoise => {
            let db = level(rng, -45.0, -12.0);
            let mut x = match kind {
                NonMusic::WhiteNoise => white(n, rng),
                NonMusic::PinkNoise => pink(n, rng),
                _ => brown(n, rng),
            };
            scale_to_dbfs(&mut x, db);
            (x, format!("{} at {db:.0} dBFS", kind.name()))
        }
        NonMusic::Hum => {
            let mains = if rng.random_bool(0.5) { 50.0 } else { 60.0 };
            let db = level(rng, -55.0, -20.0);
            let harmonics: Vec<f32> = (1..=8)
                .map(|h| rng.random_range(0.0..1.0f32) / h as f32)
                .collect();
            let mut x: Vec<f32> = (0..n)
                .map(|i| {
                    let t = i as f64 / rate as f64;
                    harmonics
                        .iter()
                        .enumerate()
                        .map(|(h, a)| {
                            a * (std::f64::consts::TAU * mains * (h + 1) as f64 * t).sin() as f32
                        })
                        .sum()
                })
                .collect();
            scale_to_dbfs(&mut x, db);
            let mut floor = pink(n, rng);
            scale_to_dbfs(&mut floor, db - 25.0);
            x.iter_mut().zip(&floor).for_each(|(a, b)| *a += b);
            (x, format!("{mains:.0} Hz hum at {db:.0} dBFS"))
        }
        NonMusic::Clicks => {
            let per_second = rng.random_range(0.5..40.0);
            let peak = 10f32.powf(level(rng, -30.0, -3.0) / 20.0);
            let mut x = pink(n, rng);
            scale_to_dbfs(&mut x, level(rng, -75.0, -50.0));
            let count = (per_second * seconds) as usize;
            for _ in 0..count {
                let at = rng.random_range(0..n.max(1));
                let len = rng.random_range(1..(rate as usize / 500).max(2));
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let a = peak * rng.random_range(0.1..1.0f32) * sign;
                for (j, v) in x[at..(at + len).min(n)].iter_mut().enumerate() {
                    *v += a * (-(j as f32) / (len as f32 / 3.0)).exp();
                }
            }
            (
                x,
                format!(
                    "{per_second:.1} clicks per second, peaks up to {:.0} dBFS",
                    20.0 * peak.log10()
                ),
            )
        }
        NonMusic::Speech => {
            let db = level(rng, -32.0, -12.0);
            let mut x = vec![0.0f32; n];
            let mut at = (rng.random_range(0.0..1.0) * rate as f64) as usize;
            let mut voices = Vec::new();
            while at < n {
                let voice = VOICES[rng.random_range(0..VOICES.len())];
                let variant = VARIANTS[rng.random_range(0..VARIANTS.len())];
                let speed = rng.random_range(110..220);
                let pitch = rng.random_range(20..80);
                let text = SENTENCES[rng.random_range(0..SENTENCES.len())];
                let utterance = speak(voice, variant, speed, pitch, text, rate)?;
                let end = (at + utterance.len()).min(n);
                x[at..end].copy_from_slice(&utterance[..end - at]);
                voices.push(if variant.is_empty() {
                    voice.to_owned()
                } else {
                    format!("{voice}+{variant}")
                });
                at = end + (rng.random_range(0.2..1.5) * rate as f64) as usize;
            }
            scale_to_dbfs(&mut x, db);
            // Half of the speech has a room under it.
            let room = if rng.random_bool(0.5) {
                let floor_db = db - rng.random_range(25.0..45.0);
                let mut floor = brown(n, rng);
                scale_to_dbfs(&mut floor, floor_db);
                x.iter_mut().zip(&floor).for_each(|(a, b)| *a += b);
                format!(", room tone at {floor_db:.0} dBFS")
            } else {
                String::new()
            };
            (
                x,
                format!(
                    "speech at {db:.0} dBFS (espeak-ng voices {}){room}",
                    voices.join(", ")
                ),
            )
        }
    })
}

/// One utterance from espeak-ng, at `rate`.
fn speak(
    voice: &str,
    variant: &str,
    speed: u32,
    pitch: u32,
    text: &str,
    rate: u32,
) -> Result<Vec<f32>, String> {
    let voice = if variant.is_empty() {
        voice.to_owned()
    } else {
        format!("{voice}+{variant}")
    };
    let out = Command::new("espeak-ng")
        .args([
            "-v",
            &voice,
            "-s",
            &speed.to_string(),
            "-p",
            &pitch.to_string(),
            "--stdout",
            text,
        ])
        .output()
        .map_err(|e| format!("cannot run espeak-ng (Debian package espeak-ng): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "espeak-ng -v {voice} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // espeak-ng streams a WAV whose header sizes are left at their maximum: read the samples
    // that are there.
    let mut reader = hound::WavReader::new(Cursor::new(out.stdout))
        .map_err(|e| format!("espeak-ng -v {voice}: unreadable WAV: {e}"))?;
    let from = reader.spec().sample_rate;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map_while(Result::ok)
        .map(|s| s as f32 / i16::MAX as f32)
        .collect();
    let clip = MonoAudio {
        samples,
        sample_rate: from,
    };
    Ok(ClipResampler::new(from, rate)?.process(&clip)?.samples)
}

fn white(n: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0..1.0f32)).collect()
}

/// Pink noise by Paul Kellet's filter bank on white noise.
fn pink(n: usize, rng: &mut StdRng) -> Vec<f32> {
    let mut b = [0.0f32; 7];
    (0..n)
        .map(|_| {
            let w = rng.random_range(-1.0..1.0f32);
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.153852;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let out = b.iter().sum::<f32>() + w * 0.5362;
            b[6] = w * 0.115926;
            out
        })
        .collect()
}

/// Brown noise: leaky integration of white noise.
fn brown(n: usize, rng: &mut StdRng) -> Vec<f32> {
    let mut acc = 0.0f32;
    (0..n)
        .map(|_| {
            acc = 0.995 * acc + rng.random_range(-1.0..1.0f32) * 0.1;
            acc
        })
        .collect()
}

/// Scales `x` to an RMS of `dbfs` (nothing to do for silence).
fn scale_to_dbfs(x: &mut [f32], dbfs: f32) {
    let rms = (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt();
    if rms > 0.0 {
        let g = (10f64.powf(dbfs as f64 / 20.0) / rms) as f32;
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// Writes non-music track `id` (a `TrackNNNNN` folder under `out`): `mix.wav`, an empty
/// `stems/`, and metadata with no stems whose `non_music` entry says what it holds. One or two
/// kinds are layered (speech over hum, noise under clicks, ...). Returns the metadata and the
/// track's length in seconds.
pub fn render_non_music_track(
    seed: u64,
    rate: u32,
    out: &Path,
    id: &str,
) -> Result<(TrackMetadata, f64), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let seconds = rng.random_range(20.0..50.0);
    let first = NonMusic::draw(&mut rng);
    let (mut mix, mut what) = render_non_music(first, seconds, rate, &mut rng)?;
    if rng.random_bool(0.3) {
        let second = NonMusic::draw(&mut rng);
        let (x, w) = render_non_music(second, seconds, rate, &mut rng)?;
        mix.iter_mut().zip(&x).for_each(|(a, b)| *a += b);
        what = format!("{what}; {w}");
    }
    let dir = out.join(id);
    std::fs::create_dir_all(dir.join("stems")).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_wav(&dir.join("mix.wav"), &mix, rate)?;
    let metadata = TrackMetadata {
        uuid: format!("nonmusic{seed:016x}"),
        audio_dir: "stems".into(),
        midi_dir: "MIDI".into(),
        // The "song" the split hashes: every non-music track is its own.
        lmd_midi_dir: Some(format!("non-music:{seed}")),
        normalization_factor: None,
        normalized: Some(false),
        overall_gain: Some(1.0),
        target_peak: None,
        render_seed: Some(seed),
        sample_rate: Some(rate),
        non_music: Some(what),
        bus_production: None,
        stems: BTreeMap::new(),
    };
    let yaml = serde_yaml_ng::to_string(&metadata).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("metadata.yaml"), yaml)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok((metadata, mix.len() as f64 / rate as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbfs(x: &[f32]) -> f64 {
        let ms = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        10.0 * ms.log10()
    }

    #[test]
    fn noises_have_their_slopes_and_levels() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut x = pink(16_000, &mut rng);
        scale_to_dbfs(&mut x, -20.0);
        assert!((dbfs(&x) + 20.0).abs() < 0.01);
        // Pink and brown have most of their power low: the first difference (a high-pass) keeps
        // less of it than for white noise.
        let hp = |x: &[f32]| {
            let d: Vec<f32> = x.windows(2).map(|w| w[1] - w[0]).collect();
            dbfs(&d) - dbfs(x)
        };
        let (w, p, b) = (
            hp(&white(16_000, &mut rng)),
            hp(&pink(16_000, &mut rng)),
            hp(&brown(16_000, &mut rng)),
        );
        assert!(w > p && p > b, "white {w:.1}, pink {p:.1}, brown {b:.1} dB");
    }

    #[test]
    fn every_kind_renders_at_its_length_and_is_finite() {
        for kind in NonMusic::ALL {
            let mut rng = StdRng::seed_from_u64(7);
            let (x, what) = render_non_music(kind, 3.0, 16_000, &mut rng).unwrap();
            assert_eq!(x.len(), 48_000, "{what}");
            assert!(x.iter().all(|v| v.is_finite() && v.abs() < 1.0), "{what}");
            if kind != NonMusic::Silence {
                assert!(dbfs(&x) > -80.0, "{what}: {:.1} dBFS", dbfs(&x));
            }
        }
    }
}
