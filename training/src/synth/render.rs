//! Rendering MIDI into Slakh-format tracks, instrument by instrument, the way Slakh was made from
//! Lakh MIDI: one stem per (channel, program), each rendered alone with a General MIDI SoundFont
//! through rustysynth at the model's rate, the mix the sum of the stems.
//!
//! Timbre variety is part of rendering: per stem, a random choice among the fonts that have the
//! program, and a random gain, spectral tilt, velocity scaling and detune within musical ranges
//! (and, where asked, a formant shift: [`Variation::formant`]), all written into metadata.yaml (`render:` of each stem) so a track can be re-rendered exactly.

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, SeedableRng, rngs::StdRng};
use rustysynth::{Synthesizer, SynthesizerSettings};

use crate::data::slakh::{RenderSettings, StemMetadata, TrackMetadata};
use crate::synth::fonts::Font;
use crate::synth::gm::{PROGRAM_NAMES, slakh_inst_class};
use crate::synth::midi::{Note, StemNotes, stems_from_midi, write_stem_midi};
use crate::synth::{performance, production};

/// The lowest rate the synthesiser runs at. Below it, stems are synthesised at this rate and
/// resampled (band-limited) to the output rate: a SoundFont's samples reach 20 kHz, and
/// synthesised straight at 16 kHz everything above 8 kHz folds back into the band the model
/// hears, which a host's audio, band-limited by the plugin's resampler, never has. A model
/// trained on such aliases missed whole drum kits in 48 kHz audio.
pub const MIN_SYNTH_RATE: u32 = 44_100;

/// Renders a stem alone, mono, `length` samples at `sample_rate` (synthesised at
/// [`MIN_SYNTH_RATE`] or above, then resampled).
pub fn render_stem(
    font: &Font,
    stem: &StemNotes,
    settings: &RenderSettings,
    sample_rate: u32,
    length: usize,
) -> Result<Vec<f32>, String> {
    let synth_rate = sample_rate.max(MIN_SYNTH_RATE);
    let shift = if stem.is_drum {
        0
    } else {
        settings.formant_semitones
    };
    // The rate the synthesised samples are read back at: the synthesiser's own, or with a formant
    // shift that much faster (slower), so that notes played `shift` semitones lower (higher) and
    // timed that much slower come back at their pitch and time. Rounded to 100 Hz so that the
    // resampler's ratio stays small; events are placed at the rounded rate, so timing is exact.
    let read_rate = if shift == 0 {
        synth_rate
    } else {
        let exact = synth_rate as f64 * 2f64.powf(shift as f64 / 12.0);
        ((exact / 100.0).round() * 100.0) as u32
    };
    let synth_length = (length as f64 * read_rate as f64 / sample_rate as f64).ceil() as usize;
    let mut synth = Synthesizer::new(&font.font, &SynthesizerSettings::new(synth_rate as i32))
        .map_err(|e| format!("{e:?}"))?;
    // Drums play on channel 10 (percussion bank), except with a kit-only font, whose kit is the
    // melodic bank-0 program 0.
    let ch = if stem.is_drum && !font.kit_only { 9 } else { 0 };
    if stem.is_drum && font.kit_only {
        synth.process_midi_message(ch, 0xC0, 0, 0);
    }
    // Pitch bend, default range ±2 semitones (200 cents) over ±8192.
    let centre_bend = (8192.0 + settings.detune_cents as f64 / 200.0 * 8192.0)
        .round()
        .clamp(0.0, 16383.0) as i32;
    if !stem.is_drum {
        synth.process_midi_message(ch, 0xC0, stem.program as i32, 0);
        synth.process_midi_message(ch, 0xE0, centre_bend & 0x7f, centre_bend >> 7);
    }
    let mut events: Vec<(usize, i32, i32, i32)> = Vec::with_capacity(stem.notes.len() * 2);
    if let Some(p) = settings.performance.as_ref().filter(|_| !stem.is_drum) {
        events.extend(performance::events(p, &stem.notes, read_rate, centre_bend));
    }
    for n in &stem.notes {
        let vel = ((n.velocity as f32 * settings.velocity_scale).round() as i32).clamp(1, 127);
        let key = (n.key as i32 - shift).clamp(0, 127);
        events.push(((n.start * read_rate as f64) as usize, 0x90, key, vel));
        events.push(((n.end * read_rate as f64) as usize, 0x80, key, 0));
    }
    // Offs before ons at the same sample, so a repeated note restarts.
    events.sort_by_key(|&(t, cmd, key, _)| (t, cmd, key));
    let (mut left, mut right) = (vec![0.0f32; synth_length], vec![0.0f32; synth_length]);
    let mut pos = 0;
    for (t, cmd, key, vel) in events
        .into_iter()
        .chain(std::iter::once((synth_length, 0, 0, 0)))
    {
        let t = t.min(synth_length);
        if t > pos {
            synth.render(&mut left[pos..t], &mut right[pos..t]);
            pos = t;
        }
        if cmd != 0 {
            synth.process_midi_message(ch, cmd, key, vel);
        }
    }
    let mut mono: Vec<f32> = left
        .iter()
        .zip(&right)
        .map(|(l, r)| 0.5 * (l + r))
        .collect();
    if read_rate != sample_rate {
        let clip = crate::data::audio::MonoAudio {
            samples: mono,
            sample_rate: read_rate,
        };
        mono = crate::data::resample::ClipResampler::new(read_rate, sample_rate)?
            .process(&clip)?
            .samples;
    }
    mono.resize(length, 0.0);
    tilt(&mut mono, sample_rate, settings.tilt_db);
    // Fonts and programs differ by 20 dB and more in level; bring each stem to one playing level
    // first, so that the random gain, not the font, decides the balance of the mix.
    let level = playing_level_db(&mono, sample_rate);
    let gain = if level.is_finite() {
        10f32.powf((STEM_LEVEL_DBFS + settings.gain_db - level) / 20.0)
    } else {
        1.0
    };
    mono.iter_mut().for_each(|v| *v *= gain);
    Ok(mono)
}

