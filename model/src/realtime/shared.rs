//! What the worker publishes and the audio thread and the GUI read, and the settings they pass
//! the other way. Only atomics: readers never lock and never wait.
//!
//! - Facts of the running model, set once per activation: class count, each class's threshold
//!   from the weights file, the window length.
//! - Settings the audio thread copies from the plugin's parameters and the worker reads: the
//!   analysis hop and the gate's thresholds and hysteresis ([`Shared::threshold`] is the one
//!   definition of a class's threshold).
//! - Analyses: a ring of the last [`HISTORY_LEN`], each with its probabilities and the gate's
//!   decision ("present", one bit per class). The latest analysis is the newest entry of the
//!   ring, so a meter, a light and a MIDI note all read the same decision.
//!
//! Each ring entry is a seqlock: the writer marks the entry odd before writing and even after,
//! and a reader keeps what it read only if the mark was the same even value before and after.
//! The fences make this hold on weakly ordered CPUs (ARM) too: the writer's release fence after
//! the odd mark and the reader's acquire fence before its second look at the mark mean that a
//! reader who saw any value of a newer write also sees that write's odd mark.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};

use atomic_float::{AtomicF32, AtomicF64};

use crate::spec::DEFAULT_THRESHOLD;

/// Most classes a model may have here (the gate's decisions are one bit per class of a `u32`).
pub const MAX_CLASSES: usize = 32;
/// Analyses kept in the history: more than 30 s at the shortest hop.
pub const HISTORY_LEN: usize = 1024;
const _: () = assert!(HISTORY_LEN as f32 * crate::stream::HOP_SECONDS_MIN > 30.0);

/// One analysis as published: the copy a reader gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Analysis {
    /// Its number among all analyses since the engine's state was made (0, 1, ...).
    pub index: u64,
    /// Stream time of the window's end, seconds since the stream began.
    pub time: f64,
    /// The gate's decision: bit `k` set while class `k` is present.
    pub present: u32,
    pub probabilities: [f32; MAX_CLASSES],
}

impl Default for Analysis {
    fn default() -> Self {
        Self {
            index: 0,
            time: 0.0,
            present: 0,
            probabilities: [0.0; MAX_CLASSES],
        }
    }
}

impl Analysis {
    pub fn is_present(&self, k: usize) -> bool {
        k < MAX_CLASSES && self.present & (1 << k) != 0
    }
}

/// A ring entry. `seq` is `2·(index + 1)` once analysis `index` is complete in it, odd while
/// it is being written.
struct Entry {
    seq: AtomicU64,
    epoch: AtomicU64,
    time: AtomicF64,
    present: AtomicU32,
    probabilities: [AtomicF32; MAX_CLASSES],
}

impl Entry {
    fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            time: AtomicF64::new(0.0),
            present: AtomicU32::new(0),
            probabilities: std::array::from_fn(|_| AtomicF32::new(0.0)),
        }
    }
}

/// State shared between the audio thread, the worker and the GUI.
pub struct Shared {
    n_classes: AtomicUsize,
    model_thresholds: [AtomicF32; MAX_CLASSES],
    window_seconds: AtomicF32,

    hop_seconds: AtomicF32,
    use_model_thresholds: AtomicBool,
    threshold: AtomicF32,
    hysteresis: AtomicF32,

    ring: Box<[Entry]>,
    /// Analyses published so far; analysis `i` lives at `i % ring.len()`.
    analyses: AtomicU64,
    /// Input blocks the audio thread had to drop because the worker was behind.
    dropped_blocks: AtomicU64,
    /// Mean time of the last analyses, microseconds.
    inference_us: AtomicF32,
    /// Audio seconds the worker has processed in this stream.
    stream_seconds: AtomicF64,
    /// The stream the audio thread is sending now: a new one at every start and every host
    /// reset. Readers see only analyses of this stream.
    requested_epoch: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    pub fn new() -> Self {
        Self::with_history_len(HISTORY_LEN)
    }

    fn with_history_len(len: usize) -> Self {
        Self {
            n_classes: AtomicUsize::new(0),
            model_thresholds: std::array::from_fn(|_| AtomicF32::new(DEFAULT_THRESHOLD)),
            window_seconds: AtomicF32::new(0.0),
            hop_seconds: AtomicF32::new(crate::stream::DEFAULT_HOP_SECONDS),
            use_model_thresholds: AtomicBool::new(true),
            threshold: AtomicF32::new(DEFAULT_THRESHOLD),
            hysteresis: AtomicF32::new(0.05),
            ring: (0..len.max(2)).map(|_| Entry::new()).collect(),
            analyses: AtomicU64::new(0),
            dropped_blocks: AtomicU64::new(0),
            inference_us: AtomicF32::new(0.0),
            stream_seconds: AtomicF64::new(0.0),
            requested_epoch: AtomicU64::new(0),
        }
    }

