//! Per-class MIDI CC output: each class's probability, smoothed, as a 7-bit controller value, so
//! that a DAW records the activity as automation. Plain state, no host types: `process()` feeds
//! it and sends what it asks for, and the unit tests below drive it alone.
//!
//! A value is sent only for a new analysis (so at most once per analysis hop and class) and only
//! when it differs from the last value sent on that controller by at least one step. A value the
//! host could not take is offered again on the next call, so the host ends on the latest value.

use instrunet_model::realtime::MAX_CLASSES;

/// The highest controller number a class may use: 120-127 are channel mode messages (all
/// sound off, reset controllers, all notes off, ...), which a value would trigger.
pub const MAX_CC: u8 = 119;

/// A controller change to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcEvent {
    /// MIDI channel, 0-15.
    pub channel: u8,
    pub cc: u8,
    /// 0-127.
    pub value: u8,
}

#[derive(Debug, Clone)]
pub struct CcOutput {
    /// Smoothed probability per class.
    smoothed: [f32; MAX_CLASSES],
    /// What the host last took per class.
    sent: [Option<CcEvent>; MAX_CLASSES],
    /// Classes whose latest value the host refused: offered again on the next call.
    refused: [bool; MAX_CLASSES],
    /// The analysis count at the last update; `None` before the first one.
    seen_analyses: Option<u64>,
}

impl Default for CcOutput {
    fn default() -> Self {
        Self {
            smoothed: [0.0; MAX_CLASSES],
            sent: [None; MAX_CLASSES],
            refused: [false; MAX_CLASSES],
            seen_analyses: None,
        }
    }
}

