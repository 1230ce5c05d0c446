//! Fills: short scale runs or repeated notes at the end of every second or fourth bar, leading
//! into the next chord; silent in between (a guitar lick between sung lines, a brass fall, a
//! piano run).

use rand::{Rng, rngs::StdRng};

use super::{humanize, swung};
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::{fit, move_in_scale};

pub(super) fn fills(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    vel: f64,
    center: i32,
    range: (i32, i32),
    out: &mut Vec<StepNote>,
) {
    let m = &song.meter;
    let every = if rng.random_bool(0.5) { 2 } else { 4 };
    for bar in (every - 1..section.bars).step_by(every) {
        let bar_end = section.start + (bar + 1) * m.steps;
        let n = rng.random_range(3..=7usize).min(m.steps);
        let step = if n * 2 <= m.steps && rng.random_bool(0.5) {
            2
        } else {
            1
        };
        let first = bar_end - n * step;
        // Toward the next chord's root (or the section's last), up or down the scale.
        let target_pc = section
            .chords
            .iter()
            .find(|c| c.start <= bar_end && bar_end < c.end)
            .or(section.chords.last())
            .map_or(0, |c| c.chord.root() as i32);
        let target = fit(center + (target_pc - center).rem_euclid(12), range);
        let dir = if rng.random_bool(0.5) { 1 } else { -1 };
        let repeated = rng.random_bool(0.15);
        for i in 0..n {
            let key = if repeated {
                target
            } else {
                move_in_scale(&song.key, target, -dir * (n - i) as i32)
            };
            out.push(StepNote {
                start: swung(song, (first + i * step) as f64),
                len: step as f64 * 0.85,
                key: fit(key, range).clamp(0, 127) as u8,
                velocity: humanize(rng, vel - 4.0 + 2.0 * i as f64),
            });
        }
    }
}
