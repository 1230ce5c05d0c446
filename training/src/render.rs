//! Rendering MIDI into Slakh-format tracks, instrument by instrument, the way Slakh was made from
//! Lakh MIDI: one stem per (channel, program), each rendered alone with a General MIDI SoundFont
//! through rustysynth at the model's rate, the mix the sum of the stems.
//!
//! Timbre variety is part of rendering: per stem, a random choice among the fonts that have the
//! program, and a random gain, spectral tilt, velocity scaling and detune within musical ranges,
//! all written into metadata.yaml (`render:` of each stem) so a track can be re-rendered exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use crate::data::slakh::{RenderSettings, StemMetadata, TrackMetadata};
use crate::gm::{PROGRAM_NAMES, slakh_inst_class};
use instrunet_model::InstrumentClass;

/// FluidR3_GM, a sampled General MIDI set (Debian: fluid-soundfont-gm).
pub const FLUID_R3_GM: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
/// An FM General MIDI set, every program its own patch (Debian: opl3-soundfont).
pub const OPL3_FM_GM: &str = "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2";
/// csound's General MIDI set (Debian: csound-soundfont).
pub const CSOUND_GM: &str = "/usr/share/sounds/sf2/sf_GMbank.sf2";
/// Two acoustic drum kits (Debian: avldrums.lv2-soundfont).
pub const BLACK_PEARL_DRUMS: &str = "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2";
pub const RED_ZEPPELIN_DRUMS: &str = "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2";

/// Where Debian's packages put the SoundFonts training uses, with the package of each
/// (`scripts/ensure-tools.sh` installs the same list). TimGM6mb and MuseScore General are
/// deliberately absent: they are for testing only.
pub const TRAINING_SOUNDFONTS: [(&str, &str); 5] = [
    (FLUID_R3_GM, "fluid-soundfont-gm"),
    (OPL3_FM_GM, "opl3-soundfont"),
    (CSOUND_GM, "csound-soundfont"),
    (BLACK_PEARL_DRUMS, "avldrums.lv2-soundfont"),
    (RED_ZEPPELIN_DRUMS, "avldrums.lv2-soundfont"),
];

/// General MIDI drum keys and what plays there: the ones a drum kit must get right.
pub const GM_DRUM_KEYS: [(u8, &str); 8] = [
    (36, "bass drum"),
    (38, "snare"),
    (42, "closed hi-hat"),
    (46, "open hi-hat"),
    (45, "low tom"),
    (50, "high tom"),
    (49, "crash cymbal"),
    (51, "ride cymbal"),
];

/// The training SoundFonts that are installed; an error naming the packages when none is.
pub fn installed_training_soundfonts() -> Result<Vec<PathBuf>, String> {
    let found: Vec<PathBuf> = TRAINING_SOUNDFONTS
        .iter()
        .map(|(p, _)| PathBuf::from(p))
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        let pkgs: Vec<&str> = TRAINING_SOUNDFONTS.iter().map(|(_, p)| *p).collect();
        return Err(format!(
            "no SoundFont found; install one of the Debian packages {} (or pass --soundfont)",
            pkgs.join(", ")
        ));
    }
    Ok(found)
}

/// A loaded SoundFont and which programs it has.
pub struct Font {
    pub path: PathBuf,
    pub font: Arc<SoundFont>,
    /// Melodic programs (bank 0) it defines.
    programs: Vec<bool>,
    has_drums: bool,
    /// A font that is one drum kit at bank 0, program 0 (the AVL kits): it serves drum stems only,
    /// played on a melodic channel.
    kit_only: bool,
}

