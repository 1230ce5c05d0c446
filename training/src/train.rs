//! Training InstruNET (and the paper's feed-forward baseline) on labelled windows.
//!
//! Mini-batches of cached windows, augmented (random gain, small time shifts, and mixing two
//! windows of different tracks with the union of their labels); binary cross-entropy on logits
//! with a per-class positive weight so that rare classes still pull on the weights; AdamW with a
//! warm-up and cosine decay of the learning rate; validation mAP after every epoch, early stopping
//! on it, and the best epoch's weights kept. Per-class thresholds are tuned on the validation
//! split and written into the weights file with the input normalisation and provenance.
//! Checkpoints (weights, optimiser moments, epoch) are written after every epoch and resume
//! exactly from an epoch boundary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Module, ModuleT, Tensor};
use candle_nn::{Linear, VarBuilder, VarMap};
use instrunet_model::loss::bce_with_logits;
use instrunet_model::net::InstruNet;
use instrunet_model::{ModelSpec, Normalization, TensorMap, Weights, mel::SILENCE_DB};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::data::dataset::WindowSet;
use crate::eval::metrics::{evaluate, tune_thresholds};
use crate::eval::predict::predict_with;
use crate::optim::{AdamW, AdamWConfig};

/// Which network to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    /// The paper's CNN.
    InstruNet,
    /// The paper's shallow feed-forward baseline: per-band mean and standard deviation of the
    /// window over time, one hidden layer.
    Baseline,
}

/// Training settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub architecture: Architecture,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub dropout: f32,
    /// Epochs without a better validation mAP before stopping.
    pub patience: usize,
    pub seed: u64,
    pub threads: usize,
    /// Random gain range, ± dB.
    pub gain_db: f32,
    /// Largest time shift, frames.
    pub shift_frames: usize,
    /// Share of examples mixed with a window of another track, 0 to 1.
    pub mix_probability: f64,
    /// Cap on training time, minutes: the run stops after the epoch that crosses it.
    pub max_minutes: Option<f64>,
    /// Steps per epoch (default: one pass over the training windows).
    pub steps_per_epoch: Option<usize>,
    /// Where the network trains: `cpu`, or `cuda` / `metal` in builds with those features.
    pub device: String,
}

/// The candle device for a `--device` name.
pub fn device_named(name: &str) -> anyhow::Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if cfg!(feature = "cuda") => Ok(Device::new_cuda(0)?),
        "metal" if cfg!(feature = "metal") => Ok(Device::new_metal(0)?),
        "cuda" | "metal" => anyhow::bail!(
            "--device {name}: this build has no {name} support; rebuild with `--features {name}`"
        ),
        other => anyhow::bail!("--device {other}: expected cpu, cuda or metal"),
    }
}

/// Share of training examples mixed with a window of another track unless told otherwise.
pub const DEFAULT_MIX_PROBABILITY: f64 = 0.3;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::InstruNet,
            epochs: 12,
            batch: 32,
            lr: 2e-3,
            weight_decay: 1e-2,
            dropout: instrunet_model::net::DEFAULT_DROPOUT,
            patience: 4,
            seed: 1,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            gain_db: 6.0,
            shift_frames: 8,
            mix_probability: DEFAULT_MIX_PROBABILITY,
            max_minutes: None,
            steps_per_epoch: None,
            device: "cpu".into(),
        }
    }
}

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
    pub seconds: f64,
}

/// The feed-forward baseline.
pub struct Baseline {
    fc1: Linear,
    fc2: Linear,
    dropout: candle_nn::Dropout,
    normalization: Normalization,
}

/// Hidden units of the baseline.
pub const BASELINE_HIDDEN: usize = 256;

impl Baseline {
    pub fn new(spec: &ModelSpec, dropout: f32, vb: VarBuilder) -> candle_core::Result<Self> {
        let m = spec.mel.n_mels;
        Ok(Self {
            fc1: candle_nn::linear(2 * m, BASELINE_HIDDEN, vb.pp("fc1"))?,
            fc2: candle_nn::linear(BASELINE_HIDDEN, spec.n_classes(), vb.pp("fc2"))?,
            dropout: candle_nn::Dropout::new(dropout),
            normalization: spec.normalization,
        })
    }

