//! Riffs: a short figure of chord tones and passing notes, repeated bar after bar and moved to
//! each chord's root (a guitar or synth riff, a marimba ostinato, a brass section's figure).

use rand::{Rng, rngs::StdRng};

use super::{PartState, humanize, swung};
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::fit;

/// Semitones above the root a riff draws its notes from: root, octave, fifth, thirds, sevenths,
/// the fourth.
const RIFF_INTERVALS: [i32; 9] = [0, 0, 0, 12, 7, 3, 4, 10, 5];

#[allow(clippy::too_many_arguments)]
pub(super) fn riff(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let m = &song.meter;
    if state.riff.is_empty() || rng.random_bool(0.2) {
        // A new figure: one bar, or two at slow tempos, on eighths or sixteenths.
        let bars = if song.bpm < 90.0 && rng.random_bool(0.5) {
            2
        } else {
            1
        };
        let grid = if rng.random_bool(0.5) { 1 } else { 2 };
        let slots = bars * m.steps / grid;
        let n = rng.random_range(3..=slots.clamp(3, 9));
        let mut onsets: Vec<usize> = (0..slots).collect();
        while onsets.len() > n {
            // Keep the downbeat.
            let i = rng.random_range(1..onsets.len());
            onsets.remove(i);
        }
        state.riff = onsets
            .iter()
            .enumerate()
            .map(|(i, &slot)| {
                let next = onsets.get(i + 1).copied().unwrap_or(slots);
                let len = ((next - slot) * grid) as f64 * rng.random_range(0.4..0.95);
                let interval = if i == 0 {
                    0
                } else {
                    RIFF_INTERVALS[rng.random_range(0..RIFF_INTERVALS.len())]
                };
                (slot * grid, len, interval)
            })
            .collect();
    }
    let figure_steps = state
        .riff
        .last()
        .map_or(m.steps, |&(s, l, _)| (s + l.ceil() as usize).max(1))
        .div_ceil(m.steps)
        * m.steps;
    let end = section.start + section.bars * m.steps;
    let mut start = section.start;
    while start < end {
        for &(on, len, interval) in &state.riff {
            let at = start + on;
            if at >= end {
                break;
            }
            let Some(span) = section.chords.iter().find(|c| c.start <= at && at < c.end) else {
                continue;
            };
            let root = fit(
                center - 6 + (span.chord.root() as i32 - (center - 6)).rem_euclid(12),
                range,
            );
            out.push(StepNote {
                start: swung(song, at as f64),
                len: len.min((end - at) as f64),
                key: fit(root + interval, range).clamp(0, 127) as u8,
                velocity: humanize(rng, vel - if on == 0 { 0.0 } else { 6.0 }),
            });
        }
        start += figure_steps;
    }
}
