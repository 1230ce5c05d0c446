//! The worker thread: takes the audio thread's blocks, runs the streaming analyser on them (resample,
//! Mel frames, classify every hop), runs the gate on each analysis and publishes both into
//! [`Shared`], and returns each block to the pool. After a reset of the audio side it skips the
//! blocks of the old stream still queued and starts the analysis (and the gate) afresh. It lives
//! from activation to deactivation: it ends when the audio side's sender is dropped, and hands
//! the analyser (and with it the model) back when joined.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::audio::Block;
use super::gate::ClassGate;
use super::shared::Shared;
use crate::stream::StreamAnalyzer;

pub(crate) fn run(
    mut analyzer: StreamAnalyzer,
    blocks: Receiver<Box<Block>>,
    pool: Sender<Box<Block>>,
    shared: Arc<Shared>,
) -> StreamAnalyzer {
    lower_priority();
    let mut hop = shared.hop_seconds();
    let mut samples_seen = 0u64;
    let rate = analyzer.input_rate() as f64;
    let mut epoch = shared.requested_epoch();
    let mut gate = ClassGate::default();
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
            gate = ClassGate::default();
            samples_seen = 0;
        }
        let wanted = shared.hop_seconds();
        if wanted != hop {
            hop = wanted;
            analyzer.set_hop_seconds(hop);
        }
        let mut started = Instant::now();
        let result = analyzer.push(block.samples(), &mut |time, probabilities| {
            let us = started.elapsed().as_secs_f32() * 1e6;
            let present = gate.update(probabilities, |k| shared.threshold(k), shared.hysteresis());
            shared.publish(time, probabilities, present, us, epoch);
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
    analyzer
}

/// The analysis is background work. On Linux its thread runs at normal scheduling (not the
/// real-time policy it would inherit from a host that activates plugins on its audio thread)
/// and nice 10, so that dozens of instances' analyses yield to the host's own threads at normal
/// priority (GUI, disk, a host whose audio thread is not real-time). Where this fails, or on
/// other systems, the thread keeps what it inherited.
fn lower_priority() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain system calls on this thread.
    unsafe {
        let normal = libc::sched_param { sched_priority: 0 };
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_OTHER, &normal);
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}
