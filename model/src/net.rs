//! The InstruNET network, as the paper describes it, in candle's model style.
//!
//! Three blocks of conv 3×3 (padding 1) → BatchNorm → ReLU → 2×2 max-pool with 32, 64 and 128
//! channels (the weights file may record wider blocks, and extra blocks without the pool after the
//! third, at its width); an adaptive average pool to the spec's
//! frequency bands (plus, where the file asks for `time_max`, each band's maximum over time times a
//! learnt per-feature gate); Linear → 256, ReLU, Dropout; Linear 256→classes. The network
//! returns logits (the loss takes logits); `sigmoid` gives probabilities. Its input is a batch of
//! log-Mel windows in dB, shaped `(batch, 1, n_mels, frames)`; it normalises them itself with the
//! spec's mean and std, so every caller feeds the same raw values.
//!
//! Tensor names follow PyTorch's conventions (`conv1.weight`, `bn1.running_mean`, `fc1.bias`) so a
//! weights file loads into a PyTorch port of the model.
//!
//! On the CPU the convolution blocks run the fused kernels of [`crate::ops`] (with their own
//! backward passes, so training keeps candle's autograd); candle's own ops run them on CUDA and
//! Metal, and on the CPU when [`InstruNet::use_candle_ops`] asks for the reference path.

use candle_core::{DType, Device, ModuleT, Result, Tensor, Var};
use candle_nn::{BatchNorm, BatchNormConfig, Conv2d, Conv2dConfig, Dropout, Linear, VarBuilder};

use crate::ops;
use crate::shape::{BN_EPS, FC_HIDDEN, TIME_MAX_GATE, band_ranges};
use crate::spec::{ModelSpec, Normalization};

/// BatchNorm running-statistics momentum (PyTorch's default).
pub const BN_MOMENTUM: f64 = 0.1;
/// Dropout probability before the output layer, used when training.
pub const DEFAULT_DROPOUT: f32 = 0.3;

/// conv 3×3 → BatchNorm → ReLU → 2×2 max-pool (the pool left out in the extra blocks).
#[derive(Debug, Clone)]
pub struct ConvBlock {
    conv: Conv2d,
    bn: BatchNorm,
    pool: bool,
}

impl ConvBlock {
    /// Block `index` (1-based, as in the tensor names) from `c_in` to `c_out` channels, ending
    /// in a 2×2 max-pool when `pool`.
    pub fn new(
        index: usize,
        c_in: usize,
        c_out: usize,
        pool: bool,
        vb: &VarBuilder,
    ) -> Result<Self> {
        let conv_cfg = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        let conv = candle_nn::conv2d(c_in, c_out, 3, conv_cfg, vb.pp(format!("conv{index}")))?;
        let bn_cfg = BatchNormConfig {
            eps: BN_EPS,
            remove_mean: true,
            affine: true,
            momentum: BN_MOMENTUM,
        };
        let bn = candle_nn::batch_norm(c_out, bn_cfg, vb.pp(format!("bn{index}")))?;
        Ok(Self { conv, bn, pool })
    }

    /// The convolution (for tests that compare kernels against candle's).
    pub fn conv(&self) -> &Conv2d {
        &self.conv
    }
}

impl ConvBlock {
    /// The block on the CPU's fused kernels, the batch spread over `threads` threads. In training
    /// mode it updates BatchNorm's running statistics as candle's `BatchNorm` does.
    pub fn forward_fused(&self, xs: &Tensor, train: bool, threads: usize) -> Result<Tensor> {
        let bias = self
            .conv
            .bias()
            .expect("InstruNET's convolutions have a bias");
        let ys = ops::conv3x3(xs, self.conv.weight(), bias, threads)?;
        let (gamma, beta) = self
            .bn
            .weight_and_bias()
            .expect("InstruNET's BatchNorm is affine");
        let (running_mean, running_var) = (self.bn.running_mean(), self.bn.running_var());
        let eps = self.bn.eps();
        if !train {
            return ops::bn_relu_eval(&ys, gamma, beta, running_mean, running_var, eps, self.pool);
        }
        let (out, stats) = ops::bn_relu_train(&ys, gamma, beta, eps, threads, self.pool)?;
        let m = self.bn.momentum();
        let dev = running_mean.device();
        let batch_mean = Tensor::from_vec(stats.mean.clone(), stats.mean.len(), dev)?;
        let batch_var = Tensor::from_vec(stats.unbiased_var(), stats.var.len(), dev)?;
        // Running statistics are variables of the VarMap (when training), updated in place.
        Var::from_tensor(running_mean)?.set(&((running_mean * (1.0 - m))? + (batch_mean * m)?)?)?;
        Var::from_tensor(running_var)?.set(&((running_var * (1.0 - m))? + (batch_var * m)?)?)?;
        Ok(out)
    }
}

