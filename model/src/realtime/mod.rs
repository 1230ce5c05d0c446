//! The real-time engine: what the plugin runs, testable without a host.
//!
//! - [`audio`]: the audio thread's side — downmix, fixed-size blocks from a pre-allocated pool,
//!   a bounded lock-free channel to the worker; never allocates, locks or blocks.
//! - [`worker`]: a thread the engine owns — [`crate::stream::StreamAnalyzer`] over the blocks,
//!   the [`gate`] over each analysis, both into [`shared`].
//! - [`shared`]: atomics only — the model's facts, the settings from the parameters, a seqlocked
//!   ring of analyses (probabilities and the gate's "present" bits), counters — read by the audio
//!   thread (for MIDI), the GUI and tests.
//! - [`gate`]: per-class on/off decisions with hysteresis: the one "present" decision behind the
//!   lights, the MIDI notes and the tests.
//!
//! Nothing else crosses the boundary between the audio thread and the worker.

pub mod audio;
pub mod gate;
pub mod shared;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;

pub use audio::{AudioSide, BLOCK_LEN, ChannelMode};
pub use gate::ClassGate;
pub use shared::{Analysis, HISTORY_LEN, MAX_CLASSES, Shared};

use crate::classifier::Classifier;
use crate::stream::{StreamAnalyzer, StreamError};

/// Why an engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The analysis cannot run on this stream (e.g. a sample rate outside what it analyses).
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The operating system refused the worker thread.
    #[error("cannot start the analysis thread: {0}")]
    WorkerThread(std::io::Error),
}

/// An activated engine: the audio side and the worker thread behind it.
pub struct Engine {
    audio: Option<AudioSide>,
    worker: Option<JoinHandle<StreamAnalyzer>>,
}

impl Engine {
    /// Starts the worker for audio at `sample_rate`, as a new stream of `shared` (whose hop and
    /// gate settings it follows). Publishes the model's facts into `shared` and allocates
    /// everything the audio side will use: a pool of about a second of blocks.
    pub fn start(
        classifier: Classifier,
        sample_rate: u32,
        shared: Arc<Shared>,
    ) -> Result<Self, EngineError> {
        // The last stream's results are hidden even when this one cannot start.
        shared.request_new_stream();
        shared.set_stream_seconds(0.0);
        let spec = classifier.spec();
        shared.set_model(
            spec.n_classes(),
            &spec.thresholds,
            spec.mel.window_seconds() as f32,
        );
        let analyzer = StreamAnalyzer::new(classifier, sample_rate, shared.hop_seconds())?;
        let pool_len = (sample_rate as usize / BLOCK_LEN).max(16);
        let (audio, blocks, pool_tx) = audio::detached(pool_len, shared.clone());
        let worker = std::thread::Builder::new()
            .name("instrunet-analysis".into())
            .spawn(move || worker::run(analyzer, blocks, pool_tx, shared))
            .map_err(EngineError::WorkerThread)?;
        Ok(Self {
            audio: Some(audio),
            worker: Some(worker),
        })
    }

    /// The audio thread's side.
    pub fn audio(&mut self) -> &mut AudioSide {
        self.audio.as_mut().expect("present until drop")
    }

    /// Stops the worker and waits for it (what deactivation does); returns the model for the
    /// next start, unless the worker died.
    pub fn stop(mut self) -> Option<Classifier> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Option<Classifier> {
        // Dropping the sender ends the worker's loop.
        self.audio = None;
        let worker = self.worker.take()?;
        worker.join().ok().map(StreamAnalyzer::into_classifier)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}