    /// Tensor names and shapes.
    pub fn tensor_shapes(spec: &ModelSpec) -> Vec<(String, Vec<usize>)> {
        let m = spec.mel.n_mels;
        vec![
            ("fc1.bias".into(), vec![BASELINE_HIDDEN]),
            ("fc1.weight".into(), vec![BASELINE_HIDDEN, 2 * m]),
            ("fc2.bias".into(), vec![spec.n_classes()]),
            ("fc2.weight".into(), vec![spec.n_classes(), BASELINE_HIDDEN]),
        ]
    }
}

impl ModuleT for Baseline {
    fn forward_t(&self, xs: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let n = self.normalization;
        let xs = xs.affine(1.0 / n.std as f64, -(n.mean / n.std) as f64)?;
        let xs = xs.squeeze(1)?; // (batch, mels, frames)
        let mean = xs.mean_keepdim(2)?;
        let std = xs.broadcast_sub(&mean)?.sqr()?.mean_keepdim(2)?.sqrt()?;
        let features = Tensor::cat(&[mean.squeeze(2)?, std.squeeze(2)?], 1)?;
        let h = self
            .fc1
            .forward(&features)?
            .relu()?
            .apply_t(&self.dropout, train)?;
        self.fc2.forward(&h)
    }
}

/// The input normalisation of a training set: mean and standard deviation of its log-Mel values
/// (from a sample of windows).
pub fn normalization_of(train: &WindowSet) -> Normalization {
    let step = (train.len() / 2000).max(1);
    let (mut sum, mut sq, mut n) = (0.0f64, 0.0f64, 0usize);
    for i in (0..train.len()).step_by(step) {
        for &v in train.window(i) {
            sum += v as f64;
            sq += (v as f64) * (v as f64);
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

/// The learning rate at `step` of `total`: linear warm-up over the first 3 %, then cosine decay
/// to 5 % of the peak.
pub fn learning_rate(peak: f64, step: u64, total: u64) -> f64 {
    let warmup = (total / 33).max(1);
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let progress = ((step - warmup) as f64 / (total - warmup).max(1) as f64).min(1.0);
    peak * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
}

/// Fills `out` with example `i` of `set`, augmented; returns its labels.
fn augmented_example(
    set: &WindowSet,
    i: usize,
    config: &TrainConfig,
    frames: usize,
    rng: &mut StdRng,
    out: &mut [f32],
    labels: &mut [f32],
) {
    let src = set.window(i);
    let gain = rng.random_range(-config.gain_db..=config.gain_db);
    let shift = rng.random_range(-(config.shift_frames as i64)..=config.shift_frames as i64);
    let mels = src.len() / frames;
    for m in 0..mels {
        let row = &src[m * frames..(m + 1) * frames];
        let dst = &mut out[m * frames..(m + 1) * frames];
        for (f, d) in dst.iter_mut().enumerate() {
            // Shifted in time, the edge frame repeated into the gap.
            let s = (f as i64 - shift).clamp(0, frames as i64 - 1) as usize;
            *d = (row[s] + gain).max(SILENCE_DB);
        }
    }
    labels.copy_from_slice(set.label(i));
    if rng.random_bool(config.mix_probability) && set.tracks.len() > 1 {
        // Another track's window, quieter, added in power: the mix of the two sounds, and the
        // union of their labels.
        let j = loop {
            let j = rng.random_range(0..set.len());
            if set.track_of[j] != set.track_of[i] {
                break j;
            }
        };
        let other_gain = gain + rng.random_range(-9.0..=0.0f32);
        for (d, &o) in out.iter_mut().zip(set.window(j)) {
            let b = (o + other_gain).max(SILENCE_DB);
            let (hi, lo) = if *d > b { (*d, b) } else { (b, *d) };
            *d = hi + 10.0 * (1.0 + 10f32.powf((lo - hi) / 10.0)).log10();
        }
        for (l, &o) in labels.iter_mut().zip(set.label(j)) {
            *l = l.max(o);
        }
    }
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
        Architecture::InstruNet => {
            let mut net = InstruNet::new(spec, config.dropout, vb)?;
            net.set_threads(config.threads);
            TensorMap::random_init(spec, config.seed).copy_into_varmap(&varmap)?;
            Box::new(net)
        }
        Architecture::Baseline => Box::new(Baseline::new(spec, config.dropout, vb)?),
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
        Architecture::InstruNet => {
            // The inference kernels: what the plugin runs, and faster than the training graph.
            let weights = Weights::new(spec.clone(), TensorMap::from_varmap(&model.varmap)?)?;
            predict_with(&weights, set, config.threads)
        }
        Architecture::Baseline => {
            let mut out = Vec::with_capacity(set.len() * spec.n_classes());
            for start in (0..set.len()).step_by(256) {
                let n = (set.len() - start).min(256);
                let xs = Tensor::from_slice(
                    &set.windows[start * set.window_len..(start + n) * set.window_len],
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

/// Saves a checkpoint: the weights and optimiser moments as safetensors, the progress as JSON
/// metadata.
fn save_checkpoint(
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

/// Trains on `train`, validating on `validation`. With `resume`, continues from a checkpoint.
/// With `start`, the network begins from those weights (fine-tuning) instead of a random draw,
/// and keeps their input normalisation, which its first layer was trained on; the optimiser and
/// the learning-rate schedule start afresh. `report` receives progress lines (step, loss) for a
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
    let n_classes = spec.n_classes();
    let mut state = CheckpointState {
        epochs_done: 0,
        step: 0,
        best_epoch: 0,
        best_map: -1.0,
        normalization: start.map_or_else(|| normalization_of(train), |w| w.spec.normalization),
        log: Vec::new(),
        config: config.clone(),
    };
    let mut init = start.map(|w| w.tensors.clone());
    let mut opt_state = None;
    if resume {
        let path = checkpoint.ok_or_else(|| anyhow::anyhow!("--resume needs --checkpoint"))?;
        let json = std::fs::read_to_string(path.with_extension("json"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.with_extension("json").display()))?;
        state = serde_json::from_str(&json)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.with_extension("json").display()))?;
        let tensors = candle_core::safetensors::load(path, &device)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut map = std::collections::BTreeMap::new();
        for (name, t) in &tensors {
            if let Some(n) = name.strip_prefix("model.") {
                map.insert(
                    n.to_owned(),
                    (t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?),
                );
            }
        }
        init = Some(TensorMap(map));
        opt_state = Some(tensors);
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
    if let Some(tensors) = &opt_state {
        opt.load_state(tensors)?;
        opt.step = state.step;
    }
    let mut best: Option<TensorMap> = match (resume, checkpoint) {
        (true, Some(p)) if state.best_map >= 0.0 => {
            let best_path = p.with_extension("best.safetensors");
            let tensors = candle_core::safetensors::load(&best_path, &device)
                .map_err(|e| anyhow::anyhow!("{}: {e}", best_path.display()))?;
            let mut map = std::collections::BTreeMap::new();
            for (name, t) in tensors {
                map.insert(
                    name,
                    (t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?),
                );
            }
            Some(TensorMap(map))
        }
        _ => None,
    };
    let pos_weight = Tensor::from_vec(positive_weights(train), n_classes, &device)?;
    let steps_per_epoch = config
        .steps_per_epoch
        .unwrap_or(train.len() / config.batch)
        .max(1);
    let total_steps = (steps_per_epoch * config.epochs) as u64;
    let (frames, mels) = (spec.mel.window_frames, spec.mel.n_mels);
    let mut xs = vec![0.0f32; config.batch * train.window_len];
    let mut ys = vec![0.0f32; config.batch * n_classes];
    for epoch in state.epochs_done..config.epochs {
        // One generator per epoch: resuming at an epoch boundary replays the same batches.
        let mut rng =
            StdRng::seed_from_u64(config.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng);
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
            let loss = bce_with_logits(&logits, &y, Some(&pos_weight))?;
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
        let probs = predict_set(&model, &spec, config, validation)?;
        let thresholds = tune_thresholds(&probs, &validation.labels, n_classes);
        let m = evaluate(&probs, &validation.labels, &spec.classes, &thresholds);
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
            if let Some(best) = &best {
                let device = Device::Cpu;
                candle_core::safetensors::save(
                    &best.to_tensors(&device)?,
                    path.with_extension("best.safetensors"),
                )?;
            }
            save_checkpoint(path, &model, &opt, &state)?;
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
    let best = best.ok_or_else(|| anyhow::anyhow!("no epoch finished"))?;
    // Thresholds tuned on validation with the best weights.
    let model = build(&spec, config, Some(&best), &device)?;
    let probs = predict_set(&model, &spec, config, validation)?;
    spec.thresholds = tune_thresholds(&probs, &validation.labels, n_classes);
    spec.provenance.epochs = state.best_epoch as u32;
    let weights = match config.architecture {
        Architecture::InstruNet => Weights::new(spec, best)?,
        Architecture::Baseline => Weights {
            spec,
            tensors: best,
        },
    };
    Ok(TrainOutcome {
        weights,
        log: state.log,
        best_epoch: state.best_epoch,
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

/// Metrics of baseline weights on a set.
pub fn baseline_probabilities(weights: &Weights, set: &WindowSet) -> anyhow::Result<Vec<f32>> {
    let config = TrainConfig {
        architecture: Architecture::Baseline,
        ..Default::default()
    };
    let model = build(&weights.spec, &config, Some(&weights.tensors), &Device::Cpu)?;
    predict_set(&model, &weights.spec, &config, set)
}

/// The training curves as a PNG: losses and validation metrics per epoch.
pub fn plot_curves(log: &[EpochLog], path: &Path, title: &str) -> anyhow::Result<()> {
    use plotters::prelude::*;
    crate::plot::register_font()?;
    let root = BitMapBackend::new(path, (1000, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let epochs = log.len().max(1) as f64;
    let max_loss = log
        .iter()
        .flat_map(|e| [e.train_loss, e.val_loss])
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    type Series = (&'static str, RGBColor, fn(&EpochLog) -> f64);
    let losses: [Series; 2] = [
        ("train (weighted, augmented)", BLUE, |e| e.train_loss),
        ("validation", RED, |e| e.val_loss),
    ];
    let metrics: [Series; 3] = [
        ("mAP", BLUE, |e| e.val_map),
        ("macro F1", RED, |e| e.val_macro_f1),
        ("weighted F1", GREEN, |e| e.val_weighted_f1),
    ];
    let panel = |area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
                 caption: String,
                 y_max: f64,
                 y_desc: &str,
                 series: &[Series],
                 legend: SeriesLabelPosition|
     -> anyhow::Result<()> {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0.5..epochs + 0.5, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .draw()?;
        for &(name, color, f) in series {
            chart
                .draw_series(LineSeries::new(
                    log.iter().map(|e| (e.epoch as f64, f(e))),
                    color.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    };
    panel(
        &left,
        format!("{title}: loss"),
        max_loss,
        "BCE",
        &losses,
        SeriesLabelPosition::UpperRight,
    )?;
    panel(
        &right,
        format!("{title}: validation"),
        1.0,
        "",
        &metrics,
        SeriesLabelPosition::LowerRight,
    )?;
    root.present()?;
    Ok(())
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

    #[test]
    fn learning_rate_warms_up_then_decays() {
        let peak = 1e-3;
        assert!(learning_rate(peak, 0, 1000) < peak / 10.0);
        assert!((learning_rate(peak, 29, 1000) - peak).abs() < 1e-9);
        assert!(
            learning_rate(peak, 500, 1000) < peak && learning_rate(peak, 500, 1000) > peak / 3.0
        );
        assert!((learning_rate(peak, 1000, 1000) - 0.05 * peak).abs() < 1e-9);
    }

    #[test]
    fn mixing_takes_the_union_of_labels_and_adds_power() {
        let mut set = WindowSet::new(4, 2);
        set.windows = vec![-20.0; 4].into_iter().chain(vec![-20.0; 4]).collect();
        set.labels = vec![1.0, 0.0, 0.0, 1.0];
        set.track_of = vec![0, 1];
        set.tracks = vec!["a".into(), "b".into()];
        let config = TrainConfig {
            gain_db: 0.0,
            shift_frames: 0,
            mix_probability: 1.0,
            ..Default::default()
        };
        let mut rng = StdRng::seed_from_u64(3);
        let (mut out, mut labels) = (vec![0.0; 4], vec![0.0; 2]);
        augmented_example(&set, 0, &config, 2, &mut rng, &mut out, &mut labels);
        assert_eq!(labels, vec![1.0, 1.0]);
        // Two equal powers sum to +3 dB at most; a quieter second window adds less.
        assert!(
            out.iter().all(|&v| v > -20.0 && v <= -20.0 + 3.02),
            "{out:?}"
        );
    }
}
