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

use std::sync::{Arc, Mutex};

use candle_core::{
    CpuStorage, CustomOp1, CustomOp3, Device, Layout, Result, Shape, Storage, Tensor, bail,
};

use super::{SharedMut, f32_slice, parallel_ranges};

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
/// shifts by `beta`, applies ReLU and a 2×2 max-pool. Returns the pooled output and the statistics
/// (for the caller to update running statistics).
pub fn bn_relu_pool_train(
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
        BnReluPoolTrain {
            eps,
            threads,
            stats: stats.clone(),
        },
    )?;
    let stats = stats.lock().expect("stats lock").clone();
    Ok((y, stats))
}

/// Inference form: the same with running statistics; no gradient.
pub fn bn_relu_pool_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let (g, b, m, v) = (
        gamma.to_vec1::<f32>()?,
        beta.to_vec1::<f32>()?,
        running_mean.to_vec1::<f32>()?,
        running_var.to_vec1::<f32>()?,
    );
    let mut scale = vec![0.0; g.len()];
    let mut shift = vec![0.0; g.len()];
    for i in 0..g.len() {
        let inv = 1.0 / (v[i] as f64 + eps).sqrt();
        scale[i] = (g[i] as f64 * inv) as f32;
        shift[i] = (b[i] as f64 - m[i] as f64 * g[i] as f64 * inv) as f32;
    }
    x.apply_op1_no_bwd(&AffineReluPool { scale, shift })
}

struct BnReluPoolTrain {
    eps: f64,
    threads: usize,
    /// Written by the forward pass; read by the caller and by the backward pass.
    stats: Arc<Mutex<BatchStats>>,
}

struct AffineReluPool {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// `out = relu(maxpool2x2(scale·x + shift))` for one `h × w` plane.
fn affine_relu_pool_plane(x: &[f32], h: usize, w: usize, scale: f32, shift: f32, out: &mut [f32]) {
    let (ho, wo) = (h / 2, w / 2);
    for py in 0..ho {
        let r0 = &x[2 * py * w..2 * py * w + 2 * wo];
        let r1 = &x[(2 * py + 1) * w..(2 * py + 1) * w + 2 * wo];
        let o = &mut out[py * wo..(py + 1) * wo];
        for (px, v) in o.iter_mut().enumerate() {
            let (a, b, c, d) = (r0[2 * px], r0[2 * px + 1], r1[2 * px], r1[2 * px + 1]);
            let sel = if scale >= 0.0 {
                a.max(b).max(c.max(d))
            } else {
                a.min(b).min(c.min(d))
            };
            *v = (scale * sel + shift).max(0.0);
        }
    }
}

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

fn values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => f(f32_slice(NAME, "tensor", s, layout)?),
        _ => bail!("{NAME}: only runs on the CPU"),
    }
}

impl CustomOp1 for AffineReluPool {
    fn name(&self) -> &'static str {
        "instrunet-affine-relu-pool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), "input", s, l)?;
        let (n, c, h, w) = l.shape().dims4()?;
        let out = affine_relu_pool(x, n, c, h, w, &self.scale, &self.shift, 1);
        Ok((CpuStorage::F32(out), Shape::from((n, c, h / 2, w / 2))))
    }
}

