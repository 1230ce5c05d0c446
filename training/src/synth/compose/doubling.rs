//! Doubling: parts that play another part's notes on another instrument, in unison or an octave
//! away, as people's arrangements do (a flute over the violins' tune, a guitar riff doubled by
//! the bass, organ and strings on the same chords). In 109 General MIDI songs people wrote (the
//! game-songs proxy) 38 % of melodic stems share at least half of their notes (pitch class and
//! onset) with a stem of another class and 21 % at least 80 %; in the composer's songs without
//! doubling 13-18 % and 4-6 %, in the arranged corpus pieces 3 % and 2 %
//! (`training/tools/doubling_share.py`). A doubled instrument is heard through another one, at
//! the same times and pitches: a model that never met that misses it.

use instrunet_model::InstrumentClass;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::orchestration::{
    ClassPriors, Roles, arrange_with_roles, class_weight, draw_weighted, people_programs,
    people_roles, program_range,
};
use super::song::{Part, Role, Song};
use super::song_seed;
use super::theory::fit;
use crate::synth::midi::{Note, StemNotes};

/// The most doubling parts one song gets.
const MAX_DOUBLINGS: usize = 3;

/// With chance `share`, gives the song one to three doubling parts: each copies the notes of a
/// melodic part (all of them, or those of some of its sections) onto another class, drawn by
/// `priors` and by how often people give that class the source part's role, on a program of
/// that class, in unison or an octave up or down (then moved by octaves into the program's
/// range), at a lower or equal velocity, on a MIDI channel of its own (none left: no doubling).
/// The song's other parts are left exactly as they were.
pub fn add_doublings(song: &mut Song, priors: ClassPriors, share: f64, rng: &mut StdRng) {
    let sources: Vec<&Part> = song
        .parts
        .iter()
        .filter(|p| !p.is_drum() && p.notes.len() >= 4)
        .collect();
    let taken: Vec<u8> = song.parts.iter().map(|p| p.channel).collect();
    let added = draw_doublings(rng, share, &taken, sources, |source, channel, rng| {
        doubling_of(song, source, priors, channel, rng)
    });
    song.parts.extend(added);
}

/// The doubling parts of a song or piece: with chance `share`, one to three (at most
/// [`MAX_DOUBLINGS`]), each made by `double` from a source drawn at random (each source once)
/// on the lowest channel not `taken` and not the drums' (`None` from `double`: that source is
/// passed over; no channel left: no more).
fn draw_doublings<S, T>(
    rng: &mut StdRng,
    share: f64,
    taken: &[u8],
    mut sources: Vec<S>,
    mut double: impl FnMut(S, u8, &mut StdRng) -> Option<T>,
) -> Vec<T> {
    if share <= 0.0 || !rng.random_bool(share.min(1.0)) {
        return Vec::new();
    }
    // Free channels, the lowest taken first (stems render in channel order, so a doubling part
    // can come before the drum kit on 9 and change the kit's draws: the same seed without
    // doubling keeps every melodic stem's font and settings, not always the kit's or the mix's).
    let mut free: Vec<u8> = (0..16u8)
        .rev()
        .filter(|c| *c != 9 && !taken.contains(c))
        .collect();
    let wanted = 1 + rng.random_bool(0.5) as usize + rng.random_bool(0.25) as usize;
    let mut added = Vec::new();
    while added.len() < wanted.min(MAX_DOUBLINGS) && !sources.is_empty() {
        let source = sources.swap_remove(rng.random_range(0..sources.len()));
        let Some(&channel) = free.last() else { break };
        if let Some(part) = double(source, channel, rng) {
            free.pop();
            added.push(part);
        }
    }
    added
}

/// How a doubling part sounds: its class, program, octave move and velocity scale.
struct DoublingVoice {
    class: InstrumentClass,
    program: u32,
    octave: i32,
    velocity_scale: f64,
}

