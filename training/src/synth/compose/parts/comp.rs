//! Comping: block chords, strums, power chords and stabs in a rhythm.

use rand::{Rng, rngs::StdRng};

use super::{PartState, humanize, swung};
use crate::synth::compose::form::{Section, Style};
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::{fit, voicing};

#[allow(clippy::too_many_arguments)]
pub(super) fn comp(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    program: u32,
    style: usize,
    vel: f64,
    center: i32,
    range: (i32, i32),
    state: &mut PartState,
    out: &mut Vec<StepNote>,
) {
    let guitar = (24..32).contains(&program);
    let distorted = program == 29 || program == 30;
    let m = &song.meter;
    // Rhythm patterns within a bar (steps), one per comping style.
    let pattern: Vec<usize> = match (song.style, style) {
        (Style::Reggae, _) | (_, 0) if m.steps == 16 => vec![4, 12],
        (_, 1) => m.beats.clone(),
        (_, 2) if m.steps == 16 => vec![0, 3, 6, 10, 12],
        (_, 3) => (0..m.steps).step_by(2).collect(),
        (_, 4) if m.steps == 16 => vec![2, 6, 10, 14],
        _ => vec![0],
    };
    let staccato = matches!(song.style, Style::Reggae | Style::Funk | Style::Disco) || style == 4;
    for span in &section.chords {
        let bar_start = span.start - (span.start - section.start) % m.steps;
        let n_voices = if distorted {
            3
        } else {
            rng.random_range(3..=4)
        };
        let notes: Vec<i32> = if distorted {
            // Power chord: root, fifth, octave.
            let r = fit(
                center - 12 + (span.chord.root() as i32 - center).rem_euclid(12),
                range,
            );
            vec![r, r + 7, r + 12]
        } else {
            voicing(&span.chord, center, n_voices, &state.previous, range)
        };
        if notes.is_empty() {
            continue;
        }
        state.previous = notes.clone();
        let onsets: Vec<usize> = pattern
            .iter()
            .map(|&s| bar_start + s)
            .filter(|&s| s >= span.start && s < span.end)
            .collect();
        let onsets = if onsets.is_empty() {
            vec![span.start]
        } else {
            onsets
        };
        for (i, &on) in onsets.iter().enumerate() {
            let next = onsets.get(i + 1).copied().unwrap_or(span.end);
            let len = if staccato {
                1.0
            } else {
                (next - on) as f64 * 0.9
            };
            let accent = if m.beats.contains(&((on - bar_start) % m.steps)) {
                6.0
            } else {
                -4.0
            };
            for (j, &p) in notes.iter().enumerate() {
                // Guitars strum: the strings sound a few milliseconds apart, down or up.
                let spread = if guitar { 0.06 * j as f64 } else { 0.0 };
                out.push(StepNote {
                    start: swung(song, on as f64) + spread,
                    len: (len - spread).max(0.3),
                    key: p.clamp(0, 127) as u8,
                    velocity: humanize(rng, vel + accent - 6.0),
                });
            }
        }
    }
}
