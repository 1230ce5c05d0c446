//! Checkpoints: the weights, optimiser moments and progress after every epoch, to resume from.
//!
//! A checkpoint is a weights file written by the model crate's writer ([`Weights::save_with`]):
//! the spec in the header as in any weights file, the network's tensors under `model.`, the
//! optimiser's moments under `adam.m.` / `adam.v.`, and the progress as one more metadata entry,
//! `checkpoint`. The best epoch's weights so far go beside it, `<checkpoint>.best.safetensors`,
//! an ordinary weights file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use instrunet_model::{ModelSpec, Normalization, TensorMap, Weights};
use serde::{Deserialize, Serialize};

use crate::train::EpochLog;
use crate::train::config::TrainConfig;
use crate::train::optim::AdamW;

/// The metadata entry that holds a checkpoint's progress.
const PROGRESS_KEY: &str = "checkpoint";
/// The prefix of the network's tensors in a checkpoint.
pub const MODEL_PREFIX: &str = "model.";

/// Progress saved with a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    pub epochs_done: usize,
    pub step: u64,
    pub best_epoch: usize,
    pub best_map: f64,
    /// A fine-tune's starting weights' validation mAP, the mark its epochs must beat (absent in
    /// runs from scratch and in checkpoints from before it was kept).
    #[serde(default)]
    pub starting_map: Option<f64>,
    pub normalization: Normalization,
    pub log: Vec<EpochLog>,
    pub config: TrainConfig,
}

/// Where the best epoch's weights of the checkpoint at `path` are kept.
pub fn best_path(path: &Path) -> PathBuf {
    path.with_extension("best.safetensors")
}

/// Where a run with `keep_epochs_from` keeps epoch `epoch`'s network, beside the checkpoint at
/// `path`: `run.ckpt.safetensors` → `run.ckpt.epoch9.safetensors`.
pub fn epoch_path(path: &Path, epoch: usize) -> PathBuf {
    path.with_extension(format!("epoch{epoch}.safetensors"))
}

/// Saves a checkpoint of a network described by `spec` (its variables in `model`'s var map)
/// and, when there is one, the best epoch's weights so far.
pub(super) fn save_checkpoint(
    path: &Path,
    spec: &ModelSpec,
    model: &TensorMap,
    opt: &AdamW,
    state: &CheckpointState,
    best: Option<&TensorMap>,
) -> anyhow::Result<()> {
    if let Some(best) = best {
        let weights = Weights {
            spec: spec.clone(),
            tensors: best.clone(),
        };
        weights.save(best_path(path))?;
    }
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)> = model
        .0
        .iter()
        .map(|(n, v)| (format!("{MODEL_PREFIX}{n}"), v.clone()))
        .collect();
    for (name, t) in opt.state() {
        let values = t.flatten_all()?.to_vec1::<f32>()?;
        tensors.insert(name, (t.dims().to_vec(), values));
    }
    let checkpoint = Weights {
        spec: spec.clone(),
        tensors: TensorMap(tensors),
    };
    let progress = [(PROGRESS_KEY.to_owned(), serde_json::to_string(state)?)].into();
    checkpoint.save_with(path, &progress)?;
    Ok(())
}

/// The progress recorded in a checkpoint file's bytes: `None` for a plain weights file (no
/// progress entry), an error when the entry is there but unreadable.
pub fn progress_from_bytes(bytes: &[u8]) -> anyhow::Result<Option<CheckpointState>> {
    let meta = Weights::metadata_from_bytes(bytes)?;
    meta.get(PROGRESS_KEY)
        .map(|p| serde_json::from_str(p).map_err(anyhow::Error::from))
        .transpose()
}

/// A checkpoint read back: its progress, the spec it was written with, the network's tensors
/// and the optimiser's moments (on `device`).
pub(super) struct Checkpoint {
    pub state: CheckpointState,
    pub spec: ModelSpec,
    pub model: TensorMap,
    pub optimizer: HashMap<String, Tensor>,
    /// The best epoch's weights, when the run had a best epoch.
    pub best: Option<TensorMap>,
}

/// Reads the checkpoint at `path` (and its best weights). Every error names the file.
pub(super) fn load_checkpoint(path: &Path, device: &Device) -> anyhow::Result<Checkpoint> {
    let named = |e: &dyn std::fmt::Display, p: &Path| anyhow::anyhow!("{}: {e}", p.display());
    let bytes = std::fs::read(path).map_err(|e| named(&e, path))?;
    let state = progress_from_bytes(&bytes)
        .map_err(|e| named(&e, path))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: not a training checkpoint (no `{PROGRESS_KEY}` metadata entry)",
                path.display()
            )
        })?;
    let (spec, tensors) = Weights::parts_from_bytes(&bytes).map_err(|e| named(&e, path))?;
    let mut model = BTreeMap::new();
    let mut optimizer = HashMap::new();
    for (name, (shape, values)) in tensors.0 {
        match name.strip_prefix(MODEL_PREFIX) {
            Some(n) => {
                model.insert(n.to_owned(), (shape, values));
            }
            None => {
                let t = Tensor::from_vec(values, shape.as_slice(), device)?;
                optimizer.insert(name, t);
            }
        }
    }
    let best = if state.best_map >= 0.0 {
        let p = best_path(path);
        let bytes = std::fs::read(&p).map_err(|e| named(&e, &p))?;
        Some(
            Weights::parts_from_bytes(&bytes)
                .map_err(|e| named(&e, &p))?
                .1,
        )
    } else {
        None
    };
    Ok(Checkpoint {
        state,
        spec,
        model: TensorMap(model),
        optimizer,
        best,
    })
}