/// The level every stem is brought to before its random gain: dBFS, RMS while it plays.
pub const STEM_LEVEL_DBFS: f32 = -20.0;

/// A stem's level while it plays: the mean power of its 100 ms blocks that are within 40 dB of
/// its loudest block, in dBFS (−∞ for silence).
pub fn playing_level_db(x: &[f32], sample_rate: u32) -> f32 {
    let block = (sample_rate as usize / 10).max(1);
    let powers: Vec<f64> = x
        .chunks(block)
        .map(|c| c.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / c.len() as f64)
        .collect();
    let loudest = powers.iter().copied().fold(0.0f64, f64::max);
    if loudest <= 0.0 {
        return f32::NEG_INFINITY;
    }
    let playing: Vec<f64> = powers
        .into_iter()
        .filter(|&p| p >= loudest * 1e-4)
        .collect();
    (10.0 * (playing.iter().sum::<f64>() / playing.len() as f64).log10()) as f32
}

/// A first-order tilt around 1 kHz: the band below is scaled by −tilt/2 dB, the band above by
/// +tilt/2 dB.
fn tilt(x: &mut [f32], sample_rate: u32, tilt_db: f32) {
    let a = (-std::f32::consts::TAU * 1000.0 / sample_rate as f32).exp();
    let (g_low, g_high) = (10f32.powf(-tilt_db / 40.0), 10f32.powf(tilt_db / 40.0));
    let mut low = 0.0f32;
    for v in x.iter_mut() {
        low = (1.0 - a) * *v + a * low;
        *v = g_low * low + g_high * (*v - low);
    }
}

