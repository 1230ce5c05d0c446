//! Orchestration: the roles parts take, which classes and General MIDI programs play them, their
//! ranges, which sections each part plays in, and arranging an existing piece onto programs.

use instrunet_model::InstrumentClass;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::form::{SectionKind, Style};
use super::song::{Part, Role, Song};
use crate::synth::midi::StemNotes;

/// How often each class is drawn into a song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassPriors {
    /// Every class besides drums and bass equally often, 2-6 of them per song (the training
    /// songs so far): each class plays in about a quarter of the windows.
    #[default]
    Even,
    /// Each class in about the share of a song's time that people's General MIDI arrangements
    /// give it (drums 87 %, bass 68 %, guitar 51 % ... ethnic 1.4 %, [`REAL_SHARES`]): sets
    /// whose class frequencies follow real music, to tune and judge thresholds at real priors.
    Real,
}

/// Which roles a class plays and how parts are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Roles {
    /// One role family per class (strings pad, brass melodies, synth pads only pad), 2-8 parts
    /// per song, each at its role's usual register: the songs of the shipped model.
    #[default]
    Family,
    /// Every class in every role people give it in General MIDI songs, weighted as they use it
    /// ([`people_roles`]): synth leads play bass lines and arpeggios, sound effects pads, flutes
    /// leads and pads, organs comping; each part at a register drawn from its whole range; a
    /// share of solos, duos and trios, of thin parts and of sections left to one part.
    People,
}

/// Share of 3 s segments in which each class plays, in 113 human-written multi-instrument
/// General MIDI songs (issue 19's measurement), in [`InstrumentClass::ALL`]'s
/// order.
pub const REAL_SHARES: [f64; 14] = [
    0.29, 0.09, 0.07, 0.51, 0.68, 0.35, 0.06, 0.04, 0.05, 0.20, 0.15, 0.014, 0.87, 0.06,
];

/// The classes besides drums and bass that a song draws from, equally likely: every class of
/// [`InstrumentClass::ALL`] but those two, in its order.
fn colour_classes() -> Vec<InstrumentClass> {
    InstrumentClass::ALL
        .into_iter()
        .filter(|c| !matches!(c, InstrumentClass::Drums | InstrumentClass::Bass))
        .collect()
}

/// Programs of a class suited to a role, and the roles a class can take.
fn programs_for(class: InstrumentClass, role: Role) -> Vec<u32> {
    use InstrumentClass as C;
    use Role as R;
    match (class, role) {
        (C::Piano, _) => (0..8).collect(),
        (C::ChromaticPercussion, _) => (8..16).collect(),
        (C::Organ, R::Melody) => vec![16, 18, 21, 22, 23],
        (C::Organ, _) => vec![16, 17, 18, 19, 20, 21, 23],
        (C::Guitar, R::Melody) => vec![24, 25, 26, 27, 29, 30],
        (C::Guitar, _) => (24..32).filter(|&p| p != 31).collect(),
        (C::Bass, _) => (32..40).collect(),
        (C::Strings, R::Melody) => vec![40, 41, 42, 44, 52, 53],
        (C::Strings, R::Counter) => vec![41, 42, 43, 47],
        (C::Strings, R::Arpeggio) => vec![45, 46],
        (C::Strings, R::Comp) => vec![45, 48, 49, 50, 55],
        (C::Strings, _) => vec![44, 48, 49, 50, 51, 52, 53, 54],
        (C::Brass, R::Melody) => vec![56, 57, 59, 60, 61, 62, 63],
        (C::Brass, R::Counter) => vec![57, 58, 60],
        (C::Brass, _) => vec![60, 61, 62, 63],
        (C::Reed, R::Melody) => (64..72).collect(),
        (C::Reed, R::Counter) => vec![66, 67, 69, 70, 71],
        (C::Reed, _) => vec![65, 66, 68, 71],
        (C::Pipe, _) => (72..80).collect(),
        (C::SynthLead, _) => (80..88).collect(),
        (C::SynthPad, _) => (88..96).collect(),
        (C::Ethnic, R::Melody) => vec![104, 105, 106, 107, 109, 110, 111],
        (C::Ethnic, R::Pad) => vec![109],
        (C::Ethnic, _) => vec![104, 105, 106, 107, 108],
        (C::SoundEffects, R::Pad) => (96..104).collect(),
        (C::SoundEffects, _) => vec![
            96, 98, 99, 101, 102, 103, 119, 120, 121, 122, 123, 124, 125, 126,
        ],
        (C::Drums, _) => vec![InstrumentClass::DRUM_PROGRAM],
    }
}

