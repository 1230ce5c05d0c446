//! Held chords.

use rand::rngs::StdRng;

use super::{PartState, humanize};
use crate::synth::compose::form::Section;
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::voicing;

#[allow(clippy::too_many_arguments)]
pub(super) fn pad(
    rng: &mut StdRng,
    _song: &Song,
    section: &Section,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let mut i = 0;
    while i < section.chords.len() {
        // Held through repeated chords.
        let mut j = i + 1;
        while j < section.chords.len() && section.chords[j].chord == section.chords[i].chord {
            j += 1;
        }
        let span = &section.chords[i];
        let notes = voicing(&span.chord, center, 3, &state.previous, range);
        state.previous = notes.clone();
        let len = (section.chords[j - 1].end - span.start) as f64;
        for &p in &notes {
            out.push(StepNote {
                start: span.start as f64,
                len: len * 0.98,
                key: p.clamp(0, 127) as u8,
                velocity: humanize(rng, vel),
            });
        }
        i = j;
    }
}