/// Seconds of audio after the last note, for releases to ring out.
const TAIL_SECONDS: f64 = 1.0;
/// Peak of the normalised mix, dBFS (as Slakh's `target_peak`).
const TARGET_PEAK_DBFS: f64 = -1.0;

/// Sample rates the renderer writes, Hz: from the model's 16 kHz up to rustysynth's 192 kHz.
pub const RENDER_RATES: std::ops::RangeInclusive<u32> = 16_000..=192_000;

/// Renders a MIDI file into a Slakh-format track folder `out/<id>/`: `mix.wav`, `stems/SNN.wav`,
/// `MIDI/SNN.mid`, `all_src.mid` and `metadata.yaml`. Each stem's font is drawn from those that
/// have its program; `seed` makes the whole track reproducible. With `production`, each stem and
/// the mix take random production effects ([`crate::synth::production`]), drawn from a stream of
/// their own so that the fonts and settings are those of the dry track. Returns the track's
/// metadata and its length in seconds.
#[allow(clippy::too_many_arguments)]
pub fn render_track(
    midi: &[u8],
    source_name: &str,
    fonts: &[Font],
    sample_rate: u32,
    seed: u64,
    production: bool,
    out: &Path,
    id: &str,
) -> Result<(TrackMetadata, f64), String> {
    let variation = Variation {
        production,
        performance: 0.0,
        formant: 0.0,
    };
    render_track_with(
        midi,
        source_name,
        fonts,
        sample_rate,
        seed,
        variation,
        out,
        id,
    )
}

/// What a track adds to the fonts' own sound, beside the per-stem gain, tilt, velocity and
/// detune every track draws.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Variation {
    /// Production effects on each stem and the mix ([`production`]).
    pub production: bool,
    /// Share of stems played with the controls people's MIDI files send ([`performance`]:
    /// vibrato, swells, scoops, pedal), 0-1.
    pub performance: f64,
    /// Share of melodic stems played with a formant shift ([`draw_formant_shift`]), 0-1.
    pub formant: f64,
}

/// The largest formant shift drawn, semitones (a factor of 1.26 on the spectral envelope): about
/// the step in body size from a violin to a viola, small enough that a shifted stem still sounds
/// like its class.
pub const MAX_FORMANT_SEMITONES: i32 = 4;

/// A stem's formant shift: with probability `share` (melodic stems only), 1 to
/// [`MAX_FORMANT_SEMITONES`] semitones up or down; else 0.
pub fn draw_formant_shift(rng: &mut StdRng, is_drum: bool, share: f64) -> i32 {
    if is_drum || share <= 0.0 || !rng.random_bool(share.min(1.0)) {
        return 0;
    }
    let size = rng.random_range(1..=MAX_FORMANT_SEMITONES);
    if rng.random_bool(0.5) { size } else { -size }
}