impl Font {
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let font = SoundFont::new(&mut file)
            .map_err(|e| format!("{}: not a SoundFont: {e:?}", path.display()))?;
        let mut programs = vec![false; 128];
        let mut has_drums = false;
        for p in font.get_presets() {
            match (p.get_bank_number(), p.get_patch_number()) {
                (0, n) if (0..128).contains(&n) => programs[n as usize] = true,
                (128, _) => has_drums = true,
                _ => {}
            }
        }
        // One preset and no General MIDI set: a drum kit (the AVL kits name theirs "…_4pc").
        let kit_only = font.get_presets().len() == 1 && !has_drums;
        if kit_only {
            programs.fill(false);
            has_drums = true;
        }
        Ok(Self {
            path: path.to_owned(),
            font: Arc::new(font),
            programs,
            has_drums,
            kit_only,
        })
    }

    /// Whether the font can play this program (128 / `is_drum`: a drum kit).
    pub fn covers(&self, program: u32, is_drum: bool) -> bool {
        if is_drum {
            self.has_drums
        } else {
            self.programs
                .get(program as usize)
                .copied()
                .unwrap_or(false)
        }
    }

    /// A one-kit font (the AVL kits), used for drum stems only.
    pub fn is_kit_only(&self) -> bool {
        self.kit_only
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The samples each melodic program (bank 0) plays, each named by where its audio starts
    /// in the font (two headers over the same audio are the same sound).
    fn program_samples(&self) -> BTreeMap<u32, BTreeSet<i32>> {
        let (instruments, headers) = (self.font.get_instruments(), self.font.get_sample_headers());
        let mut out = BTreeMap::new();
        for preset in self.font.get_presets() {
            if preset.get_bank_number() != 0 || !(0..128).contains(&preset.get_patch_number()) {
                continue;
            }
            let samples: BTreeSet<i32> = preset
                .get_regions()
                .iter()
                .filter_map(|r| instruments.get(r.get_instrument_id()))
                .flat_map(|i| i.get_regions())
                .filter_map(|r| headers.get(r.get_sample_id()))
                .map(|h| h.get_start())
                .collect();
            out.insert(preset.get_patch_number() as u32, samples);
        }
        out
    }

    /// Pairs of melodic programs of different classes that play mostly the same samples in this
    /// font (shared samples over all the samples either plays, at least `min_share`), most
    /// shared first: stems of either program sound the same under two labels.
    pub fn sound_alikes(&self, min_share: f64) -> Vec<SoundAlike> {
        let programs = self.program_samples();
        let class = |p: u32| InstrumentClass::from_program(p).ok();
        let mut out = Vec::new();
        for (&a, sa) in &programs {
            for (&b, sb) in programs.range(a + 1..) {
                if sa.is_empty() || sb.is_empty() || class(a) == class(b) {
                    continue;
                }
                let shared = sa.intersection(sb).count() as f64;
                let share = shared / ((sa.len() + sb.len()) as f64 - shared);
                if share >= min_share {
                    out.push(SoundAlike {
                        programs: [a, b],
                        share,
                    });
                }
            }
        }
        out.sort_by(|x, y| {
            y.share
                .total_cmp(&x.share)
                .then(x.programs.cmp(&y.programs))
        });
        out
    }
}

/// Two General MIDI programs of different classes that a font plays with mostly the same
/// samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundAlike {
    pub programs: [u32; 2],
    /// Shared samples over all the samples either plays, 0 to 1.
    pub share: f64,
}

/// One note, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub start: f64,
    pub end: f64,
    pub key: u8,
    pub velocity: u8,
}

/// The notes of one instrument: a (channel, program) pair of the source MIDI.
#[derive(Debug, Clone, PartialEq)]
pub struct StemNotes {
    pub channel: u8,
    /// 0-127; 128 for the drum channel (10).
    pub program: u32,
    pub is_drum: bool,
    pub notes: Vec<Note>,
}

/// Splits a standard MIDI file into stems (one per channel and program; channel 10 is drums),
/// converting ticks to seconds through the file's tempo map.
pub fn stems_from_midi(bytes: &[u8]) -> Result<Vec<StemNotes>, String> {
    split_midi(bytes, false)
}

/// Like [`stems_from_midi`], but one stem per (MIDI track, channel, program): for files whose
/// parts share a channel and a program (score exports write every voice as channel 1 piano).
/// Stems get distinct channels, in order, skipping the drum channel for melodic ones.
pub fn stems_from_midi_tracks(bytes: &[u8]) -> Result<Vec<StemNotes>, String> {
    let mut stems = split_midi(bytes, true)?;
    let mut next = 0u8;
    for stem in &mut stems {
        if stem.is_drum {
            stem.channel = 9;
        } else {
            if next == 9 {
                next += 1;
            }
            stem.channel = next.min(15);
            next = next.saturating_add(1);
        }
    }
    Ok(stems)
}

