//! The song composer behind `instrunet synth` without `--midi-dir`: multi-instrument songs in a
//! style, tempo, key and meter of their own, built from sections (intro, verse, chorus, bridge,
//! solo, breakdown, outro) over chord progressions, with drum grooves and fills, bass lines,
//! comping (block chords, arpeggios, strums, power chords, stabs), pads, melodies with motifs,
//! counter-melodies and solos, and instruments entering and leaving between sections.
//!
//! Per song it draws a subset of InstruNET's classes and a General MIDI program for each (as Slakh
//! picks one patch per stem); every class is drawn equally often, drums and bass most of the time
//! but not always. A song is a function of its seed alone, and it is written as a Standard MIDI
//! File, which the renderer then treats exactly like any other MIDI file.
//!
//! Time inside the composer is counted in sixteenth notes ("steps"); the MIDI file has 480 ticks
//! per quarter note (120 per step) and one tempo.

mod doubling;
mod form;
mod more_parts;
mod orchestration;
mod parts;
mod song;
mod theory;

pub use doubling::{add_doublings, arrange_doubled};
pub use form::{Meter, Section, SectionKind, Style};
pub use more_parts::{add_more_parts, people_more_parts_share};
pub use orchestration::{ClassPriors, REAL_SHARES, Roles, arrange, people_roles};
pub use song::{Part, Role, Song, StepNote};
pub use theory::{Chord, Key};

use rand::{Rng, SeedableRng, rngs::StdRng};

use form::plan_sections;
use orchestration::{pick_parts, plan_activity};
use parts::play_part;
use theory::{DORIAN, HARMONIC_MINOR, MAJOR, MINOR, MIXOLYDIAN};

