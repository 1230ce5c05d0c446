//! Broken chords.

use rand::rngs::StdRng;

use super::{humanize, swung};
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::voicing;

#[allow(clippy::too_many_arguments)]
pub(super) fn arpeggio(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    style: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    out: &mut Vec<StepNote>,
) {
    let step = if style == 3 || song.bpm > 140.0 {
        2
    } else {
        1 + (style % 2)
    };
    for span in &section.chords {
        let mut notes = voicing(&span.chord, center, 4, &[], range);
        if notes.is_empty() {
            continue;
        }
        notes.sort();
        // Up, up-down, or broken (1-3-2-4) orders.
        let order: Vec<usize> = match style {
            0 => (0..notes.len()).collect(),
            1 => (0..notes.len()).chain((1..notes.len() - 1).rev()).collect(),
            _ => vec![0, 2, 1, 3]
                .into_iter()
                .filter(|&i| i < notes.len())
                .collect(),
        };
        for (i, s) in (span.start..span.end).step_by(step).enumerate() {
            let key = notes[order[i % order.len()]];
            out.push(StepNote {
                start: swung(song, s as f64),
                len: step as f64 * 0.9,
                key: key.clamp(0, 127) as u8,
                velocity: humanize(rng, vel - if i % order.len() == 0 { 0.0 } else { 10.0 }),
            });
        }
    }
}
