//! Training InstruNET (and the paper's feed-forward baseline) on labelled windows.
//!
//! Mini-batches of cached windows, augmented (random gain, small time shifts, and mixing two
//! windows of different tracks with the union of their labels); binary cross-entropy on logits
//! with a per-class positive weight so that rare classes still pull on the weights; AdamW with a
//! warm-up and cosine decay of the learning rate; validation mAP after every epoch, early stopping
//! on it, and the best epoch's weights kept (a fine-tune's starting weights compete as epoch 0).
//! Per-class thresholds are tuned on the validation
//! split and written into the weights file with the input normalisation and provenance.
//! Checkpoints (weights, optimiser moments, epoch) are written after every epoch and resume
//! exactly from an epoch boundary.

pub mod augment;
pub mod baseline;
pub mod checkpoint;
pub mod config;
pub mod curves;
pub mod optim;
pub mod schedule;

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{VarBuilder, VarMap};
use instrunet_model::loss::asymmetric_with_logits;
use instrunet_model::net::InstruNet;
use instrunet_model::shape::TIME_MAX_GATE;
use instrunet_model::{ModelSpec, NetworkKind, Normalization, TensorMap, Weights};
use rand::SeedableRng;
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::data::dataset::WindowSet;
use crate::eval::metrics::{Metrics, evaluate, tune_thresholds};
use crate::eval::predict::predict_with;
use crate::train::augment::augmented_example;
use crate::train::baseline::Baseline;
use crate::train::checkpoint::{CheckpointState, load_checkpoint, save_checkpoint};
use crate::train::config::{TrainConfig, device_named};
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::schedule::learning_rate;

/// One line of the training log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub step: u64,
    pub lr: f64,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_map: f64,
    pub val_macro_f1: f64,
    pub val_weighted_f1: f64,
    pub seconds: f64,
    pub examples_per_second: f64,
}

/// The result of a run.
pub struct TrainOutcome {
    /// The best epoch's weights, with tuned thresholds, normalisation and provenance.
    pub weights: Weights,
    pub log: Vec<EpochLog>,
    pub best_epoch: usize,
    /// The last epoch's weights (thresholds tuned alike) when it is not the best one: a
    /// fine-tune whose epochs never beat its start still leaves a network to measure elsewhere.
    pub last: Option<Weights>,
    /// With `--init`: the starting weights' validation mAP.
    pub starting_map: Option<f64>,
    pub seconds: f64,
}

/// The input normalisation of a training set: mean and standard deviation of its log-Mel values
/// (from a sample of windows).
pub fn normalization_of(train: &WindowSet) -> Normalization {
    let step = (train.len() / 2000).max(1);
    let (mut sum, mut sq, mut n) = (0.0f64, 0.0f64, 0usize);
    for i in (0..train.len()).step_by(step) {
        for &v in train.window(i) {
            let v = v.to_f64();
            sum += v;
            sq += v * v;
            n += 1;
        }
    }
    let mean = sum / n.max(1) as f64;
    let var = (sq / n.max(1) as f64 - mean * mean).max(1e-6);
    Normalization {
        mean: mean as f32,
        std: var.sqrt() as f32,
    }
}

/// Per-class weights for positives: √(negatives / positives), between 1 and 10.
pub fn positive_weights(train: &WindowSet) -> Vec<f32> {
    let n = train.len() as f64;
    train
        .positives()
        .into_iter()
        .map(|p| {
            let p = (p as f64).max(1.0);
            ((n - p) / p).sqrt().clamp(1.0, 10.0) as f32
        })
        .collect()
}