    // --- The running model -----------------------------------------------------------------

    /// Publishes the running model's facts (at the engine's start).
    pub(crate) fn set_model(&self, n_classes: usize, thresholds: &[f32], window_seconds: f32) {
        for (a, &t) in self.model_thresholds.iter().zip(thresholds) {
            a.store(t, Ordering::Relaxed);
        }
        self.window_seconds.store(window_seconds, Ordering::Relaxed);
        self.n_classes
            .store(n_classes.min(MAX_CLASSES), Ordering::Relaxed);
    }

    /// Classes in the running model (0 before the first activation).
    pub fn n_classes(&self) -> usize {
        self.n_classes.load(Ordering::Relaxed)
    }

    /// Class `k`'s threshold in the weights file.
    pub fn model_threshold(&self, k: usize) -> f32 {
        self.model_thresholds
            .get(k)
            .map_or(DEFAULT_THRESHOLD, |a| a.load(Ordering::Relaxed))
    }

    /// Seconds of audio in one model window: the delay before the first analysis.
    pub fn window_seconds(&self) -> f32 {
        self.window_seconds.load(Ordering::Relaxed)
    }

    // --- Settings (audio thread → worker) --------------------------------------------------

    pub fn set_hop_seconds(&self, seconds: f32) {
        self.hop_seconds.store(seconds, Ordering::Relaxed);
    }

    pub fn hop_seconds(&self) -> f32 {
        self.hop_seconds.load(Ordering::Relaxed)
    }

    /// The gate's settings: each class's threshold from the model, or `threshold` for all; a
    /// class present turns off only `hysteresis` below its threshold.
    pub fn set_gate(&self, use_model_thresholds: bool, threshold: f32, hysteresis: f32) {
        self.use_model_thresholds
            .store(use_model_thresholds, Ordering::Relaxed);
        self.threshold.store(threshold, Ordering::Relaxed);
        self.hysteresis.store(hysteresis, Ordering::Relaxed);
    }

    /// The threshold class `k` is judged by now.
    pub fn threshold(&self, k: usize) -> f32 {
        if self.use_model_thresholds.load(Ordering::Relaxed) {
            self.model_threshold(k)
        } else {
            self.threshold.load(Ordering::Relaxed)
        }
    }

    pub fn hysteresis(&self) -> f32 {
        self.hysteresis.load(Ordering::Relaxed)
    }

    // --- Streams ---------------------------------------------------------------------------

