//! What the worker publishes and the audio thread and the GUI read: latest probabilities, a
//! history ring of past analyses, and counters. Only atomics: readers never lock and never wait.
//! A reader may see an analysis half-written (some classes new, some old); for meters that is
//! harmless, and the history's per-entry sequence number lets the GUI skip an entry being written.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use atomic_float::{AtomicF32, AtomicF64};

/// Most classes a model may have here.
pub const MAX_CLASSES: usize = 32;
/// Analyses kept in the history: 30 s at the shortest hop (50 ms) is 600.
pub const HISTORY_LEN: usize = 1024;

/// State shared between the audio thread, the worker and the GUI.
pub struct Shared {
    n_classes: AtomicUsize,
    latest: [AtomicF32; MAX_CLASSES],
    history: Box<[AtomicF32]>,
    /// Stream time of each history entry, seconds.
    history_time: Box<[AtomicF64]>,
    /// Analyses published so far; entry `i` lives at `i % HISTORY_LEN`.
    analyses: AtomicU64,
    /// Input blocks the audio thread had to drop because the worker was behind.
    dropped_blocks: AtomicU64,
    /// Mean time of the last analyses, microseconds.
    inference_us: AtomicF32,
    /// Audio seconds the worker has processed.
    stream_seconds: AtomicF64,
    /// Resets the audio thread has asked for (host transport jumps, loops): the stream the
    /// audio thread is sending now.
    requested_epoch: AtomicU64,
    /// The stream the latest published analysis belongs to.
    published_epoch: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    pub fn new() -> Self {
        Self {
            n_classes: AtomicUsize::new(0),
            latest: std::array::from_fn(|_| AtomicF32::new(0.0)),
            history: (0..HISTORY_LEN * MAX_CLASSES)
                .map(|_| AtomicF32::new(0.0))
                .collect(),
            history_time: (0..HISTORY_LEN).map(|_| AtomicF64::new(0.0)).collect(),
            analyses: AtomicU64::new(0),
            dropped_blocks: AtomicU64::new(0),
            inference_us: AtomicF32::new(0.0),
            stream_seconds: AtomicF64::new(0.0),
            requested_epoch: AtomicU64::new(0),
            published_epoch: AtomicU64::new(0),
        }
    }

    /// Classes in the running model (0 before the first activation).
    pub fn n_classes(&self) -> usize {
        self.n_classes.load(Ordering::Relaxed)
    }

    pub(crate) fn set_n_classes(&self, n: usize) {
        self.n_classes.store(n.min(MAX_CLASSES), Ordering::Relaxed);
    }

    /// The latest probability of class `k`.
    pub fn probability(&self, k: usize) -> f32 {
        self.latest
            .get(k)
            .map_or(0.0, |a| a.load(Ordering::Relaxed))
    }

    /// Copies the latest probabilities into `out` (as many as fit): zeros while the analysis
    /// of the stream since the last reset has not published yet.
    pub fn latest_into(&self, out: &mut [f32]) {
        if self.published_epoch.load(Ordering::Acquire)
            != self.requested_epoch.load(Ordering::Relaxed)
        {
            out.fill(0.0);
            return;
        }
        for (o, a) in out.iter_mut().zip(&self.latest) {
            *o = a.load(Ordering::Relaxed);
        }
    }

