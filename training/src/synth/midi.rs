//! Reading and writing MIDI: a standard MIDI file split into stems of notes in seconds, and stems
//! written back as MIDI (the `MIDI/` folder of a rendered track, the composer's tracks).

use std::collections::BTreeMap;
use std::path::Path;

use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

/// One note, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    pub start: f64,
    pub end: f64,
    pub key: u8,
    pub velocity: u8,
}

/// The notes of one instrument: a (channel, program) pair of the source MIDI.
#[derive(Debug, Clone, PartialEq)]
pub struct StemNotes {
    pub channel: u8,
    /// 0-127; 128 for the drum channel (10).
    pub program: u32,
    pub is_drum: bool,
    pub notes: Vec<Note>,
}

/// Splits a standard MIDI file into stems (one per channel and program; channel 10 is drums),
/// converting ticks to seconds through the file's tempo map.
pub fn stems_from_midi(bytes: &[u8]) -> Result<Vec<StemNotes>, String> {
    split_midi(bytes, false)
}

/// Like [`stems_from_midi`], but one stem per (MIDI track, channel, program): for files whose
/// parts share a channel and a program (score exports write every voice as channel 1 piano).
/// Stems get distinct channels, in order, skipping the drum channel for melodic ones.
pub fn stems_from_midi_tracks(bytes: &[u8]) -> Result<Vec<StemNotes>, String> {
    let mut stems = split_midi(bytes, true)?;
    let mut next = 0u8;
    for stem in &mut stems {
        if stem.is_drum {
            stem.channel = 9;
        } else {
            if next == 9 {
                next += 1;
            }
            stem.channel = next.min(15);
            next = next.saturating_add(1);
        }
    }
    Ok(stems)
}

fn split_midi(bytes: &[u8], by_track: bool) -> Result<Vec<StemNotes>, String> {
    let smf = Smf::parse(bytes).map_err(|e| format!("not a MIDI file: {e}"))?;
    let ticks_per_beat = match smf.header.timing {
        Timing::Metrical(t) => t.as_int() as f64,
        Timing::Timecode(..) => return Err("SMPTE-timed MIDI files are not supported".into()),
    };
    let mut events = Vec::new();
    for (t, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            events.push((tick, events.len(), if by_track { t } else { 0 }, ev.kind));
        }
    }
    events.sort_by_key(|&(tick, order, _, _)| (tick, order));
    let (mut last_tick, mut seconds, mut us_per_beat) = (0u64, 0.0f64, 500_000.0f64);
    let mut program = [0u32; 16];
    // Notes sounding, by (channel, key): (start seconds, velocity, program), oldest first.
    type Sounding = Vec<(f64, u8, u32)>;
    let mut open: BTreeMap<(usize, u8, u8), Sounding> = BTreeMap::new();
    let mut stems: BTreeMap<(usize, u8, u32), Vec<Note>> = BTreeMap::new();
    for (tick, _, track, kind) in events {
        seconds += (tick - last_tick) as f64 * us_per_beat / ticks_per_beat / 1e6;
        last_tick = tick;
        match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(t)) => us_per_beat = t.as_int() as f64,
            TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                match message {
                    MidiMessage::ProgramChange { program: p } => {
                        program[ch as usize] = p.as_int() as u32
                    }
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        let prog = if ch == 9 { 128 } else { program[ch as usize] };
                        open.entry((track, ch, key.as_int())).or_default().push((
                            seconds,
                            vel.as_int(),
                            prog,
                        ));
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        if let Some(stack) = open.get_mut(&(track, ch, key.as_int()))
                            && !stack.is_empty()
                        {
                            let (start, velocity, prog) = stack.remove(0);
                            stems.entry((track, ch, prog)).or_default().push(Note {
                                start,
                                end: seconds,
                                key: key.as_int(),
                                velocity,
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // Notes never switched off end with the file.
    for ((track, ch, key), stack) in open {
        for (start, velocity, prog) in stack {
            stems.entry((track, ch, prog)).or_default().push(Note {
                start,
                end: seconds.max(start + 0.1),
                key,
                velocity,
            });
        }
    }
    Ok(stems
        .into_iter()
        .filter(|(_, notes)| !notes.is_empty())
        .map(|((_, channel, program), mut notes)| {
            notes.sort_by(|a, b| a.start.total_cmp(&b.start));
            StemNotes {
                channel,
                program,
                is_drum: channel == 9,
                notes,
            }
        })
        .collect())
}

/// A one-track MIDI file of a stem's notes.
pub(super) fn write_stem_midi(path: &Path, stem: &StemNotes) -> Result<(), String> {
    std::fs::write(path, stems_to_midi(std::slice::from_ref(stem)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A MIDI file of stems, one track each on the stem's channel (480 ticks per beat at 120 bpm:
/// 960 ticks per second).
pub fn stems_to_midi(stems: &[StemNotes]) -> Vec<u8> {
    use midly::Format;
    let tracks: Vec<_> = stems.iter().map(stem_track).collect();
    let smf = Smf {
        header: midly::Header::new(
            if tracks.len() == 1 {
                Format::SingleTrack
            } else {
                Format::Parallel
            },
            Timing::Metrical(midly::num::u15::new(480)),
        ),
        tracks,
    };
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing MIDI to memory cannot fail");
    bytes
}

fn stem_track(stem: &StemNotes) -> Vec<midly::TrackEvent<'static>> {
    use midly::num::{u4, u7};
    let ch = u4::new(stem.channel.min(15));
    let mut events: Vec<(u64, MidiMessage)> = Vec::new();
    if !stem.is_drum {
        events.push((
            0,
            MidiMessage::ProgramChange {
                program: u7::new(stem.program as u8),
            },
        ));
    }
    for n in &stem.notes {
        let a = (n.start * 960.0) as u64;
        let b = ((n.end * 960.0) as u64).max(a + 1);
        events.push((
            a,
            MidiMessage::NoteOn {
                key: u7::new(n.key),
                vel: u7::new(n.velocity.max(1)),
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
    let mut track = Vec::with_capacity(events.len() + 1);
    push_channel_events(&mut track, ch, events);
    track
}

/// Appends one channel's timed messages (ticks from the track's start) to a MIDI track: in time
/// order with note-offs before note-ons at the same tick, so that a repeated note restarts;
/// delta-encoded; then the end of the track.
pub(crate) fn push_channel_events<'a>(
    track: &mut Vec<midly::TrackEvent<'a>>,
    channel: midly::num::u4,
    mut events: Vec<(u64, MidiMessage)>,
) {
    use midly::TrackEvent;
    use midly::num::u28;
    // A stable sort: messages at one tick that are not note-ons keep their order.
    events.sort_by_key(|(t, m)| (*t, matches!(m, MidiMessage::NoteOn { .. })));
    let mut last = 0u64;
    for (t, message) in events {
        track.push(TrackEvent {
            delta: u28::new((t - last) as u32),
            kind: TrackEventKind::Midi { channel, message },
        });
        last = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
}
