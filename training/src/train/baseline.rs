//! The paper's feed-forward baseline network, and its probabilities on a set.

use candle_core::{Device, Module, ModuleT, Tensor};
use candle_nn::{Linear, VarBuilder};
use instrunet_model::{ModelSpec, Normalization, Weights};

use crate::data::dataset::WindowSet;
use crate::train::config::TrainConfig;
use crate::train::{build, predict_set};
use instrunet_model::NetworkKind;

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

/// Metrics of baseline weights on a set.
pub fn baseline_probabilities(weights: &Weights, set: &WindowSet) -> anyhow::Result<Vec<f32>> {
    let config = TrainConfig {
        architecture: NetworkKind::Baseline,
        ..Default::default()
    };
    let model = build(&weights.spec, &config, Some(&weights.tensors), &Device::Cpu)?;
    predict_set(&model, &weights.spec, &config, set)
}