impl ModuleT for ConvBlock {
    /// The block on candle's own ops (the reference path).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let ys = xs.apply(&self.conv)?.apply_t(&self.bn, train)?.relu()?;
        if self.pool { max_pool2x2(&ys) } else { Ok(ys) }
    }
}

/// 2×2 max-pool with stride 2 (odd sizes floored), built from `reshape` and `max` so that its
/// gradient is right: candle 0.11.1's `max_pool2d` backward scales the gradient of a unique
/// maximum by 1/4 (it multiplies by the share of maxima in the window instead of dividing).
pub fn max_pool2x2(xs: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = xs.dims4()?;
    let (ho, wo) = (h / 2, w / 2);
    let xs = if h % 2 == 0 && w % 2 == 0 {
        xs.clone()
    } else {
        xs.narrow(2, 0, 2 * ho)?.narrow(3, 0, 2 * wo)?
    };
    xs.contiguous()?
        .reshape((n, c, ho, 2, wo, 2))?
        .max(5)?
        .max(3)
}

/// Adaptive average pool of `(n, c, h, w)` to `(n, c·bands)`: time (`w`) averaged out, the
/// frequency axis (`h`) averaged into `bands` bands with PyTorch's `AdaptiveAvgPool2d((bands, 1))`
/// boundaries, flattened channel-major as PyTorch's `flatten(1)` does.
pub fn adaptive_band_pool(xs: &Tensor, bands: usize) -> Result<Tensor> {
    let (n, c, h, _) = xs.dims4()?;
    let time_mean = xs.mean(3)?;
    if bands == 1 {
        return time_mean.mean(2);
    }
    let parts = band_ranges(h, bands)
        .map(|(start, end)| time_mean.narrow(2, start, end - start)?.mean_keepdim(2))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 2)?.reshape((n, c * bands))
}

/// [`adaptive_band_pool`]'s features plus, per feature, `gate` times the band's maximum over
/// time (of the band's mean over its rows; networks with `time_max`).
pub fn band_pool_with_time_max(xs: &Tensor, bands: usize, gate: &Tensor) -> Result<Tensor> {
    let (n, c, h, _) = xs.dims4()?;
    let band_rows = band_ranges(h, bands)
        .map(|(start, end)| xs.narrow(2, start, end - start)?.mean_keepdim(2))
        .collect::<Result<Vec<_>>>()?;
    let band_rows = Tensor::cat(&band_rows, 2)?;
    let mean = band_rows.mean(3)?.reshape((n, c * bands))?;
    let max = band_rows.max(3)?.reshape((n, c * bands))?;
    mean + max.broadcast_mul(gate)?
}

/// The InstruNET network.
#[derive(Debug, Clone)]
pub struct InstruNet {
    blocks: Vec<ConvBlock>,
    /// Per-feature weight of the pool's maximum over time (`time_max` networks only).
    time_max_gate: Option<Tensor>,
    fc1: Linear,
    fc2: Linear,
    dropout: Dropout,
    normalization: Normalization,
    n_classes: usize,
    /// Frequency bands of the adaptive average pool.
    pool_bands: usize,
    /// Run the blocks on candle's ops even on the CPU (the reference path).
    candle_ops: bool,
    /// Threads the fused CPU kernels spread a batch over.
    threads: usize,
}

impl InstruNet {
    /// Builds the network for `spec` (its class count and input normalisation) from `vb`.
    pub fn new(spec: &ModelSpec, dropout: f32, vb: VarBuilder) -> Result<Self> {
        let channels = spec.network.block_channels();
        let blocks = channels
            .iter()
            .enumerate()
            .map(|(i, &c_out)| {
                let c_in = if i == 0 { 1 } else { channels[i - 1] };
                ConvBlock::new(i + 1, c_in, c_out, i < 3, &vb)
            })
            .collect::<Result<Vec<_>>>()?;
        let c3 = spec.network.conv_channels[2];
        let pool_bands = spec.network.pool_bands;
        // A new network starts with PANNs' plain mean + max; a file gives its own gate.
        let time_max_gate = if spec.network.time_max {
            Some(vb.get_with_hints(c3 * pool_bands, TIME_MAX_GATE, candle_nn::Init::Const(1.0))?)
        } else {
            None
        };
        let fc1 = candle_nn::linear(c3 * pool_bands, FC_HIDDEN, vb.pp("fc1"))?;
        let fc2 = candle_nn::linear(FC_HIDDEN, spec.n_classes(), vb.pp("fc2"))?;
        Ok(Self {
            blocks,
            time_max_gate,
            fc1,
            fc2,
            dropout: Dropout::new(dropout),
            normalization: spec.normalization,
            n_classes: spec.n_classes(),
            pool_bands,
            candle_ops: false,
            threads: 1,
        })
    }

