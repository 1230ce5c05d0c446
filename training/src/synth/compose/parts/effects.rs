//! Sparse effects: swells and hits.

use rand::{Rng, rngs::StdRng};

use super::humanize;
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::fit;

pub(super) fn effects(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    program: u32,
    vel: f64,
    center: i32,
    out: &mut Vec<StepNote>,
) {
    let bar = song.meter.steps;
    // Sustained atmospheres for the pad-like effects, sparse events for the noises.
    let sustained =
        (96..104).contains(&program) || program == 122 || program == 125 || program == 126;
    let root = fit(
        center - 12 + (section.chords[0].chord.root() as i32 - center).rem_euclid(12),
        (36, 84),
    );
    let mut b = 0;
    while b < section.bars {
        let len_bars = if sustained {
            rng.random_range(1..=4).min(section.bars - b)
        } else {
            1
        };
        if rng.random_bool(if sustained { 0.8 } else { 0.5 }) {
            let start = section.start
                + b * bar
                + if sustained {
                    0
                } else {
                    rng.random_range(0..bar)
                };
            out.push(StepNote {
                start: start as f64,
                len: if sustained {
                    (len_bars * bar) as f64 * 0.95
                } else {
                    rng.random_range(2.0..8.0)
                },
                key: (root + [0, 7, 12][rng.random_range(0..3)]).clamp(0, 127) as u8,
                velocity: humanize(rng, vel),
            });
        }
        b += len_bars;
    }
}
