//! Playing controls: what people's General MIDI files send beside the notes, and composed or
//! score-exported MIDI lacks. String, wind and lead parts bring in mod-wheel vibrato on held
//! notes and swell with expression; guitars, basses and leads scoop into notes with the pitch
//! bend; pianos hold the sustain pedal. Drawn per stem by program ([`draw`]), written into the
//! track's metadata (`render: performance:`), and turned into MIDI events at render time
//! ([`events`]), so a track re-renders exactly.

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::data::slakh::performance::{Pedal, Performance, Scoops, Swell, Vibrato};
use crate::synth::midi::Note;

/// How likely each control is for a program (vibrato, swell, scoops, pedal): how people write
/// General MIDI parts. Pianos pedal; organs, pads and effects swell; strings, winds and leads
/// take vibrato and swells; guitars, basses, leads and sitars bend; struck and percussive
/// programs take none.
fn chances(program: u32) -> [f64; 4] {
    match program {
        0..=7 => [0.0, 0.1, 0.0, 0.7],
        8..=15 => [0.0, 0.0, 0.0, 0.2],
        16..=23 => [0.2, 0.5, 0.0, 0.0],
        24..=31 => [0.2, 0.0, 0.4, 0.0],
        32..=39 => [0.0, 0.0, 0.3, 0.0],
        40..=55 => [0.6, 0.5, 0.1, 0.0],
        56..=63 => [0.4, 0.4, 0.3, 0.0],
        64..=79 => [0.6, 0.4, 0.2, 0.0],
        80..=87 => [0.5, 0.3, 0.5, 0.0],
        88..=103 => [0.2, 0.6, 0.0, 0.0],
        104..=111 => [0.3, 0.2, 0.3, 0.0],
        _ => [0.0; 4],
    }
}

/// Draws a stem's playing controls: with probability `share` the stem is played (each control
/// then drawn by [`chances`] for its program), otherwise none. Always takes the same draws from
/// `rng` whatever the outcome, so one stem's draw does not shift the next's.
pub fn draw(rng: &mut StdRng, program: u32, is_drum: bool, share: f64) -> Option<Performance> {
    let played = chance(rng, share);
    let [p_vib, p_swell, p_scoop, p_pedal] = if is_drum { [0.0; 4] } else { chances(program) };
    let performance = Performance {
        vibrato: {
            let (take, depth, delay_s, rise_s) = (
                chance(rng, p_vib),
                rng.random_range(30..=127u8),
                rng.random_range(0.1..0.6f32),
                rng.random_range(0.1..0.6f32),
            );
            take.then_some(Vibrato {
                depth,
                delay_s,
                rise_s,
            })
        },
        swell: {
            let (take, depth, period_s, phase) = (
                chance(rng, p_swell),
                rng.random_range(0.2..0.7f32),
                rng.random_range(1.5..8.0f32),
                rng.random_range(0.0..std::f32::consts::TAU),
            );
            take.then_some(Swell {
                depth,
                period_s,
                phase,
            })
        },
        scoops: {
            let (take, share, semitones, time_s, seed) = (
                chance(rng, p_scoop),
                rng.random_range(0.1..0.5f32),
                rng.random_range(0.5..2.0f32),
                rng.random_range(0.04..0.2f32),
                rng.random::<u64>(),
            );
            take.then_some(Scoops {
                share,
                semitones,
                time_s,
                seed,
            })
        },
        pedal: {
            let (take, span_s) = (chance(rng, p_pedal), rng.random_range(1.0..4.0f32));
            take.then_some(Pedal { span_s })
        },
    };
    (played && performance != Performance::default()).then_some(performance)
}