/// Per training window, its weight in the draw of batches with `--balance α` (α > 0): the
/// largest `(f_top / f_c)^α` over the classes `c` present in it, where `f_c` is the number of
/// windows class `c` is present in and `f_top` the most frequent class's; windows with no class
/// (non-music) weigh 1, as do windows of the most frequent class alone. So a window with a rare
/// class comes up more often, each time drawn anew by augmentation and mixing, beside the loss's
/// positive weights (which scale the gradient of the same few windows).
pub fn balance_weights(train: &WindowSet, alpha: f64) -> Vec<f64> {
    let counts = train.positives();
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let per_class: Vec<f64> = counts
        .iter()
        .map(|&n| (top / n.max(1) as f64).powf(alpha))
        .collect();
    train
        .labels
        .chunks_exact(train.n_classes.max(1))
        .map(|l| {
            l.iter()
                .zip(&per_class)
                .filter(|(v, _)| **v > 0.5)
                .map(|(_, &w)| w)
                .fold(1.0, f64::max)
        })
        .collect()
}

/// A model under training: its variables and network.
struct Model {
    varmap: VarMap,
    net: Box<dyn ModuleT>,
    device: Device,
}

fn build(
    spec: &ModelSpec,
    config: &TrainConfig,
    init: Option<&TensorMap>,
    device: &Device,
) -> anyhow::Result<Model> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let net: Box<dyn ModuleT> = match config.architecture {
        NetworkKind::Instrunet => {
            let mut net = InstruNet::new(spec, config.dropout, vb)?;
            net.set_threads(config.threads);
            TensorMap::random_init(spec, config.seed).copy_into_varmap(&varmap)?;
            Box::new(net)
        }
        NetworkKind::Baseline => Box::new(Baseline::new(spec, config.dropout, vb)?),
    };
    if let Some(init) = init {
        init.copy_into_varmap(&varmap)?;
    }
    Ok(Model {
        varmap,
        net,
        device: device.clone(),
    })
}

/// Probabilities of a model's current weights on a set, `len × n_classes`.
fn predict_set(
    model: &Model,
    spec: &ModelSpec,
    config: &TrainConfig,
    set: &WindowSet,
) -> anyhow::Result<Vec<f32>> {
    match config.architecture {
        NetworkKind::Instrunet => {
            // The inference kernels: what the plugin runs, and faster than the training graph.
            let weights = Weights::new(spec.clone(), TensorMap::from_varmap(&model.varmap)?)?;
            predict_with(&weights, set, config.threads)
        }
        NetworkKind::Baseline => {
            let mut out = Vec::with_capacity(set.len() * spec.n_classes());
            for start in (0..set.len()).step_by(256) {
                let n = (set.len() - start).min(256);
                let xs = Tensor::from_slice(
                    &set.windows_f32(start, n),
                    (n, 1, spec.mel.n_mels, spec.mel.window_frames),
                    &model.device,
                )?;
                let p = candle_nn::ops::sigmoid(&model.net.forward_t(&xs, false)?)?;
                out.extend(p.flatten_all()?.to_vec1::<f32>()?);
            }
            Ok(out)
        }
    }
}

/// The model's validation probabilities and its metrics there at thresholds tuned on them.
fn validate(
    model: &Model,
    spec: &ModelSpec,
    config: &TrainConfig,
    validation: &WindowSet,
) -> anyhow::Result<(Vec<f32>, Metrics)> {
    let probs = predict_set(model, spec, config, validation)?;
    let thresholds = tune_thresholds(&probs, &validation.labels, spec.n_classes());
    let metrics = evaluate(&probs, &validation.labels, &spec.classes, &thresholds);
    Ok((probs, metrics))
}

