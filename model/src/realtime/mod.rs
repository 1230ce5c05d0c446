//! The real-time engine: what the plugin runs, testable without a host.
//!
//! - [`audio`]: the audio thread's side — downmix, fixed-size blocks from a pre-allocated pool,
//!   a bounded lock-free channel to the worker; never allocates, locks or blocks.
//! - [`worker`]: a thread the engine owns — [`crate::stream::StreamAnalyzer`] over the blocks,
//!   results into [`shared`].
//! - [`shared`]: atomics only — latest probabilities, history ring, counters — read by the audio
//!   thread (for MIDI), the GUI and tests.
//! - [`gate`]: per-class on/off decisions with hysteresis, for MIDI notes and "present" lights.
//!
//! Nothing else crosses the boundary between the audio thread and the worker.

pub mod audio;
pub mod gate;
pub mod shared;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;

use atomic_float::AtomicF32;

pub use audio::{AudioSide, BLOCK_LEN, ChannelMode};
pub use gate::{ClassGate, GateEvent};
pub use shared::{HISTORY_LEN, MAX_CLASSES, Shared};

use crate::classifier::Classifier;
use crate::stream::{StreamAnalyzer, StreamError};

/// An activated engine: the audio side and the worker thread behind it.
pub struct Engine {
    audio: Option<AudioSide>,
    worker: Option<JoinHandle<()>>,
}

impl Engine {
    /// Starts the worker for audio at `sample_rate`. Allocates everything the audio side will
    /// use: a pool of about a second of blocks.
    pub fn start(
        classifier: Classifier,
        sample_rate: u32,
        hop_seconds: Arc<AtomicF32>,
        shared: Arc<Shared>,
    ) -> Result<Self, StreamError> {
        // The last stream's results are hidden even when this one cannot start.
        shared.begin_stream();
        let analyzer = StreamAnalyzer::new(
            classifier,
            sample_rate,
            hop_seconds.load(std::sync::atomic::Ordering::Relaxed),
        )?;
        shared.set_n_classes(analyzer.classifier().n_classes());
        let pool_len = (sample_rate as usize / BLOCK_LEN).max(16);
        let (audio, blocks, pool_tx) = audio::detached(pool_len, shared.clone());
        let worker = std::thread::Builder::new()
            .name("instrunet-analysis".into())
            .spawn(move || worker::run(analyzer, blocks, pool_tx, shared, hop_seconds))
            .map_err(|e| StreamError::Resampler {
                from: sample_rate,
                to: 0,
                reason: format!("cannot start the analysis thread: {e}"),
            })?;
        Ok(Self {
            audio: Some(audio),
            worker: Some(worker),
        })
    }

    /// The audio thread's side.
    pub fn audio(&mut self) -> &mut AudioSide {
        self.audio.as_mut().expect("present until drop")
    }

    /// Stops the worker and waits for it (what deactivation does).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the sender ends the worker's loop.
        self.audio = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}
