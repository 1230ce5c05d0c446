//! The network's CPU inference path. BatchNorm is folded into the convolutions at load time; the
//! first layer is a direct convolution and the two wide ones Winograd F(4×4, 3×3) over `gemm`,
//! each with bias, ReLU and the 2×2 max-pool fused into the pass that writes its output; the extra
//! blocks some files add after the third are Winograd too, with bias and ReLU and no pool. Between
//! layers, images are channel-interleaved in blocks of eight (C8, see [`winograd`]). The pool
//! after the last block (band means, and for `time_max` networks the gated maxima over time) and
//! the two dense layers are plain loops.
//!
//! candle's CPU `conv2d` builds its im2col element by element and spends most of its time there
//! (candle issue #3119). This path is many times faster and, with its scratch space made once
//! ([`CpuScratch`]), allocates nothing per window, so the plugin's worker can call it freely.
//! [`crate::InstruNet`] on candle stays the reference: tests compare the two.

use crate::error::InputError;
use crate::kernels::direct;
use crate::kernels::lanes;
use crate::kernels::winograd::{self, WinogradConv};
use crate::mel::clean_db;
use crate::shape::{BN_EPS, FC_HIDDEN, TIME_MAX_GATE, band_ranges};
use crate::spec::Normalization;
use crate::weights::Weights;

// The spec promises block widths in multiples of CHANNEL_MULTIPLE; the kernels need whole blocks
// of lanes.
const _: () = assert!(crate::spec::NetworkShape::CHANNEL_MULTIPLE.is_multiple_of(lanes::LANES));

/// A 3×3 convolution (padding 1, stride 1) with BatchNorm folded in.
#[derive(Debug, Clone)]
pub struct FoldedConv {
    pub c_in: usize,
    pub c_out: usize,
    /// `c_out × c_in × 3 × 3` row-major (PyTorch's layout; also the im2col row order).
    pub weight: Vec<f32>,
    /// Per output channel.
    pub bias: Vec<f32>,
}

impl FoldedConv {
    /// Folds `bn(conv(x))` in inference mode into one convolution:
    /// `w' = w·γ/√(σ²+ε)`, `b' = (b − μ)·γ/√(σ²+ε) + β`.
    pub fn fold(weights: &Weights, index: usize) -> Self {
        let get = |n: String| {
            weights
                .tensors
                .values(&n)
                .expect("validated weights hold every tensor")
        };
        let w = get(format!("conv{index}.weight"));
        let b = get(format!("conv{index}.bias"));
        let gamma = get(format!("bn{index}.weight"));
        let beta = get(format!("bn{index}.bias"));
        let mean = get(format!("bn{index}.running_mean"));
        let var = get(format!("bn{index}.running_var"));
        let c_out = b.len();
        let k = w.len() / c_out;
        let mut weight = vec![0.0; w.len()];
        let mut bias = vec![0.0; c_out];
        for c in 0..c_out {
            let scale = gamma[c] as f64 / (var[c] as f64 + BN_EPS).sqrt();
            for j in 0..k {
                weight[c * k + j] = (w[c * k + j] as f64 * scale) as f32;
            }
            bias[c] = ((b[c] as f64 - mean[c] as f64) * scale + beta[c] as f64) as f32;
        }
        Self {
            c_in: k / 9,
            c_out,
            weight,
            bias,
        }
    }
}

/// The network, ready for fast CPU inference.
#[derive(Debug, Clone)]
pub struct CpuNet {
    n_mels: usize,
    frames: usize,
    n_classes: usize,
    normalization: Normalization,
    first: FoldedConv,
    wide: [WinogradConv; 2],
    /// The blocks after the third (no pool), in order.
    extra: Vec<WinogradConv>,
    /// Frequency bands of the adaptive average pool.
    pool_bands: usize,
    /// Per-feature weight of each band's maximum over time (`time_max` networks only).
    time_max_gate: Option<Vec<f32>>,
    fc1_weight: Vec<f32>,
    fc1_bias: Vec<f32>,
    fc2_weight: Vec<f32>,
    fc2_bias: Vec<f32>,
}

/// Scratch space for one window at a time; make one per thread with [`CpuNet::scratch`].
#[derive(Debug, Clone)]
pub struct CpuScratch {
    input: Vec<f32>,
    pad: Vec<f32>,
    v: Vec<f32>,
    m: Vec<f32>,
    /// Pooled outputs of the layers, alternating.
    ping: Vec<f32>,
    pong: Vec<f32>,
    features: Vec<f32>,
    hidden: Vec<f32>,
}