/// Mixes a base seed and an index into a song seed, so that runs with neighbouring seeds do not
/// share songs (seed 1's second song is not seed 2's first).
pub fn song_seed(base: u64, index: u64) -> u64 {
    let mut z = base
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index.wrapping_mul(0xd1b5_4a32_d192_ed03))
        .wrapping_add(0x632b_e59b_d9b4_e019);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Composes the song of a seed (even priors, the family arranger: the shipped model's songs).
pub fn compose(seed: u64) -> Song {
    compose_with(seed, ClassPriors::Even, Roles::Family)
}

/// Composes the song of a seed with classes drawn by `priors` and roles by `roles` (with
/// [`ClassPriors::Even`] and [`Roles::Family`] the same song as [`compose`]).
pub fn compose_with(seed: u64, priors: ClassPriors, roles: Roles) -> Song {
    let mut rng = StdRng::seed_from_u64(seed);
    let style = Style::ALL[rng.random_range(0..Style::ALL.len())];
    let meter = match style {
        Style::Waltz => Meter::new(3, 4),
        Style::Folk | Style::Ballad if rng.random_bool(0.35) => {
            if rng.random_bool(0.5) {
                Meter::new(6, 8)
            } else {
                Meter::new(3, 4)
            }
        }
        Style::Jazz if rng.random_bool(0.15) => Meter::new(5, 4),
        Style::Rock | Style::Metal | Style::Electronic if rng.random_bool(0.08) => Meter::new(7, 8),
        Style::Ballad | Style::Shuffle if rng.random_bool(0.2) => Meter::new(12, 8),
        _ => Meter::new(4, 4),
    };
    let (lo, hi) = style.tempo_range();
    let mut bpm = rng.random_range(lo..hi);
    if meter.denominator == 8 {
        // Eighth-note meters are counted in dotted quarters: the sixteenths go faster.
        bpm *= 1.5;
    }
    let (mode, scale) = match (style, rng.random_range(0..10)) {
        (Style::Funk | Style::Jazz, 0..=3) => ("dorian", DORIAN),
        (Style::Rock | Style::Shuffle | Style::Folk, 0..=2) => ("mixolydian", MIXOLYDIAN),
        (Style::Metal | Style::Latin, 0..=2) => ("harmonic minor", HARMONIC_MINOR),
        (_, 0..=4) => ("major", MAJOR),
        _ => ("minor", MINOR),
    };
    let key = Key {
        tonic: rng.random_range(0..12),
        mode,
        scale,
    };
    let sections = plan_sections(&mut rng, style, &meter, &key, bpm);
    let length = sections
        .last()
        .map_or(0, |s| s.start + s.bars * meter.steps);
    let mut song = Song {
        seed,
        style,
        bpm,
        meter,
        key,
        sections,
        parts: Vec::new(),
        length,
    };
    song.parts = pick_parts(&mut rng, &song, priors, roles);
    let mut parts = std::mem::take(&mut song.parts);
    if roles == Roles::People {
        for part in &mut parts {
            part.active = plan_activity(&mut rng, &song, part.role);
        }
        if parts.len() > 1 && song.sections.len() > 2 && rng.random_bool(0.3) {
            // An exposed section: one part alone (a piano verse, a guitar break, a cadenza).
            let s = rng.random_range(1..song.sections.len());
            let alone = rng.random_range(0..parts.len());
            for (i, part) in parts.iter_mut().enumerate() {
                part.active[s] = i == alone;
            }
        }
        for part in &mut parts {
            part.notes = play_part(&mut rng, &song, part);
        }
    } else {
        // The family arranger's order of draws, which its songs' seeds depend on.
        for part in &mut parts {
            part.active = plan_activity(&mut rng, &song, part.role);
            part.notes = play_part(&mut rng, &song, part);
        }
    }
    // A part the plan left silent everywhere would label nothing: drop it.
    parts.retain(|p| !p.notes.is_empty());
    song.parts = parts;
    song
}

/// [`compose_with`]'s song, then, with chance `doubling`, one to three parts doubling others
/// ([`add_doublings`]). The doublings are drawn from a stream of their own: the song's other
/// parts are those of the same seed without them (and with `doubling` 0 it is that song).
pub fn compose_doubled(seed: u64, priors: ClassPriors, roles: Roles, doubling: f64) -> Song {
    compose_extended(seed, priors, roles, 0.0, doubling)
}

/// [`compose_with`]'s song with more parts of its classes ([`add_more_parts`], chance scaled
/// by `more_parts`), then doublings as [`compose_doubled`]'s. Each is drawn from a stream of its
/// own: with `more_parts` 0 it is [`compose_doubled`]'s song.
pub fn compose_extended(
    seed: u64,
    priors: ClassPriors,
    roles: Roles,
    more_parts: f64,
    doubling: f64,
) -> Song {
    let mut song = compose_with(seed, priors, roles);
    let mut rng = StdRng::seed_from_u64(song_seed(seed, 0x3a27));
    add_more_parts(&mut song, more_parts, &mut rng);
    let mut rng = StdRng::seed_from_u64(song_seed(seed, 0xd0b1));
    add_doublings(&mut song, priors, doubling, &mut rng);
    song
}

#[cfg(test)]
mod tests {
    use super::orchestration::program_range;
    use super::*;
    use crate::synth::midi::stems_from_midi;
    use instrunet_model::InstrumentClass;

    #[test]
    fn same_seed_same_song_and_different_seeds_differ() {
        let a = compose(7).to_midi();
        assert_eq!(a, compose(7).to_midi());
        assert_ne!(a, compose(8).to_midi());
        assert_ne!(song_seed(1, 1), song_seed(2, 0));
    }

    #[test]
    fn real_priors_draw_classes_about_as_often_as_people_use_them() {
        let songs = 600;
        let mut with = [0usize; 14];
        for i in 0..songs {
            let song = compose_with(song_seed(77, i), ClassPriors::Real, Roles::Family);
            assert!(
                song.parts
                    .iter()
                    .any(|p| !matches!(p.class, InstrumentClass::Drums | InstrumentClass::Bass)),
                "song {i} has only drums and bass"
            );
            for (k, class) in InstrumentClass::ALL.iter().enumerate() {
                with[k] += song.parts.iter().any(|p| p.class == *class) as usize;
            }
        }
        let share = |c: InstrumentClass| {
            with[InstrumentClass::ALL.iter().position(|a| *a == c).unwrap()] as f64 / songs as f64
        };
        // In most songs, in a third or so, in a few: the order of people's arrangements.
        assert!(share(InstrumentClass::Drums) > 0.85, "{with:?}");
        assert!(share(InstrumentClass::Guitar) > 0.6, "{with:?}");
        assert!(
            (0.3..0.8).contains(&share(InstrumentClass::Piano)),
            "{with:?}"
        );
        assert!(share(InstrumentClass::Ethnic) < 0.08, "{with:?}");
        assert!(share(InstrumentClass::Reed) < 0.15, "{with:?}");
        // The even draw gives every colour class about the same chance.
        let even: Vec<usize> = [InstrumentClass::Guitar, InstrumentClass::Ethnic]
            .iter()
            .map(|c| {
                (0..songs)
                    .filter(|&i| {
                        compose(song_seed(77, i))
                            .parts
                            .iter()
                            .any(|p| p.class == *c)
                    })
                    .count()
            })
            .collect();
        assert!(even[0].abs_diff(even[1]) < songs as usize / 10, "{even:?}");
        // And compose is compose_with(Even).
        assert_eq!(
            compose(5).to_midi(),
            compose_with(5, ClassPriors::Even, Roles::Family).to_midi()
        );
    }

    #[test]
    fn songs_parse_back_into_one_stem_per_part_with_their_notes() {
        for seed in 0..40 {
            let song = compose(seed);
            let stems = stems_from_midi(&song.to_midi()).unwrap();
            assert_eq!(
                stems.len(),
                song.parts.len(),
                "seed {seed}: {}",
                song.describe()
            );
            for part in &song.parts {
                let stem = stems.iter().find(|s| s.channel == part.channel).unwrap();
                assert_eq!(stem.is_drum, part.is_drum());
                assert_eq!(stem.program, part.program);
                assert_eq!(
                    stem.notes.len(),
                    part.notes.len(),
                    "seed {seed} {:?}",
                    part.role
                );
            }
            let seconds = song.length as f64 * song.step_seconds();
            assert!((20.0..130.0).contains(&seconds), "seed {seed}: {seconds} s");
        }
    }

    #[test]
    fn every_class_and_role_turns_up_and_drums_and_bass_are_sometimes_absent() {
        let mut classes = std::collections::BTreeMap::<InstrumentClass, usize>::new();
        let (mut no_drums, mut no_bass, mut styles) = (0, 0, std::collections::BTreeSet::new());
        let n = 300;
        for seed in 0..n {
            let song = compose(song_seed(99, seed));
            styles.insert(format!("{:?}", song.style));
            let mut in_song: Vec<InstrumentClass> = song.parts.iter().map(|p| p.class).collect();
            in_song.dedup();
            in_song.sort();
            in_song.dedup();
            for c in in_song {
                *classes.entry(c).or_default() += 1;
            }
            no_drums += !song.parts.iter().any(|p| p.role == Role::Drums) as usize;
            no_bass += !song.parts.iter().any(|p| p.role == Role::Bass) as usize;
            for p in &song.parts {
                let (lo, hi) = program_range(p.program);
                if !p.is_drum() && p.role != Role::Effects {
                    for n in &p.notes {
                        assert!(
                            (lo - 12..=hi + 12).contains(&(n.key as i32)),
                            "{} key {} outside {lo}-{hi}",
                            p.program_name(),
                            n.key
                        );
                    }
                }
            }
        }
        assert_eq!(classes.len(), 14, "{classes:?}");
        for (c, k) in &classes {
            assert!(*k >= n as usize / 8, "{c} in only {k} of {n} songs");
        }
        assert!(
            no_drums > 10 && no_bass > 10,
            "{no_drums} drum-free, {no_bass} bass-free"
        );
        assert_eq!(styles.len(), Style::ALL.len());
    }

    #[test]
    fn the_people_arranger_gives_classes_many_roles_registers_and_small_ensembles() {
        use std::collections::{BTreeMap, BTreeSet};
        let n = 400;
        let mut roles = BTreeMap::<InstrumentClass, BTreeSet<String>>::new();
        let mut sizes = [0usize; 4];
        let mut melody_keys = Vec::new();
        let mut thin = 0;
        for i in 0..n {
            let song = compose_with(song_seed(5, i), ClassPriors::Even, Roles::People);
            assert!(!song.parts.is_empty(), "song {i} has no parts");
            sizes[song.parts.len().min(4) - 1] += 1;
            for p in &song.parts {
                roles
                    .entry(p.class)
                    .or_default()
                    .insert(format!("{:?}", p.role));
                assert_eq!(
                    InstrumentClass::from_stem(p.program, p.is_drum()),
                    Ok(p.class),
                    "{} is not {}",
                    p.program_name(),
                    p.class
                );
                let (lo, hi) = program_range(p.program);
                if !p.is_drum() && p.role != Role::Effects {
                    for note in &p.notes {
                        assert!(
                            (lo - 24..=hi + 12).contains(&(note.key as i32)),
                            "{} {:?} key {} outside {lo}-{hi}",
                            p.program_name(),
                            p.role,
                            note.key
                        );
                    }
                }
                if p.role == Role::Melody {
                    let mut keys: Vec<u8> = p.notes.iter().map(|n| n.key).collect();
                    keys.sort();
                    melody_keys.push(keys[keys.len() / 2]);
                }
                thin += (p.density < 1.0) as usize;
            }
        }
        // Every class besides drums in at least four roles; the pairings people use turn up.
        for c in InstrumentClass::ALL {
            let r = roles.get(&c).cloned().unwrap_or_default();
            if c != InstrumentClass::Drums && c != InstrumentClass::Bass {
                assert!(r.len() >= 4, "{c}: {r:?}");
            }
        }
        for (class, role) in [
            (InstrumentClass::SynthLead, "Bass"),
            (InstrumentClass::SynthLead, "Arpeggio"),
            (InstrumentClass::SoundEffects, "Pad"),
            (InstrumentClass::Pipe, "Pad"),
            (InstrumentClass::Organ, "Comp"),
            (InstrumentClass::Guitar, "Riff"),
            (InstrumentClass::Brass, "Stabs"),
            (InstrumentClass::Reed, "Fills"),
        ] {
            assert!(roles[&class].contains(role), "{class} never plays {role}");
        }
        // Solos, duos and trios together in about 30 % of songs (a few lose a silent part).
        let small = sizes[0] + sizes[1] + sizes[2];
        assert!(
            (n as usize / 5..n as usize * 2 / 5).contains(&small),
            "{sizes:?}"
        );
        assert!(sizes[0] > 10, "{sizes:?}");
        // Tunes at every height: medians spread over more than two octaves.
        melody_keys.sort();
        let (p10, p90) = (
            melody_keys[melody_keys.len() / 10],
            melody_keys[melody_keys.len() * 9 / 10],
        );
        assert!(p90 - p10 > 24, "melody medians {p10}-{p90}");
        assert!(thin > 20, "{thin} thin parts");
        // The family arranger is unchanged by the people arranger's existence.
        assert_eq!(
            compose(11).to_midi(),
            compose_with(11, ClassPriors::Even, Roles::Family).to_midi()
        );
    }

    #[test]
    fn the_people_arranger_moves_corpus_parts_only_as_far_as_their_instrument_needs() {
        let piece = vec![
            StemNotesFixture::line(0, 40, 48),
            StemNotesFixture::line(1, 55, 64),
            StemNotesFixture::line(2, 67, 79),
        ];
        for seed in 0..40 {
            let out = arrange(&piece, seed, ClassPriors::Real, Roles::People);
            assert_eq!(out.len(), 3);
            for stem in &out {
                let (lo, hi) = program_range(stem.program);
                let mut keys: Vec<i32> = stem.notes.iter().map(|n| n.key as i32).collect();
                keys.sort();
                let median = keys[keys.len() / 2];
                assert!((lo..=hi).contains(&median), "{} at {median}", stem.program);
            }
            // The lowest part is a bass line, the highest a tune: the class fits the role.
            let low = out.iter().find(|s| s.channel == 0).unwrap();
            let low_class = InstrumentClass::from_stem(low.program, false).unwrap();
            assert!(
                people_roles(low_class)
                    .iter()
                    .any(|(r, _)| *r == Role::Bass),
                "{low_class} as bass"
            );
        }
    }

    /// Test pieces: one line per channel, notes stepping over a key range.
    struct StemNotesFixture;
    impl StemNotesFixture {
        fn line(channel: u8, lo: u8, hi: u8) -> crate::synth::midi::StemNotes {
            crate::synth::midi::StemNotes {
                channel,
                program: 0,
                is_drum: false,
                notes: (0..16)
                    .map(|i| crate::synth::midi::Note {
                        start: i as f64 * 0.5,
                        end: i as f64 * 0.5 + 0.4,
                        key: lo + (i as u8 % (hi - lo + 1)),
                        velocity: 90,
                    })
                    .collect(),
            }
        }
    }

    #[test]
    fn parts_enter_and_leave() {
        let (mut partial, mut total) = (0, 0);
        for seed in 0..50 {
            let song = compose(seed);
            for p in &song.parts {
                total += 1;
                partial += p.active.iter().any(|a| !a) as usize;
            }
        }
        assert!(
            partial * 3 > total,
            "{partial} of {total} parts pause somewhere"
        );
    }
}
