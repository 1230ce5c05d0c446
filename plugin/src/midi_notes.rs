//! Per-class MIDI notes: a note sounds while its class is present. Plain state, no host types:
//! `process()` feeds it the engine's published "present" bits and sends what it asks for, and the
//! unit tests below drive it alone.
//!
//! The notes that sound are reconciled with the wanted ones on every call, so a note the host
//! could not take is sent again on the next call, and a changed note number or channel ends the
//! old note before the new one starts (a note-off always matches its note-on).

use instrunet_model::realtime::MAX_CLASSES;

/// A note to start or end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteMessage {
    pub on: bool,
    /// MIDI channel, 0-15.
    pub channel: u8,
    pub key: u8,
}

/// The note each class has sounding.
#[derive(Debug, Clone, Default)]
pub struct NoteOutput {
    /// (channel, key) of the note sounding for each class.
    sounding: [Option<(u8, u8)>; MAX_CLASSES],
}

impl NoteOutput {
    /// Forgets the sounding notes without ending them (the host ended them: deactivation).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// Whether class `k` has a note sounding.
    pub fn is_sounding(&self, k: usize) -> bool {
        self.sounding.get(k).is_some_and(Option::is_some)
    }

    /// Brings the sounding notes in line with `present` (bit `k`: class `k` present) for the
    /// classes that have a key in `keys`; with `enabled` false, every note ends. `send` returns
    /// whether the host took the message.
    pub fn update(
        &mut self,
        present: u32,
        enabled: bool,
        channel: u8,
        keys: &[u8],
        mut send: impl FnMut(NoteMessage) -> bool,
    ) {
        let channel = channel.min(15);
        for k in 0..MAX_CLASSES {
            let key = keys.get(k).map(|&key| key.min(127));
            let wanted = match key {
                Some(key) if enabled && present & (1 << k) != 0 => Some((channel, key)),
                _ => None,
            };
            if self.sounding[k] == wanted {
                continue;
            }
            if let Some((channel, key)) = self.sounding[k] {
                let off = NoteMessage {
                    on: false,
                    channel,
                    key,
                };
                if !send(off) {
                    // Try again next call; the new note waits for its old one to end.
                    continue;
                }
                self.sounding[k] = None;
            }
            if let Some((channel, key)) = wanted
                && send(NoteMessage {
                    on: true,
                    channel,
                    key,
                })
            {
                self.sounding[k] = wanted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(channel: u8, key: u8) -> NoteMessage {
        NoteMessage {
            on: true,
            channel,
            key,
        }
    }
    fn off(channel: u8, key: u8) -> NoteMessage {
        NoteMessage {
            on: false,
            channel,
            key,
        }
    }

    /// Runs `update` with a host that takes everything; returns what was sent.
    fn step(
        out: &mut NoteOutput,
        present: u32,
        enabled: bool,
        channel: u8,
        keys: &[u8],
    ) -> Vec<NoteMessage> {
        let mut sent = Vec::new();
        out.update(present, enabled, channel, keys, |m| {
            sent.push(m);
            true
        });
        sent
    }

    #[test]
    fn a_note_sounds_exactly_while_its_class_is_present() {
        let mut out = NoteOutput::default();
        let keys = [36, 37, 38];
        assert_eq!(
            step(&mut out, 0b101, true, 0, &keys),
            [on(0, 36), on(0, 38)]
        );
        // The same state again: nothing.
        assert!(step(&mut out, 0b101, true, 0, &keys).is_empty());
        assert_eq!(
            step(&mut out, 0b110, true, 0, &keys),
            [off(0, 36), on(0, 37)]
        );
        assert!(!out.is_sounding(0) && out.is_sounding(1) && out.is_sounding(2));
        // Classes without a key (beyond the configurable ones) never sound.
        assert_eq!(
            step(&mut out, 0b1000, true, 0, &keys),
            [off(0, 37), off(0, 38)]
        );
    }

    #[test]
    fn disabled_or_bypassed_every_note_ends_and_comes_back_when_enabled() {
        let mut out = NoteOutput::default();
        let keys = [36, 37];
        step(&mut out, 0b11, true, 4, &keys);
        assert_eq!(
            step(&mut out, 0b11, false, 4, &keys),
            [off(4, 36), off(4, 37)]
        );
        assert!(step(&mut out, 0b11, false, 4, &keys).is_empty());
        assert_eq!(step(&mut out, 0b11, true, 4, &keys), [on(4, 36), on(4, 37)]);
    }

    #[test]
    fn a_new_key_or_channel_ends_the_old_note_first() {
        let mut out = NoteOutput::default();
        step(&mut out, 0b1, true, 0, &[36]);
        assert_eq!(step(&mut out, 0b1, true, 0, &[48]), [off(0, 36), on(0, 48)]);
        assert_eq!(step(&mut out, 0b1, true, 9, &[48]), [off(0, 48), on(9, 48)]);
        // Out-of-range values are clamped to MIDI's.
        assert_eq!(
            step(&mut out, 0b1, true, 200, &[255]),
            [off(9, 48), on(15, 127)]
        );
    }

    #[test]
    fn a_message_the_host_refused_is_sent_again_and_offs_match_ons() {
        let mut out = NoteOutput::default();
        // The host's queue is full: nothing sounds, so nothing is recorded as sounding.
        out.update(0b1, true, 0, &[36], |_| false);
        assert!(!out.is_sounding(0));
        assert_eq!(step(&mut out, 0b1, true, 0, &[36]), [on(0, 36)]);
        // The note-off is refused while the key changes: the old note stays recorded, and the
        // new one waits for it.
        let mut offered = Vec::new();
        out.update(0b1, true, 0, &[40], |m| {
            offered.push(m);
            false
        });
        assert_eq!(offered, [off(0, 36)]);
        assert_eq!(step(&mut out, 0b1, true, 0, &[40]), [off(0, 36), on(0, 40)]);
        // After deactivation the host ended the notes: nothing to end.
        out.forget();
        assert!(step(&mut out, 0, true, 0, &[40]).is_empty());
    }
}
