//! Rendering MIDI into the Slakh layout and reading it back: the window labels agree with the notes
//! that were written (where a stem is silent, its class is absent), the layout and metadata are
//! Slakh's, and the same seed renders the same track.

use instrunet_model::{ModelSpec, Provenance};
use instrunet_training::data::slakh::{RenderSettings, TrackMetadata};
use instrunet_training::data::slakh::{Track, discover};
use instrunet_training::data::windows::{WindowSettings, track_windows};
use instrunet_training::synth::fonts::{Font, installed_training_soundfonts};
use instrunet_training::synth::midi::{Note, StemNotes, stems_from_midi};
use instrunet_training::synth::render::{Variation, render_stem, render_track, render_track_with};
use midly::num::{u4, u7, u15, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

/// Eight seconds at 120 bpm (480 ticks per beat, 960 ticks per second): a piano (program 0) plays
/// through the first four seconds only, a bass (program 33) through the last four, drums
/// throughout.
fn song() -> Vec<u8> {
    let mut events: Vec<(u64, u8, MidiMessage)> = vec![
        (
            0,
            0,
            MidiMessage::ProgramChange {
                program: u7::new(0),
            },
        ),
        (
            0,
            1,
            MidiMessage::ProgramChange {
                program: u7::new(33),
            },
        ),
    ];
    let mut note = |t0: f64, t1: f64, ch: u8, key: u8| {
        events.push((
            (t0 * 960.0) as u64,
            ch,
            MidiMessage::NoteOn {
                key: u7::new(key),
                vel: u7::new(100),
            },
        ));
        events.push((
            (t1 * 960.0) as u64,
            ch,
            MidiMessage::NoteOff {
                key: u7::new(key),
                vel: u7::new(0),
            },
        ));
    };
    for b in 0..8 {
        let t = b as f64 * 0.5;
        note(t, t + 0.45, 0, 60 + (b % 4) * 4);
        note(4.0 + t, 4.0 + t + 0.45, 1, 36 + (b % 3) * 2);
    }
    for b in 0..16 {
        let t = b as f64 * 0.5;
        note(t, t + 0.1, 9, if b % 2 == 0 { 36 } else { 38 });
    }
    events.sort_by_key(|e| e.0);
    let mut track = vec![TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::Tempo(500_000.into())),
    }];
    let mut last = 0;
    for (t, ch, message) in events {
        track.push(TrackEvent {
            delta: u28::new((t - last) as u32),
            kind: TrackEventKind::Midi {
                channel: u4::new(ch),
                message,
            },
        });
        last = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(480))),
        tracks: vec![track],
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes).unwrap();
    bytes
}

fn fonts() -> Vec<Font> {
    let paths =
        installed_training_soundfonts().expect("the test command installs fluid-soundfont-gm");
    paths
        .iter()
        .take(1)
        .map(|p| Font::load(p).unwrap())
        .collect()
}

#[test]
fn midi_splits_into_stems_per_channel_and_program() {
    let stems = stems_from_midi(&song()).unwrap();
    let summary: Vec<(u8, u32, bool, usize)> = stems
        .iter()
        .map(|s| (s.channel, s.program, s.is_drum, s.notes.len()))
        .collect();
    assert_eq!(
        summary,
        [(0, 0, false, 8), (1, 33, false, 8), (9, 128, true, 16)]
    );
    let bass = &stems[1].notes[0];
    assert!(
        (bass.start - 4.0).abs() < 1e-3 && (bass.end - 4.45).abs() < 2e-3,
        "{bass:?}"
    );
    assert!(stems_from_midi(b"not midi").is_err());
}

/// The track `id` of a rendered folder, read back through the Slakh reader.
fn read_back(dir: &std::path::Path, id: &str) -> Track {
    let found = discover(dir).unwrap().into_iter().find(|t| t.id == id);
    Track::open(&found.unwrap()).unwrap()
}

/// `song()` rendered at 16 kHz with `variation` into `folder/<id>/`; its metadata.
fn render_song(
    fonts: &[Font],
    seed: u64,
    variation: Variation,
    folder: &std::path::Path,
    id: &str,
) -> TrackMetadata {
    render_track_with(
        &song(),
        "song.mid",
        fonts,
        16_000,
        seed,
        variation,
        folder,
        id,
    )
    .unwrap()
    .0
}