    /// Runs the convolution blocks on candle's own ops even on the CPU (for reference runs).
    pub fn use_candle_ops(&mut self, yes: bool) {
        self.candle_ops = yes;
    }

    /// Threads the fused CPU kernels spread a batch over (at least 1).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Number of outputs.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The convolution blocks, the three pooling ones first.
    pub fn blocks(&self) -> &[ConvBlock] {
        &self.blocks
    }

    /// The last convolution block's output `(batch, channels, h, w)` for a batch of raw log-Mel
    /// windows `(batch, 1, n_mels, frames)` in dB.
    pub fn block_features_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let n = self.normalization;
        let xs = xs.affine(1.0 / n.std as f64, -(n.mean / n.std) as f64)?;
        let fused = xs.device().is_cpu() && !self.candle_ops;
        self.blocks.iter().try_fold(xs, |x, b| {
            if fused {
                b.forward_fused(&x, train, self.threads)
            } else {
                x.apply_t(b, train)
            }
        })
    }

    /// Logits for a batch of raw log-Mel windows `(batch, 1, n_mels, frames)` in dB.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let xs = self.block_features_t(xs, train)?;
        let xs = match &self.time_max_gate {
            Some(gate) => band_pool_with_time_max(&xs, self.pool_bands, gate)?,
            None => adaptive_band_pool(&xs, self.pool_bands)?,
        };
        let xs = xs.apply(&self.fc1)?.relu()?.apply_t(&self.dropout, train)?;
        xs.apply(&self.fc2)
    }

    /// Per-class probabilities (sigmoid of the logits) in inference mode.
    pub fn probabilities(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.forward_t(xs, false)?)
    }
}

impl ModuleT for InstruNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        InstruNet::forward_t(self, xs, train)
    }
}

/// Reshapes `batch` mel-major windows (`[n_mels][frames]` each, back to back) into the network's
/// input tensor.
pub fn windows_to_tensor(
    windows: &[f32],
    batch: usize,
    spec: &ModelSpec,
    device: &Device,
) -> Result<Tensor> {
    let (m, t) = (spec.mel.n_mels, spec.mel.window_frames);
    Tensor::from_slice(windows, (batch, 1, m, t), device)?.to_dtype(DType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_pool_averages_time_and_bands_channel_major() {
        // (1, 2, 4, 3): channel c, row r, column t holds 100c + 10r + t.
        let v: Vec<f32> = (0..2)
            .flat_map(|c| {
                (0..4).flat_map(move |r| (0..3).map(move |t| (100 * c + 10 * r + t) as f32))
            })
            .collect();
        let xs = Tensor::from_vec(v, (1, 2, 4, 3), &Device::Cpu).unwrap();
        let got: Vec<f32> = adaptive_band_pool(&xs, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        // Band 0 = rows 0-1 (mean row 0.5), band 1 = rows 2-3 (2.5); time mean 1.
        assert_eq!(got, [6.0, 26.0, 106.0, 126.0]);
        let global: Vec<f32> = adaptive_band_pool(&xs, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(global, [16.0, 116.0]);
    }

    #[test]
    fn time_max_pool_adds_the_gated_maximum_of_each_bands_mean() {
        // (1, 2, 4, 3): 100c + 10r, plus 6 at column r % 2 of row r. Band 0 (rows 0-1) has the
        // row mean 5 + [3, 3, 0] over time: mean 7, max 8 (taking each row's maximum first
        // would give 11). Band 1 likewise 27 and 28; channel 1 is 100 higher.
        let v: Vec<f32> = (0..2)
            .flat_map(|c| {
                (0..4).flat_map(move |r| {
                    (0..3).map(move |t| {
                        (100 * c + 10 * r) as f32 + if t == r % 2 { 6.0 } else { 0.0 }
                    })
                })
            })
            .collect();
        let xs = Tensor::from_vec(v, (1, 2, 4, 3), &Device::Cpu).unwrap();
        let gate = Tensor::new(&[0.0f32, 1.0, 0.5, 2.0], &Device::Cpu).unwrap();
        let got: Vec<f32> = band_pool_with_time_max(&xs, 2, &gate)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(got, [7.0, 27.0 + 28.0, 107.0 + 54.0, 127.0 + 256.0]);
        // A zero gate is the average pool.
        let zero = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let plain = band_pool_with_time_max(&xs, 2, &zero).unwrap();
        let avg = adaptive_band_pool(&xs, 2).unwrap();
        let diff: f32 = (plain - avg)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(diff < 1e-5, "{diff}");
    }
}
