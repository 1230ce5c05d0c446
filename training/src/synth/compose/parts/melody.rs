//! Melodies with motifs, counter-melodies and solos.

use rand::{Rng, rngs::StdRng};

use super::{PartState, humanize, swung};
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::move_in_scale;

/// Rhythm cells (onset, length in steps) filling one beat of four steps, by density.
const CELLS: [&[&[(usize, usize)]]; 3] = [
    &[&[(0, 4)], &[(0, 8)], &[(0, 6)], &[], &[(0, 3)]],
    &[
        &[(0, 2), (2, 2)],
        &[(0, 4)],
        &[(0, 3), (3, 1)],
        &[(2, 2)],
        &[(0, 2)],
        &[(0, 6)],
    ],
    &[
        &[(0, 1), (1, 1), (2, 1), (3, 1)],
        &[(0, 2), (2, 1), (3, 1)],
        &[(0, 1), (1, 1), (2, 2)],
        &[(0, 2), (2, 2)],
        &[(1, 1), (2, 2)],
    ],
];

#[allow(clippy::too_many_arguments)]
pub(super) fn melody(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    density: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let m = &song.meter;
    let phrase_bars = if section.bars >= 4 { 2 } else { 1 };
    let phrase_steps = phrase_bars * m.steps;
    let legato = rng.random_range(0.55..1.0);
    let mut pitch = state.melody_pitch.unwrap_or(center);
    // A motif (onset, length, scale steps from its first note), reused with variation.
    if state.motif.is_empty() || rng.random_bool(0.3) {
        state.motif = make_motif(rng, phrase_steps, density);
    }
    let end = section.start + section.bars * m.steps;
    let mut phrase_start = section.start;
    let mut phrase = 0;
    while phrase_start < end {
        let motif = if phrase % 4 == 2 {
            make_motif(rng, phrase_steps, density) // a contrasting phrase
        } else {
            state.motif.clone()
        };
        let mut rest_after = 0;
        // Answer phrases are shorter, leaving room to breathe (and for a counter-melody).
        if phrase % 2 == 1 {
            rest_after = m.steps / 2;
        }
        for &(on, len, step) in &motif {
            let s = phrase_start + on;
            if s >= end || on + len > phrase_steps - rest_after.min(phrase_steps - on - 1) {
                continue;
            }
            let chord = section
                .chords
                .iter()
                .find(|c| c.start <= s && s < c.end)
                .map(|c| &c.chord);
            let mut target = move_in_scale(&song.key, pitch, step);
            let strong = m.beats.contains(&(on % m.steps));
            if strong && let Some(chord) = chord {
                // On strong beats, land on the nearest chord tone.
                target = (0..7)
                    .flat_map(|d| [target - d, target + d])
                    .find(|&p| chord.has_pc(p))
                    .unwrap_or(target);
            }
            // Keep to the register: reflect off its edges.
            let (lo, hi) = (range.0.max(center - 12), range.1.min(center + 12));
            if target > hi {
                target -= 12;
            }
            if target < lo {
                target += 12;
            }
            pitch = target;
            out.push(StepNote {
                start: swung(song, s as f64),
                len: (len as f64 * legato).max(0.5),
                key: target.clamp(0, 127) as u8,
                velocity: humanize(rng, vel + if strong { 6.0 } else { -4.0 }),
            });
        }
        phrase_start += phrase_steps;
        phrase += 1;
    }
    state.melody_pitch = Some(pitch);
}

fn make_motif(rng: &mut StdRng, steps: usize, density: usize) -> Vec<(usize, usize, i32)> {
    let mut out = Vec::new();
    let mut s = 0;
    while s < steps {
        let cell = CELLS[density][rng.random_range(0..CELLS[density].len())];
        let mut cell_len = 4;
        for &(on, len) in cell.iter() {
            if s + on < steps {
                let step = match rng.random_range(0..10) {
                    0..=2 => 1,
                    3..=5 => -1,
                    6 => 2,
                    7 => -2,
                    8 => rng.random_range(3..=5),
                    _ => 0,
                };
                out.push((s + on, len.min(steps - s - on), step));
            }
            cell_len = cell_len.max(on + len);
        }
        s += cell_len.div_ceil(4) * 4;
    }
    out
}
