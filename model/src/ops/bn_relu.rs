//! The per-plane kernels of BatchNorm → ReLU without the pool (`pool: false` in
//! [`super::bn_relu_pool`]'s op, which holds the statistics, affine and two-pass backward), for
//! the extra blocks after the third. The forward is `relu(a·x + b)` per element; the backward passes the output gradient
//! where the ReLU passed it into BatchNorm's backward. candle's own BatchNorm and ReLU take about
//! ten tensor passes (and allocations) for the same.

use super::bn_relu_pool::PlaneGradient;
use super::{SharedMut, parallel_ranges};
use crate::kernels::avx2_dispatch;
use crate::kernels::lanes::{LANES, Lanes};

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

/// `relu(scale·x + shift)` per channel of `n × c` planes of `hw` values.
pub(super) fn affine_relu(
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

avx2_dispatch!(pub(super) fn passed_sums => passed_sums_impl(p: &[f32], gp: &[f32], a: f32, b: f32) -> (f64, f64));

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

avx2_dispatch!(pub(super) fn plane_gradient_unpooled => plane_gradient_unpooled_impl(p: &[f32], gp: &[f32], c: &PlaneGradient, d: &mut [f32]));

/// dx for one plane: `k·(N·g − Σg − x̂·Σg·x̂)`, g being the output gradient where the ReLU passed
/// it and zero elsewhere.
#[inline(always)]
fn plane_gradient_unpooled_impl<V: Lanes>(p: &[f32], gp: &[f32], c: &PlaneGradient, d: &mut [f32]) {
    let (off, slope, kn) = c.terms();
    let (va, vb, vkn, voff, vslope) = c.lanes::<V>();
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
            kn * gp[i]
        } else {
            0.0
        };
        d[i] = off + slope * p[i] + passed;
    }
}
