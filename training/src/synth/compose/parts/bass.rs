//! Bass lines.

use rand::{Rng, rngs::StdRng};

use super::{humanize, swung};
use crate::synth::compose::form::{Section, Style};
use crate::synth::compose::song::{Song, StepNote};
use crate::synth::compose::theory::fit;

#[allow(clippy::too_many_arguments)]
pub(super) fn bass(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    style: usize,
    vel: f64,
    range: (i32, i32),
    out: &mut Vec<StepNote>,
) {
    let style = match song.style {
        Style::Jazz => 6,
        Style::Funk if rng.random_bool(0.7) => 5,
        Style::Disco | Style::Electronic if rng.random_bool(0.6) => 4,
        Style::Ambient | Style::Ballad if rng.random_bool(0.6) => 0,
        _ => style,
    };
    let low = range.0.max(28);
    let pitch = |pc: u8| fit(low + (pc as i32 - low).rem_euclid(12), (low, low + 14));
    let n_spans = section.chords.len();
    for (ci, span) in section.chords.iter().enumerate() {
        let root = pitch(span.chord.root());
        let fifth = pitch(span.chord.fifth());
        let fifth = if fifth < root { fifth + 12 } else { fifth };
        let len = span.end - span.start;
        let play =
            |out: &mut Vec<StepNote>, rng: &mut StdRng, s: usize, l: f64, key: i32, v: f64| {
                if s < len {
                    out.push(StepNote {
                        start: swung(song, (span.start + s) as f64),
                        len: l.min((len - s) as f64),
                        key: key.clamp(0, 127) as u8,
                        velocity: humanize(rng, v),
                    });
                }
            };
        match style {
            0 => play(out, rng, 0, len as f64 * 0.95, root, vel),
            1 => {
                // Root and fifth on the felt beats.
                let offset = (span.start - section.start) % song.meter.steps;
                for (i, &b) in song.meter.beats.iter().enumerate() {
                    if b >= offset && b < offset + len {
                        let key = if i % 2 == 0 { root } else { fifth };
                        play(
                            out,
                            rng,
                            b - offset,
                            song.meter.beat_len(i) as f64 * 0.8,
                            key,
                            vel,
                        );
                    }
                }
            }
            2 | 4 => {
                // Driving eighths; style 4 jumps octaves (disco).
                for (i, s) in (0..len).step_by(2).enumerate() {
                    let key = if style == 4 && i % 2 == 1 {
                        root + 12
                    } else {
                        root
                    };
                    play(
                        out,
                        rng,
                        s,
                        1.6,
                        key,
                        if s % 4 == 0 { vel } else { vel - 12.0 },
                    );
                }
            }
            3 => {
                // Arpeggiated: root, third, fifth, octave.
                let third = pitch(span.chord.tones[1]);
                let third = if third < root { third + 12 } else { third };
                for (i, s) in (0..len).step_by(4).enumerate() {
                    let key = [root, third, fifth, root + 12][i % 4];
                    play(out, rng, s, 3.5, key, vel);
                }
            }
            5 => {
                // Syncopated sixteenths with octave pops and ghost notes.
                const PATTERN: [(usize, i32, f64); 6] = [
                    (0, 0, 1.5),
                    (3, 0, 0.8),
                    (6, 12, 0.8),
                    (7, 0, 1.0),
                    (10, 7, 1.5),
                    (14, 12, 0.8),
                ];
                for &(s, off, l) in &PATTERN {
                    let key = if off == 7 { fifth } else { root + off };
                    play(
                        out,
                        rng,
                        s,
                        l,
                        key,
                        if s == 0 { vel + 5.0 } else { vel - 10.0 },
                    );
                }
            }
            _ => {
                // Walking quarters: root, chord tones, and a chromatic approach to the next root.
                let next_root = section
                    .chords
                    .get(ci + 1)
                    .map_or(root, |c| pitch(c.chord.root()));
                let third = pitch(span.chord.tones[1]);
                let beats: Vec<usize> = (0..len).step_by(4).collect();
                for (i, &s) in beats.iter().enumerate() {
                    let key = if i == 0 {
                        root
                    } else if i + 1 == beats.len() && ci + 1 < n_spans {
                        next_root + if rng.random_bool(0.5) { 1 } else { -1 }
                    } else {
                        [third, fifth, root + 12, fifth - 12 + 12][rng.random_range(0..4)]
                    };
                    play(
                        out,
                        rng,
                        s,
                        3.6,
                        fit(key, (low, low + 19)),
                        vel - if i == 0 { 0.0 } else { 8.0 },
                    );
                }
            }
        }
    }
}
