//! BatchNorm → ReLU → 2×2 max-pool fused into one pass, as a candle `CustomOp3` on
//! (x, γ, β) with batch statistics (the training form) and its fused backward, plus the
//! inference form on running statistics.
//!
//! With `a = γ/√(σ²+ε)` and `b = β − μ·a`, each output is `relu(a·x + b)` pooled over a 2×2 cell.
//! Because `relu(a·x + b)` is monotonic in `x` (rising when `a ≥ 0`, falling otherwise), the
//! pooled value is `relu(a·max(x) + b)` or `relu(a·min(x) + b)`: one affine per output instead of
//! four. The backward routes each output's gradient to that cell's selected element (the first of
//! equal ones) when the ReLU passed it, then applies BatchNorm's backward:
//! `dx = a/N·(N·g − Σg − x̂·Σ(g·x̂))`, `dγ = Σ(g·x̂)`, `dβ = Σg` over the batch and pixels.
//!
//! The op also runs without the pool (`pool: false`, for the extra blocks): its per-plane kernels
//! are in `super::bn_relu`.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};

use super::bn_relu::{affine_relu, passed_sums, plane_gradient_unpooled};
use super::{SharedMut, f32_slice, parallel_ranges, tensor_values};
use crate::kernels::avx2_dispatch;
use crate::kernels::lanes::{LANES, Lanes};

const NAME: &str = "instrunet-bn-relu-pool";

/// Per-channel statistics of the batch a training forward pass normalised with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchStats {
    pub mean: Vec<f32>,
    /// Biased variance (divided by the count), as used for normalising.
    pub var: Vec<f32>,
    /// Values per channel (batch × height × width).
    pub count: usize,
}

impl BatchStats {
    /// The unbiased variance, as BatchNorm's running variance tracks it.
    pub fn unbiased_var(&self) -> Vec<f32> {
        let k = self.count as f32 / (self.count.max(2) - 1) as f32;
        self.var.iter().map(|v| v * k).collect()
    }
}

/// Training form: normalises `x` `(n, c, h, w)` with its own batch statistics, scales by `gamma`,
/// shifts by `beta`, applies ReLU and, with `pool` (the three first blocks; not the extra ones), a
/// 2×2 max-pool. Returns the output and the statistics (for the caller to update running
/// statistics).
pub fn bn_relu_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    threads: usize,
    pool: bool,
) -> Result<(Tensor, BatchStats)> {
    let c = x.dim(1)?;
    if gamma.dims1()? != c || beta.dims1()? != c {
        bail!(
            "{}: x {:?} with gamma {:?} and beta {:?}",
            op_name(pool),
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
            pool,
            stats: stats.clone(),
        },
    )?;
    let stats = stats.lock().expect("stats lock").clone();
    Ok((y, stats))
}

fn op_name(pool: bool) -> &'static str {
    if pool { NAME } else { "instrunet-bn-relu" }
}

/// Inference form: the same with running statistics; no gradient.
pub fn bn_relu_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f64,
    pool: bool,
) -> Result<Tensor> {
    let (g, b, m, v) = (
        gamma.to_vec1::<f32>()?,
        beta.to_vec1::<f32>()?,
        running_mean.to_vec1::<f32>()?,
        running_var.to_vec1::<f32>()?,
    );
    let ChannelAffine { scale, shift, .. } = ChannelAffine::new(&g, &b, &m, &v, eps);
    x.apply_op1_no_bwd(&AffineRelu { scale, shift, pool })
}

/// BatchNorm as a per-channel affine `y = a·x + b`: `a = γ/√(σ²+ε)`, `b = β − μ·a` (in f64),
/// plus `1/√(σ²+ε)`.
struct ChannelAffine {
    scale: Vec<f32>,
    shift: Vec<f32>,
    inv_std: Vec<f32>,
}

impl ChannelAffine {
    fn new(gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], eps: f64) -> Self {
        let inv: Vec<f64> = var.iter().map(|&v| 1.0 / (v as f64 + eps).sqrt()).collect();
        let scale = gamma
            .iter()
            .zip(&inv)
            .map(|(&g, &i)| (g as f64 * i) as f32)
            .collect();
        let shift = (0..gamma.len())
            .map(|c| (beta[c] as f64 - mean[c] as f64 * gamma[c] as f64 * inv[c]) as f32)
            .collect();
        Self {
            scale,
            shift,
            inv_std: inv.iter().map(|&i| i as f32).collect(),
        }
    }
}