fn roles_for(class: InstrumentClass) -> &'static [Role] {
    use InstrumentClass as C;
    use Role as R;
    match class {
        C::Piano => &[R::Comp, R::Comp, R::Arpeggio, R::Melody, R::Pad],
        C::ChromaticPercussion => &[R::Arpeggio, R::Melody, R::Counter, R::Comp],
        C::Organ => &[R::Pad, R::Comp, R::Comp, R::Melody],
        C::Guitar => &[R::Comp, R::Comp, R::Arpeggio, R::Melody, R::Counter],
        C::Strings => &[R::Pad, R::Pad, R::Melody, R::Counter, R::Arpeggio, R::Comp],
        C::Brass => &[R::Melody, R::Melody, R::Comp, R::Pad, R::Counter],
        C::Reed => &[R::Melody, R::Melody, R::Counter, R::Pad],
        C::Pipe => &[R::Melody, R::Melody, R::Counter, R::Pad],
        C::SynthLead => &[R::Melody, R::Melody, R::Arpeggio, R::Counter],
        C::SynthPad => &[R::Pad],
        C::Ethnic => &[R::Melody, R::Arpeggio, R::Counter, R::Comp],
        C::SoundEffects => &[R::Effects, R::Effects, R::Pad],
        C::Bass => &[R::Bass],
        C::Drums => &[R::Drums],
    }
}

/// Playable range of a program (MIDI keys), roughly its real instrument's.
pub(super) fn program_range(program: u32) -> (i32, i32) {
    match program {
        0..=7 => (36, 96),
        8..=10 => (72, 108),
        11..=13 => (53, 89),
        14 => (60, 77),
        15 => (55, 88),
        16..=20 => (36, 96),
        21 | 23 => (53, 89),
        22 => (60, 84),
        24..=30 => (40, 84),
        31 => (52, 88),
        32..=39 => (28, 55),
        40 => (55, 96),
        41 => (48, 84),
        42 => (36, 76),
        43 => (28, 55),
        44..=45 => (40, 84),
        46 => (36, 96),
        47 => (40, 55),
        48..=55 => (40, 84),
        56 | 59 => (55, 82),
        57 => (40, 72),
        58 => (28, 58),
        60 => (41, 77),
        61..=63 => (43, 79),
        64 => (56, 88),
        65 => (49, 81),
        66 => (44, 76),
        67 => (36, 69),
        68 => (58, 91),
        69 => (52, 81),
        70 => (34, 72),
        71 => (50, 91),
        72 => (74, 103),
        73..=79 => (60, 96),
        80..=87 => (48, 96),
        88..=95 => (40, 84),
        104..=107 => (48, 84),
        108 => (60, 88),
        109 => (55, 81),
        110 => (55, 96),
        111 => (60, 88),
        _ => (48, 84),
    }
}

