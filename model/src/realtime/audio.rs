//! The audio thread's side: downmix the chosen channels to mono and hand the samples to the
//! worker in fixed-size blocks over a bounded lock-free channel. Blocks come from a pool made at
//! activation and go back to it after the worker has used them, so nothing is allocated here; when
//! the worker falls behind, the pool runs dry and blocks are dropped and counted. Nothing here
//! locks, blocks, logs or runs the model.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::shared::Shared;

/// Samples per block handed to the worker (at the host's rate).
pub const BLOCK_LEN: usize = 512;

/// A block of mono samples.
pub struct Block {
    pub len: usize,
    pub samples: [f32; BLOCK_LEN],
    /// The stream (resets so far) the samples belong to.
    pub epoch: u64,
}

impl Block {
    pub(crate) fn new() -> Box<Self> {
        Box::new(Self {
            len: 0,
            samples: [0.0; BLOCK_LEN],
            epoch: 0,
        })
    }

    pub fn samples(&self) -> &[f32] {
        &self.samples[..self.len]
    }
}

/// Which input channels the analysis hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// The mean of all channels.
    #[default]
    Mix,
    Left,
    Right,
}

/// An audio side with its two channels, without a worker: the block channel to read full blocks
/// from, and the pool to return them to (`pool_len` blocks are made here). For benchmarks and
/// tests of the audio side alone; [`super::Engine::start`] wires the same pieces to a worker.
pub fn detached(
    pool_len: usize,
    shared: Arc<Shared>,
) -> (AudioSide, Receiver<Box<Block>>, Sender<Box<Block>>) {
    let (to_worker, blocks) = crossbeam_channel::bounded(pool_len);
    let (pool_tx, pool_rx) = crossbeam_channel::bounded(pool_len);
    for _ in 0..pool_len {
        pool_tx
            .try_send(Block::new())
            .expect("the pool has room for every block");
    }
    (AudioSide::new(to_worker, pool_rx, shared), blocks, pool_tx)
}

/// The audio thread's end of the engine.
pub struct AudioSide {
    to_worker: Sender<Box<Block>>,
    pool: Receiver<Box<Block>>,
    current: Option<Box<Block>>,
    shared: Arc<Shared>,
    /// The stream being sent (see [`AudioSide::reset`]).
    epoch: u64,
}

impl AudioSide {
    pub(crate) fn new(
        to_worker: Sender<Box<Block>>,
        pool: Receiver<Box<Block>>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            to_worker,
            pool,
            current: None,
            epoch: shared.requested_epoch(),
            shared,
        }
    }

    /// The host reset the plugin (a transport jump, a loop): what was sent so far is a finished
    /// stream. The worker skips blocks of it still queued and starts the analysis afresh on the
    /// next block; until that publishes, [`Shared::latest`] reads none. Allocates nothing.
    pub fn reset(&mut self) {
        self.epoch = self.shared.request_new_stream();
        if let Some(block) = &mut self.current {
            block.len = 0;
            block.epoch = self.epoch;
        }
    }

    /// Takes `frames` frames of `channels` (each a slice of at least `frames` samples) and queues
    /// their mono downmix for the worker.
    pub fn push(&mut self, channels: &[&[f32]], frames: usize, mode: ChannelMode) {
        if channels.is_empty() {
            return;
        }
        let pick = |c: usize| channels[c.min(channels.len() - 1)];
        let mut i = 0;
        while i < frames {
            if self.current.is_none() {
                match self.pool.try_recv() {
                    Ok(mut b) => {
                        b.len = 0;
                        b.epoch = self.epoch;
                        self.current = Some(b);
                    }
                    // The worker holds every block: it is behind. Skip a block's worth.
                    Err(_) => {
                        self.shared.count_dropped_block();
                        i += BLOCK_LEN;
                        continue;
                    }
                }
            }
            let block = self.current.as_mut().expect("set above");
            let n = (BLOCK_LEN - block.len).min(frames - i);
            let dst = &mut block.samples[block.len..block.len + n];
            match mode {
                ChannelMode::Left => dst.copy_from_slice(&pick(0)[i..i + n]),
                ChannelMode::Right => dst.copy_from_slice(&pick(1)[i..i + n]),
                ChannelMode::Mix => {
                    let scale = 1.0 / channels.len() as f32;
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = channels.iter().map(|c| c[i + j]).sum::<f32>() * scale;
                    }
                }
            }
            block.len += n;
            i += n;
            if block.len == BLOCK_LEN {
                let full = self.current.take().expect("set above");
                if let Err(TrySendError::Full(mut b) | TrySendError::Disconnected(mut b)) =
                    self.to_worker.try_send(full)
                {
                    // Cannot happen while the pool and the channel are the same size; keep the
                    // block for reuse rather than free it on this thread.
                    self.shared.count_dropped_block();
                    b.len = 0;
                    self.current = Some(b);
                }
            }
        }
    }
}