    /// The audio thread starts a new stream (a reset); returns its number.
    pub(crate) fn request_new_stream(&self) -> u64 {
        self.requested_epoch.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The stream the audio thread is sending now.
    pub(crate) fn requested_epoch(&self) -> u64 {
        self.requested_epoch.load(Ordering::Relaxed)
    }

    /// Publishes one analysis (worker only).
    pub(crate) fn publish(&self, time: f64, probabilities: &[f32], inference_us: f32, epoch: u64) {
        let i = self.analyses.load(Ordering::Relaxed);
        let slot = (i as usize) % HISTORY_LEN;
        for (k, &p) in probabilities.iter().take(MAX_CLASSES).enumerate() {
            self.latest[k].store(p, Ordering::Relaxed);
            self.history[slot * MAX_CLASSES + k].store(p, Ordering::Relaxed);
        }
        self.history_time[slot].store(time, Ordering::Relaxed);
        let avg = self.inference_us.load(Ordering::Relaxed);
        let avg = if i == 0 {
            inference_us
        } else {
            0.9 * avg + 0.1 * inference_us
        };
        self.inference_us.store(avg, Ordering::Relaxed);
        self.published_epoch.store(epoch, Ordering::Release);
        // Release: a reader that sees the new count sees the entry's values.
        self.analyses.store(i + 1, Ordering::Release);
    }

    /// A new stream starts (the engine was started again, perhaps at another rate): the latest
    /// probabilities fall to zero and the history of the last stream, whose times restart from
    /// zero, is hidden. The analysis count keeps growing (readers key on it).
    pub(crate) fn begin_stream(&self) {
        for a in &self.latest {
            a.store(0.0, Ordering::Relaxed);
        }
        for t in self.history_time.iter() {
            t.store(f64::NEG_INFINITY, Ordering::Relaxed);
        }
        self.stream_seconds.store(0.0, Ordering::Relaxed);
    }

    pub(crate) fn set_stream_seconds(&self, s: f64) {
        self.stream_seconds.store(s, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_block(&self) {
        self.dropped_blocks.fetch_add(1, Ordering::Relaxed);
    }

    /// Analyses published since the plugin was created.
    pub fn analyses(&self) -> u64 {
        self.analyses.load(Ordering::Acquire)
    }

    pub fn dropped_blocks(&self) -> u64 {
        self.dropped_blocks.load(Ordering::Relaxed)
    }

    /// Smoothed time per analysis, microseconds.
    pub fn inference_us(&self) -> f32 {
        self.inference_us.load(Ordering::Relaxed)
    }

    /// Seconds of audio the worker has analysed since activation.
    pub fn stream_seconds(&self) -> f64 {
        self.stream_seconds.load(Ordering::Relaxed)
    }

    /// Calls `f(time, probabilities)` for the history entries newer than `since_seconds` before the
    /// latest, oldest first; `scratch` holds one entry (at least `n_classes` long). Entries being
    /// overwritten while read are skipped.
    pub fn history(&self, since_seconds: f64, scratch: &mut [f32], mut f: impl FnMut(f64, &[f32])) {
        let n = self.n_classes().min(scratch.len());
        let end = self.analyses();
        if end == 0 {
            return;
        }
        let newest = self.history_time[((end - 1) as usize) % HISTORY_LEN].load(Ordering::Relaxed);
        let start = end.saturating_sub(HISTORY_LEN as u64 - 1);
        for i in start..end {
            let slot = (i as usize) % HISTORY_LEN;
            let t = self.history_time[slot].load(Ordering::Relaxed);
            // Entries of an earlier stream are hidden by a time of -∞.
            if !t.is_finite() || t < newest - since_seconds {
                continue;
            }
            for (k, s) in scratch.iter_mut().take(n).enumerate() {
                *s = self.history[slot * MAX_CLASSES + k].load(Ordering::Relaxed);
            }
            // The writer moved past this slot while we read it: skip the torn entry.
            if self.analyses.load(Ordering::Acquire) >= i + HISTORY_LEN as u64 {
                continue;
            }
            f(t, &scratch[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history_of(shared: &Shared) -> Vec<(f64, Vec<f32>)> {
        let mut scratch = [0.0; MAX_CLASSES];
        let mut seen = Vec::new();
        shared.history(30.0, &mut scratch, |t, p| seen.push((t, p.to_vec())));
        seen
    }

    #[test]
    fn a_new_stream_starts_from_zero_with_an_empty_history() {
        let shared = Shared::new();
        shared.set_n_classes(2);
        shared.publish(1.0, &[0.9, 0.1], 10.0, 0);
        shared.publish(1.25, &[0.8, 0.2], 10.0, 0);
        assert_eq!(history_of(&shared).len(), 2);
        assert_eq!(shared.probability(0), 0.8);

        shared.begin_stream();
        assert_eq!(shared.probability(0), 0.0);
        assert!(history_of(&shared).is_empty());
        assert_eq!(shared.analyses(), 2, "the count keeps growing");

        // The new stream's times restart at zero; only its entries show.
        shared.publish(0.25, &[0.3, 0.7], 10.0, 0);
        assert_eq!(history_of(&shared), vec![(0.25, vec![0.3, 0.7])]);
    }
}
