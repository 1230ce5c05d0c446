//! Per-class on/off decisions with hysteresis: a class turns on when its probability reaches its
//! threshold and off only when it falls `hysteresis` below it, so a probability hovering at the
//! threshold does not chatter. Drives MIDI note-on/off and the GUI's "present" state.

use super::shared::MAX_CLASSES;

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateEvent {
    On(usize),
    Off(usize),
}

/// The on/off state of every class.
#[derive(Debug, Clone)]
pub struct ClassGate {
    on: [bool; MAX_CLASSES],
}

impl Default for ClassGate {
    fn default() -> Self {
        Self {
            on: [false; MAX_CLASSES],
        }
    }
}

impl ClassGate {
    pub fn is_on(&self, k: usize) -> bool {
        self.on.get(k).copied().unwrap_or(false)
    }

    /// Updates from probabilities and per-class thresholds; calls `emit` for each change.
    pub fn update(
        &mut self,
        probabilities: &[f32],
        thresholds: &[f32],
        hysteresis: f32,
        mut emit: impl FnMut(GateEvent),
    ) {
        for (k, (&p, &t)) in probabilities
            .iter()
            .zip(thresholds)
            .enumerate()
            .take(MAX_CLASSES)
        {
            if !self.on[k] && p >= t {
                self.on[k] = true;
                emit(GateEvent::On(k));
            } else if self.on[k] && p < t - hysteresis {
                self.on[k] = false;
                emit(GateEvent::Off(k));
            }
        }
    }

    /// Turns everything off (deactivation, bypass), reporting what was on.
    pub fn release_all(&mut self, mut emit: impl FnMut(GateEvent)) {
        for k in 0..MAX_CLASSES {
            if self.on[k] {
                self.on[k] = false;
                emit(GateEvent::Off(k));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_stops_chatter() {
        let mut g = ClassGate::default();
        let mut events = Vec::new();
        for p in [0.4, 0.55, 0.48, 0.52, 0.44, 0.2] {
            g.update(&[p], &[0.5], 0.05, |e| events.push(e));
        }
        assert_eq!(events, vec![GateEvent::On(0), GateEvent::Off(0)]);
        g.update(&[0.9, 0.9], &[0.5, 0.5], 0.05, |_| {});
        let mut off = Vec::new();
        g.release_all(|e| off.push(e));
        assert_eq!(off, vec![GateEvent::Off(0), GateEvent::Off(1)]);
    }
}