impl CustomOp3 for BnReluPoolTrain {
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
        let mut scale = vec![0.0; c];
        let mut shift = vec![0.0; c];
        for i in 0..c {
            let inv = 1.0 / (var[i] as f64 + self.eps).sqrt();
            scale[i] = (gamma[i] as f64 * inv) as f32;
            shift[i] = (beta[i] as f64 - mean[i] as f64 * gamma[i] as f64 * inv) as f32;
        }
        let out = affine_relu_pool(x, n, c, h, w, &scale, &shift, self.threads);
        *self.stats.lock().expect("stats lock") = BatchStats {
            mean,
            var,
            count: n * h * w,
        };
        Ok((CpuStorage::F32(out), Shape::from((n, c, h / 2, w / 2))))
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
        let (hw, ho, wo) = (h * w, h / 2, w / 2);
        let stats = self.stats.lock().expect("stats lock").clone();
        let count = (n * hw) as f64;
        let gamma = gamma.to_vec1::<f32>()?;
        let beta = beta.to_vec1::<f32>()?;
        let inv_std: Vec<f64> = stats
            .var
            .iter()
            .map(|&v| 1.0 / (v as f64 + self.eps).sqrt())
            .collect();
        let threads = self.threads;
        let mut sum_g = vec![0.0f32; c];
        let mut sum_gx = vec![0.0f32; c];
        let mut dx = vec![0.0f32; n * c * hw];
        values(x, |xv| {
            values(grad, |g| {
                // Pass 1, per channel: Σg and Σg·x̂ over the elements each output routes to.
                let (sg, sgx) = (SharedMut::new(&mut sum_g), SharedMut::new(&mut sum_gx));
                parallel_ranges(c, threads, |channels, _| {
                    for ch in channels {
                        let a = (gamma[ch] as f64 * inv_std[ch]) as f32;
                        let b = (beta[ch] as f64
                            - stats.mean[ch] as f64 * gamma[ch] as f64 * inv_std[ch])
                            as f32;
                        let (m, is) = (stats.mean[ch] as f64, inv_std[ch]);
                        let (mut s1, mut s2) = (0.0f64, 0.0f64);
                        for i in 0..n {
                            let p = &xv[(i * c + ch) * hw..(i * c + ch + 1) * hw];
                            let gp = &g[(i * c + ch) * ho * wo..(i * c + ch + 1) * ho * wo];
                            let (mut r1, mut r2) = (0.0f32, 0.0f32);
                            for py in 0..ho {
                                for px in 0..wo {
                                    let (sel, _) = select(p, w, py, px, a);
                                    if a * sel + b > 0.0 {
                                        let gv = gp[py * wo + px];
                                        r1 += gv;
                                        r2 += gv * sel;
                                    }
                                }
                            }
                            // Σg·x̂ = (Σg·x − μ·Σg)·inv_std
                            s1 += r1 as f64;
                            s2 += (r2 as f64 - m * r1 as f64) * is;
                        }
                        // SAFETY: each channel is written by one worker only.
                        unsafe {
                            sg.slice(ch, 1)[0] = s1 as f32;
                            sgx.slice(ch, 1)[0] = s2 as f32;
                        }
                    }
                });
                // Pass 2, per plane: dx = a/N·(N·g − Σg − x̂·Σg·x̂).
                let shared = SharedMut::new(&mut dx);
                parallel_ranges(n * c, threads, |planes, _| {
                    for pl in planes {
                        let ch = pl % c;
                        let is = inv_std[ch] as f32;
                        let a = (gamma[ch] as f64 * inv_std[ch]) as f32;
                        let b = (beta[ch] as f64
                            - stats.mean[ch] as f64 * gamma[ch] as f64 * inv_std[ch])
                            as f32;
                        let k = gamma[ch] * is / count as f32;
                        let (m, s1, s2) = (stats.mean[ch], sum_g[ch], sum_gx[ch]);
                        let p = &xv[pl * hw..(pl + 1) * hw];
                        let gp = &g[pl * ho * wo..(pl + 1) * ho * wo];
                        // SAFETY: each plane is written by one worker only.
                        let d = unsafe { shared.slice(pl * hw, hw) };
                        for (dv, &xvv) in d.iter_mut().zip(p) {
                            *dv = -k * (s1 + (xvv - m) * is * s2);
                        }
                        for py in 0..ho {
                            for px in 0..wo {
                                let (sel, at) = select(p, w, py, px, a);
                                if a * sel + b > 0.0 {
                                    d[at] += k * count as f32 * gp[py * wo + px];
                                }
                            }
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

/// The element a 2×2 cell's output comes from (its max when `a ≥ 0`, else its min; the first of
/// equals), and its index in the plane.
#[inline]
fn select(p: &[f32], w: usize, py: usize, px: usize, a: f32) -> (f32, usize) {
    let i0 = 2 * py * w + 2 * px;
    let idx = [i0, i0 + 1, i0 + w, i0 + w + 1];
    let mut best = idx[0];
    for &i in &idx[1..] {
        if (a >= 0.0 && p[i] > p[best]) || (a < 0.0 && p[i] < p[best]) {
            best = i;
        }
    }
    (p[best], best)
}
