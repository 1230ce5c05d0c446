//! What a training run is told: the network, the optimiser's and augmentation's settings, the
//! device.

use candle_core::Device;
use instrunet_model::NetworkKind;
use instrunet_model::loss::NegativeShaping;
use serde::{Deserialize, Serialize};

/// Training settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Which network to train: the paper's CNN, or its shallow feed-forward baseline (per-band
    /// mean and standard deviation of the window over time, one hidden layer). The weights file
    /// records it.
    pub architecture: NetworkKind,
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
    /// Random EQ on each source window, ± dB: a tilt across the Mel bands and one bell of random
    /// centre and width, so that a timbre is not known only by the training fonts' exact spectra.
    /// 0 (the default, and in checkpoints written before it existed) leaves spectra alone.
    #[serde(default)]
    pub eq_db: f32,
    /// Bells in each random EQ curve (1 to `augment::MAX_EQ_BELLS`): more make spectral envelopes
    /// further from the fonts'. Checkpoints from before it had one.
    #[serde(default = "one_bell")]
    pub eq_bells: usize,
    /// Largest random shift of each source window along the Mel axis, bands (a shift of the
    /// spectral envelope and pitch by a few per cent); 0 leaves it alone.
    #[serde(default)]
    pub mel_shift: usize,
    /// Widest run of neighbouring Mel bands silenced in each example (a frequency mask: the run's
    /// width drawn from 0 to this, at most a quarter of the bands); 0 leaves every band.
    #[serde(default)]
    pub freq_mask: usize,
    /// Widest run of frames silenced in every band of each example (a time mask, its width drawn
    /// from 0 to this, at most a quarter of the window); 0 leaves every frame.
    #[serde(default)]
    pub time_mask: usize,
    /// The validation windows' timbre change (`train --val-timbre-eq-db`, ± dB, and
    /// `--val-timbre-mel-shift`, bands; 0 and 0: validated as they are). Kept so that a resume
    /// compares its epochs with the best so far on the same windows.
    #[serde(default)]
    pub val_timbre_eq_db: f32,
    #[serde(default)]
    pub val_timbre_mel_shift: usize,
    /// The loss's negative terms (`train --neg-focus`, `--neg-margin`): the asymmetric loss's
    /// exponent γ and margin m (`instrunet_model::loss::asymmetric_with_logits`). 0 and 0 (the
    /// default, and in checkpoints written before them): plain binary cross-entropy.
    #[serde(default)]
    pub neg_focus: f32,
    #[serde(default)]
    pub neg_margin: f32,
    /// Exponent α of the draw of training windows (`train --balance`): each window comes up in
    /// proportion to `balance_weights` (windows with rare classes more often). 0 (the default,
    /// and in checkpoints written before it): each epoch a shuffled pass, every window alike.
    #[serde(default)]
    pub balance: f64,
    /// Multiple of the learning rate at which the pool's time-max gates (`time_max` networks)
    /// step: one number per feature, whose gradient at the network's rate moves it about 0.006 in
    /// an epoch of a fine-tune (a gate started closed would stay closed). 1 in checkpoints
    /// written before it.
    #[serde(default = "one")]
    pub time_max_gate_lr: f64,
    /// Cap on training time, minutes: the run stops after the epoch that crosses it.
    pub max_minutes: Option<f64>,
    /// Steps per epoch (default: one pass over the training windows).
    pub steps_per_epoch: Option<usize>,
    /// From this epoch on, each epoch's network is also written beside the checkpoint
    /// ([`checkpoint::epoch_path`](super::checkpoint::epoch_path)), for a soup of a run's last
    /// epochs (the checkpoint itself is overwritten every epoch).
    #[serde(default)]
    pub keep_epochs_from: Option<usize>,
    /// Where the network trains: `cpu`, or `cuda` / `metal` in builds with those features.
    pub device: String,
}

impl TrainConfig {
    /// The loss's negative terms, as `asymmetric_with_logits` takes them (plain BCE when both
    /// settings are 0).
    pub fn negative_shaping(&self) -> NegativeShaping {
        NegativeShaping {
            focus: self.neg_focus,
            margin: self.neg_margin,
        }
    }
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

fn one_bell() -> usize {
    1
}

fn one() -> f64 {
    1.0
}

/// `train --time-max-gate-lr` unless told otherwise.
pub const DEFAULT_TIME_MAX_GATE_LR: f64 = 30.0;

/// Share of training examples mixed with a window of another track unless told otherwise.
pub const DEFAULT_MIX_PROBABILITY: f64 = 0.3;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            architecture: NetworkKind::Instrunet,
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
            eq_db: 0.0,
            mel_shift: 0,
            freq_mask: 0,
            eq_bells: 1,
            time_mask: 0,
            val_timbre_eq_db: 0.0,
            val_timbre_mel_shift: 0,
            neg_focus: 0.0,
            neg_margin: 0.0,
            balance: 0.0,
            time_max_gate_lr: DEFAULT_TIME_MAX_GATE_LR,
            max_minutes: None,
            steps_per_epoch: None,
            keep_epochs_from: None,
            device: "cpu".into(),
        }
    }
}
