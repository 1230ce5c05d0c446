//! BatchNorm → ReLU fused into one pass for the blocks without a pool (the extra blocks after the
//! third), as a candle `CustomOp3` on (x, γ, β) with batch statistics and its fused backward, plus
//! the inference form on running statistics.
//!
//! The forward is `relu(a·x + b)` per element with `a = γ/√(σ²+ε)`, `b = β − μ·a`. The backward
//! masks the output gradient where the ReLU passed it, then applies BatchNorm's backward in one
//! pass per plane: `dx = a/N·(N·g − Σg − x̂·Σ(g·x̂))`, `dγ = Σ(g·x̂)`, `dβ = Σg`. candle's own
//! BatchNorm and ReLU take about ten tensor passes (and allocations) for the same.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};

use super::bn_relu_pool::{BatchStats, ChannelAffine, channel_stats};
use super::{SharedMut, f32_slice, parallel_ranges, tensor_values};
use crate::kernels::avx2_dispatch;
use crate::kernels::lanes::{LANES, Lanes};

const NAME: &str = "instrunet-bn-relu";

/// Training form: normalises `x` `(n, c, h, w)` with its own batch statistics, scales by `gamma`,
/// shifts by `beta` and applies ReLU. Returns the output and the statistics (for the caller to
/// update running statistics).
pub fn bn_relu_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    threads: usize,
) -> Result<(Tensor, BatchStats)> {
    let c = x.dim(1)?;
    if gamma.dims1()? != c || beta.dims1()? != c {
        bail!(
            "{NAME}: x {:?} with gamma {:?} and beta {:?}",
            x.shape(),
            gamma.shape(),
            beta.shape()
        );
    }
    let stats = Arc::new(Mutex::new(BatchStats::default()));
    let y = x.apply_op3(
        gamma,
        beta,
        BnReluTrain {
            eps,
            threads,
            stats: stats.clone(),
        },
    )?;
    let stats = stats.lock().expect("stats lock").clone();
    Ok((y, stats))
}

/// Inference form: the same with running statistics; no gradient.
pub fn bn_relu_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let ChannelAffine { scale, shift, .. } = ChannelAffine::new(
        &gamma.to_vec1::<f32>()?,
        &beta.to_vec1::<f32>()?,
        &running_mean.to_vec1::<f32>()?,
        &running_var.to_vec1::<f32>()?,
        eps,
    );
    x.apply_op1_no_bwd(&AffineRelu { scale, shift })
}

struct BnReluTrain {
    eps: f64,
    threads: usize,
    /// Written by the forward pass; read by the caller and by the backward pass.
    stats: Arc<Mutex<BatchStats>>,
}

struct AffineRelu {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

avx2_dispatch!(fn affine_relu_plane => affine_relu_plane_impl(x: &[f32], scale: f32, shift: f32, out: &mut [f32]));

/// `out = relu(scale·x + shift)` for one plane.
#[inline(always)]
fn affine_relu_plane_impl<V: Lanes>(x: &[f32], scale: f32, shift: f32, out: &mut [f32]) {
    let (vs, vb) = (V::splat(scale), V::splat(shift));
    let mut i = 0;
    while i + LANES <= x.len() {
        vb.mul_add(V::load(&x[i..]), vs)
            .max(V::zero())
            .store(&mut out[i..]);
        i += LANES;
    }
    for i in i..x.len() {
        out[i] = (scale * x[i] + shift).max(0.0);
    }
}

fn affine_relu(
    x: &[f32],
    n: usize,
    c: usize,
    hw: usize,
    scale: &[f32],
    shift: &[f32],
    threads: usize,
) -> Vec<f32> {
    let mut out = vec![0.0; n * c * hw];
    let shared = SharedMut::new(&mut out);
    parallel_ranges(n * c, threads, |planes, _| {
        for p in planes {
            let ch = p % c;
            // SAFETY: each plane's output is written by one worker only.
            let o = unsafe { shared.slice(p * hw, hw) };
            affine_relu_plane(&x[p * hw..(p + 1) * hw], scale[ch], shift[ch], o);
        }
    });
    out
}

impl CustomOp1 for AffineRelu {
    fn name(&self) -> &'static str {
        "instrunet-affine-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), "input", s, l)?;
        let (n, c, h, w) = l.shape().dims4()?;
        let out = affine_relu(x, n, c, h * w, &self.scale, &self.shift, 1);
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

impl CustomOp3 for BnReluTrain {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(NAME, "input", s1, l1)?;
        let gamma = f32_slice(NAME, "gamma", s2, l2)?;
        let beta = f32_slice(NAME, "beta", s3, l3)?;
        let (n, c, h, w) = l1.shape().dims4()?;
        let (mean, var) = channel_stats(x, n, c, h * w, self.threads);
        let ChannelAffine { scale, shift, .. } =
            ChannelAffine::new(gamma, beta, &mean, &var, self.eps);
        let out = affine_relu(x, n, c, h * w, &scale, &shift, self.threads);
        *self.stats.lock().expect("stats lock") = BatchStats {
            mean,
            var,
            count: n * h * w,
        };
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, h, w) = x.dims4()?;
        let hw = h * w;
        let stats = self.stats.lock().expect("stats lock").clone();
        let count = (n * hw) as f32;
        let gamma = gamma.to_vec1::<f32>()?;
        let ChannelAffine {
            scale: a,
            shift: b,
            inv_std,
        } = ChannelAffine::new(
            &gamma,
            &beta.to_vec1::<f32>()?,
            &stats.mean,
            &stats.var,
            self.eps,
        );
        let threads = self.threads;
        let mut sum_g = vec![0.0f32; c];
        let mut sum_gx = vec![0.0f32; c];
        let mut dx = vec![0.0f32; n * c * hw];
        tensor_values(NAME, x, |xv| {
            tensor_values(NAME, grad, |g| {
                // Pass 1, per channel: Σg and Σg·x where the ReLU passed the gradient.
                let (sg, sgx) = (SharedMut::new(&mut sum_g), SharedMut::new(&mut sum_gx));
                parallel_ranges(c, threads, |channels, _| {
                    for ch in channels {
                        let (mut s1, mut s2) = (0.0f64, 0.0f64);
                        for i in 0..n {
                            let pl = (i * c + ch) * hw..(i * c + ch + 1) * hw;
                            let (r1, r2) = passed_sums(&xv[pl.clone()], &g[pl], a[ch], b[ch]);
                            s1 += r1;
                            s2 += r2;
                        }
                        // Σg·x̂ = (Σg·x − μ·Σg)·inv_std
                        let gx_hat = (s2 - stats.mean[ch] as f64 * s1) * inv_std[ch] as f64;
                        // SAFETY: each channel is written by one worker only.
                        unsafe {
                            sg.slice(ch, 1)[0] = s1 as f32;
                            sgx.slice(ch, 1)[0] = gx_hat as f32;
                        }
                    }
                });
                // Pass 2, per plane: dx = k·(N·g − Σg − x̂·Σg·x̂), k = γ·inv_std/N.
                let shared = SharedMut::new(&mut dx);
                parallel_ranges(n * c, threads, |planes, _| {
                    for pl in planes {
                        let ch = pl % c;
                        let k = gamma[ch] * inv_std[ch] / count;
                        let coef = PlaneGradient {
                            a: a[ch],
                            b: b[ch],
                            kn: k * count,
                            // dx without the passed gradient is affine in x: off + slope·x.
                            slope: -k * inv_std[ch] * sum_gx[ch],
                            off: -k * (sum_g[ch] - stats.mean[ch] * inv_std[ch] * sum_gx[ch]),
                        };
                        // SAFETY: each plane is written by one worker only.
                        let d = unsafe { shared.slice(pl * hw, hw) };
                        plane_gradient(
                            &xv[pl * hw..(pl + 1) * hw],
                            &g[pl * hw..(pl + 1) * hw],
                            &coef,
                            d,
                        );
                    }
                });
                Ok(())
            })
        })?;
        let dev = Device::Cpu;
        let grad_x = if x.track_op() {
            Some(Tensor::from_vec(dx, (n, c, h, w), &dev)?)
        } else {
            None
        };
        Ok((
            grad_x,
            Some(Tensor::from_vec(sum_gx, c, &dev)?),
            Some(Tensor::from_vec(sum_g, c, &dev)?),
        ))
    }
}