struct BnReluTrain {
    eps: f64,
    threads: usize,
    /// With the 2×2 max-pool (the three first blocks) or without (the extra blocks).
    pool: bool,
    /// Written by the forward pass; read by the caller and by the backward pass.
    stats: Arc<Mutex<BatchStats>>,
}

struct AffineRelu {
    scale: Vec<f32>,
    shift: Vec<f32>,
    pool: bool,
}

avx2_dispatch!(fn affine_relu_pool_plane => affine_relu_pool_plane_impl(x: &[f32], h: usize, w: usize, scale: f32, shift: f32, out: &mut [f32]));

/// `out = relu(maxpool2x2(scale·x + shift))` for one `h × w` plane.
#[inline(always)]
fn affine_relu_pool_plane_impl<V: Lanes>(
    x: &[f32],
    h: usize,
    w: usize,
    scale: f32,
    shift: f32,
    out: &mut [f32],
) {
    let (ho, wo) = (h / 2, w / 2);
    let rising = scale >= 0.0;
    let (vs, vb) = (V::splat(scale), V::splat(shift));
    for py in 0..ho {
        let r0 = &x[2 * py * w..][..2 * wo];
        let r1 = &x[(2 * py + 1) * w..][..2 * wo];
        let o = &mut out[py * wo..(py + 1) * wo];
        let mut px = 0;
        while px + LANES <= wo {
            let (a, b) = V::load_even_odd(&r0[2 * px..]);
            let (c, d) = V::load_even_odd(&r1[2 * px..]);
            let sel = if rising {
                a.max(b).max(c.max(d))
            } else {
                a.min(b).min(c.min(d))
            };
            vb.mul_add(sel, vs).max(V::zero()).store(&mut o[px..]);
            px += LANES;
        }
        for px in px..wo {
            let sel = cell_value(
                r0[2 * px],
                r0[2 * px + 1],
                r1[2 * px],
                r1[2 * px + 1],
                rising,
            );
            o[px] = (scale * sel + shift).max(0.0);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn affine_relu_pool(
    x: &[f32],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    scale: &[f32],
    shift: &[f32],
    threads: usize,
) -> Vec<f32> {
    let (hw, ohw) = (h * w, (h / 2) * (w / 2));
    let mut out = vec![0.0; n * c * ohw];
    let shared = SharedMut::new(&mut out);
    parallel_ranges(n * c, threads, |planes, _| {
        for p in planes {
            let ch = p % c;
            // SAFETY: each plane's output is written by one worker only.
            let o = unsafe { shared.slice(p * ohw, ohw) };
            affine_relu_pool_plane(&x[p * hw..(p + 1) * hw], h, w, scale[ch], shift[ch], o);
        }
    });
    out
}

/// Mean and sum of squared deviations of one plane (two passes, the plane is in cache).
fn plane_moments(p: &[f32]) -> (f64, f64) {
    let mut acc = [0.0f32; 8];
    let chunks = p.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for ch in chunks {
        for l in 0..8 {
            acc[l] += ch[l];
        }
    }
    let mean = (acc.iter().map(|&v| v as f64).sum::<f64>() + rest as f64) / p.len() as f64;
    let m = mean as f32;
    let mut acc = [0.0f32; 8];
    let chunks = p.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().map(|v| (v - m) * (v - m)).sum();
    for ch in chunks {
        for l in 0..8 {
            let d = ch[l] - m;
            acc[l] += d * d;
        }
    }
    // Correct for the f32 rounding of the mean: Σ(x−m)² = Σ(x−μ)² + n(μ−m)².
    let shift = mean - m as f64;
    let m2 =
        acc.iter().map(|&v| v as f64).sum::<f64>() + rest as f64 - p.len() as f64 * shift * shift;
    (mean, m2.max(0.0))
}

/// Per-channel mean and biased variance over images and pixels (Chan's combination of planes).
fn channel_stats(x: &[f32], n: usize, c: usize, hw: usize, threads: usize) -> (Vec<f32>, Vec<f32>) {
    let mut mean = vec![0.0f32; c];
    let mut var = vec![0.0f32; c];
    let (sm, sv) = (SharedMut::new(&mut mean), SharedMut::new(&mut var));
    parallel_ranges(c, threads, |channels, _| {
        for ch in channels {
            let (mut count, mut mu, mut m2) = (0.0f64, 0.0f64, 0.0f64);
            for i in 0..n {
                let (pm, pm2) = plane_moments(&x[(i * c + ch) * hw..(i * c + ch + 1) * hw]);
                let nb = hw as f64;
                let delta = pm - mu;
                let total = count + nb;
                mu += delta * nb / total;
                m2 += pm2 + delta * delta * count * nb / total;
                count = total;
            }
            // SAFETY: each channel is written by one worker only.
            unsafe {
                sm.slice(ch, 1)[0] = mu as f32;
                sv.slice(ch, 1)[0] = (m2 / count) as f32;
            }
        }
    });
    (mean, var)
}

impl CustomOp1 for AffineRelu {
    fn name(&self) -> &'static str {
        "instrunet-affine-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), "input", s, l)?;
        let (n, c, h, w) = l.shape().dims4()?;
        Ok(affine_relu_either(
            x,
            (n, c, h, w),
            &self.scale,
            &self.shift,
            self.pool,
            1,
        ))
    }
}

/// `relu(scale·x + shift)` per channel, pooled 2×2 when `pool`, with the output's shape.
fn affine_relu_either(
    x: &[f32],
    (n, c, h, w): (usize, usize, usize, usize),
    scale: &[f32],
    shift: &[f32],
    pool: bool,
    threads: usize,
) -> (CpuStorage, Shape) {
    if pool {
        let out = affine_relu_pool(x, n, c, h, w, scale, shift, threads);
        (CpuStorage::F32(out), Shape::from((n, c, h / 2, w / 2)))
    } else {
        let out = affine_relu(x, n, c, h * w, scale, shift, threads);
        (CpuStorage::F32(out), Shape::from((n, c, h, w)))
    }
}

impl CustomOp3 for BnReluTrain {
    fn name(&self) -> &'static str {
        op_name(self.pool)
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
        let out = affine_relu_either(x, (n, c, h, w), &scale, &shift, self.pool, self.threads);
        *self.stats.lock().expect("stats lock") = BatchStats {
            mean,
            var,
            count: n * h * w,
        };
        Ok(out)
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
        let pool = self.pool;
        let hw = h * w;
        let ohw = if pool { (h / 2) * (w / 2) } else { hw };
        let stats = self.stats.lock().expect("stats lock").clone();
        let count = (n * hw) as f32;
        let gamma = gamma.to_vec1::<f32>()?;
        let beta = beta.to_vec1::<f32>()?;
        // Per channel: the forward's affine (a, b), and the inverse standard deviation.
        let ChannelAffine {
            scale: a,
            shift: b,
            inv_std,
        } = ChannelAffine::new(&gamma, &beta, &stats.mean, &stats.var, self.eps);
        let threads = self.threads;
        let mut sum_g = vec![0.0f32; c];
        let mut sum_gx = vec![0.0f32; c];
        let mut dx = vec![0.0f32; n * c * hw];
        tensor_values(NAME, x, |xv| {
            tensor_values(NAME, grad, |g| {
                // Pass 1, per channel: Σg and Σg·x over the elements each output routes to (where
                // the ReLU passed it).
                let (sg, sgx) = (SharedMut::new(&mut sum_g), SharedMut::new(&mut sum_gx));
                parallel_ranges(c, threads, |channels, _| {
                    for ch in channels {
                        let (mut s1, mut s2) = (0.0f64, 0.0f64);
                        for i in 0..n {
                            let pl = i * c + ch;
                            let (xp, gp) =
                                (&xv[pl * hw..(pl + 1) * hw], &g[pl * ohw..(pl + 1) * ohw]);
                            let (r1, r2) = if pool {
                                routed_sums(xp, gp, h, w, a[ch], b[ch])
                            } else {
                                passed_sums(xp, gp, a[ch], b[ch])
                            };
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
                // Pass 2, per plane: dx = a/N·(N·g − Σg − x̂·Σg·x̂).
                let shared = SharedMut::new(&mut dx);
                parallel_ranges(n * c, threads, |planes, _| {
                    for pl in planes {
                        let ch = pl % c;
                        let coef = PlaneGradient {
                            a: a[ch],
                            b: b[ch],
                            k: gamma[ch] * inv_std[ch] / count,
                            count,
                            mean: stats.mean[ch],
                            inv_std: inv_std[ch],
                            sum_g: sum_g[ch],
                            sum_gx_hat: sum_gx[ch],
                        };
                        // SAFETY: each plane is written by one worker only.
                        let d = unsafe { shared.slice(pl * hw, hw) };
                        let (xp, gp) = (&xv[pl * hw..(pl + 1) * hw], &g[pl * ohw..(pl + 1) * ohw]);
                        if pool {
                            plane_gradient(xp, gp, h, w, &coef, d);
                        } else {
                            plane_gradient_unpooled(xp, gp, &coef, d);
                        }
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

/// The value a 2×2 cell's output comes from: its max when `a ≥ 0` (the affine rises), else its
/// min.
#[inline(always)]
fn cell_value(x0: f32, x1: f32, x2: f32, x3: f32, rising: bool) -> f32 {
    if rising {
        x0.max(x1).max(x2.max(x3))
    } else {
        x0.min(x1).min(x2.min(x3))
    }
}

avx2_dispatch!(fn routed_sums => routed_sums_impl(p: &[f32], gp: &[f32], h: usize, w: usize, a: f32, b: f32) -> (f64, f64));

/// (Σg, Σg·x) over one plane's cells whose ReLU passed the gradient, x being the cell's selected
/// value.
#[inline(always)]
fn routed_sums_impl<V: Lanes>(
    p: &[f32],
    gp: &[f32],
    h: usize,
    w: usize,
    a: f32,
    b: f32,
) -> (f64, f64) {
    let (ho, wo) = (h / 2, w / 2);
    let rising = a >= 0.0;
    let (va, vb) = (V::splat(a), V::splat(b));
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for py in 0..ho {
        let r0 = &p[2 * py * w..][..2 * wo];
        let r1 = &p[(2 * py + 1) * w..][..2 * wo];
        let gr = &gp[py * wo..][..wo];
        let (mut v1, mut v2) = (V::zero(), V::zero());
        let mut px = 0;
        while px + LANES <= wo {
            let (x0, x1) = V::load_even_odd(&r0[2 * px..]);
            let (x2, x3) = V::load_even_odd(&r1[2 * px..]);
            let m = if rising {
                x0.max(x1).max(x2.max(x3))
            } else {
                x0.min(x1).min(x2.min(x3))
            };
            let gv = vb.mul_add(m, va).gt(V::zero()).and(V::load(&gr[px..]));
            v1 = v1.add(gv);
            v2 = v2.mul_add(gv, m);
            px += LANES;
        }
        let (mut t1, mut t2) = (0.0f32, 0.0f32);
        for (a1, a2) in v1.to_array().into_iter().zip(v2.to_array()) {
            t1 += a1;
            t2 += a2;
        }
        for px in px..wo {
            let m = cell_value(
                r0[2 * px],
                r0[2 * px + 1],
                r1[2 * px],
                r1[2 * px + 1],
                rising,
            );
            let gv = if a * m + b > 0.0 { gr[px] } else { 0.0 };
            t1 += gv;
            t2 += gv * m;
        }
        s1 += t1 as f64;
        s2 += t2 as f64;
    }
    (s1, s2)
}

/// What [`plane_gradient`] needs of a channel.
pub(super) struct PlaneGradient {
    pub(super) a: f32,
    pub(super) b: f32,
    /// γ·inv_std / N
    pub(super) k: f32,
    pub(super) count: f32,
    pub(super) mean: f32,
    pub(super) inv_std: f32,
    pub(super) sum_g: f32,
    pub(super) sum_gx_hat: f32,
}

impl PlaneGradient {
    /// `(off, slope, kn)`: dx without the output gradient's own term is affine in x,
    /// `off + slope·x`, and a passed gradient g adds `kn·g` (kn = k·N).
    pub(super) fn terms(&self) -> (f32, f32, f32) {
        let slope = -self.k * self.inv_std * self.sum_gx_hat;
        let off = -self.k * (self.sum_g - self.mean * self.inv_std * self.sum_gx_hat);
        (off, slope, self.k * self.count)
    }

    /// `a`, `b` and [`Self::terms`] splatted: `(a, b, kn, off, slope)`.
    #[inline(always)]
    pub(super) fn lanes<V: Lanes>(&self) -> (V, V, V, V, V) {
        let (off, slope, kn) = self.terms();
        (
            V::splat(self.a),
            V::splat(self.b),
            V::splat(kn),
            V::splat(off),
            V::splat(slope),
        )
    }
}

avx2_dispatch!(fn plane_gradient => plane_gradient_impl(p: &[f32], gp: &[f32], h: usize, w: usize, c: &PlaneGradient, d: &mut [f32]));

/// dx for one plane: `k·(N·g − Σg − x̂·Σg·x̂)`, where g is the routed output gradient (at the first
/// selected element of each cell whose ReLU passed it) and zero elsewhere.
#[inline(always)]
fn plane_gradient_impl<V: Lanes>(
    p: &[f32],
    gp: &[f32],
    h: usize,
    w: usize,
    c: &PlaneGradient,
    d: &mut [f32],
) {
    let (ho, wo) = (h / 2, w / 2);
    let rising = c.a >= 0.0;
    // dx without the routed term is affine in x: base(x) = off + slope·x.
    let (off, slope, kn) = c.terms();
    let (va, vb, vkn, voff, vslope) = c.lanes::<V>();
    // Row pair by row pair, so that the routed additions hit rows still in cache.
    for py in 0..ho {
        let (i0, i1) = (2 * py * w, (2 * py + 1) * w);
        let (d0, d1) = d[i0..i1 + w].split_at_mut(w);
        let (p0, p1) = (&p[i0..i0 + w], &p[i1..i1 + w]);
        let gr = &gp[py * wo..(py + 1) * wo];
        let mut px = 0;
        while px + LANES <= wo {
            let (x0, x1) = V::load_even_odd(&p0[2 * px..]);
            let (x2, x3) = V::load_even_odd(&p1[2 * px..]);
            let m = if rising {
                x0.max(x1).max(x2.max(x3))
            } else {
                x0.min(x1).min(x2.min(x3))
            };
            // Whether the ReLU passed the gradient, and which element (the first equal to the
            // selected value) takes it, as masks.
            let add = vb
                .mul_add(m, va)
                .gt(V::zero())
                .and(vkn.mul(V::load(&gr[px..])));
            let e0 = x0.eq(m);
            let e1 = e0.and_not(x1.eq(m));
            let e01 = e0.or(e1);
            let e2 = e01.and_not(x2.eq(m));
            let e3 = e01.or(e2).and_not(add);
            let base = |x: V| voff.mul_add(vslope, x);
            V::store_interleaved(
                base(x0).add(e0.and(add)),
                base(x1).add(e1.and(add)),
                &mut d0[2 * px..],
            );
            V::store_interleaved(
                base(x2).add(e2.and(add)),
                base(x3).add(e3),
                &mut d1[2 * px..],
            );
            px += LANES;
        }
        for i in 2 * px..w {
            d0[i] = off + slope * p0[i];
            d1[i] = off + slope * p1[i];
        }
        for px in px..wo {
            let (x0, x1, x2, x3) = (p0[2 * px], p0[2 * px + 1], p1[2 * px], p1[2 * px + 1]);
            let m = cell_value(x0, x1, x2, x3, rising);
            let add = if c.a * m + c.b > 0.0 {
                kn * gr[px]
            } else {
                0.0
            };
            let at = if x0 == m {
                2 * px
            } else if x1 == m {
                2 * px + 1
            } else if x2 == m {
                w + 2 * px
            } else {
                w + 2 * px + 1
            };
            if at < w {
                d0[at] += add
            } else {
                d1[at - w] += add
            }
        }
    }
    // An odd last row is outside every pooling cell: only the BatchNorm terms reach it.
    for (dv, &xv) in d[2 * ho * w..].iter_mut().zip(&p[2 * ho * w..]) {
        *dv = off + slope * xv;
    }
}