impl DoublingVoice {
    /// A class other than `source_class` that people give `role`, drawn by `priors` and by how
    /// often they give it the role, on one of its programs for it, in unison or an octave up or
    /// down, a little softer or as loud; `None` when no other class takes the role.
    fn draw(
        source_class: InstrumentClass,
        role: Role,
        priors: ClassPriors,
        rng: &mut StdRng,
    ) -> Option<Self> {
        let options: Vec<(InstrumentClass, f64)> = InstrumentClass::ALL
            .into_iter()
            .filter(|&c| c != source_class && c != InstrumentClass::Drums)
            .filter_map(|c| {
                let fit = people_roles(c).iter().find(|(r, _)| *r == role)?;
                Some((c, class_weight(c, priors) * fit.1))
            })
            .filter(|&(_, w)| w > 0.0)
            .collect();
        if options.is_empty() {
            return None;
        }
        let class = draw_weighted(rng, &options);
        let programs = people_programs(class, role);
        let program = programs[rng.random_range(0..programs.len())];
        let octave = draw_weighted(rng, &[(0i32, 0.5), (12, 0.3), (-12, 0.2)]);
        let velocity_scale = rng.random_range(0.6..1.0);
        Some(Self {
            class,
            program,
            octave,
            velocity_scale,
        })
    }

    /// `key` moved by the octave, then by octaves into the program's range.
    fn key(&self, key: u8) -> u8 {
        fit(key as i32 + self.octave, program_range(self.program)).clamp(0, 127) as u8
    }

    fn velocity(&self, velocity: u8) -> u8 {
        ((velocity as f64 * self.velocity_scale).round() as u8).clamp(1, 127)
    }
}

/// Which of `spans` a doubling plays in: all of them, or (half the time) each with chance a half
/// (a chorus doubled, a verse left alone).
fn draw_kept_spans(spans: usize, rng: &mut StdRng) -> Vec<bool> {
    if rng.random_bool(0.5) {
        vec![true; spans]
    } else {
        (0..spans).map(|_| rng.random_bool(0.5)).collect()
    }
}

/// A part doubling `source` on `channel`, or `None` when no other class takes its role or
/// too few notes are left.
fn doubling_of(
    song: &Song,
    source: &Part,
    priors: ClassPriors,
    channel: u8,
    rng: &mut StdRng,
) -> Option<Part> {
    let voice = DoublingVoice::draw(source.class, source.role, priors, rng)?;
    // The whole part, or only some of its sections; the whole part where the sections drawn
    // hold too few of its notes.
    let mut kept = draw_kept_spans(song.sections.len(), rng);
    let section_of = |step: f64| {
        song.sections
            .iter()
            .rposition(|s| (s.start as f64) <= step)
            .unwrap_or(0)
    };
    let in_kept = |kept: &[bool], start: f64| kept.get(section_of(start)).copied().unwrap_or(false);
    if source
        .notes
        .iter()
        .filter(|n| in_kept(&kept, n.start))
        .count()
        < 4
    {
        kept = vec![true; song.sections.len()];
    }
    let notes: Vec<_> = source
        .notes
        .iter()
        .filter(|n| in_kept(&kept, n.start))
        .map(|n| {
            let mut doubled = *n;
            doubled.key = voice.key(n.key);
            doubled.velocity = voice.velocity(n.velocity);
            doubled
        })
        .collect();
    if notes.len() < 4 {
        return None;
    }
    let active = source
        .active
        .iter()
        .zip(&kept)
        .map(|(&a, &k)| a && k)
        .collect();
    Some(Part {
        class: voice.class,
        program: voice.program,
        role: source.role,
        channel,
        active,
        notes,
        register: source.register,
        density: source.density,
    })
}

/// How many stretches of equal length an arranged piece is cut into for doubling some of them
/// (a score piece has no sections; a quarter of a chorale is about a phrase or two).
const PIECE_SPANS: usize = 4;