/// The roles people give a class in General MIDI songs, with how often (relative weights).
/// From how game, pop and film MIDI arrangements are written: pianos and guitars comp, pick
/// and lead; synth leads take bass lines, arpeggios and riffs as often as tunes; the effects
/// programs mostly hold pads; flutes and ocarinas lead and hold; organs comp and hold; tubas,
/// bassoons, contrabasses and synths double or carry the bass.
pub fn people_roles(class: InstrumentClass) -> &'static [(Role, f64)] {
    use InstrumentClass as C;
    use Role as R;
    match class {
        C::Piano => &[
            (R::Comp, 3.0),
            (R::Arpeggio, 2.0),
            (R::Melody, 2.0),
            (R::Counter, 1.0),
            (R::Pad, 1.0),
            (R::Riff, 1.0),
            (R::Stabs, 1.0),
            (R::Bass, 0.7),
            (R::Fills, 0.5),
        ],
        C::ChromaticPercussion => &[
            (R::Arpeggio, 3.0),
            (R::Melody, 2.0),
            (R::Riff, 2.0),
            (R::Counter, 1.0),
            (R::Comp, 1.0),
            (R::Fills, 1.0),
            (R::Pad, 0.5),
        ],
        C::Organ => &[
            (R::Comp, 3.0),
            (R::Pad, 3.0),
            (R::Melody, 1.5),
            (R::Stabs, 1.0),
            (R::Riff, 1.0),
            (R::Counter, 0.5),
            (R::Bass, 0.5),
        ],
        C::Guitar => &[
            (R::Comp, 3.0),
            (R::Arpeggio, 2.0),
            (R::Riff, 2.0),
            (R::Melody, 2.0),
            (R::Counter, 1.0),
            (R::Stabs, 1.0),
            (R::Fills, 1.0),
            (R::Bass, 0.3),
        ],
        C::Strings => &[
            (R::Pad, 3.0),
            (R::Melody, 2.0),
            (R::Counter, 2.0),
            (R::Arpeggio, 1.0),
            (R::Comp, 1.0),
            (R::Stabs, 1.0),
            (R::Bass, 1.0),
            (R::Riff, 0.5),
        ],
        C::Brass => &[
            (R::Melody, 2.0),
            (R::Stabs, 2.0),
            (R::Comp, 1.0),
            (R::Pad, 1.0),
            (R::Counter, 1.0),
            (R::Fills, 1.0),
            (R::Riff, 1.0),
            (R::Bass, 0.5),
        ],
        C::Reed => &[
            (R::Melody, 3.0),
            (R::Counter, 2.0),
            (R::Pad, 1.0),
            (R::Fills, 1.0),
            (R::Riff, 1.0),
            (R::Arpeggio, 0.5),
            (R::Bass, 0.5),
        ],
        C::Pipe => &[
            (R::Melody, 3.0),
            (R::Pad, 2.0),
            (R::Counter, 1.5),
            (R::Arpeggio, 1.0),
            (R::Fills, 1.0),
            (R::Riff, 0.5),
            (R::Comp, 0.5),
        ],
        C::SynthLead => &[
            (R::Melody, 2.0),
            (R::Bass, 2.0),
            (R::Arpeggio, 2.0),
            (R::Riff, 2.0),
            (R::Counter, 1.0),
            (R::Pad, 1.0),
            (R::Comp, 1.0),
            (R::Stabs, 1.0),
        ],
        C::SynthPad => &[
            (R::Pad, 4.0),
            (R::Comp, 1.0),
            (R::Arpeggio, 1.0),
            (R::Melody, 0.5),
            (R::Stabs, 0.5),
            (R::Bass, 0.3),
        ],
        C::Ethnic => &[
            (R::Melody, 2.0),
            (R::Arpeggio, 2.0),
            (R::Comp, 1.0),
            (R::Counter, 1.0),
            (R::Riff, 1.0),
            (R::Pad, 0.5),
        ],
        C::SoundEffects => &[
            (R::Pad, 3.0),
            (R::Effects, 2.0),
            (R::Melody, 1.0),
            (R::Arpeggio, 0.5),
            (R::Comp, 0.5),
            (R::Riff, 0.5),
        ],
        C::Bass => &[(R::Bass, 6.0), (R::Riff, 1.0), (R::Melody, 0.3)],
        C::Drums => &[(R::Drums, 1.0)],
    }
}

/// The programs people use for a class in a role: the family arranger's choice for its roles,
/// the class's whole program range otherwise (a marimba riff, an ocarina pad, a lead bass).
pub(super) fn people_programs(class: InstrumentClass, role: Role) -> Vec<u32> {
    use InstrumentClass as C;
    use Role as R;
    match (class, role) {
        (C::Strings, R::Bass) => vec![42, 43, 45, 48, 49],
        (C::Brass, R::Bass) => vec![57, 58, 61, 62, 63],
        (C::Reed, R::Bass) => vec![67, 70, 71],
        (C::Strings, R::Stabs) => vec![45, 48, 49, 50, 55],
        (C::Drums, _) => vec![InstrumentClass::DRUM_PROGRAM],
        (C::SoundEffects, R::Effects) => programs_for(class, role),
        (C::SoundEffects, _) => (96..104).chain([119, 122, 123, 125]).collect(),
        (C::Ethnic, _) => (104..112).collect(),
        _ => {
            let all: Vec<u32> = (0..128)
                .filter(|&p| InstrumentClass::from_stem(p, false) == Ok(class))
                .collect();
            if all.is_empty() {
                programs_for(class, role)
            } else {
                all
            }
        }
    }
}

pub(super) fn draw_weighted<T: Copy>(rng: &mut StdRng, options: &[(T, f64)]) -> T {
    let total: f64 = options.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0.0..total);
    for (o, w) in options {
        if r < *w {
            return *o;
        }
        r -= w;
    }
    options[options.len() - 1].0
}

/// How often a class is drawn under `priors` (even: every class alike).
pub(super) fn class_weight(class: InstrumentClass, priors: ClassPriors) -> f64 {
    match priors {
        ClassPriors::Even => 1.0,
        ClassPriors::Real => {
            REAL_SHARES[InstrumentClass::ALL
                .iter()
                .position(|a| *a == class)
                .unwrap_or(0)]
        }
    }
}