impl CpuNet {
    /// Prepares validated weights for CPU inference (folds BatchNorm, transforms the filters).
    pub fn new(weights: &Weights) -> Self {
        let spec = &weights.spec;
        let v = |n: &str| {
            weights
                .tensors
                .values(n)
                .expect("validated weights hold every tensor")
                .to_vec()
        };
        let wide = [2, 3].map(|i| {
            let f = FoldedConv::fold(weights, i);
            WinogradConv::new(&f.weight, &f.bias, f.c_in)
        });
        let extra = (4..4 + spec.network.extra_blocks)
            .map(|i| {
                let f = FoldedConv::fold(weights, i);
                WinogradConv::new(&f.weight, &f.bias, f.c_in)
            })
            .collect();
        Self {
            n_mels: spec.mel.n_mels,
            frames: spec.mel.window_frames,
            n_classes: spec.n_classes(),
            normalization: spec.normalization,
            first: FoldedConv::fold(weights, 1),
            wide,
            extra,
            pool_bands: spec.network.pool_bands,
            time_max_gate: spec.network.time_max.then(|| v(TIME_MAX_GATE)),
            fc1_weight: v("fc1.weight"),
            fc1_bias: v("fc1.bias"),
            fc2_weight: v("fc2.weight"),
            fc2_bias: v("fc2.bias"),
        }
    }

    /// Values in one input window (`n_mels × frames`).
    pub fn window_len(&self) -> usize {
        self.n_mels * self.frames
    }

    /// Number of outputs per window.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Allocates the scratch space one window needs.
    pub fn scratch(&self) -> CpuScratch {
        let (h, w) = (self.n_mels, self.frames);
        let mut pad = direct::pad_len(self.first.c_in, h, w);
        let (mut v, mut m) = (0, 0);
        let (mut hh, mut ww) = (h / 2, w / 2);
        let mut pooled = self.first.c_out * hh * ww;
        for c in &self.wide {
            let (p, vv, mm) = winograd::scratch_sizes(c.c_in, c.c_out, hh, ww);
            pad = pad.max(p);
            v = v.max(vv);
            m = m.max(mm);
            hh /= 2;
            ww /= 2;
            pooled = pooled.max(c.c_out * hh * ww);
        }
        for c in &self.extra {
            let (p, vv, mm) = winograd::scratch_sizes(c.c_in, c.c_out, hh, ww);
            pad = pad.max(p);
            v = v.max(vv);
            m = m.max(mm);
            pooled = pooled.max(c.c_out * hh * ww);
        }
        CpuScratch {
            input: vec![0.0; h * w],
            pad: vec![0.0; pad],
            v: vec![0.0; v],
            m: vec![0.0; m],
            ping: vec![0.0; pooled],
            pong: vec![0.0; pooled],
            features: vec![0.0; self.wide[1].c_out * self.pool_bands],
            hidden: vec![0.0; FC_HIDDEN],
        }
    }

    /// Logits of one mel-major window of raw log-Mel dB values. Allocates nothing.
    pub fn logits(
        &self,
        window: &[f32],
        scratch: &mut CpuScratch,
        out: &mut [f32],
    ) -> Result<(), InputError> {
        if window.len() != self.window_len() {
            return Err(InputError::WrongLength {
                what: "window",
                expected: self.window_len(),
                got: window.len(),
            });
        }
        if out.len() != self.n_classes {
            return Err(InputError::WrongLength {
                what: "logits",
                expected: self.n_classes,
                got: out.len(),
            });
        }
        let s = scratch;
        let (mean, inv_std) = (self.normalization.mean, 1.0 / self.normalization.std);
        for (d, &x) in s.input.iter_mut().zip(window) {
            *d = (clean_db(x) - mean) * inv_std;
        }
        let (mut h, mut w) = (self.n_mels, self.frames);
        let f = &self.first;
        direct::conv3x3_pool(
            &s.input,
            f.c_in,
            h,
            w,
            &f.weight,
            &f.bias,
            &mut s.pad,
            &mut s.ping,
        );
        h /= 2;
        w /= 2;
        // The pooling Winograd layers, then the extra blocks at the last one's size.
        let layers =
            (self.wide.iter().map(|c| (c, true))).chain(self.extra.iter().map(|c| (c, false)));
        for (i, (conv, pool)) in layers.enumerate() {
            let (src, dst) = if i % 2 == 0 {
                (&s.ping, &mut s.pong)
            } else {
                (&s.pong, &mut s.ping)
            };
            let (src, pad, v, m) = (&src[..conv.c_in * h * w], &mut s.pad, &mut s.v, &mut s.m);
            if pool {
                conv.forward_pool(src, h, w, pad, v, m, dst);
                h /= 2;
                w /= 2;
            } else {
                conv.forward_relu(src, h, w, pad, v, m, dst);
            }
        }
        let last = if (self.wide.len() + self.extra.len()) % 2 == 1 {
            &s.pong
        } else {
            &s.ping
        };
        // Adaptive average pool of the last C8 image over time and into frequency bands; the
        // features are channel-major (`c · bands + band`), as the network flattens them.
        let (l, bands) = (lanes::LANES, self.pool_bands);
        let channels = s.features.len() / bands;
        s.features.fill(0.0);
        for (cb, block) in last[..channels * h * w].chunks_exact(h * w * l).enumerate() {
            if let Some(gate) = &self.time_max_gate {
                // Each band's mean over its rows, frame by frame: its mean and its maximum over
                // time, the maximum weighted by the gate.
                for (band, (start, end)) in band_ranges(h, bands).enumerate() {
                    let (mut sum, mut max) = ([0.0f32; lanes::LANES], [f32::MIN; lanes::LANES]);
                    let rows = (end - start) as f32;
                    for t in 0..w {
                        let mut frame = [0.0f32; lanes::LANES];
                        for row in start..end {
                            let px = &block[(row * w + t) * l..(row * w + t + 1) * l];
                            frame.iter_mut().zip(px).for_each(|(a, &v)| *a += v);
                        }
                        for lane in 0..l {
                            sum[lane] += frame[lane];
                            max[lane] = max[lane].max(frame[lane] / rows);
                        }
                    }
                    let n = rows * w as f32;
                    for lane in 0..l {
                        let f = (cb * l + lane) * bands + band;
                        s.features[f] = sum[lane] / n + gate[f] * max[lane];
                    }
                }
                continue;
            }
            for (band, (start, end)) in band_ranges(h, bands).enumerate() {
                let mut sum = [0.0f32; lanes::LANES];
                for px in block[start * w * l..end * w * l].chunks_exact(l) {
                    sum.iter_mut().zip(px).for_each(|(a, &v)| *a += v);
                }
                let n = ((end - start) * w) as f32;
                for (lane, v) in sum.iter().enumerate() {
                    s.features[(cb * l + lane) * bands + band] = v / n;
                }
            }
        }
        dense(
            &self.fc1_weight,
            &self.fc1_bias,
            &s.features,
            &mut s.hidden,
            true,
        );
        dense(&self.fc2_weight, &self.fc2_bias, &s.hidden, out, false);
        Ok(())
    }