/// Each stem's name and render settings in a track and in the same seed's track with a
/// variation, and whether it is drums; checks that the variation left the stem's font and
/// timbre settings as they were.
fn same_draws<'a>(
    plain: &'a TrackMetadata,
    varied: &'a TrackMetadata,
) -> Vec<(&'a str, &'a RenderSettings, &'a RenderSettings, bool)> {
    plain
        .stems
        .iter()
        .map(|(name, p)| {
            let (p, q) = (
                p.render.as_ref().unwrap(),
                varied.stems[name].render.as_ref().unwrap(),
            );
            assert_eq!(p.soundfont, q.soundfont);
            assert_eq!((p.gain_db, p.tilt_db), (q.gain_db, q.tilt_db));
            assert_eq!(p.detune_cents, q.detune_cents);
            (name.as_str(), p, q, varied.stems[name].is_drum)
        })
        .collect()
}

#[test]
fn production_effects_change_the_sound_not_the_fonts_and_are_written_down() {
    let out = std::env::temp_dir().join(format!("instrunet-production-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let fonts = fonts();
    let mut wet_tracks = 0;
    for seed in 0..6u64 {
        let id = format!("Track{seed:05}");
        let (dry, _) = render_track(
            &song(),
            "song.mid",
            &fonts,
            16_000,
            seed,
            false,
            &out.join("dry"),
            &id,
        )
        .unwrap();
        let (wet, _) = render_track(
            &song(),
            "song.mid",
            &fonts,
            16_000,
            seed,
            true,
            &out.join("wet"),
            &id,
        )
        .unwrap();
        assert!(dry.bus_production.is_none());
        assert!(wet.bus_production.is_some());
        for (name, d) in &dry.stems {
            let (d, w) = (
                d.render.as_ref().unwrap(),
                wet.stems[name].render.as_ref().unwrap(),
            );
            // The same font and timbre settings as the dry track; the effects beside them.
            assert_eq!(d.soundfont, w.soundfont);
            assert_eq!((d.gain_db, d.tilt_db), (w.gain_db, w.tilt_db));
            assert!(d.production.is_none() && w.production.is_some());
        }
        // The metadata reads back with the effects.
        let back = read_back(&out.join("wet"), &id);
        assert_eq!(back.metadata.bus_production, wet.bus_production);
        let mix = |dir: &str| std::fs::read(out.join(dir).join(&id).join("mix.wav")).unwrap();
        wet_tracks += (mix("dry") != mix("wet")) as usize;
    }
    assert!(wet_tracks >= 5, "{wet_tracks} of 6 mixes changed");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn playing_controls_change_the_played_stems_only_and_are_written_down() {
    let out = std::env::temp_dir().join(format!("instrunet-playing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let fonts = fonts();
    let (mut played_stems, mut changed_stems) = (0, 0);
    for seed in 0..6u64 {
        let id = format!("Track{seed:05}");
        let render = |performance: f64, dir: &str| {
            let variation = Variation {
                production: true,
                performance,
                formant: 0.0,
            };
            render_song(&fonts, seed, variation, &out.join(dir), &id)
        };
        let (plain, played) = (render(0.0, "plain"), render(1.0, "played"));
        for (name, p, q, is_drum) in same_draws(&plain, &played) {
            // Effects too are those of the track without controls.
            assert_eq!(p.production, q.production);
            assert!(p.performance.is_none());
            if is_drum {
                assert!(q.performance.is_none(), "drums took controls");
            }
            // The mix's peak normalisation scales every stem, so compare shapes, not samples.
            let stem = |dir: &str| -> Vec<f64> {
                let path = out
                    .join(dir)
                    .join(&id)
                    .join("stems")
                    .join(format!("{name}.wav"));
                hound::WavReader::open(path)
                    .unwrap()
                    .samples::<i16>()
                    .map(|v| v.unwrap() as f64)
                    .collect()
            };
            let (a, b) = (stem("plain"), stem("played"));
            let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(u, v)| u * v).sum::<f64>();
            let similarity = dot(&a, &b) / (dot(&a, &a) * dot(&b, &b)).sqrt().max(1e-9);
            if q.performance.is_some() {
                played_stems += 1;
                changed_stems += (similarity < 0.9999) as usize;
            } else {
                assert!(
                    similarity > 0.9999,
                    "{id} {name}: unplayed stem changed ({similarity})"
                );
            }
        }
        // The metadata reads back with the controls.
        let back = read_back(&out.join("played"), &id);
        for (name, stem) in &played.stems {
            let read = back.metadata.stems[name].render.as_ref().unwrap();
            assert_eq!(read.performance, stem.render.as_ref().unwrap().performance);
        }
    }
    // The piano takes the pedal (70 %) and the bass scoops (30 %): with these seeds, 3 of the 12
    // stems play (the draws are seeded, so this does not vary from run to run).
    assert!(played_stems >= 3, "{played_stems} stems played");
    assert_eq!(
        changed_stems, played_stems,
        "a played stem sounded as without controls"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_rendered_track_reads_back_with_labels_that_follow_the_notes() {
    let out = std::env::temp_dir().join(format!("instrunet-render-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let fonts = fonts();
    let (meta, _) = render_track(
        &song(),
        "song.mid",
        &fonts,
        16_000,
        7,
        false,
        &out,
        "Track00001",
    )
    .unwrap();
    let dir = out.join("Track00001");
    for f in [
        "mix.wav",
        "all_src.mid",
        "metadata.yaml",
        "stems/S00.wav",
        "stems/S02.wav",
        "MIDI/S01.mid",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert_eq!(meta.stems["S00"].inst_class, "Piano");
    assert_eq!(meta.stems["S01"].inst_class, "Bass");
    assert_eq!(meta.stems["S02"].inst_class, "Drums");
    assert!(meta.stems["S01"].render.is_some());
    // The stem MIDI files parse back to the same notes.
    let s01 = stems_from_midi(&std::fs::read(dir.join("MIDI/S01.mid")).unwrap()).unwrap();
    assert_eq!(s01[0].notes.len(), 8);

    // Read back as Slakh data and label 1-s windows (64 frames, stride 16 frames = 0.26 s).
    let track = Track::open(&discover(&out).unwrap()[0]).unwrap();
    assert_eq!(track.stems.len(), 3);
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.mel.window_frames = 64;
    let w = track_windows(
        &track,
        &spec,
        &WindowSettings {
            stride_frames: 16,
            active_dbfs: -60.0,
        },
    )
    .unwrap();
    let idx = |name: &str| spec.classes.iter().position(|c| c == name).unwrap();
    let (piano, bass, drums) = (idx("Piano"), idx("Bass"), idx("Drums"));
    let window_s = spec.mel.window_samples() as f64 / 16_000.0;
    let mut checked = 0;
    for (k, &start) in w.start_samples.iter().enumerate() {
        let (t0, t1) = (start as f64 / 16_000.0, start as f64 / 16_000.0 + window_s);
        let row = &w.labels[k * spec.n_classes()..(k + 1) * spec.n_classes()];
        if t1 < 8.0 {
            assert_eq!(row[drums], 1.0, "window at {t0:.2}s: drums play throughout");
        }
        // Away from the change at 4 s (allowing 0.6 s for the piano's release to fade), the
        // labels follow the notes.
        if t1 < 3.9 {
            assert_eq!((row[piano], row[bass]), (1.0, 0.0), "window at {t0:.2}s");
            checked += 1;
        }
        if t0 > 4.6 && t1 < 8.0 {
            assert_eq!((row[piano], row[bass]), (0.0, 1.0), "window at {t0:.2}s");
            checked += 1;
        }
        let others: f32 = row
            .iter()
            .enumerate()
            .filter(|(c, _)| ![piano, bass, drums].contains(c))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(others, 0.0);
    }
    assert!(checked >= 10, "{checked}");

    // The same seed renders the same audio.
    let again = out.join("again");
    render_track(
        &song(),
        "song.mid",
        &fonts,
        16_000,
        7,
        false,
        &again,
        "Track00001",
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.join("mix.wav")).unwrap(),
        std::fs::read(again.join("Track00001/mix.wav")).unwrap()
    );
    // A rate outside the renderer's range is refused with the range, before anything is written.
    let low = out.join("low-rate");
    let err = render_track(
        &song(),
        "song.mid",
        &fonts,
        8_000,
        7,
        false,
        &low,
        "Track00001",
    )
    .unwrap_err();
    assert!(err.contains("8000 Hz") && err.contains("16000"), "{err}");
    assert!(!low.join("Track00001").exists());
    std::fs::remove_dir_all(&out).ok();
}

/// The AVL drum kits (extra drum timbres) against General MIDI's drum map: every key a groove
/// uses sounds, and the kick is lower than the snare, the snare lower than the hi-hat.
#[test]
fn avl_drum_kits_follow_the_general_midi_drum_map() {
    use instrunet_training::synth::fonts::{BLACK_PEARL_DRUMS, RED_ZEPPELIN_DRUMS};
    use instrunet_training::synth::gm::GM_DRUM_KEYS;
    use instrunet_training::synth::render::drum_key_sound;
    for path in [BLACK_PEARL_DRUMS, RED_ZEPPELIN_DRUMS] {
        let font = Font::load(std::path::Path::new(path))
            .expect("the test command installs avldrums.lv2-soundfont");
        let mut brightness = std::collections::BTreeMap::new();
        for (key, what) in GM_DRUM_KEYS {
            let (_, db, centroid) = drum_key_sound(&font, key, 16_000).unwrap();
            println!("{path}: key {key} ({what}): {db:.1} dBFS, ~{centroid:.0} Hz");
            assert!(
                db > -50.0,
                "{path}: key {key} ({what}) is silent ({db:.1} dBFS)"
            );
            brightness.insert(key, centroid);
        }
        assert!(
            brightness[&36] < brightness[&38] && brightness[&38] < brightness[&42],
            "{path}: {brightness:?}"
        );
    }
}

/// Every training font is installed by the test command and loads: the three General MIDI sets
/// with all 128 programs and a drum kit, the two AVL fonts as drum kits only.
#[test]
fn every_training_font_loads() {
    use instrunet_training::synth::fonts::TRAINING_SOUNDFONTS;
    for (path, package) in TRAINING_SOUNDFONTS {
        let font = Font::load(std::path::Path::new(path))
            .unwrap_or_else(|e| panic!("{e} (package {package})"));
        assert!(font.covers(128, true), "{path}: no drum kit");
        if package == "avldrums.lv2-soundfont" {
            assert!(font.is_kit_only() && !font.covers(0, false), "{path}");
        } else {
            assert!(
                (0..128).all(|p| font.covers(p, false)),
                "{path}: missing programs"
            );
        }
    }
}

/// Cymbals and hi-hats reach 20 kHz. Rendered at the model's 16 kHz they must sound in the
/// model's band as they do in a host's 48 kHz audio resampled to 16 kHz (the plugin's path):
/// synthesised straight at 16 kHz, their content above 8 kHz folds back into it instead.
#[test]
fn bright_stems_rendered_at_16_khz_carry_no_aliases() {
    use instrunet_model::{MelFilterbank, MelFrontend, MelSettings};
    use instrunet_training::data::audio::MonoAudio;
    use instrunet_training::data::resample::ClipResampler;

    let font = Font::load(std::path::Path::new(
        instrunet_training::synth::fonts::FLUID_R3_GM,
    ))
    .expect("the test command installs fluid-soundfont-gm");
    // Eight seconds of crash, ride, open and closed hi-hat, eighth notes.
    let keys = [49u8, 42, 51, 42, 46, 42, 51, 42];
    let stem = StemNotes {
        channel: 9,
        program: 128,
        is_drum: true,
        notes: (0..32)
            .map(|i| Note {
                start: i as f64 * 0.25,
                end: i as f64 * 0.25 + 0.2,
                key: keys[i % keys.len()],
                velocity: 100,
            })
            .collect(),
    };
    let settings = RenderSettings::neutral("FluidR3_GM.sf2".into());
    let render_at =
        |rate: u32| render_stem(&font, &stem, &settings, rate, (8.5 * rate as f64) as usize);
    let at_16k = render_at(16_000).unwrap();
    let at_48k = render_at(48_000).unwrap();
    let host_path = ClipResampler::new(48_000, 16_000)
        .unwrap()
        .process(&MonoAudio {
            samples: at_48k,
            sample_rate: 48_000,
        })
        .unwrap()
        .samples;

    // Mean power per Mel band over the clip, dB.
    let mel_settings = MelSettings::default();
    let n_mels = mel_settings.n_mels;
    let mean_db = |x: &[f32]| -> Vec<f64> {
        let frames = MelFrontend::new(&mel_settings).spectrogram(x);
        let n = frames.len() / n_mels;
        (0..n_mels)
            .map(|b| {
                let p: f64 = (0..n)
                    .map(|k| 10f64.powf(frames[k * n_mels + b] as f64 / 10.0))
                    .sum::<f64>()
                    / n as f64;
                10.0 * p.log10()
            })
            .collect()
    };
    let (ours, host) = (mean_db(&at_16k), mean_db(&host_path));
    // Bands between 2 and 7 kHz (the resamplers' roll-offs differ just under 8 kHz).
    let edges = MelFilterbank::slaney_edges_hz(&mel_settings);
    let worst = (0..n_mels)
        .filter(|&b| (2_000.0..7_000.0).contains(&edges[b + 1]))
        .map(|b| (ours[b] - host[b]).abs())
        .fold(0.0f64, f64::max);
    assert!(
        worst < 1.5,
        "the 16 kHz render differs from the host path by up to {worst:.1} dB between 2 and 7 kHz"
    );
}

/// Some General MIDI sets play one class's program with another class's samples: FluidR3_GM's
/// Fiddle (Ethnic) is its Violin (Strings). `instrunet data fonts` lists such pairs; OPL-3 FM
/// gives every program its own patch.
#[test]
fn sound_alikes_across_classes_are_found_from_the_fonts_sample_tables() {
    let load = |p: &str| Font::load(std::path::Path::new(p)).unwrap();
    let fluid = load(instrunet_training::synth::fonts::FLUID_R3_GM).sound_alikes(0.5);
    let violin_fiddle = fluid
        .iter()
        .find(|p| p.programs == [40, 110])
        .expect("FluidR3_GM's Fiddle plays its Violin samples");
    assert_eq!(violin_fiddle.share, 1.0);
    // Only pairs of different classes, each once, most shared first.
    for pair in &fluid {
        let [a, b] = pair.programs;
        assert!(a < b && pair.share >= 0.5 && pair.share <= 1.0);
        assert_ne!(
            instrunet_model::InstrumentClass::from_program(a).unwrap(),
            instrunet_model::InstrumentClass::from_program(b).unwrap()
        );
    }
    assert!(fluid.windows(2).all(|w| w[0].share >= w[1].share));
    assert!(
        !fluid.iter().any(|p| p.programs == [40, 41]),
        "Violin and Viola are both Strings"
    );
    assert!(
        load(instrunet_training::synth::fonts::OPL3_FM_GM)
            .sound_alikes(0.5)
            .is_empty()
    );
}

/// The fundamental of `x` (Hz), from the autocorrelation's highest peak between 80 and 1000 Hz.
fn fundamental(x: &[f32], rate: u32) -> f64 {
    let (lo, hi) = ((rate / 1000) as usize, (rate / 80) as usize);
    let r = |lag: usize| -> f64 {
        x.iter()
            .zip(&x[lag..])
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum()
    };
    let best = (lo..=hi).max_by(|&a, &b| r(a).total_cmp(&r(b))).unwrap();
    rate as f64 / best as f64
}

/// The first and last 10 ms block within 30 dB of the loudest, seconds.
fn sounding_span(x: &[f32], rate: u32) -> (f64, f64) {
    let block = rate as usize / 100;
    let power: Vec<f64> = x
        .chunks(block)
        .map(|c| c.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / c.len() as f64)
        .collect();
    let peak = power.iter().copied().fold(0.0, f64::max);
    let on: Vec<usize> = (0..power.len())
        .filter(|&i| power[i] > peak * 1e-3)
        .collect();
    (on[0] as f64 / 100.0, *on.last().unwrap() as f64 / 100.0)
}

/// Power-weighted mean frequency of `x` (at the model's rate), Hz, over the model's own Mel
/// bands, each at its centre frequency.
fn spectral_centroid(x: &[f32]) -> f64 {
    use instrunet_model::{MelFilterbank, MelFrontend, MelSettings};
    let settings = MelSettings::default();
    let frames = MelFrontend::new(&settings).spectrogram(x);
    let edges = MelFilterbank::slaney_edges_hz(&settings);
    let (mut num, mut den) = (0.0, 0.0);
    for (i, db) in frames.iter().enumerate() {
        let power = 10f64.powf(*db as f64 / 10.0);
        num += power * edges[i % settings.n_mels + 1];
        den += power;
    }
    num / den
}

#[test]
fn formant_shifts_keep_pitch_and_timing_and_move_the_spectrum() {
    let fonts = fonts();
    // A held trumpet note (program 56) from 0.5 s to 2.0 s, in a 3 s stem at 16 kHz.
    let stem = StemNotes {
        channel: 0,
        program: 56,
        is_drum: false,
        notes: vec![Note {
            start: 0.5,
            end: 2.0,
            key: 67,
            velocity: 100,
        }],
    };
    let rate = 16_000;
    let render = |semitones: i32| {
        let mut settings = RenderSettings::neutral("test font".into());
        settings.formant_semitones = semitones;
        render_stem(&fonts[0], &stem, &settings, rate, 3 * rate as usize).unwrap()
    };
    let plain = render(0);
    let g = 440.0 * 2f64.powf((67.0 - 69.0) / 12.0);
    let mut centroids = Vec::new();
    for semitones in [-4, 0, 4] {
        let x = render(semitones);
        assert_eq!(x.len(), plain.len());
        let mid = &x[rate as usize..(1.5 * rate as f64) as usize];
        let f0 = fundamental(mid, rate);
        assert!(
            (f0 / g).log2().abs() * 12.0 < 0.3,
            "shift {semitones}: fundamental {f0:.1} Hz, the note is {g:.1} Hz"
        );
        let (on, off) = sounding_span(&x, rate);
        assert!(
            (on - 0.5).abs() <= 0.03,
            "shift {semitones}: starts at {on} s"
        );
        // The release tail follows the note's end (the font's release, read faster or slower).
        assert!(
            (2.0..2.8).contains(&off),
            "shift {semitones}: ends at {off} s"
        );
        centroids.push(spectral_centroid(mid));
    }
    // Up is brighter, down darker: the samples' spectral envelope moved, not the pitch.
    assert!(
        centroids[0] < centroids[1] && centroids[1] < centroids[2],
        "spectral centroids at -4, 0, +4 semitones: {centroids:?}"
    );
    // Drums are never shifted: their keys are different sounds, not pitches.
    let kit = StemNotes {
        channel: 9,
        program: 128,
        is_drum: true,
        notes: vec![Note {
            start: 0.1,
            end: 0.3,
            key: 38,
            velocity: 100,
        }],
    };
    let mut shifted = RenderSettings::neutral("test font".into());
    shifted.formant_semitones = 3;
    let neutral = RenderSettings::neutral("test font".into());
    assert_eq!(
        render_stem(&fonts[0], &kit, &shifted, rate, rate as usize).unwrap(),
        render_stem(&fonts[0], &kit, &neutral, rate, rate as usize).unwrap()
    );
}

#[test]
fn formant_shifted_tracks_keep_the_songs_fonts_and_settings_and_write_the_shift_down() {
    let out = std::env::temp_dir().join(format!("instrunet-formant-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let fonts = fonts();
    let mut shifted_stems = 0;
    for seed in 0..4u64 {
        let id = format!("Track{seed:05}");
        let render = |formant: f64, dir: &str| {
            let variation = Variation {
                production: true,
                performance: 0.0,
                formant,
            };
            render_song(&fonts, seed, variation, &out.join(dir), &id)
        };
        let (plain, shifted) = (render(0.0, "plain"), render(1.0, "shifted"));
        for (_, p, q, is_drum) in same_draws(&plain, &shifted) {
            assert_eq!(p.production, q.production);
            assert_eq!(p.formant_semitones, 0);
            if is_drum {
                assert_eq!(q.formant_semitones, 0, "drums shifted");
            } else {
                // A share of 1 shifts every melodic stem, by 1 to 4 semitones either way.
                assert!(
                    (1..=4).contains(&q.formant_semitones.abs()),
                    "{}",
                    q.formant_semitones
                );
                shifted_stems += 1;
            }
        }
        let back = read_back(&out.join("shifted"), &id);
        for (name, stem) in &shifted.stems {
            let read = back.metadata.stems[name].render.as_ref().unwrap();
            assert_eq!(
                read.formant_semitones,
                stem.render.as_ref().unwrap().formant_semitones
            );
        }
        // Tracks without shifts write no formant entry: their metadata reads as before.
        let yaml =
            std::fs::read_to_string(out.join("plain").join(&id).join("metadata.yaml")).unwrap();
        assert!(!yaml.contains("formant"), "{yaml}");
    }
    assert_eq!(shifted_stems, 8);
    let _ = std::fs::remove_dir_all(&out);
}
