//! Composed songs rendered into the Slakh layout and read back: every window's labels agree with
//! the notes the composer wrote (a class whose instruments play through a window is present; a
//! class with no note in or just before a window is absent), and `arrange` moves a corpus piece's
//! parts onto new programs within their ranges.

use std::collections::BTreeMap;

use instrunet_model::{InstrumentClass, ModelSpec, Provenance};
use instrunet_training::data::slakh::{Track, discover};
use instrunet_training::data::windows::{WindowSettings, track_windows};
use instrunet_training::synth::compose::{ClassPriors, Roles, arrange, compose, song_seed};
use instrunet_training::synth::fonts::Font;
use instrunet_training::synth::midi::{Note, StemNotes};
use instrunet_training::synth::render::render_track;

fn fluid() -> Font {
    Font::load(std::path::Path::new(
        instrunet_training::synth::fonts::FLUID_R3_GM,
    ))
    .expect("the test command installs fluid-soundfont-gm")
}

/// Seconds of notes of each class inside [a, b).
fn coverage(
    song: &instrunet_training::synth::compose::Song,
    a: f64,
    b: f64,
) -> BTreeMap<InstrumentClass, f64> {
    let step = song.step_seconds();
    let mut out = BTreeMap::new();
    for part in &song.parts {
        // Union of the part's note spans inside the window, so chords do not count several times.
        let mut spans: Vec<(f64, f64)> = part
            .notes
            .iter()
            .map(|n| ((n.start * step).max(a), ((n.start + n.len) * step).min(b)))
            .filter(|(s, e)| e > s)
            .collect();
        spans.sort_by(|x, y| x.0.total_cmp(&y.0));
        let (mut covered, mut reach) = (0.0, a);
        for (s, e) in spans {
            let s = s.max(reach);
            if e > s {
                covered += e - s;
                reach = e;
            }
        }
        let c = out.entry(part.class).or_insert(0.0);
        *c = f64::max(*c, covered);
    }
    out
}

#[test]
fn composed_tracks_read_back_with_labels_that_follow_the_notes() {
    let dir = tempfile_dir("composer-labels");
    let fonts = [fluid()];
    let spec = ModelSpec::new_default(Provenance::default());
    let settings = WindowSettings::default();
    let (mut present_ok, mut present_all, mut absent_ok, mut absent_all) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for i in 0..4u64 {
        let song = compose(song_seed(2026, i));
        let id = format!("Track{:05}", i + 1);
        let (meta, seconds) = render_track(
            &song.to_midi(),
            "composer",
            &fonts,
            16_000,
            i,
            false,
            &dir,
            &id,
        )
        .expect("renders");
        assert!((seconds - song.length as f64 * song.step_seconds()).abs() < 6.0);
        let classes: std::collections::BTreeSet<_> = song.parts.iter().map(|p| p.class).collect();
        assert_eq!(meta.stems.len(), song.parts.len());
        let tracks = discover(&dir).unwrap();
        let track = Track::open(tracks.iter().find(|t| t.id == id).unwrap()).unwrap();
        let windows = track_windows(&track, &spec, &settings).unwrap();
        assert!(windows.len() > 10);
        let win_seconds = spec.mel.window_samples() as f64 / 16_000.0;
        for (w, &start) in windows.start_samples.iter().enumerate() {
            let a = start as f64 / 16_000.0;
            let cov = coverage(&song, a, a + win_seconds);
            // Releases ring on after a note ends: look 1.5 s back for the absent rule.
            let recent = coverage(&song, a - 1.5, a + win_seconds);
            for (k, class) in InstrumentClass::ALL.iter().enumerate() {
                let label = windows.labels[w * 14 + k] > 0.5;
                if cov.get(class).copied().unwrap_or(0.0) >= 0.3 * win_seconds {
                    present_all += 1;
                    present_ok += label as usize;
                    if !label {
                        failures.push(format!("{id} {a:.1}s {class} plays but is labelled absent"));
                    }
                }
                if recent.get(class).copied().unwrap_or(0.0) == 0.0 {
                    absent_all += 1;
                    absent_ok += !label as usize;
                    if label {
                        failures.push(format!(
                            "{id} {a:.1}s {class} is silent but labelled present"
                        ));
                    }
                }
                if !classes.contains(class) {
                    assert!(!label, "{id}: {class} is not in the song");
                }
            }
        }
    }
    println!("present {present_ok}/{present_all}, absent {absent_ok}/{absent_all}");
    assert!(present_all > 100 && absent_all > 100);
    assert!(
        failures.is_empty(),
        "{} disagreements: {:#?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn arrange_gives_each_part_a_new_program_in_its_range() {
    let part = |channel: u8, base: u8| StemNotes {
        channel,
        program: 0,
        is_drum: false,
        notes: (0..16)
            .map(|i| Note {
                start: i as f64 * 0.5,
                end: i as f64 * 0.5 + 0.4,
                key: base + (i % 5) as u8,
                velocity: 90,
            })
            .collect(),
    };
    // A chorale's four voices: bass, tenor, alto, soprano, all written for piano.
    let voices = vec![part(0, 45), part(1, 55), part(2, 62), part(3, 69)];
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let arranged = arrange(&voices, seed, ClassPriors::Even, Roles::Family);
        assert_eq!(arranged.len(), 4);
        for (a, v) in arranged.iter().zip(&voices) {
            assert_eq!(a.channel, v.channel);
            assert_eq!(a.notes.len(), v.notes.len());
            // Moved by whole octaves only: the tune is the same.
            let shift = a.notes[0].key as i32 - v.notes[0].key as i32;
            assert_eq!(shift % 12, 0);
            assert!(
                a.notes
                    .iter()
                    .zip(&v.notes)
                    .all(|(x, y)| x.key as i32 - y.key as i32 == shift)
            );
            seen.insert(InstrumentClass::from_program(a.program).unwrap());
        }
        assert_eq!(
            arrange(&voices, seed, ClassPriors::Even, Roles::Family),
            arranged
        );
    }
    assert!(seen.len() >= 10, "{seen:?}");
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("instrunet-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
