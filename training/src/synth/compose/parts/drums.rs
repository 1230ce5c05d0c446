//! Drum grooves and fills.

use rand::{Rng, rngs::StdRng};

use super::{humanize, swung};
use crate::synth::compose::form::{Section, SectionKind, Style};
use crate::synth::compose::song::{Song, StepNote};

/// The General MIDI drum keys the grooves use.
mod kit {
    pub const KICK: u8 = 36;
    pub const SIDE_STICK: u8 = 37;
    pub const SNARE: u8 = 38;
    pub const CLAP: u8 = 39;
    pub const FLOOR_TOM: u8 = 41;
    pub const CLOSED_HAT: u8 = 42;
    pub const PEDAL_HAT: u8 = 44;
    pub const LOW_TOM: u8 = 45;
    pub const OPEN_HAT: u8 = 46;
    pub const MID_TOM: u8 = 47;
    pub const CRASH: u8 = 49;
    pub const HIGH_TOM: u8 = 50;
    pub const RIDE: u8 = 51;
    pub const TAMBOURINE: u8 = 54;
    pub const COWBELL: u8 = 56;
    pub const HIGH_CONGA: u8 = 63;
    pub const LOW_CONGA: u8 = 64;
    pub const SHAKER: u8 = 70;
    pub const CLAVES: u8 = 75;
}