/// True with probability `p`, from one uniform draw whatever `p` is (`random_bool` skips its
/// draw at 0 and 1, which would shift every later draw of the stream).
fn chance(rng: &mut StdRng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// MIDI events for a stem's controls, as (sample, status, data 1, data 2) on channel 0 at
/// `rate`: to be merged with its note events. `centre_bend` is the stem's pitch-bend value
/// without scoops (its detune), 0-16383.
pub fn events(
    performance: &Performance,
    notes: &[Note],
    rate: u32,
    centre_bend: i32,
) -> Vec<(usize, i32, i32, i32)> {
    const CC: i32 = 0xB0;
    const STEPS: usize = 8;
    let at = |seconds: f64| (seconds.max(0.0) * rate as f64).round() as usize;
    let mut out = Vec::new();
    let (Some(first), Some(last)) = (
        notes.iter().map(|n| n.start).reduce(f64::min),
        notes.iter().map(|n| n.end).reduce(f64::max),
    ) else {
        return out;
    };
    if let Some(v) = performance.vibrato {
        for n in notes {
            out.push((at(n.start), CC, 1, 0));
            let rise_from = n.start + v.delay_s as f64;
            if rise_from < n.end {
                for step in 1..=STEPS {
                    let f = step as f64 / STEPS as f64;
                    let value = (v.depth as f64 * f).round() as i32;
                    out.push((at(rise_from + f * v.rise_s as f64), CC, 1, value));
                }
            }
        }
    }
    if let Some(s) = performance.swell {
        let mut last_value = -1;
        let mut t = first;
        while t <= last {
            let phase = std::f64::consts::TAU * t / s.period_s as f64 + s.phase as f64;
            let level = 1.0 - s.depth as f64 * 0.5 * (1.0 - phase.sin());
            let value = (127.0 * level).round().clamp(0.0, 127.0) as i32;
            if value != last_value {
                out.push((at(t), CC, 11, value));
                last_value = value;
            }
            t += 0.05;
        }
    }
    if let Some(s) = performance.scoops {
        let mut rng = StdRng::seed_from_u64(s.seed);
        let drop = (s.semitones as f64 / 2.0 * 8192.0).round() as i32;
        for (i, n) in notes.iter().enumerate() {
            // A player scoops a note of a line, not one of a chord: only notes that start with
            // nothing else of the stem sounding.
            let alone = notes
                .iter()
                .enumerate()
                .all(|(j, m)| j == i || m.end <= n.start || m.start > n.start);
            if !rng.random_bool(s.share as f64) || !alone {
                continue;
            }
            for step in 0..=STEPS {
                let f = step as f64 / STEPS as f64;
                let bend = (centre_bend - (drop as f64 * (1.0 - f)).round() as i32).clamp(0, 16383);
                out.push((
                    at(n.start + f * s.time_s as f64),
                    0xE0,
                    bend & 0x7f,
                    bend >> 7,
                ));
            }
        }
    }
    if let Some(p) = performance.pedal {
        out.push((at(first), CC, 64, 127));
        let mut t = first + p.span_s as f64;
        while t < last {
            out.push((at(t), CC, 64, 0));
            out.push((at(t + 0.05), CC, 64, 127));
            t += p.span_s as f64;
        }
        out.push((at(last), CC, 64, 0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: f64, end: f64, key: u8) -> Note {
        Note {
            start,
            end,
            key,
            velocity: 100,
        }
    }

    #[test]
    fn share_zero_plays_nothing_and_takes_the_same_draws() {
        let (mut a, mut b) = (StdRng::seed_from_u64(3), StdRng::seed_from_u64(3));
        assert_eq!(draw(&mut a, 73, false, 0.0), None);
        let _ = draw(&mut b, 73, false, 1.0);
        // Both streams are at the same place afterwards.
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }

    #[test]
    fn drums_and_percussive_programs_take_no_controls() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            assert_eq!(draw(&mut rng, 128, true, 1.0), None);
            assert_eq!(draw(&mut rng, 115, false, 1.0), None);
        }
    }

    #[test]
    fn flutes_and_strings_mostly_get_vibrato_and_pianos_pedal() {
        let mut rng = StdRng::seed_from_u64(2);
        let count = |rng: &mut StdRng, program, pick: fn(&Performance) -> bool| {
            (0..400)
                .filter(|_| draw(rng, program, false, 1.0).is_some_and(|p| pick(&p)))
                .count()
        };
        let flute_vibrato = count(&mut rng, 73, |p| p.vibrato.is_some());
        let piano_vibrato = count(&mut rng, 0, |p| p.vibrato.is_some());
        let piano_pedal = count(&mut rng, 0, |p| p.pedal.is_some());
        assert!((200..290).contains(&flute_vibrato), "{flute_vibrato}");
        assert_eq!(piano_vibrato, 0);
        assert!((240..320).contains(&piano_pedal), "{piano_pedal}");
    }

    #[test]
    fn vibrato_rises_on_held_notes_only() {
        let p = Performance {
            vibrato: Some(Vibrato {
                depth: 100,
                delay_s: 0.2,
                rise_s: 0.2,
            }),
            ..Default::default()
        };
        let ev = events(&p, &[note(0.0, 1.0, 60), note(1.0, 1.1, 62)], 1000, 8192);
        let mod_wheel: Vec<_> = ev.iter().filter(|e| e.2 == 1).collect();
        // Note 1: reset + 8 steps ending at depth 100 at 0.4 s; note 2 (0.1 s) only its reset.
        assert_eq!(mod_wheel.len(), 10);
        assert!(mod_wheel.contains(&&(400, 0xB0, 1, 100)));
        assert!(mod_wheel.contains(&&(1000, 0xB0, 1, 0)));
    }

    #[test]
    fn scoops_start_below_and_end_at_the_detuned_centre_and_skip_chord_notes() {
        let p = Performance {
            scoops: Some(Scoops {
                share: 1.0,
                semitones: 1.0,
                time_s: 0.08,
                seed: 9,
            }),
            ..Default::default()
        };
        let chord = [note(0.0, 1.0, 60), note(0.0, 1.0, 64)];
        assert!(events(&p, &chord, 1000, 8292).is_empty());
        let ev = events(&p, &[note(2.0, 3.0, 60)], 1000, 8292);
        let bend = |e: &(usize, i32, i32, i32)| e.2 | (e.3 << 7);
        assert_eq!(
            ev.first().map(|e| (e.0, bend(e))),
            Some((2000, 8292 - 4096))
        );
        assert_eq!(ev.last().map(|e| (e.0, bend(e))), Some((2080, 8292)));
    }

    #[test]
    fn pedal_is_changed_every_span_and_released_at_the_end() {
        let p = Performance {
            pedal: Some(Pedal { span_s: 1.0 }),
            ..Default::default()
        };
        let ev = events(&p, &[note(0.5, 2.9, 60)], 100, 8192);
        let pedal: Vec<_> = ev.iter().map(|e| (e.0, e.3)).collect();
        assert_eq!(
            pedal,
            vec![
                (50, 127),
                (150, 0),
                (155, 127),
                (250, 0),
                (255, 127),
                (290, 0)
            ]
        );
    }

    #[test]
    fn swell_stays_within_its_depth() {
        let p = Performance {
            swell: Some(Swell {
                depth: 0.5,
                period_s: 2.0,
                phase: 0.0,
            }),
            ..Default::default()
        };
        let ev = events(&p, &[note(0.0, 4.0, 60)], 1000, 8192);
        let values: Vec<i32> = ev.iter().map(|e| e.3).collect();
        assert_eq!(values.iter().max(), Some(&127));
        assert_eq!(values.iter().min(), Some(&64));
    }
}
