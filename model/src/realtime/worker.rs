//! The worker thread: takes the audio thread's blocks, runs the streaming analyser on them (resample,
//! Mel frames, classify every hop), publishes the probabilities into [`Shared`] and returns each
//! block to the pool. After a reset of the audio side it skips the blocks of the old stream still
//! queued and starts the analysis afresh. It lives from activation to deactivation: it ends when
//! the audio side's sender is dropped, and is joined then.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use atomic_float::AtomicF32;
use crossbeam_channel::{Receiver, Sender};

use super::audio::Block;
use super::shared::Shared;
use crate::stream::StreamAnalyzer;

pub(crate) fn run(
    mut analyzer: StreamAnalyzer,
    blocks: Receiver<Box<Block>>,
    pool: Sender<Box<Block>>,
    shared: Arc<Shared>,
    hop_seconds: Arc<AtomicF32>,
) {
    let mut hop = hop_seconds.load(Ordering::Relaxed);
    let mut samples_seen = 0u64;
    let rate = analyzer.input_rate() as f64;
    let mut epoch = shared.requested_epoch();
    // Ends when the audio side hangs up (deactivation).
    while let Ok(block) = blocks.recv() {
        if block.epoch < shared.requested_epoch() {
            // Sent before a reset the audio thread has since made: not worth analysing.
            let _ = pool.try_send(block);
            continue;
        }
        if block.epoch != epoch {
            // The first block after a reset: the analysis starts afresh.
            epoch = block.epoch;
            analyzer.reset();
            shared.begin_stream();
            samples_seen = 0;
        }
        let wanted = hop_seconds.load(Ordering::Relaxed);
        if wanted != hop {
            hop = wanted;
            analyzer.set_hop_seconds(hop);
        }
        let mut started = Instant::now();
        let result = analyzer.push(block.samples(), &mut |time, probabilities| {
            let us = started.elapsed().as_secs_f32() * 1e6;
            shared.publish(time, probabilities, us, epoch);
            started = Instant::now();
        });
        samples_seen += block.len as u64;
        shared.set_stream_seconds(samples_seen as f64 / rate);
        // Back to the pool (it has room for every block, so this never fails while the audio
        // side is alive).
        let _ = pool.try_send(block);
        if result.is_err() {
            // Input errors cannot happen (the analyser sizes its own buffers); stop rather than
            // spin if one ever does.
            break;
        }
    }
}
