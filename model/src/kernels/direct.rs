//! A direct 3×3 convolution with bias, ReLU and the 2×2 max-pool fused, eight columns at a time.
//! For the first layer (one input channel) this beats any matrix formulation: there is nothing to
//! reduce over, each input vector is loaded once per pair of output rows and used for every
//! output channel, and the output is pooled in registers before it is stored.

use super::avx2_dispatch;
use super::lanes::{LANES, Lanes};
use super::padding::pad_input;

/// Output channels accumulated together (their sums stay in L1).
const CO_BLOCK: usize = 16;

/// Scratch a direct layer needs: the padded input (`c_in · (h+2) · (w rounded up to 8, + 2)`).
pub fn pad_len(c_in: usize, h: usize, w: usize) -> usize {
    c_in * (h + 2) * (w.div_ceil(LANES) * LANES + 2)
}

/// `out = relu(maxpool2x2(conv(input)) + bias)` for one `c_in × h × w` image (planar); `weight`
/// is `c_out × c_in × 3 × 3`, `out` is a C8 image (`[c_out/8][h/2][w/2][8]`, see
/// [`super::winograd`]) of `c_out × (h/2) × (w/2)`, `pad` holds [`pad_len`] values.
///
/// # Panics
/// If `c_out` is not a multiple of eight.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_pool(
    input: &[f32],
    c_in: usize,
    h: usize,
    w: usize,
    weight: &[f32],
    bias: &[f32],
    pad: &mut [f32],
    out: &mut [f32],
) {
    assert_eq!(bias.len() % LANES, 0, "c_out must be a multiple of {LANES}");
    let (ph, pw) = (h + 2, w.div_ceil(LANES) * LANES + 2);
    let pad = &mut pad[..c_in * ph * pw];
    pad_input(input, c_in, h, w, ph, pw, 1, pad);
    conv_pool(pad, c_in, h, w, pw, weight, bias, out);
}

avx2_dispatch!(fn conv_pool => conv_pool_impl(pad: &[f32], c_in: usize, h: usize, w: usize, pw: usize, weight: &[f32], bias: &[f32], out: &mut [f32]));

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn conv_pool_impl<V: Lanes>(
    pad: &[f32],
    c_in: usize,
    h: usize,
    w: usize,
    pw: usize,
    weight: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let ph = h + 2;
    let (ho, wo) = (h / 2, w / 2);
    let c_out = bias.len();
    for py in 0..ho {
        for xc in (0..w).step_by(LANES) {
            for co0 in (0..c_out).step_by(CO_BLOCK) {
                let n_co = CO_BLOCK.min(c_out - co0);
                // Rows 2·py and 2·py + 1 of the convolution, columns xc .. xc + 8.
                let mut top = [V::zero(); CO_BLOCK];
                let mut bottom = [V::zero(); CO_BLOCK];
                for ci in 0..c_in {
                    let plane = &pad[ci * ph * pw..(ci + 1) * ph * pw];
                    let mut rows = [[V::zero(); 3]; 4];
                    for (r, row) in rows.iter_mut().enumerate() {
                        let src = &plane[(2 * py + r) * pw + xc..][..LANES + 2];
                        for (kx, v) in row.iter_mut().enumerate() {
                            *v = V::load(&src[kx..]);
                        }
                    }
                    for j in 0..n_co {
                        let k = &weight[((co0 + j) * c_in + ci) * 9..][..9];
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let kv = V::splat(k[ky * 3 + kx]);
                                top[j] = top[j].mul_add(rows[ky][kx], kv);
                                bottom[j] = bottom[j].mul_add(rows[ky + 1][kx], kv);
                            }
                        }
                    }
                }
                // Pool column pairs, add the bias and ReLU, then store eight channels per pixel.
                let mut pooled = [[0.0f32; LANES]; CO_BLOCK];
                for j in 0..n_co {
                    let m = top[j].max(bottom[j]).to_array();
                    let b = bias[co0 + j];
                    for p in 0..LANES / 2 {
                        let v = if m[2 * p] > m[2 * p + 1] {
                            m[2 * p]
                        } else {
                            m[2 * p + 1]
                        };
                        pooled[j][p] = (v + b).max(0.0);
                    }
                }
                for jb in (0..n_co).step_by(LANES) {
                    let cb = (co0 + jb) / LANES;
                    for p in 0..(LANES / 2).min(wo - xc / 2) {
                        let mut px = [0.0f32; LANES];
                        for (l, v) in px.iter_mut().enumerate() {
                            *v = pooled[jb + l][p];
                        }
                        out[((cb * ho + py) * wo + xc / 2 + p) * LANES..][..LANES]
                            .copy_from_slice(&px);
                    }
                }
            }
        }
    }
}