pub(super) fn pick_parts(
    rng: &mut StdRng,
    song: &Song,
    priors: ClassPriors,
    roles: Roles,
) -> Vec<Part> {
    if roles == Roles::People {
        return people_parts(rng, song, priors);
    }
    let classes = match priors {
        ClassPriors::Even => even_classes(rng, song),
        ClassPriors::Real => real_prior_classes(rng),
    };
    assign_programs(rng, classes)
}

/// The people arranger's parts: ensembles of one to three instruments in 30 % of songs, else
/// the class draw of `priors`; each role drawn by [`people_roles`], each part at a register of
/// its own and one part in eight thinned.
fn people_parts(rng: &mut StdRng, song: &Song, priors: ClassPriors) -> Vec<Part> {
    let size = match rng.random_range(0.0..1.0) {
        x if x < 0.08 => 1,
        x if x < 0.18 => 2,
        x if x < 0.30 => 3,
        _ => 0,
    };
    let classes: Vec<InstrumentClass> = if size > 0 {
        // A small ensemble: distinct classes, drawn by the priors' weights.
        let mut pool: Vec<(InstrumentClass, f64)> = InstrumentClass::ALL
            .into_iter()
            .map(|c| (c, class_weight(c, priors)))
            .collect();
        let mut picked = Vec::new();
        for _ in 0..size {
            let c = draw_weighted(rng, &pool);
            pool.retain(|(p, _)| *p != c);
            picked.push(c);
        }
        picked
    } else {
        let drawn = match priors {
            ClassPriors::Even => even_classes(rng, song),
            ClassPriors::Real => real_prior_classes(rng),
        };
        drawn.into_iter().map(|(c, _)| c).collect()
    };
    let mut parts = Vec::with_capacity(classes.len());
    let mut channel = 0u8;
    let tune_needed = size > 0 && !classes.contains(&InstrumentClass::Drums);
    for (i, class) in classes.into_iter().enumerate() {
        let mut role = draw_weighted(rng, people_roles(class));
        // A solo instrument or a drum-free duo mostly carries a tune or its chords.
        if tune_needed && i == 0 && class != InstrumentClass::Drums && rng.random_bool(0.6) {
            let leads: Vec<(Role, f64)> = people_roles(class)
                .iter()
                .copied()
                .filter(|(r, _)| matches!(r, Role::Melody | Role::Comp | Role::Arpeggio))
                .collect();
            if !leads.is_empty() {
                role = draw_weighted(rng, &leads);
            }
        }
        let ch = next_channel(&mut channel, role);
        parts.push(people_part(rng, class, role, ch.min(15)));
    }
    parts
}

/// A part of the people arranger, not yet played: a program of `class` for `role`, a register
/// drawn for the role and, one part in eight, thinned.
pub(super) fn people_part(
    rng: &mut StdRng,
    class: InstrumentClass,
    role: Role,
    channel: u8,
) -> Part {
    let programs = people_programs(class, role);
    let program = programs[rng.random_range(0..programs.len())];
    let register = match role {
        Role::Drums => None,
        Role::Bass => Some(rng.random_range(0.0..0.25)),
        Role::Melody | Role::Fills => Some(rng.random_range(0.3..0.85)),
        _ => Some(rng.random_range(0.1..0.8)),
    };
    let density = if role != Role::Drums && rng.random_bool(0.12) {
        rng.random_range(0.3..0.7)
    } else {
        1.0
    };
    Part {
        class,
        program,
        role,
        channel,
        active: Vec::new(),
        notes: Vec::new(),
        register,
        density,
    }
}

/// Share of a song's sections a part of this role plays in, roughly (see [`plan_activity`]).
fn typical_activity(role: Role) -> f64 {
    match role {
        Role::Drums | Role::Bass => 0.9,
        Role::Melody => 0.75,
        _ => 0.55,
    }
}