impl CcOutput {
    /// Forgets everything: the next analysis starts the smoothing afresh and every value is
    /// sent again. Also what turning the output off does, so that turning it on sends every
    /// class's value at the next analysis.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Updates from the engine's state and offers changes to `send`, which returns whether the
    /// host took the event. `analyses` is the engine's analysis count; `probabilities` the
    /// latest analysis; `hop_seconds` the time between analyses; `smoothing_seconds` the time
    /// constant of the one-pole smoothing (0: none); `ccs` the controller of each class.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        analyses: u64,
        probabilities: &[f32],
        hop_seconds: f32,
        smoothing_seconds: f32,
        channel: u8,
        ccs: &[u8],
        mut send: impl FnMut(CcEvent) -> bool,
    ) {
        let n = probabilities.len().min(ccs.len()).min(MAX_CLASSES);
        let new_analysis = match self.seen_analyses {
            // Nothing analysed yet: nothing to say.
            None if analyses == 0 => return,
            None => {
                for (s, &p) in self.smoothed[..n].iter_mut().zip(probabilities) {
                    *s = p.clamp(0.0, 1.0);
                }
                true
            }
            Some(seen) if analyses > seen => {
                // Several analyses since the last call: the latest stands for all of them.
                let steps = (analyses - seen).min(1_000) as f32;
                let keep = if smoothing_seconds > 0.0 {
                    (-(hop_seconds.max(0.0) * steps) / smoothing_seconds).exp()
                } else {
                    0.0
                };
                for (s, &p) in self.smoothed[..n].iter_mut().zip(probabilities) {
                    *s = keep * *s + (1.0 - keep) * p.clamp(0.0, 1.0);
                }
                true
            }
            // A new stream restarted the count: start afresh at its next analysis.
            Some(seen) if analyses < seen => {
                self.reset();
                return;
            }
            Some(_) => false,
        };
        self.seen_analyses = Some(analyses);
        for (k, &cc) in ccs.iter().enumerate().take(n) {
            if !new_analysis && !self.refused[k] {
                continue;
            }
            let want = CcEvent {
                channel: channel.min(15),
                cc: cc.min(MAX_CC),
                value: (self.smoothed[k] * 127.0).round() as u8,
            };
            if self.sent[k] == Some(want) {
                self.refused[k] = false;
                continue;
            }
            let taken = send(want);
            self.refused[k] = !taken;
            if taken {
                self.sent[k] = Some(want);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `update` and returns what was sent; `accept` says whether the host takes events.
    fn step(
        out: &mut CcOutput,
        analyses: u64,
        p: &[f32],
        smoothing: f32,
        ccs: &[u8],
        accept: bool,
    ) -> Vec<CcEvent> {
        let mut got = Vec::new();
        out.update(analyses, p, 0.25, smoothing, 2, ccs, |e| {
            got.push(e);
            accept
        });
        if accept { got } else { Vec::new() }
    }

    #[test]
    fn values_go_out_once_per_analysis_and_only_when_they_change_by_a_step() {
        let mut out = CcOutput::default();
        let ccs = [102, 103];
        assert!(step(&mut out, 0, &[0.9, 0.1], 0.0, &ccs, true).is_empty());
        let first = step(&mut out, 1, &[0.9, 0.1], 0.0, &ccs, true);
        assert_eq!(
            first,
            vec![
                CcEvent {
                    channel: 2,
                    cc: 102,
                    value: 114
                },
                CcEvent {
                    channel: 2,
                    cc: 103,
                    value: 13
                }
            ]
        );
        // The same analysis again (the next block): nothing.
        assert!(step(&mut out, 1, &[0.2, 0.2], 0.0, &ccs, true).is_empty());
        // Less than one step of change: nothing; a step: that class only.
        assert!(step(&mut out, 2, &[0.9 + 0.001, 0.1], 0.0, &ccs, true).is_empty());
        assert_eq!(
            step(&mut out, 3, &[0.9, 0.11], 0.0, &ccs, true),
            vec![CcEvent {
                channel: 2,
                cc: 103,
                value: 14
            }]
        );
        // Out-of-range probabilities stay in 0-127; controllers stay off the mode messages.
        let sent = step(&mut out, 4, &[7.0, -1.0], 0.0, &[127, 126], true);
        assert_eq!(
            sent,
            vec![
                CcEvent {
                    channel: 2,
                    cc: MAX_CC,
                    value: 127
                },
                CcEvent {
                    channel: 2,
                    cc: MAX_CC,
                    value: 0
                }
            ]
        );
    }

    #[test]
    fn smoothing_follows_a_class_entering_and_leaving_without_jumps() {
        let mut out = CcOutput::default();
        let mut values = Vec::new();
        let mut analyses = 0;
        for p in [0.0f32; 4].iter().chain(&[1.0; 12]).chain(&[0.0; 12]) {
            analyses += 1;
            for e in step(&mut out, analyses, &[*p], 0.5, &[20], true) {
                values.push(e.value);
            }
        }
        let peak = values
            .iter()
            .position(|&v| v == *values.iter().max().unwrap());
        let (rise, fall) = values.split_at(peak.unwrap() + 1);
        assert!(rise.windows(2).all(|w| w[0] < w[1]), "{values:?}");
        assert!(fall.windows(2).all(|w| w[0] > w[1]), "{values:?}");
        assert!(
            *rise.last().unwrap() >= 126 && *fall.last().unwrap() <= 1,
            "{values:?}"
        );
        // One hop (0.25 s) of a 0.5 s time constant moves 1 - e^-0.5 = 39 % of the way.
        assert_eq!(rise[1], (127.0 * (1.0 - (-0.5f32).exp())).round() as u8);
    }

    #[test]
    fn a_refused_value_is_offered_again_and_a_new_stream_starts_afresh() {
        let mut out = CcOutput::default();
        assert!(step(&mut out, 1, &[0.5], 0.0, &[1], false).is_empty());
        // Between analyses, only the refused value is offered again, until the host takes it.
        assert_eq!(step(&mut out, 1, &[0.5], 0.0, &[1], true).len(), 1);
        assert!(step(&mut out, 1, &[0.5], 0.0, &[1], true).is_empty());
        // A lower count is a new stream: nothing until its next analysis, then everything.
        assert!(step(&mut out, 0, &[0.5], 0.0, &[1], true).is_empty());
        assert_eq!(step(&mut out, 1, &[0.5], 0.0, &[1], true).len(), 1);
        // After a reset (the output turned off and on) every value goes out again.
        out.reset();
        assert_eq!(step(&mut out, 2, &[0.5], 0.0, &[1], true).len(), 1);
        // A new channel or controller with the same value is sent too.
        let mut got = Vec::new();
        out.update(3, &[0.5], 0.25, 0.0, 9, &[1], |e| {
            got.push(e);
            true
        });
        assert_eq!(
            got,
            vec![CcEvent {
                channel: 9,
                cc: 1,
                value: 64
            }]
        );
    }
}
