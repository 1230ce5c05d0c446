//! Per-class on/off decisions with hysteresis: a class turns on when its probability reaches its
//! threshold and off only when it falls `hysteresis` below it, so a probability hovering at the
//! threshold does not chatter. The worker runs it on every analysis and publishes its decision
//! with the probabilities ([`super::Analysis::present`]): the GUI's lights and the MIDI notes read
//! that one decision.

use super::shared::MAX_CLASSES;

/// The on/off state of every class, one bit per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassGate {
    on: u32,
}

impl ClassGate {
    pub fn is_on(&self, k: usize) -> bool {
        k < MAX_CLASSES && self.on & (1 << k) != 0
    }

    /// Bit `k` set while class `k` is on.
    pub fn mask(&self) -> u32 {
        self.on
    }

    /// Updates from probabilities and the threshold of each class (`threshold(k)`); returns the
    /// new state.
    pub fn update(
        &mut self,
        probabilities: &[f32],
        threshold: impl Fn(usize) -> f32,
        hysteresis: f32,
    ) -> u32 {
        for (k, &p) in probabilities.iter().enumerate().take(MAX_CLASSES) {
            let t = threshold(k);
            let bit = 1u32 << k;
            if self.on & bit == 0 && p >= t {
                self.on |= bit;
            } else if self.on & bit != 0 && p < t - hysteresis {
                self.on &= !bit;
            }
        }
        self.on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_stops_chatter() {
        let mut g = ClassGate::default();
        let states: Vec<bool> = [0.4, 0.55, 0.48, 0.52, 0.44, 0.2]
            .iter()
            .map(|&p| g.update(&[p], |_| 0.5, 0.05) & 1 != 0)
            .collect();
        assert_eq!(states, [false, true, true, true, false, false]);
    }

    #[test]
    fn each_class_has_its_own_threshold_and_bit() {
        let mut g = ClassGate::default();
        let thresholds = [0.3, 0.6, 0.9];
        assert_eq!(g.update(&[0.5, 0.5, 0.95], |k| thresholds[k], 0.05), 0b101);
        assert!(g.is_on(0) && !g.is_on(1) && g.is_on(2));
        assert_eq!(g.update(&[0.1, 0.7, 0.88], |k| thresholds[k], 0.05), 0b110);
        assert_eq!(g.mask(), 0b110);
        assert!(!g.is_on(40));
    }
}