/// Classes drawn each with the chance that makes its share of the song's time about its
/// [`REAL_SHARES`] entry; at least one besides drums and bass.
fn real_prior_classes(rng: &mut StdRng) -> Vec<(InstrumentClass, Role)> {
    let mut classes = Vec::new();
    for (class, share) in InstrumentClass::ALL.into_iter().zip(REAL_SHARES) {
        let options = roles_for(class);
        let role = options[rng.random_range(0..options.len())];
        if rng.random_bool((share / typical_activity(role)).min(1.0)) {
            classes.push((class, role));
        }
    }
    if !classes
        .iter()
        .any(|(c, _)| !matches!(c, InstrumentClass::Drums | InstrumentClass::Bass))
    {
        // A song of drums and bass alone is rare: add one class, weighted by its share.
        let weighted: Vec<(InstrumentClass, f64)> = colour_classes()
            .into_iter()
            .map(|c| (c, class_weight(c, ClassPriors::Real)))
            .collect();
        let pick = draw_weighted(rng, &weighted);
        let options = roles_for(pick);
        classes.push((pick, options[rng.random_range(0..options.len())]));
    }
    classes
}

fn even_classes(rng: &mut StdRng, song: &Song) -> Vec<(InstrumentClass, Role)> {
    let mut classes = Vec::new();
    let ambient = song.style == Style::Ambient;
    if !ambient && rng.random_bool(0.78) {
        classes.push((InstrumentClass::Drums, Role::Drums));
    }
    if rng.random_bool(if ambient { 0.4 } else { 0.8 }) {
        classes.push((InstrumentClass::Bass, Role::Bass));
    }
    let n_colour = rng.random_range(2..=6usize);
    let mut pool = colour_classes();
    let mut roles_taken: Vec<Role> = Vec::new();
    for _ in 0..n_colour {
        let class = pool.swap_remove(rng.random_range(0..pool.len()));
        let options = roles_for(class);
        // Prefer a role the song still lacks: one tune and some harmony before doubling up.
        let lacking: Vec<Role> = options
            .iter()
            .copied()
            .filter(|r| !roles_taken.contains(r))
            .collect();
        let role = if !lacking.is_empty() && rng.random_bool(0.7) {
            lacking[rng.random_range(0..lacking.len())]
        } else {
            options[rng.random_range(0..options.len())]
        };
        roles_taken.push(role);
        classes.push((class, role));
        // Now and then a second instrument of the same class (two guitars, piano and e-piano).
        if rng.random_bool(0.12) {
            let role = options[rng.random_range(0..options.len())];
            classes.push((class, role));
        }
    }
    classes
}

/// The MIDI channel of the next part: 9 for drums, else the next free one (skipping 9).
fn next_channel(next: &mut u8, role: Role) -> u8 {
    if role == Role::Drums {
        return 9;
    }
    let c = *next;
    *next += if *next == 8 { 2 } else { 1 };
    c
}

/// A program and a MIDI channel for each (class, role).
fn assign_programs(rng: &mut StdRng, classes: Vec<(InstrumentClass, Role)>) -> Vec<Part> {
    let mut channel = 0u8;
    classes
        .into_iter()
        .map(|(class, role)| {
            let programs = programs_for(class, role);
            let program = programs[rng.random_range(0..programs.len())];
            let ch = next_channel(&mut channel, role);
            Part {
                class,
                program,
                role,
                channel: ch.min(15),
                active: Vec::new(),
                notes: Vec::new(),
                register: None,
                density: 1.0,
            }
        })
        .collect()
}

/// Which sections a part plays in: core parts nearly everywhere, others by the section's energy,
/// so that instruments enter and leave; every part plays somewhere.
pub(super) fn plan_activity(rng: &mut StdRng, song: &Song, role: Role) -> Vec<bool> {
    use SectionKind as K;
    let mut active: Vec<bool> = song
        .sections
        .iter()
        .map(|s| {
            let p = match (role, s.kind) {
                (Role::Drums, K::Intro) => 0.5,
                (Role::Drums | Role::Bass, K::Breakdown) => 0.15,
                (Role::Drums | Role::Bass, _) => 0.95,
                (Role::Melody, K::Intro | K::Outro) => 0.3,
                (Role::Melody, K::Solo) => 0.9,
                (Role::Melody, _) => 0.85,
                (Role::Counter, K::Chorus | K::Solo) => 0.7,
                (Role::Counter, _) => 0.35,
                (Role::Pad, K::Breakdown | K::Intro | K::Outro) => 0.8,
                (Role::Pad, _) => 0.55,
                (Role::Effects, K::Intro | K::Breakdown | K::Outro) => 0.7,
                (Role::Effects, _) => 0.3,
                (_, _) => 0.3 + 0.6 * s.kind.energy(),
            };
            rng.random_bool(p)
        })
        .collect();
    if !active.iter().any(|&a| a) {
        let i = rng.random_range(0..active.len());
        active[i] = true;
    }
    active
}