fn split_midi(bytes: &[u8], by_track: bool) -> Result<Vec<StemNotes>, String> {
    let smf = Smf::parse(bytes).map_err(|e| format!("not a MIDI file: {e}"))?;
    let ticks_per_beat = match smf.header.timing {
        Timing::Metrical(t) => t.as_int() as f64,
        Timing::Timecode(..) => return Err("SMPTE-timed MIDI files are not supported".into()),
    };
    let mut events = Vec::new();
    for (t, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            events.push((tick, events.len(), if by_track { t } else { 0 }, ev.kind));
        }
    }
    events.sort_by_key(|&(tick, order, _, _)| (tick, order));
    let (mut last_tick, mut seconds, mut us_per_beat) = (0u64, 0.0f64, 500_000.0f64);
    let mut program = [0u32; 16];
    // Notes sounding, by (channel, key): (start seconds, velocity, program), oldest first.
    type Sounding = Vec<(f64, u8, u32)>;
    let mut open: BTreeMap<(usize, u8, u8), Sounding> = BTreeMap::new();
    let mut stems: BTreeMap<(usize, u8, u32), Vec<Note>> = BTreeMap::new();
    for (tick, _, track, kind) in events {
        seconds += (tick - last_tick) as f64 * us_per_beat / ticks_per_beat / 1e6;
        last_tick = tick;
        match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(t)) => us_per_beat = t.as_int() as f64,
            TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                match message {
                    MidiMessage::ProgramChange { program: p } => {
                        program[ch as usize] = p.as_int() as u32
                    }
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        let prog = if ch == 9 { 128 } else { program[ch as usize] };
                        open.entry((track, ch, key.as_int())).or_default().push((
                            seconds,
                            vel.as_int(),
                            prog,
                        ));
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        if let Some(stack) = open.get_mut(&(track, ch, key.as_int()))
                            && !stack.is_empty()
                        {
                            let (start, velocity, prog) = stack.remove(0);
                            stems.entry((track, ch, prog)).or_default().push(Note {
                                start,
                                end: seconds,
                                key: key.as_int(),
                                velocity,
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Notes never switched off end with the file.
    for ((track, ch, key), stack) in open {
        for (start, velocity, prog) in stack {
            stems.entry((track, ch, prog)).or_default().push(Note {
                start,
                end: seconds.max(start + 0.1),
                key,
                velocity,
            });
        }
    }
    Ok(stems
        .into_iter()
        .filter(|(_, notes)| !notes.is_empty())
        .map(|((_, channel, program), mut notes)| {
            notes.sort_by(|a, b| a.start.total_cmp(&b.start));
            StemNotes {
                channel,
                program,
                is_drum: channel == 9,
                notes,
            }
        })
        .collect())
}

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
    let synth_length = (length as f64 * synth_rate as f64 / sample_rate as f64).ceil() as usize;
    let mut synth = Synthesizer::new(&font.font, &SynthesizerSettings::new(synth_rate as i32))
        .map_err(|e| format!("{e:?}"))?;
    // Drums play on channel 10 (percussion bank), except with a kit-only font, whose kit is the
    // melodic bank-0 program 0.
    let ch = if stem.is_drum && !font.kit_only { 9 } else { 0 };
    if stem.is_drum && font.kit_only {
        synth.process_midi_message(ch, 0xC0, 0, 0);
    } else if !stem.is_drum {
        synth.process_midi_message(ch, 0xC0, stem.program as i32, 0);
        // Pitch bend, default range ±2 semitones (200 cents) over ±8192.
        let bend = (8192.0 + settings.detune_cents as f64 / 200.0 * 8192.0)
            .round()
            .clamp(0.0, 16383.0) as i32;
        synth.process_midi_message(ch, 0xE0, bend & 0x7f, bend >> 7);
    }
    let mut events: Vec<(usize, i32, i32, i32)> = Vec::with_capacity(stem.notes.len() * 2);
    for n in &stem.notes {
        let vel = ((n.velocity as f32 * settings.velocity_scale).round() as i32).clamp(1, 127);
        events.push((
            (n.start * synth_rate as f64) as usize,
            0x90,
            n.key as i32,
            vel,
        ));
        events.push(((n.end * synth_rate as f64) as usize, 0x80, n.key as i32, 0));
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
    if synth_rate != sample_rate {
        let clip = crate::data::audio::MonoAudio {
            samples: mono,
            sample_rate: synth_rate,
        };
        mono = crate::data::resample::ClipResampler::new(synth_rate, sample_rate)?
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
/// have its program; `seed` makes the whole track reproducible. Returns the track's metadata and
/// its length in seconds.
pub fn render_track(
    midi: &[u8],
    source_name: &str,
    fonts: &[Font],
    sample_rate: u32,
    seed: u64,
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
            (
                font,
                RenderSettings::random(&mut rng, font.name(), stem.is_drum),
            )
        })
        .collect();
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
                            (
                                i,
                                render_stem(plan[i].0, &stems[i], &plan[i].1, sample_rate, length),
                            )
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
        stems: meta_stems,
    };
    let yaml = serde_yaml_ng::to_string(&metadata).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("metadata.yaml"), yaml).map_err(|e| io(&dir, e))?;
    Ok((metadata, length as f64 / sample_rate as f64))
}

fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), String> {
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

/// A one-track MIDI file of a stem's notes.
fn write_stem_midi(path: &Path, stem: &StemNotes) -> Result<(), String> {
    std::fs::write(path, stems_to_midi(std::slice::from_ref(stem)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A MIDI file of stems, one track each on the stem's channel (480 ticks per beat at 120 bpm:
/// 960 ticks per second).
pub fn stems_to_midi(stems: &[StemNotes]) -> Vec<u8> {
    use midly::Format;
    let tracks: Vec<_> = stems.iter().map(stem_track).collect();
    let smf = Smf {
        header: midly::Header::new(
            if tracks.len() == 1 {
                Format::SingleTrack
            } else {
                Format::Parallel
            },
            Timing::Metrical(midly::num::u15::new(480)),
        ),
        tracks,
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing MIDI to memory cannot fail");
    bytes
}

fn stem_track(stem: &StemNotes) -> Vec<midly::TrackEvent<'static>> {
    use midly::num::{u4, u7};
    let ch = u4::new(stem.channel.min(15));
    let mut events: Vec<(u64, MidiMessage)> = Vec::new();
    if !stem.is_drum {
        events.push((
            0,
            MidiMessage::ProgramChange {
                program: u7::new(stem.program as u8),
            },
        ));
    }
    for n in &stem.notes {
        let a = (n.start * 960.0) as u64;
        let b = ((n.end * 960.0) as u64).max(a + 1);
        events.push((
            a,
            MidiMessage::NoteOn {
                key: u7::new(n.key),
                vel: u7::new(n.velocity.max(1)),
            },
        ));
        events.push((
            b,
            MidiMessage::NoteOff {
                key: u7::new(n.key),
                vel: u7::new(0),
            },
        ));
    }
    let mut track = Vec::with_capacity(events.len() + 1);
    push_channel_events(&mut track, ch, events);
    track
}

/// Appends one channel's timed messages (ticks from the track's start) to a MIDI track: in time
/// order with note-offs before note-ons at the same tick, so that a repeated note restarts;
/// delta-encoded; then the end of the track.
pub(crate) fn push_channel_events<'a>(
    track: &mut Vec<midly::TrackEvent<'a>>,
    channel: midly::num::u4,
    mut events: Vec<(u64, MidiMessage)>,
) {
    use midly::TrackEvent;
    use midly::num::u28;
    // A stable sort: messages at one tick that are not note-ons keep their order.
    events.sort_by_key(|(t, m)| (*t, matches!(m, MidiMessage::NoteOn { .. })));
    let mut last = 0u64;
    for (t, message) in events {
        track.push(TrackEvent {
            delta: u28::new((t - last) as u32),
            kind: TrackEventKind::Midi { channel, message },
        });
        last = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
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