/// Trains on `train`, validating on `validation`. With `resume`, continues from a checkpoint.
/// With `start`, the network begins from those weights (fine-tuning) instead of a random draw,
/// and keeps their input normalisation, which its first layer was trained on; the optimiser and
/// the learning-rate schedule start afresh, and the starting weights are returned when no epoch
/// beats their validation mAP. `report` receives progress lines (step, loss) for a
/// progress bar.
#[allow(clippy::too_many_arguments)]
pub fn train(
    spec_template: &ModelSpec,
    train: &WindowSet,
    validation: &WindowSet,
    config: &TrainConfig,
    start: Option<&Weights>,
    checkpoint: Option<&Path>,
    resume: bool,
    report: &mut dyn FnMut(Progress),
) -> anyhow::Result<TrainOutcome> {
    anyhow::ensure!(!train.is_empty(), "the training split has no windows");
    anyhow::ensure!(
        !validation.is_empty(),
        "the validation split has no windows"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&config.mix_probability),
        "the mix probability must be between 0 and 1, got {}",
        config.mix_probability
    );
    if let Some(w) = start {
        let (a, b) = (&w.spec, spec_template);
        anyhow::ensure!(
            a.classes == b.classes && a.mel == b.mel && a.network == b.network,
            "the starting weights describe another model (classes, front end or network) than \
             the one to train"
        );
    }
    instrunet_model::ops::keep_freed_memory_for_reuse();
    let device = device_named(&config.device)?;
    let started = Instant::now();
    let mut spec = spec_template.clone();
    // The file says which network it holds; readers go by that, not by its notes.
    spec.network.kind = config.architecture;
    let n_classes = spec.n_classes();
    let mut state = CheckpointState {
        epochs_done: 0,
        step: 0,
        best_epoch: 0,
        best_map: -1.0,
        starting_map: None,
        normalization: start.map_or_else(|| normalization_of(train), |w| w.spec.normalization),
        log: Vec::new(),
        config: config.clone(),
    };
    let mut init = start.map(|w| w.tensors.clone());
    let mut opt_state = None;
    let mut best: Option<TensorMap> = None;
    if resume {
        let path = checkpoint.ok_or_else(|| anyhow::anyhow!("--resume needs --checkpoint"))?;
        let saved = load_checkpoint(path, &device)?;
        let (a, b) = (&saved.spec, &spec);
        anyhow::ensure!(
            a.classes == b.classes && a.mel == b.mel && a.network == b.network,
            "{}: the checkpoint is of another model (classes, front end or network) than the \
             one to train",
            path.display()
        );
        let (was, now) = (
            (
                saved.state.config.val_timbre_eq_db,
                saved.state.config.val_timbre_mel_shift,
            ),
            (config.val_timbre_eq_db, config.val_timbre_mel_shift),
        );
        anyhow::ensure!(
            was == now,
            "{}: the run validated with timbres changed by --val-timbre-eq-db {} \
             --val-timbre-mel-shift {}, this resume by {} and {}: its best epoch so far was judged \
             on other windows; resume with the run's settings",
            path.display(),
            was.0,
            was.1,
            now.0,
            now.1
        );
        let (was, now) = (
            (saved.state.config.neg_focus, saved.state.config.neg_margin),
            (config.neg_focus, config.neg_margin),
        );
        anyhow::ensure!(
            was == now,
            "{}: the run trained with --neg-focus {} --neg-margin {}, this resume with {} and {}: \
             resume with the run's loss",
            path.display(),
            was.0,
            was.1,
            now.0,
            now.1
        );
        state = saved.state;
        init = Some(saved.model);
        opt_state = Some(saved.optimizer);
        best = saved.best;
    }
    spec.normalization = state.normalization;
    let model = build(&spec, config, init.as_ref(), &device)?;
    let mut opt = AdamW::new(
        &model.varmap,
        AdamWConfig {
            weight_decay: config.weight_decay,
            ..Default::default()
        },
    )?;
    opt.scale_lr(TIME_MAX_GATE, config.time_max_gate_lr);
    if let Some(tensors) = &opt_state {
        opt.load_state(tensors)?;
        opt.step = state.step;
    }
    if let (Some(tensors), false) = (&init, resume) {
        // A fine-tune competes with where it started: unless an epoch beats the starting
        // weights' validation mAP, they are what the run returns (with thresholds tuned anew).
        state.best_map = validate(&model, &spec, config, validation)?.1.map;
        state.starting_map = Some(state.best_map);
        best = Some(tensors.clone());
        report(Progress::Note(format!(
            "the starting weights: validation mAP {:.3}",
            state.best_map
        )));
    }
    let pos_weight = Tensor::from_vec(positive_weights(train), n_classes, &device)?;
    let shaping = config.negative_shaping();
    let steps_per_epoch = config
        .steps_per_epoch
        .unwrap_or(train.len() / config.batch)
        .max(1);
    let total_steps = (steps_per_epoch * config.epochs) as u64;
    anyhow::ensure!(
        (0.0..=1.0).contains(&config.balance),
        "the balance exponent must be between 0 and 1, got {}",
        config.balance
    );
    // Every weight is at least 1, so the draw can always be built.
    let balanced_draw = (config.balance > 0.0)
        .then(|| WeightedIndex::new(balance_weights(train, config.balance)))
        .transpose()?;
    let (frames, mels) = (spec.mel.window_frames, spec.mel.n_mels);
    let mut xs = vec![0.0f32; config.batch * train.window_len];
    let mut ys = vec![0.0f32; config.batch * n_classes];
    for epoch in state.epochs_done..config.epochs {
        // One generator per epoch: resuming at an epoch boundary replays the same batches.
        let mut rng =
            StdRng::seed_from_u64(config.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
        let order: Vec<usize> = match &balanced_draw {
            None => {
                let mut order: Vec<usize> = (0..train.len()).collect();
                order.shuffle(&mut rng);
                order
            }
            Some(draw) => draw
                .sample_iter(&mut rng)
                .take(steps_per_epoch * config.batch)
                .collect(),
        };
        let epoch_start = Instant::now();
        let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
        for b in 0..steps_per_epoch {
            for k in 0..config.batch {
                let i = order[(b * config.batch + k) % order.len()];
                augmented_example(
                    train,
                    i,
                    config,
                    frames,
                    &mut rng,
                    &mut xs[k * train.window_len..(k + 1) * train.window_len],
                    &mut ys[k * n_classes..(k + 1) * n_classes],
                );
            }
            let x = Tensor::from_slice(&xs, (config.batch, 1, mels, frames), &device)?;
            let y = Tensor::from_slice(&ys, (config.batch, n_classes), &device)?;
            let logits = model.net.forward_t(&x, true)?;
            let loss = asymmetric_with_logits(&logits, &y, Some(&pos_weight), shaping)?;
            let lr = learning_rate(config.lr, opt.step, total_steps);
            opt.step(&loss.backward()?, lr)?;
            let l = loss.to_scalar::<f32>()? as f64;
            anyhow::ensure!(l.is_finite(), "the loss became {l} at step {}", opt.step);
            loss_sum += l;
            loss_n += 1;
            report(Progress::Step {
                epoch,
                step_in_epoch: b + 1,
                steps_per_epoch,
                loss: loss_sum / loss_n as f64,
            });
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let (probs, m) = validate(&model, &spec, config, validation)?;
        let entry = EpochLog {
            epoch: epoch + 1,
            step: opt.step,
            lr: learning_rate(config.lr, opt.step, total_steps),
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss: instrunet_model::loss::bce_of_probabilities(&probs, &validation.labels),
            val_map: m.map,
            val_macro_f1: m.macro_avg.f1,
            val_weighted_f1: m.weighted.f1,
            seconds: started.elapsed().as_secs_f64(),
            examples_per_second: (steps_per_epoch * config.batch) as f64 / train_seconds,
        };
        report(Progress::Epoch(entry.clone()));
        state.log.push(entry);
        state.epochs_done = epoch + 1;
        state.step = opt.step;
        if m.map > state.best_map {
            state.best_map = m.map;
            state.best_epoch = epoch + 1;
            best = Some(TensorMap::from_varmap(&model.varmap)?);
        }
        if let Some(path) = checkpoint {
            let now = TensorMap::from_varmap(&model.varmap)?;
            save_checkpoint(path, &spec, &now, &opt, &state, best.as_ref())?;
            if config
                .keep_epochs_from
                .is_some_and(|from| epoch + 1 >= from)
            {
                let mut epoch_spec = spec.clone();
                epoch_spec.provenance.epochs = (epoch + 1) as u32;
                epoch_spec.provenance.data = format!(
                    "epoch {} of the run checkpointed in {} (validation mAP {:.3})",
                    epoch + 1,
                    path.display(),
                    m.map
                );
                Weights {
                    spec: epoch_spec,
                    tensors: now,
                }
                .save(checkpoint::epoch_path(path, epoch + 1))?;
            }
        }
        if epoch + 1 - state.best_epoch >= config.patience {
            report(Progress::Note(format!(
                "no better validation mAP for {} epochs: stopping",
                config.patience
            )));
            break;
        }
        if config
            .max_minutes
            .is_some_and(|m| started.elapsed().as_secs_f64() > m * 60.0)
        {
            report(Progress::Note("time limit reached: stopping".into()));
            break;
        }
    }
    if state.best_epoch == 0 && best.is_some() {
        report(Progress::Note(
            "no epoch beat the starting weights on validation: keeping them".into(),
        ));
    }
    let best = best.ok_or_else(|| anyhow::anyhow!("no epoch finished"))?;
    // Thresholds tuned on validation with the given weights.
    let tuned = |tensors: TensorMap, epochs: usize| -> anyhow::Result<Weights> {
        let mut spec = spec.clone();
        let model = build(&spec, config, Some(&tensors), &device)?;
        let probs = predict_set(&model, &spec, config, validation)?;
        spec.thresholds = tune_thresholds(&probs, &validation.labels, n_classes);
        spec.provenance.epochs = epochs as u32;
        Ok(match config.architecture {
            NetworkKind::Instrunet => Weights::new(spec, tensors)?,
            NetworkKind::Baseline => Weights { spec, tensors },
        })
    };
    let last_epoch = state.log.last().map_or(0, |e| e.epoch);
    let last = if last_epoch > 0 && last_epoch != state.best_epoch {
        Some(tuned(TensorMap::from_varmap(&model.varmap)?, last_epoch)?)
    } else {
        None
    };
    let weights = tuned(best, state.best_epoch)?;
    Ok(TrainOutcome {
        weights,
        last,
        log: state.log,
        best_epoch: state.best_epoch,
        starting_map: state.starting_map,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What [`train`] reports as it goes.
pub enum Progress {
    Step {
        epoch: usize,
        step_in_epoch: usize,
        steps_per_epoch: usize,
        loss: f64,
    },
    Epoch(EpochLog),
    Note(String),
}

/// Where a run writes its files.
pub fn run_files(out: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        out.with_extension("log.json"),
        out.with_extension("curves.png"),
        out.with_extension("ckpt.safetensors"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four windows of two classes: class 0 in three, class 1 in one, one window empty.
    fn toy() -> WindowSet {
        let mut set = WindowSet::new(1, 2);
        set.labels = vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        set.windows = vec![half::f16::ZERO; 4];
        set.track_of = vec![0; 4];
        set
    }

    #[test]
    fn balance_weights_favour_windows_with_rare_classes() {
        let set = toy();
        // Class 1 is 3 times rarer than class 0: weight 3^α for its window, 1 for the rest.
        assert_eq!(balance_weights(&set, 1.0), vec![1.0, 1.0, 3.0, 1.0]);
        let half = balance_weights(&set, 0.5);
        assert!((half[2] - 3f64.sqrt()).abs() < 1e-12 && half[3] == 1.0);
        assert_eq!(balance_weights(&set, 0.0), vec![1.0; 4]);
    }

    #[test]
    fn the_weighted_draw_follows_the_weights() {
        let draw = WeightedIndex::new([1.0, 1.0, 3.0, 1.0]).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let drawn: Vec<usize> = draw.sample_iter(&mut rng).take(60_000).collect();
        let mut counts = [0usize; 4];
        for i in drawn {
            counts[i] += 1;
        }
        // Expected shares 1/6, 1/6, 3/6, 1/6.
        for (i, &want) in [10_000.0, 10_000.0, 30_000.0, 10_000.0].iter().enumerate() {
            let got = counts[i] as f64;
            assert!(
                (got - want).abs() < 600.0,
                "window {i}: {got} of 60 000, want {want}"
            );
        }
    }
}