/// Arranges the instruments of an existing piece (a score corpus's chorale, quartet or folk tune)
/// onto General MIDI programs. Drum stems stay as they are.
///
/// With [`Roles::Family`] (the shipped model's corpus songs): the lowest part goes to a bass now
/// and then, the highest carries the tune, the others take harmony roles, classes drawn evenly;
/// each part is moved by octaves to the middle of its new instrument's range.
///
/// With [`Roles::People`]: classes drawn by `priors`; the lowest part is a bass line played by a
/// bass or by any class people give bass lines, the highest a tune, the others counter-lines,
/// pads or chords, each by a program people use for it; parts move by octaves only as far as
/// their instrument needs, so they keep their register.
pub fn arrange(
    stems: &[StemNotes],
    seed: u64,
    priors: ClassPriors,
    roles: Roles,
) -> Vec<StemNotes> {
    arrange_with_roles(stems, seed, priors, roles)
        .into_iter()
        .map(|(stem, _)| stem)
        .collect()
}

/// [`arrange`]'s stems, each with the role it was given (`None` for drum stems).
pub(super) fn arrange_with_roles(
    stems: &[StemNotes],
    seed: u64,
    priors: ClassPriors,
    roles: Roles,
) -> Vec<(StemNotes, Option<Role>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let median = |s: &StemNotes| {
        let mut keys: Vec<u8> = s.notes.iter().map(|n| n.key).collect();
        keys.sort();
        keys.get(keys.len() / 2).copied().unwrap_or(60) as i32
    };
    let mut order: Vec<usize> = (0..stems.len()).filter(|&i| !stems[i].is_drum).collect();
    order.sort_by_key(|&i| median(&stems[i]));
    let mut pool = colour_classes();
    let mut out: Vec<(StemNotes, Option<Role>)> = stems
        .iter()
        .filter(|s| s.is_drum)
        .map(|s| (s.clone(), None))
        .collect();
    for (rank, &i) in order.iter().enumerate() {
        let top = rank + 1 == order.len();
        let (class, role) = match roles {
            Roles::Family => {
                if rank == 0 && order.len() > 1 && rng.random_bool(0.5) {
                    (InstrumentClass::Bass, Role::Bass)
                } else {
                    if pool.is_empty() {
                        pool = colour_classes();
                    }
                    let class = pool.swap_remove(rng.random_range(0..pool.len()));
                    let roles = roles_for(class);
                    let wanted = if top { Role::Melody } else { Role::Counter };
                    let role = if roles.contains(&wanted) && rng.random_bool(0.7) {
                        wanted
                    } else {
                        roles[rng.random_range(0..roles.len())]
                    };
                    (class, role)
                }
            }
            Roles::People => {
                let wanted = if top {
                    Role::Melody
                } else if rank == 0 && order.len() > 1 {
                    Role::Bass
                } else {
                    [Role::Counter, Role::Pad, Role::Comp][rng.random_range(0..3)]
                };
                // Classes weighted by the priors and by how often people give them this role.
                let options: Vec<(InstrumentClass, f64)> = InstrumentClass::ALL
                    .into_iter()
                    .filter(|c| *c != InstrumentClass::Drums)
                    .map(|c| {
                        let fit = people_roles(c)
                            .iter()
                            .find(|(r, _)| *r == wanted)
                            // A class may take a role people rarely give it, but never a bass line.
                            .map_or(if wanted == Role::Bass { 0.0 } else { 0.05 }, |(_, w)| *w);
                        (c, class_weight(c, priors) * fit)
                    })
                    .collect();
                (draw_weighted(&mut rng, &options), wanted)
            }
        };
        let programs = match roles {
            Roles::Family => programs_for(class, role),
            Roles::People => people_programs(class, role),
        };
        let program = programs[rng.random_range(0..programs.len())];
        let (lo, hi) = program_range(program);
        let m = median(&stems[i]);
        let shift = match roles {
            Roles::Family => (((lo + hi) / 2 - m) as f64 / 12.0).round() as i32 * 12,
            Roles::People => {
                let mut shift = 0;
                while m + shift < lo {
                    shift += 12;
                }
                while m + shift > hi {
                    shift -= 12;
                }
                shift
            }
        };
        let mut stem = stems[i].clone();
        stem.program = program;
        for n in &mut stem.notes {
            n.key = (n.key as i32 + shift).clamp(0, 127) as u8;
        }
        out.push((stem, Some(role)));
    }
    out.sort_by_key(|(s, _)| s.channel);
    out
}
