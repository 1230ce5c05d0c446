//! A composed song, its parts and notes, and the song as a Standard MIDI File.

use instrunet_model::InstrumentClass;
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use super::form::{Meter, Section, Style};
use super::theory::{Key, NOTE_NAMES};
use crate::synth::gm::PROGRAM_NAMES;
use crate::synth::midi::push_channel_events;

const TICKS_PER_STEP: f64 = 120.0;

/// A note in steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepNote {
    pub start: f64,
    pub len: f64,
    pub key: u8,
    pub velocity: u8,
}

/// What a part does in the arrangement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Drums,
    Bass,
    /// Chords in a rhythm: block chords, strums, power chords, stabs.
    Comp,
    /// Broken chords.
    Arpeggio,
    /// Held chords.
    Pad,
    /// The tune.
    Melody,
    /// A second line answering the tune, lower and sparser.
    Counter,
    /// Sparse effects: swells and hits at section changes.
    Effects,
    /// A one- or two-bar figure repeated over the chords (an ostinato, a guitar or synth riff).
    Riff,
    /// Short chords off the beat.
    Stabs,
    /// Short runs at the ends of phrases, silent in between.
    Fills,
}

/// One instrument of the song.
#[derive(Debug, Clone)]
pub struct Part {
    pub class: InstrumentClass,
    /// General MIDI program, 128 for the drum kit.
    pub program: u32,
    pub role: Role,
    /// MIDI channel, 0-based (9 = drums).
    pub channel: u8,
    /// Whether it plays in each section.
    pub active: Vec<bool>,
    pub notes: Vec<StepNote>,
    /// Where in its program's range the part plays, 0 (lowest) to 1 (highest); `None`: where its
    /// role usually sits (the family arranger).
    pub register: Option<f64>,
    /// Share of its notes a thin part keeps (1: all).
    pub density: f64,
}

impl Part {
    pub fn is_drum(&self) -> bool {
        self.program == InstrumentClass::DRUM_PROGRAM
    }

    pub fn program_name(&self) -> &'static str {
        if self.is_drum() {
            "Drums"
        } else {
            PROGRAM_NAMES[self.program as usize]
        }
    }
}

/// A composed song.
#[derive(Debug, Clone)]
pub struct Song {
    pub seed: u64,
    pub style: Style,
    pub bpm: f64,
    pub meter: Meter,
    pub key: Key,
    pub sections: Vec<Section>,
    pub parts: Vec<Part>,
    /// Steps in the song.
    pub length: usize,
}

impl Song {
    /// Seconds per step.
    pub fn step_seconds(&self) -> f64 {
        60.0 / self.bpm / 4.0
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{} ({})", p.class, p.program_name()))
            .collect();
        format!(
            "{:?} {}/{} {:.0} bpm {} {}, {} sections, {:.0} s: {}",
            self.style,
            self.meter.numerator,
            self.meter.denominator,
            self.bpm,
            NOTE_NAMES[self.key.tonic as usize],
            self.key.mode,
            self.sections.len(),
            self.length as f64 * self.step_seconds(),
            parts.join(", ")
        )
    }

    /// The song as a Standard MIDI File (format 1: a tempo track, then one track per part on its
    /// own channel, with a program change and the track's name).
    pub fn to_midi(&self) -> Vec<u8> {
        let mut tracks = Vec::with_capacity(self.parts.len() + 1);
        let us_per_quarter = (60e6 / self.bpm).round() as u32;
        tracks.push(vec![
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(us_per_quarter))),
            },
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::TimeSignature(
                    self.meter.numerator,
                    self.meter.denominator.trailing_zeros() as u8,
                    24,
                    8,
                )),
            },
            TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
            },
        ]);
        let names: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{:?}: {}", p.role, p.program_name()))
            .collect();
        for (part, name) in self.parts.iter().zip(&names) {
            let ch = u4::new(part.channel);
            let mut events: Vec<(u64, MidiMessage)> = Vec::with_capacity(part.notes.len() * 2);
            for n in &part.notes {
                let a = (n.start * TICKS_PER_STEP).round().max(0.0) as u64;
                let b = ((n.start + n.len) * TICKS_PER_STEP)
                    .round()
                    .max(a as f64 + 1.0) as u64;
                events.push((
                    a,
                    MidiMessage::NoteOn {
                        key: u7::new(n.key),
                        vel: u7::new(n.velocity.clamp(1, 127)),
                    },
                ));
                events.push((
                    b,
                    MidiMessage::NoteOff {
                        key: u7::new(n.key),
                        vel: u7::new(0),
                    },
                ));
            }
            let mut track = vec![TrackEvent {
                delta: u28::new(0),
                kind: TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
            }];
            if !part.is_drum() {
                track.push(TrackEvent {
                    delta: u28::new(0),
                    kind: TrackEventKind::Midi {
                        channel: ch,
                        message: MidiMessage::ProgramChange {
                            program: u7::new(part.program as u8),
                        },
                    },
                });
            }
            push_channel_events(&mut track, ch, events);
            tracks.push(track);
        }
        let smf = Smf {
            header: Header::new(Format::Parallel, Timing::Metrical(u15::new(480))),
            tracks,
        };
        let mut bytes = Vec::new();
        smf.write_std(&mut bytes)
            .expect("writing MIDI to memory cannot fail");
        bytes
    }
}