/// [`arrange`]'s arrangement of a piece's stems, then, with chance `share`, one to three stems
/// doubling arranged melodic stems as [`add_doublings`] doubles a song's parts: another class
/// that people give the stem's role, in unison or octaves, softer or as loud, all of the piece
/// or some quarters of it, each on a channel no stem uses (none left: no more doubling). The
/// doublings draw from a stream of their own: the other stems are `arrange`'s exactly (and with
/// `share` 0 it is that arrangement). Score pieces double one another's voices rarely (3 % of
/// arranged corpus stems share half their notes with another class's, people's songs 38 %).
pub fn arrange_doubled(
    stems: &[StemNotes],
    seed: u64,
    priors: ClassPriors,
    roles: Roles,
    share: f64,
) -> Vec<StemNotes> {
    let arranged = arrange_with_roles(stems, seed, priors, roles);
    let mut rng = StdRng::seed_from_u64(song_seed(seed, 0xd0b1));
    let end = stems
        .iter()
        .flat_map(|s| s.notes.iter().map(|n| n.end))
        .fold(0.0f64, f64::max);
    let span_of =
        |start: f64| ((start / end.max(1e-9) * PIECE_SPANS as f64) as usize).min(PIECE_SPANS - 1);
    // Melodic stems (drum stems have no role) with notes enough to double.
    let sources: Vec<(&StemNotes, Role)> = arranged
        .iter()
        .filter_map(|(stem, role)| Some((stem, (*role)?)))
        .filter(|(stem, _)| stem.notes.len() >= 4)
        .collect();
    let taken: Vec<u8> = arranged.iter().map(|(s, _)| s.channel).collect();
    let added = draw_doublings(
        &mut rng,
        share,
        &taken,
        sources,
        |(source, role), channel, rng| {
            let source_class = InstrumentClass::from_stem(source.program, false).ok()?;
            let voice = DoublingVoice::draw(source_class, role, priors, rng)?;
            let mut kept = draw_kept_spans(PIECE_SPANS, rng);
            if source
                .notes
                .iter()
                .filter(|n| kept[span_of(n.start)])
                .count()
                < 4
            {
                kept = vec![true; PIECE_SPANS];
            }
            let notes = source
                .notes
                .iter()
                .filter(|n| kept[span_of(n.start)])
                .map(|n| Note {
                    key: voice.key(n.key),
                    velocity: voice.velocity(n.velocity),
                    ..*n
                })
                .collect();
            Some(StemNotes {
                channel,
                program: voice.program,
                is_drum: false,
                notes,
            })
        },
    );
    arranged
        .into_iter()
        .map(|(stem, _)| stem)
        .chain(added)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Roles, compose_doubled, compose_with, song_seed};
    use super::*;
    use crate::synth::midi::stems_from_midi;

    #[test]
    fn without_doubling_the_song_is_the_composers_own() {
        for i in 0..20 {
            let seed = song_seed(3, i);
            assert_eq!(
                compose_doubled(seed, ClassPriors::Even, Roles::People, 0.0).to_midi(),
                compose_with(seed, ClassPriors::Even, Roles::People).to_midi()
            );
        }
    }

    #[test]
    fn doublings_copy_a_part_onto_another_class_in_unison_or_octaves() {
        let (mut songs_doubled, mut doublings, mut melodic) = (0, 0, 0);
        let mut classes = std::collections::BTreeSet::new();
        for i in 0..200 {
            let seed = song_seed(41, i);
            let plain = compose_with(seed, ClassPriors::Even, Roles::People);
            let song = compose_doubled(seed, ClassPriors::Even, Roles::People, 1.0);
            let n = plain.parts.len();
            // The composer's parts come first, untouched.
            assert!(song.parts.len() >= n);
            for (a, b) in plain.parts.iter().zip(&song.parts) {
                assert_eq!(
                    (a.program, a.channel, &a.notes),
                    (b.program, b.channel, &b.notes)
                );
            }
            let added = &song.parts[n..];
            assert!(added.len() <= MAX_DOUBLINGS);
            let can = plain
                .parts
                .iter()
                .any(|p| !p.is_drum() && p.notes.len() >= 4);
            if can && added.is_empty() {
                // Only when no other class takes any source's role (sound effects' swells).
                assert!(
                    plain
                        .parts
                        .iter()
                        .filter(|p| !p.is_drum() && p.notes.len() >= 4)
                        .all(|p| p.role == super::super::Role::Effects),
                    "song {i}: nothing doubled: {:?}",
                    plain
                        .parts
                        .iter()
                        .map(|p| (p.class, p.role, p.channel, p.notes.len(), p.active.clone()))
                        .collect::<Vec<_>>()
                );
            }
            songs_doubled += !added.is_empty() as usize;
            melodic += song.parts.iter().filter(|p| !p.is_drum()).count();
            let mut channels: Vec<u8> = song.parts.iter().map(|p| p.channel).collect();
            channels.sort();
            channels.dedup();
            assert_eq!(
                channels.len(),
                song.parts.len(),
                "song {i}: a channel twice"
            );
            for d in added {
                doublings += 1;
                classes.insert(d.class);
                assert_ne!(d.channel, 9);
                assert_ne!(d.class, InstrumentClass::Drums);
                assert_eq!(InstrumentClass::from_stem(d.program, false), Ok(d.class));
                // Some part of another class plays every one of its notes, at the same time,
                // in the same pitch class, at least as loud.
                let source = plain
                    .parts
                    .iter()
                    .find(|s| {
                        s.class != d.class
                            && s.role == d.role
                            && d.notes.iter().all(|n| {
                                s.notes.iter().any(|m| {
                                    m.start == n.start
                                        && m.len == n.len
                                        && m.key % 12 == n.key % 12
                                        && m.velocity >= n.velocity
                                })
                            })
                    })
                    .unwrap_or_else(|| panic!("song {i}: {} doubles nothing", d.program));
                let (lo, hi) = program_range(d.program);
                for n in &d.notes {
                    // In its program's range wherever an octave move can get it there.
                    assert!(
                        (lo - 11..=hi + 11).contains(&(n.key as i32)),
                        "{} key {} outside {lo}-{hi}",
                        d.program,
                        n.key
                    );
                }
                assert!(d.notes.len() >= 4 && d.notes.len() <= source.notes.len());
            }
            // It is still one stem per part when written and read back.
            let stems = stems_from_midi(&song.to_midi()).unwrap();
            assert_eq!(stems.len(), song.parts.len(), "song {i}");
        }
        // Nearly every song doubles something, often two parts, with many classes doubling.
        assert!(songs_doubled > 180, "{songs_doubled} of 200 songs doubled");
        assert!(doublings > songs_doubled * 3 / 2, "{doublings} doublings");
        assert!(classes.len() >= 10, "{classes:?}");
        assert!(
            doublings * 10 > melodic * 2,
            "{doublings} of {melodic} melodic parts"
        );
        // At a share of a half, about half the songs.
        let half = (0..200)
            .filter(|&i| {
                let seed = song_seed(43, i);
                let a = compose_with(seed, ClassPriors::Real, Roles::People)
                    .parts
                    .len();
                compose_doubled(seed, ClassPriors::Real, Roles::People, 0.5)
                    .parts
                    .len()
                    > a
            })
            .count();
        assert!((70..130).contains(&half), "{half} of 200 at a share of 0.5");
    }

    /// A four-voice piece as a score export gives it: one line per channel, all on program 0,
    /// 32 notes over 16 seconds.
    fn piece() -> Vec<StemNotes> {
        [(36u8, 48u8), (52, 62), (60, 70), (67, 79)]
            .into_iter()
            .enumerate()
            .map(|(channel, (lo, hi))| StemNotes {
                channel: channel as u8,
                program: 0,
                is_drum: false,
                notes: (0..32)
                    .map(|i| Note {
                        start: i as f64 * 0.5,
                        end: i as f64 * 0.5 + 0.45,
                        key: lo + (i as u8 * 5 % (hi - lo + 1)),
                        velocity: 70 + (i as u8 % 5) * 10,
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn arranged_pieces_double_voices_onto_other_classes() {
        use super::super::arrange;
        use crate::synth::midi::stems_to_midi;
        let piece = piece();
        let (mut doubled, mut doublings, mut partial) = (0, 0, 0);
        let mut classes = std::collections::BTreeSet::new();
        for seed in 0..100 {
            let plain = arrange(&piece, seed, ClassPriors::Real, Roles::People);
            // No doubling: exactly the arrangement.
            assert_eq!(
                arrange_doubled(&piece, seed, ClassPriors::Real, Roles::People, 0.0),
                plain
            );
            let out = arrange_doubled(&piece, seed, ClassPriors::Real, Roles::People, 1.0);
            // The arranged stems come first, untouched.
            assert_eq!(&out[..plain.len()], &plain[..]);
            let added = &out[plain.len()..];
            assert!(added.len() <= MAX_DOUBLINGS, "seed {seed}");
            doubled += !added.is_empty() as usize;
            let mut channels: Vec<u8> = out.iter().map(|s| s.channel).collect();
            channels.sort();
            channels.dedup();
            assert_eq!(channels.len(), out.len(), "seed {seed}: a channel twice");
            for d in added {
                doublings += 1;
                assert!(!d.is_drum && d.channel != 9);
                let class = InstrumentClass::from_stem(d.program, false).unwrap();
                assert_ne!(class, InstrumentClass::Drums);
                classes.insert(class);
                // An arranged stem of another class plays each of its notes at the same time, in
                // the same pitch class, at least as loud.
                plain
                    .iter()
                    .find(|s| {
                        InstrumentClass::from_stem(s.program, false) != Ok(class)
                            && d.notes.iter().all(|n| {
                                s.notes.iter().any(|m| {
                                    m.start == n.start
                                        && m.end == n.end
                                        && m.key % 12 == n.key % 12
                                        && m.velocity >= n.velocity
                                })
                            })
                    })
                    .unwrap_or_else(|| panic!("seed {seed}: {} doubles nothing", d.program));
                assert!(d.notes.len() >= 4 && d.notes.len() <= 32);
                partial += (d.notes.len() < 32) as usize;
            }
            // One stem per part when written and read back, as the renderer reads it.
            assert_eq!(
                stems_from_midi(&stems_to_midi(&out)).unwrap().len(),
                out.len()
            );
        }
        assert!(doubled >= 95, "{doubled} of 100 pieces doubled");
        assert!(doublings > doubled * 3 / 2, "{doublings} doublings");
        assert!(classes.len() >= 8, "{classes:?}");
        // Some doublings play only part of the piece.
        assert!(partial * 5 > doublings, "{partial} of {doublings} partial");
        // At a share of a half, about half the pieces.
        let half = (0..200)
            .filter(|&seed| {
                arrange_doubled(&piece, seed, ClassPriors::Real, Roles::People, 0.5).len() > 4
            })
            .count();
        assert!((70..130).contains(&half), "{half} of 200 at a share of 0.5");
    }

    #[test]
    fn a_piece_with_every_channel_taken_is_left_alone() {
        // 15 melodic voices fill every channel but the drums': no channel is left to double on.
        let piece: Vec<StemNotes> = (0..15u8)
            .map(|i| StemNotes {
                channel: if i >= 9 { i + 1 } else { i },
                ..piece()[0].clone()
            })
            .collect();
        for seed in 0..10 {
            let out = arrange_doubled(&piece, seed, ClassPriors::Even, Roles::People, 1.0);
            assert_eq!(out.len(), 15);
        }
    }
}