/// [`render_track`] with playing controls: each stem and the mix draw from `variation`'s
/// production effects and playing controls, each from a stream of its own, so that the fonts and
/// settings stay those of the dry track and the effects those of the track without controls.
#[allow(clippy::too_many_arguments)]
pub fn render_track_with(
    midi: &[u8],
    source_name: &str,
    fonts: &[Font],
    sample_rate: u32,
    seed: u64,
    variation: Variation,
    out: &Path,
    id: &str,
) -> Result<(TrackMetadata, f64), String> {
    if fonts.is_empty() {
        return Err("no SoundFonts given".into());
    }
    if !RENDER_RATES.contains(&sample_rate) {
        return Err(format!(
            "cannot render at {sample_rate} Hz: choose between {} and {} Hz",
            RENDER_RATES.start(),
            RENDER_RATES.end()
        ));
    }
    let stems = stems_from_midi(midi)?;
    if stems.is_empty() {
        return Err("the MIDI file has no notes".into());
    }
    let end = stems
        .iter()
        .flat_map(|s| s.notes.iter().map(|n| n.end))
        .fold(0.0f64, f64::max);
    let length = ((end + TAIL_SECONDS) * sample_rate as f64).ceil() as usize;
    // Draw every stem's font and settings first (in stem order, so the seed fixes them), then
    // render the stems in parallel: each is independent.
    let mut rng = StdRng::seed_from_u64(seed);
    let mut effects_rng = StdRng::seed_from_u64(seed ^ 0x0eff_ec75_u64);
    let mut playing_rng = StdRng::seed_from_u64(seed ^ 0x91a7_1e55_u64);
    let mut formant_rng = StdRng::seed_from_u64(seed ^ 0xf0a3_a475_u64);
    let plan: Vec<(&Font, RenderSettings)> = stems
        .iter()
        .map(|stem| {
            let candidates: Vec<&Font> = fonts
                .iter()
                .filter(|f| f.covers(stem.program, stem.is_drum))
                .collect();
            let pool = if candidates.is_empty() {
                fonts.iter().collect()
            } else {
                candidates
            };
            let font = pool[rng.random_range(0..pool.len())];
            let mut settings = RenderSettings::random(&mut rng, font.name(), stem.is_drum);
            if variation.production {
                settings.production = Some(production::draw_stem(&mut effects_rng, stem.is_drum));
            }
            if variation.performance > 0.0 {
                settings.performance = performance::draw(
                    &mut playing_rng,
                    stem.program,
                    stem.is_drum,
                    variation.performance,
                );
            }
            if variation.formant > 0.0 {
                settings.formant_semitones =
                    draw_formant_shift(&mut formant_rng, stem.is_drum, variation.formant);
            }
            (font, settings)
        })
        .collect();
    let bus = variation
        .production
        .then(|| production::draw_bus(&mut effects_rng));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(stems.len());
    let audio: Vec<Result<Vec<f32>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (stems, plan) = (&stems, &plan);
                scope.spawn(move || {
                    (t..stems.len())
                        .step_by(threads)
                        .map(|i| {
                            let settings = &plan[i].1;
                            let audio =
                                render_stem(plan[i].0, &stems[i], settings, sample_rate, length)
                                    .map(|mut a| {
                                        if let Some(p) = &settings.production {
                                            production::apply(p, &mut a, sample_rate);
                                        }
                                        a
                                    });
                            (i, audio)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out: Vec<(usize, Result<Vec<f32>, String>)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("render thread panicked"))
            .collect();
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    });
    let mut rendered = Vec::with_capacity(stems.len());
    for ((_, settings), a) in plan.into_iter().zip(audio) {
        rendered.push((settings, a?));
    }
    // Normalise the mix's peak to −1 dBFS; the stems take the same gain, so they still sum to it.
    let mut mix = vec![0.0f32; length];
    for (_, audio) in &rendered {
        mix.iter_mut().zip(audio).for_each(|(m, s)| *m += s);
    }
    if let Some(bus) = &bus {
        production::apply(bus, &mut mix, sample_rate);
    }
    let peak = mix.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
    let gain = if peak > 0.0 {
        10f64.powf(TARGET_PEAK_DBFS / 20.0) / peak
    } else {
        1.0
    };
    mix.iter_mut().for_each(|v| *v *= gain as f32);

    let dir = out.join(id);
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    for sub in ["stems", "MIDI"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| io(&dir, e))?;
    }
    write_wav(&dir.join("mix.wav"), &mix, sample_rate)?;
    std::fs::write(dir.join("all_src.mid"), midi).map_err(|e| io(&dir, e))?;
    let mut meta_stems = BTreeMap::new();
    for (i, (stem, (settings, audio))) in stems.iter().zip(&mut rendered).enumerate() {
        let name = format!("S{i:02}");
        audio.iter_mut().for_each(|v| *v *= gain as f32);
        write_wav(
            &dir.join("stems").join(format!("{name}.wav")),
            audio,
            sample_rate,
        )?;
        write_stem_midi(&dir.join("MIDI").join(format!("{name}.mid")), stem)?;
        let program_name = if stem.is_drum {
            "Drums".to_owned()
        } else {
            PROGRAM_NAMES[stem.program as usize].to_owned()
        };
        meta_stems.insert(
            name,
            StemMetadata {
                inst_class: slakh_inst_class(stem.program, stem.is_drum).to_owned(),
                program_num: stem.program,
                is_drum: stem.is_drum,
                midi_program_name: Some(program_name),
                plugin_name: Some(settings.soundfont.clone()),
                integrated_loudness: None,
                audio_rendered: Some(audio.iter().any(|&v| v != 0.0)),
                midi_saved: Some(true),
                render: Some(settings.clone()),
            },
        );
    }
    let metadata = TrackMetadata {
        uuid: format!("{:016x}{:016x}", crate::data::split::fnv1a(midi), seed),
        audio_dir: "stems".into(),
        midi_dir: "MIDI".into(),
        lmd_midi_dir: Some(source_name.to_owned()),
        normalization_factor: None,
        normalized: Some(true),
        overall_gain: Some(gain),
        target_peak: Some(TARGET_PEAK_DBFS),
        render_seed: Some(seed),
        sample_rate: Some(sample_rate),
        non_music: None,
        bus_production: bus,
        stems: meta_stems,
    };
    let yaml = serde_yaml_ng::to_string(&metadata).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("metadata.yaml"), yaml).map_err(|e| io(&dir, e))?;
    Ok((metadata, length as f64 / sample_rate as f64))
}