    /// A new stream starts (the engine starts, or the host reset the plugin): what was
    /// published before is hidden, and the latest analysis reads as none until the new stream
    /// publishes. Returns the new stream's number.
    pub(crate) fn request_new_stream(&self) -> u64 {
        self.requested_epoch.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The stream the audio thread is sending now.
    pub(crate) fn requested_epoch(&self) -> u64 {
        self.requested_epoch.load(Ordering::Relaxed)
    }

    // --- Analyses --------------------------------------------------------------------------

    /// Publishes one analysis of stream `epoch` (the worker only: one writer).
    pub(crate) fn publish(
        &self,
        time: f64,
        probabilities: &[f32],
        present: u32,
        inference_us: f32,
        epoch: u64,
    ) {
        let i = self.analyses.load(Ordering::Relaxed);
        let entry = &self.ring[(i % self.ring.len() as u64) as usize];
        entry.seq.store(2 * i + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        entry.epoch.store(epoch, Ordering::Relaxed);
        entry.time.store(time, Ordering::Relaxed);
        entry.present.store(present, Ordering::Relaxed);
        for (k, a) in entry.probabilities.iter().enumerate() {
            a.store(
                probabilities.get(k).copied().unwrap_or(0.0),
                Ordering::Relaxed,
            );
        }
        entry.seq.store(2 * i + 2, Ordering::Release);
        self.analyses.store(i + 1, Ordering::Release);

        let avg = self.inference_us.load(Ordering::Relaxed);
        let avg = if i == 0 {
            inference_us
        } else {
            0.9 * avg + 0.1 * inference_us
        };
        self.inference_us.store(avg, Ordering::Relaxed);
    }

    /// Reads analysis `index` into `out` with its stream number; false when the entry no
    /// longer (or not yet) holds it whole.
    fn read(&self, index: u64, out: &mut Analysis) -> Option<u64> {
        let entry = &self.ring[(index % self.ring.len() as u64) as usize];
        let before = entry.seq.load(Ordering::Acquire);
        if before != 2 * index + 2 {
            return None;
        }
        let epoch = entry.epoch.load(Ordering::Relaxed);
        out.index = index;
        out.time = entry.time.load(Ordering::Relaxed);
        out.present = entry.present.load(Ordering::Relaxed);
        for (o, a) in out.probabilities.iter_mut().zip(&entry.probabilities) {
            *o = a.load(Ordering::Relaxed);
        }
        fence(Ordering::Acquire);
        (entry.seq.load(Ordering::Relaxed) == before).then_some(epoch)
    }

    /// The latest analysis of the current stream into `out`; false (and `out` all zeros, nothing
    /// present) when the stream has published none yet. Never waits: when the writer laps the
    /// entry while it is read (only possible if this thread stalls for a whole ring of hops), it
    /// tries the newer one, a few times at most.
    pub fn latest(&self, out: &mut Analysis) -> bool {
        let epoch = self.requested_epoch();
        for _ in 0..4 {
            let count = self.analyses.load(Ordering::Acquire);
            if count == 0 {
                break;
            }
            match self.read(count - 1, out) {
                Some(e) if e == epoch => return true,
                Some(_) => break,
                None => continue,
            }
        }
        *out = Analysis::default();
        false
    }

    /// Calls `f` for the current stream's analyses from `since_seconds` before its latest one,
    /// oldest first. `scratch` holds one analysis at a time. Entries overwritten while read are
    /// skipped.
    pub fn history(
        &self,
        since_seconds: f64,
        scratch: &mut Analysis,
        mut f: impl FnMut(&Analysis),
    ) {
        let epoch = self.requested_epoch();
        let end = self.analyses.load(Ordering::Acquire);
        if !self.latest(scratch) {
            return;
        }
        let from = scratch.time - since_seconds;
        let start = end.saturating_sub(self.ring.len() as u64 - 1);
        for i in start..end {
            if self.read(i, scratch) == Some(epoch) && scratch.time >= from {
                f(scratch);
            }
        }
    }

    /// Analyses published since the engine's state was made (all streams).
    pub fn analyses(&self) -> u64 {
        self.analyses.load(Ordering::Acquire)
    }

    pub(crate) fn set_stream_seconds(&self, s: f64) {
        self.stream_seconds.store(s, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_block(&self) {
        self.dropped_blocks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dropped_blocks(&self) -> u64 {
        self.dropped_blocks.load(Ordering::Relaxed)
    }

    /// Smoothed time per analysis, microseconds.
    pub fn inference_us(&self) -> f32 {
        self.inference_us.load(Ordering::Relaxed)
    }

    /// Seconds of audio the worker has analysed in this stream.
    pub fn stream_seconds(&self) -> f64 {
        self.stream_seconds.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    fn history_of(shared: &Shared) -> Vec<(f64, u32, Vec<f32>)> {
        let mut scratch = Analysis::default();
        let mut seen = Vec::new();
        shared.history(30.0, &mut scratch, |a| {
            seen.push((a.time, a.present, a.probabilities[..2].to_vec()))
        });
        seen
    }

    #[test]
    fn a_new_stream_starts_with_nothing_and_shows_only_its_own_analyses() {
        let shared = Shared::new();
        shared.set_model(2, &[0.5, 0.5], 2.0);
        let mut a = Analysis::default();
        assert!(!shared.latest(&mut a), "nothing published yet");
        shared.publish(1.0, &[0.9, 0.1], 0b01, 10.0, 0);
        shared.publish(1.25, &[0.8, 0.2], 0b01, 10.0, 0);
        assert_eq!(history_of(&shared).len(), 2);
        assert!(shared.latest(&mut a));
        assert_eq!((a.index, a.probabilities[0], a.present), (1, 0.8, 1));
        assert!(a.is_present(0) && !a.is_present(1));

        let epoch = shared.request_new_stream();
        assert!(!shared.latest(&mut a));
        assert_eq!(
            a,
            Analysis::default(),
            "a reader sees zeros, nothing present"
        );
        assert!(history_of(&shared).is_empty());
        assert_eq!(shared.analyses(), 2, "the count keeps growing");

        // The new stream's times restart at zero; only its entries show.
        shared.publish(0.25, &[0.3, 0.7], 0b10, 10.0, epoch);
        assert_eq!(history_of(&shared), vec![(0.25, 0b10, vec![0.3, 0.7])]);
    }

    #[test]
    fn history_keeps_the_last_seconds_of_the_ring_oldest_first() {
        let shared = Shared::with_history_len(8);
        for i in 0..20 {
            shared.publish(i as f64, &[i as f32], 0, 1.0, 0);
        }
        let times: Vec<f64> = history_of(&shared).iter().map(|e| e.0).collect();
        // A ring of 8 keeps 7 whole entries (the oldest slot is the next to be written).
        assert_eq!(times, vec![13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]);
        let mut scratch = Analysis::default();
        let mut recent = Vec::new();
        shared.history(2.5, &mut scratch, |a| recent.push(a.time));
        assert_eq!(recent, vec![17.0, 18.0, 19.0]);
    }

    #[test]
    fn the_threshold_is_the_models_or_the_one_set_for_all() {
        let shared = Shared::new();
        shared.set_model(3, &[0.2, 0.4, 0.6], 2.0);
        assert_eq!(shared.threshold(1), 0.4);
        shared.set_gate(false, 0.7, 0.1);
        assert_eq!((shared.threshold(1), shared.hysteresis()), (0.7, 0.1));
        shared.set_gate(true, 0.7, 0.1);
        assert_eq!(shared.threshold(2), 0.6);
    }

    /// Analysis `i`'s values, all derived from `i`, so a reader can tell a torn read.
    fn values(i: u64) -> ([f32; MAX_CLASSES], u32) {
        (
            std::array::from_fn(|k| ((i * 37 + k as u64) % 1009) as f32),
            (i as u32).rotate_left(7),
        )
    }

    /// One thread publishes as fast as it can into a small ring (so that it laps readers all
    /// the time) while two read the latest analysis and the history; every analysis a reader
    /// keeps must be whole: all its values from the same write.
    #[test]
    fn readers_never_keep_a_torn_analysis_while_the_writer_laps_them() {
        let shared = Arc::new(Shared::with_history_len(4));
        let done = Arc::new(AtomicBool::new(false));
        // Each reader counts what it kept; the writer goes on until both have kept enough (on a
        // busy machine the readers may start late), within a cap.
        let kept: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        const MIN_WRITES: u64 = 300_000;
        const MIN_KEPT: u64 = 1_000;
        const MAX_WRITES: u64 = 200_000_000;
        let writer = {
            let (shared, done, kept) = (shared.clone(), done.clone(), kept.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while i < MIN_WRITES
                    || (i < MAX_WRITES && kept.iter().any(|k| k.load(Ordering::Relaxed) < MIN_KEPT))
                {
                    let (p, present) = values(i);
                    shared.publish(i as f64, &p, present, 1.0, 0);
                    i += 1;
                }
                done.store(true, Ordering::Release);
                i
            })
        };
        let check = |a: &Analysis| {
            let i = a.time as u64;
            assert_eq!(a.index, i, "index and time from different writes");
            let (p, present) = values(i);
            assert_eq!(a.probabilities, p, "torn probabilities in analysis {i}");
            assert_eq!(a.present, present, "torn present bits in analysis {i}");
        };
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (shared, done, kept) = (shared.clone(), done.clone(), kept.clone());
                std::thread::spawn(move || {
                    let mut last = 0u64;
                    let mut a = Analysis::default();
                    while !done.load(Ordering::Acquire) {
                        if r == 0 {
                            if shared.latest(&mut a) {
                                check(&a);
                                assert!(a.index >= last, "the latest went back in time");
                                last = a.index;
                                kept[r].fetch_add(1, Ordering::Relaxed);
                            }
                        } else {
                            shared.history(1e9, &mut a, |e| {
                                check(e);
                                kept[r].fetch_add(1, Ordering::Relaxed);
                            });
                        }
                    }
                })
            })
            .collect();
        let writes = writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
        for (r, k) in kept.iter().enumerate() {
            let k = k.load(Ordering::Relaxed);
            assert!(
                k >= MIN_KEPT,
                "reader {r} kept only {k} whole analyses in {writes} writes"
            );
        }
        let mut a = Analysis::default();
        assert!(shared.latest(&mut a));
        assert_eq!(a.index, writes - 1);
        check(&a);
    }
}
