//! Playing a part through a song: one file per role, each writing its notes section by section.

mod arpeggio;
mod bass;
mod comp;
mod drums;
mod effects;
mod fills;
mod melody;
mod pad;
mod riff;

use instrunet_model::InstrumentClass;
use rand::{Rng, rngs::StdRng};

use super::form::SectionKind;
use super::orchestration::program_range;
use super::song::{Part, Role, Song, StepNote};
use arpeggio::arpeggio;
use bass::bass;
use comp::comp;
use drums::drums;
use effects::effects;
use fills::fills;
use melody::melody;
use pad::pad;
use riff::riff;

pub(super) fn play_part(rng: &mut StdRng, song: &Song, part: &Part) -> Vec<StepNote> {
    let mut notes = Vec::new();
    let mut range = program_range(part.program);
    if part.register.is_some() && part.role == Role::Bass && part.class != InstrumentClass::Bass {
        // A lead, a piano's left hand or a tuba playing the bass line goes below its usual range.
        range.0 = (range.0 - 12).max(28);
    }
    // Register within the range: the part's own, or comping and pads mid, melodies upper-middle.
    let center = match (part.register, part.role) {
        (Some(r), Role::Bass) => range.0 + 4 + (r * 12.0) as i32,
        (Some(r), _) => range.0 + 5 + (r * (range.1 - range.0 - 10).max(0) as f64) as i32,
        (None, Role::Bass) => range.0 + 8,
        (None, Role::Melody) => (range.0 + 2 * range.1) / 3 - 2,
        (None, Role::Counter) => (2 * range.0 + range.1) / 3,
        (None, _) => (range.0 + range.1) / 2,
    };
    let level = rng.random_range(70.0..105.0);
    let comp_style = rng.random_range(0..6);
    let bass_style = rng.random_range(0..7);
    let arp_style = rng.random_range(0..4);
    let melody_density = rng.random_range(0..3);
    let groove = rng.random_range(0..3);
    let mut state = PartState::default();
    for (si, section) in song.sections.iter().enumerate() {
        if !part.active[si] {
            state.previous.clear();
            continue;
        }
        let vel = level * (0.7 + 0.3 * section.kind.energy());
        // Now and then a part comes in a bar or two late.
        let late_bars = if part.role != Role::Drums && section.bars >= 4 && rng.random_bool(0.15) {
            rng.random_range(1..=section.bars / 2)
        } else {
            0
        };
        let from = section.start + late_bars * song.meter.steps;
        let before = notes.len();
        match part.role {
            Role::Drums => drums(rng, song, section, groove, vel, &mut notes),
            Role::Bass => bass(rng, song, section, bass_style, vel, range, &mut notes),
            Role::Comp => comp(
                rng,
                song,
                section,
                part.program,
                comp_style,
                vel,
                center,
                range,
                &mut state,
                &mut notes,
            ),
            Role::Arpeggio => arpeggio(
                rng, song, section, arp_style, vel, center, range, &mut notes,
            ),
            Role::Pad => pad(
                rng,
                song,
                section,
                vel * 0.85,
                center,
                range,
                &mut state,
                &mut notes,
            ),
            Role::Melody | Role::Counter => {
                let density = if section.kind == SectionKind::Solo && part.role == Role::Melody {
                    2
                } else if part.role == Role::Counter {
                    0
                } else {
                    melody_density
                };
                melody(
                    rng, song, section, density, vel, center, range, &mut state, &mut notes,
                )
            }
            Role::Effects => effects(rng, song, section, part.program, vel, center, &mut notes),
            Role::Stabs => comp(
                rng,
                song,
                section,
                part.program,
                4,
                vel,
                center,
                range,
                &mut state,
                &mut notes,
            ),
            Role::Riff => riff(
                rng, song, section, vel, center, range, &mut state, &mut notes,
            ),
            Role::Fills => fills(rng, song, section, vel, center, range, &mut notes),
        }
        let from = from as f64;
        let mut kept = notes.split_off(before);
        kept.retain(|n| n.start >= from);
        notes.extend(kept);
    }
    if part.density < 1.0 {
        // A thin part: a random share of its notes, keeping at least one.
        let first = notes.first().copied();
        notes.retain(|_| rng.random_bool(part.density));
        if notes.is_empty() {
            notes.extend(first);
        }
    }
    notes
}

#[derive(Default)]
struct PartState {
    previous: Vec<i32>,
    melody_pitch: Option<i32>,
    motif: Vec<(usize, usize, i32)>,
    /// A riff: (onset step in its figure, length in steps, semitones above the chord's root).
    riff: Vec<(usize, f64, i32)>,
}

fn humanize(rng: &mut StdRng, velocity: f64) -> u8 {
    (velocity + rng.random_range(-8.0..8.0))
        .round()
        .clamp(1.0, 127.0) as u8
}

fn swung(song: &Song, step: f64) -> f64 {
    let swing = song.style.swing();
    // Swing delays the off-beat eighth (steps 2, 6, 10, … within each quarter).
    if swing > 0.0 && (step.rem_euclid(4.0) - 2.0).abs() < 1e-9 {
        step + swing * 2.0
    } else {
        step
    }
}