avx2_dispatch!(fn passed_sums => passed_sums_impl(p: &[f32], gp: &[f32], a: f32, b: f32) -> (f64, f64));

/// (Σg, Σg·x) over one plane's elements whose ReLU passed the gradient.
#[inline(always)]
fn passed_sums_impl<V: Lanes>(p: &[f32], gp: &[f32], a: f32, b: f32) -> (f64, f64) {
    let (va, vb) = (V::splat(a), V::splat(b));
    let (mut v1, mut v2) = (V::zero(), V::zero());
    let mut i = 0;
    while i + LANES <= p.len() {
        let x = V::load(&p[i..]);
        let g = vb.mul_add(x, va).gt(V::zero()).and(V::load(&gp[i..]));
        v1 = v1.add(g);
        v2 = v2.mul_add(g, x);
        i += LANES;
    }
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (a1, a2) in v1.to_array().into_iter().zip(v2.to_array()) {
        s1 += a1 as f64;
        s2 += a2 as f64;
    }
    for i in i..p.len() {
        if a * p[i] + b > 0.0 {
            s1 += gp[i] as f64;
            s2 += (gp[i] * p[i]) as f64;
        }
    }
    (s1, s2)
}

/// What [`plane_gradient`] needs of a channel.
struct PlaneGradient {
    a: f32,
    b: f32,
    /// γ·inv_std (k·N)
    kn: f32,
    slope: f32,
    off: f32,
}

avx2_dispatch!(fn plane_gradient => plane_gradient_impl(p: &[f32], gp: &[f32], c: &PlaneGradient, d: &mut [f32]));

/// dx for one plane: `off + slope·x`, plus `kn·g` where the ReLU passed the gradient.
#[inline(always)]
fn plane_gradient_impl<V: Lanes>(p: &[f32], gp: &[f32], c: &PlaneGradient, d: &mut [f32]) {
    let (va, vb, vkn, voff, vslope) = (
        V::splat(c.a),
        V::splat(c.b),
        V::splat(c.kn),
        V::splat(c.off),
        V::splat(c.slope),
    );
    let mut i = 0;
    while i + LANES <= p.len() {
        let x = V::load(&p[i..]);
        let passed = vb
            .mul_add(x, va)
            .gt(V::zero())
            .and(vkn.mul(V::load(&gp[i..])));
        voff.mul_add(vslope, x).add(passed).store(&mut d[i..]);
        i += LANES;
    }
    for i in i..p.len() {
        let passed = if c.a * p[i] + c.b > 0.0 {
            c.kn * gp[i]
        } else {
            0.0
        };
        d[i] = c.off + c.slope * p[i] + passed;
    }
}