    /// Logits of `batch` windows back to back, spread over up to `threads` threads (each needs
    /// its own scratch).
    pub fn logits_batch(
        &self,
        windows: &[f32],
        batch: usize,
        threads: usize,
        scratch: &mut [CpuScratch],
        out: &mut [f32],
    ) -> Result<(), InputError> {
        if batch == 0 {
            return Err(InputError::EmptyBatch);
        }
        let (wl, nc) = (self.window_len(), self.n_classes);
        if windows.len() != batch * wl {
            return Err(InputError::WrongLength {
                what: "batch of windows",
                expected: batch * wl,
                got: windows.len(),
            });
        }
        if out.len() != batch * nc {
            return Err(InputError::WrongLength {
                what: "batch logits",
                expected: batch * nc,
                got: out.len(),
            });
        }
        let threads = threads.clamp(1, batch).min(scratch.len());
        if threads <= 1 {
            let s = scratch.first_mut().expect("at least one scratch");
            for (win, o) in windows.chunks_exact(wl).zip(out.chunks_exact_mut(nc)) {
                self.logits(win, s, o)?;
            }
            return Ok(());
        }
        let per = batch.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = windows
                .chunks(per * wl)
                .zip(out.chunks_mut(per * nc))
                .zip(scratch.iter_mut())
                .map(|((wins, outs), s)| {
                    scope.spawn(move || {
                        wins.chunks_exact(wl)
                            .zip(outs.chunks_exact_mut(nc))
                            .try_for_each(|(win, o)| self.logits(win, s, o))
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("inference thread panicked"))
        })
    }
}

/// `out = W·x + b` (W row-major `out.len() × x.len()`), with ReLU when `relu`.
fn dense(weight: &[f32], bias: &[f32], x: &[f32], out: &mut [f32], relu: bool) {
    for (o, (row, &b)) in out.iter_mut().zip(weight.chunks_exact(x.len()).zip(bias)) {
        let v = row.iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + b;
        *o = if relu { v.max(0.0) } else { v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batchnorm_folds_into_the_convolution() {
        let spec = crate::ModelSpec::new_default(crate::Provenance::default());
        let mut w = Weights::random(spec, 5);
        w.tensors
            .0
            .get_mut("bn1.running_var")
            .unwrap()
            .1
            .fill(4.0 - BN_EPS as f32);
        w.tensors.0.get_mut("bn1.running_mean").unwrap().1.fill(0.5);
        w.tensors.0.get_mut("bn1.weight").unwrap().1.fill(3.0);
        w.tensors.0.get_mut("bn1.bias").unwrap().1.fill(0.25);
        let f = FoldedConv::fold(&w, 1);
        let conv_w = w.tensors.values("conv1.weight").unwrap();
        let conv_b = w.tensors.values("conv1.bias").unwrap();
        // scale = 3 / sqrt(4) = 1.5
        assert!((f.weight[7] - conv_w[7] * 1.5).abs() < 1e-6);
        assert!((f.bias[2] - ((conv_b[2] - 0.5) * 1.5 + 0.25)).abs() < 1e-6);
    }
}
