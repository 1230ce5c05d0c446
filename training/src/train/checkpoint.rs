//! Checkpoints: the weights, optimiser moments and progress after every epoch, to resume from.

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;
use instrunet_model::Normalization;
use serde::{Deserialize, Serialize};

use crate::train::config::TrainConfig;
use crate::train::optim::AdamW;
use crate::train::{EpochLog, Model};

/// Saves a checkpoint: the weights and optimiser moments as safetensors, the progress as JSON
/// metadata.
pub(super) fn save_checkpoint(
    path: &Path,
    model: &Model,
    opt: &AdamW,
    state: &CheckpointState,
) -> anyhow::Result<()> {
    let mut tensors: Vec<(String, Tensor)> = model
        .varmap
        .data()
        .lock()
        .expect("VarMap lock poisoned")
        .iter()
        .map(|(n, v)| (format!("model.{n}"), v.as_tensor().clone()))
        .collect();
    tensors.extend(opt.state());
    let meta: HashMap<String, String> =
        [("checkpoint".to_owned(), serde_json::to_string(state)?)].into();
    let tmp = path.with_extension("tmp");
    candle_core::safetensors::save(&tensors.into_iter().collect::<HashMap<_, _>>(), &tmp)?;
    // candle's save writes no metadata; write it alongside.
    std::fs::write(path.with_extension("json"), &meta["checkpoint"])?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Progress saved with a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    pub epochs_done: usize,
    pub step: u64,
    pub best_epoch: usize,
    pub best_map: f64,
    pub normalization: Normalization,
    pub log: Vec<EpochLog>,
    /// The best epoch's weights so far are in `<checkpoint>.best.safetensors`.
    pub config: TrainConfig,
}