pub(super) fn drums(
    rng: &mut StdRng,
    song: &Song,
    section: &Section,
    groove: usize,
    vel: f64,
    out: &mut Vec<StepNote>,
) {
    use kit::*;
    let m = &song.meter;
    let hit = |out: &mut Vec<StepNote>, rng: &mut StdRng, step: f64, key: u8, v: f64| {
        out.push(StepNote {
            start: swung(song, step),
            len: 1.0,
            key,
            velocity: humanize(rng, v),
        });
    };
    let chorus = matches!(section.kind, SectionKind::Chorus | SectionKind::Solo);
    let quiet = matches!(section.kind, SectionKind::Intro | SectionKind::Breakdown);
    let cymbal = if chorus && rng.random_bool(0.5) {
        RIDE
    } else {
        CLOSED_HAT
    };
    let fill = rng.random_bool(0.6);
    for bar in 0..section.bars {
        let b0 = (section.start + bar * m.steps) as f64;
        let last_bar = bar + 1 == section.bars;
        let fill_from = if last_bar && fill {
            m.beats[m
                .beats
                .len()
                .saturating_sub(if rng.random_bool(0.5) { 1 } else { 2 })
                .max(1)]
        } else {
            m.steps
        };
        if bar == 0 && section.start > 0 && rng.random_bool(0.8) {
            hit(out, rng, b0, CRASH, vel + 10.0);
        }
        let four = m.steps == 16;
        for s in 0..fill_from {
            let st = b0 + s as f64;
            let beat_idx = m.beats.iter().position(|&b| b == s);
            let on_beat = beat_idx.is_some();
            let eighth = s % 2 == 0;
            match song.style {
                Style::Disco | Style::Electronic if four => {
                    if s % 4 == 0 {
                        hit(out, rng, st, KICK, vel + 10.0);
                    }
                    if s == 4 || s == 12 {
                        hit(
                            out,
                            rng,
                            st,
                            if song.style == Style::Electronic {
                                CLAP
                            } else {
                                SNARE
                            },
                            vel + 5.0,
                        );
                    }
                    if s % 4 == 2 {
                        hit(out, rng, st, OPEN_HAT, vel - 10.0);
                    } else if !quiet {
                        hit(out, rng, st, CLOSED_HAT, vel - 25.0);
                    }
                }
                Style::Funk if four => {
                    const KICKS: [[usize; 4]; 3] = [[0, 3, 10, 99], [0, 6, 10, 14], [0, 7, 11, 99]];
                    if KICKS[groove].contains(&s) {
                        hit(out, rng, st, KICK, vel + 5.0);
                    }
                    if s == 4 || s == 12 {
                        hit(out, rng, st, SNARE, vel + 10.0);
                    } else if s % 2 == 1 && rng.random_bool(0.25) {
                        hit(out, rng, st, SNARE, 35.0);
                    }
                    hit(
                        out,
                        rng,
                        st,
                        cymbal,
                        if eighth { vel - 10.0 } else { vel - 30.0 },
                    );
                }
                Style::Jazz => {
                    // Ride "ding, ding-a ding", pedal hat on 2 and 4, sparse comping.
                    let beat = s / 4;
                    if s % 4 == 0 || (s % 4 == 2 && beat % 2 == 1) {
                        hit(out, rng, st, RIDE, vel - 5.0);
                    }
                    if s % 4 == 0 && beat % 2 == 1 {
                        hit(out, rng, st, PEDAL_HAT, vel - 15.0);
                    }
                    if s % 2 == 0 && rng.random_bool(0.08) {
                        let key = if rng.random_bool(0.5) { SNARE } else { KICK };
                        hit(out, rng, st, key, vel - 20.0);
                    }
                }
                Style::Latin if four => {
                    const CLAVE: [usize; 5] = [0, 3, 6, 10, 12];
                    if CLAVE.contains(&s) {
                        hit(
                            out,
                            rng,
                            st,
                            if groove == 0 { CLAVES } else { SIDE_STICK },
                            vel,
                        );
                    }
                    if s == 0 || s == 6 || s == 8 || s == 14 {
                        hit(out, rng, st, KICK, vel - 5.0);
                    }
                    if s % 4 == 2 {
                        hit(
                            out,
                            rng,
                            st,
                            if s % 8 == 2 { HIGH_CONGA } else { LOW_CONGA },
                            vel - 5.0,
                        );
                    }
                    hit(
                        out,
                        rng,
                        st,
                        SHAKER,
                        if eighth { vel - 20.0 } else { vel - 35.0 },
                    );
                    if groove == 2 && s % 4 == 0 {
                        hit(out, rng, st, COWBELL, vel - 15.0);
                    }
                }
                Style::Reggae if four => {
                    // One drop: kick and snare together on beat three.
                    if s == 8 {
                        hit(out, rng, st, KICK, vel);
                        hit(out, rng, st, SIDE_STICK, vel);
                    }
                    if eighth {
                        hit(out, rng, st, CLOSED_HAT, vel - 20.0);
                    }
                }
                Style::Metal => {
                    if eighth || (groove == 0 && !quiet) {
                        hit(out, rng, st, KICK, vel);
                    }
                    if beat_idx.is_some_and(|b| b % 2 == 1) {
                        hit(out, rng, st, SNARE, vel + 15.0);
                    }
                    if on_beat {
                        hit(out, rng, st, if chorus { CRASH } else { RIDE }, vel - 10.0);
                    }
                }
                _ => {
                    // Backbeat grooves for any meter: kick on the first beat and some others,
                    // snare on the off beats (or beat three, half time), hats in eighths.
                    let half_time = song.style == Style::Ballad || groove == 2;
                    match beat_idx {
                        Some(0) => hit(out, rng, st, KICK, vel + 5.0),
                        Some(b) if m.beats.len() >= 4 => {
                            let snare = if half_time {
                                b == m.beats.len() / 2
                            } else {
                                b % 2 == 1
                            };
                            if snare {
                                hit(
                                    out,
                                    rng,
                                    st,
                                    if quiet { SIDE_STICK } else { SNARE },
                                    vel + 8.0,
                                );
                            } else if !half_time || rng.random_bool(0.3) {
                                hit(out, rng, st, KICK, vel);
                            }
                        }
                        Some(_) => {
                            // Two- and three-beat bars: snare on the last felt beat.
                            hit(
                                out,
                                rng,
                                st,
                                if quiet { SIDE_STICK } else { SNARE },
                                vel + 5.0,
                            );
                        }
                        None => {
                            if s % 2 == 0 && rng.random_bool(if groove == 1 { 0.25 } else { 0.1 }) {
                                hit(out, rng, st, KICK, vel - 10.0);
                            }
                        }
                    }
                    let hats = if song.style == Style::Pop && groove == 1 {
                        true
                    } else {
                        eighth
                    };
                    if hats {
                        hit(
                            out,
                            rng,
                            st,
                            cymbal,
                            if on_beat { vel - 8.0 } else { vel - 22.0 },
                        );
                    }
                    if song.style == Style::Folk
                        && groove == 0
                        && beat_idx.is_some_and(|b| b % 2 == 1)
                    {
                        hit(out, rng, st, TAMBOURINE, vel - 15.0);
                    }
                }
            }
        }
        // The fill: sixteenths or eighths down the toms, ending with a snare flam.
        if fill_from < m.steps {
            let toms = [HIGH_TOM, MID_TOM, LOW_TOM, FLOOR_TOM];
            let stride = if rng.random_bool(0.6) { 1 } else { 2 };
            let n = (m.steps - fill_from).div_ceil(stride);
            for i in 0..n {
                let s = fill_from + i * stride;
                let key = if rng.random_bool(0.35) {
                    SNARE
                } else {
                    toms[i * toms.len() / n.max(1)]
                };
                hit(
                    out,
                    rng,
                    b0 + s as f64,
                    key,
                    vel + 5.0 + 10.0 * i as f64 / n as f64,
                );
            }
        }
    }
}