pub(crate) fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let err = |e: hound::Error| format!("{}: {e}", path.display());
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)
            .map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Sound of one drum key: (key, RMS in dBFS, spectral centroid in Hz) of a 0.3 s hit.
pub fn drum_key_sound(font: &Font, key: u8, sample_rate: u32) -> Result<(u8, f32, f32), String> {
    let stem = StemNotes {
        channel: 9,
        program: 128,
        is_drum: true,
        notes: vec![Note {
            start: 0.0,
            end: 0.3,
            key,
            velocity: 110,
        }],
    };
    let settings = RenderSettings::neutral(font.name());
    let x = render_stem(
        font,
        &stem,
        &settings,
        sample_rate,
        (0.4 * sample_rate as f64) as usize,
    )?;
    let rms = (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    // Centroid from zero-crossing rate: cheap, and enough to tell a kick from a cymbal.
    let crossings = x
        .windows(2)
        .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0) && rms > 0.0)
        .count();
    let centroid = crossings as f32 * sample_rate as f32 / (2.0 * x.len() as f32);
    Ok((key, (20.0 * rms.max(1e-12).log10()) as f32, centroid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formant_shifts_are_drawn_at_their_share_both_ways_and_never_for_drums() {
        let mut rng = StdRng::seed_from_u64(5);
        let draws: Vec<i32> = (0..20_000)
            .map(|_| draw_formant_shift(&mut rng, false, 0.3))
            .collect();
        let shifted: Vec<i32> = draws.iter().copied().filter(|&s| s != 0).collect();
        let share = shifted.len() as f64 / draws.len() as f64;
        assert!((share - 0.3).abs() < 0.015, "share {share}");
        let up = shifted.iter().filter(|&&s| s > 0).count() as f64 / shifted.len() as f64;
        assert!((up - 0.5).abs() < 0.03, "share up {up}");
        for size in 1..=MAX_FORMANT_SEMITONES {
            let n = shifted.iter().filter(|s| s.abs() == size).count() as f64;
            let expected = shifted.len() as f64 / MAX_FORMANT_SEMITONES as f64;
            assert!((n - expected).abs() < 0.1 * expected, "{size}: {n}");
        }
        assert!((0..1000).all(|_| draw_formant_shift(&mut rng, true, 1.0) == 0));
        assert!((0..1000).all(|_| draw_formant_shift(&mut rng, false, 0.0) == 0));
    }
}
