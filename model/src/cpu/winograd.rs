//! Winograd convolution F(4×4, 3×3) with the 2×2 max-pool, bias and ReLU fused into the output
//! transform.
//!
//! A 3×3 convolution costs 9 multiply-adds per output and input channel. Winograd's minimal
//! filtering computes a 4×4 output tile from a 6×6 input tile with 36 products instead of 144:
//! 4× fewer. The products become 36 independent matrix products
//! `U[ξ] (c_out × c_in) · V[ξ] (c_in × tiles)`, which `gemm` runs near the core's peak. This is
//! what takes batch-1 inference below the time even a perfect direct (im2col) convolution needs on
//! an AVX2 core.
//!
//! The transforms run on 8 tiles at a time, one per SIMD lane. Matrices from Lavin & Gray,
//! "Fast Algorithms for Convolutional Neural Networks" (2015).

use gemm::Parallelism;

use super::lanes::{LANES, Lanes};
use super::{avx2_dispatch, pad_input};

/// Output tile size.
const M: usize = 4;
/// Input tile size (M + 2).
const A: usize = 6;

/// Filter transform G (6 × 3).
const G: [[f64; 3]; A] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Bᵀ applied to six values (a column or row of an input tile).
#[inline(always)]
fn bt<V: Lanes>(d: [V; A]) -> [V; A] {
    let [d0, d1, d2, d3, d4, d5] = d;
    let (four, five, two) = (V::splat(4.0), V::splat(5.0), V::splat(2.0));
    let d4_d2 = d4.sub(d2);
    [
        d0.mul(four).add(d4).sub(d2.mul(five)),
        d3.add(d4).sub(d1.add(d2).mul(four)),
        d4.sub(d3).mul_add(d1.sub(d2), four),
        d4_d2.mul_add(d3.sub(d1), two),
        d4_d2.mul_add(d1.sub(d3), two),
        d1.mul(four).add(d5).sub(d3.mul(five)),
    ]
}

/// Aᵀ applied to six values (a column or row of a product tile).
#[inline(always)]
fn at<V: Lanes>(m: [V; A]) -> [V; M] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let (s12, d12, s34, d34) = (m1.add(m2), m1.sub(m2), m3.add(m4), m3.sub(m4));
    [
        m0.add(s12).add(s34),
        d12.mul_add(d34, V::splat(2.0)),
        s12.mul_add(s34, V::splat(4.0)),
        d12.add(m5).mul_add(d34, V::splat(8.0)),
    ]
}

/// A 3×3 convolution layer prepared for Winograd F(4×4, 3×3), BatchNorm already folded in.
#[derive(Debug, Clone)]
pub struct WinogradConv {
    pub c_in: usize,
    pub c_out: usize,
    /// Transformed filters: 36 matrices of `c_out × c_in`, row-major.
    u: Vec<f32>,
    /// Per output channel, added after the pool.
    bias: Vec<f32>,
}

/// Tile counts and padded sizes of one layer at a given input size.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    h: usize,
    w: usize,
    tiles_x: usize,
    tiles: usize,
    /// Tiles rounded up to whole lane groups (the row length of V and M).
    tiles_padded: usize,
    padded_h: usize,
    padded_w: usize,
}

impl Geometry {
    fn new(h: usize, w: usize) -> Self {
        let (tiles_y, tiles_x) = (h.div_ceil(M), w.div_ceil(M));
        let tiles = tiles_y * tiles_x;
        Self {
            h,
            w,
            tiles_x,
            tiles,
            tiles_padded: tiles.div_ceil(LANES) * LANES,
            padded_h: tiles_y * M + 2,
            padded_w: tiles_x * M + 2,
        }
    }
}

/// Scratch one layer needs for a `c_in × h × w` input: (padded input, V, M) lengths.
pub fn scratch_sizes(c_in: usize, c_out: usize, h: usize, w: usize) -> (usize, usize, usize) {
    let g = Geometry::new(h, w);
    (c_in * g.padded_h * g.padded_w, A * A * c_in * g.tiles_padded, A * A * c_out * g.tiles_padded)
}

impl WinogradConv {
    /// Transforms `c_out × c_in × 3 × 3` filters, `U = G g Gᵀ`, in f64.
    pub fn new(weight: &[f32], bias: &[f32], c_in: usize) -> Self {
        let c_out = bias.len();
        assert_eq!(weight.len(), c_out * c_in * 9, "weight must be c_out × c_in × 3 × 3");
        let mut u = vec![0.0; A * A * c_out * c_in];
        for co in 0..c_out {
            for ci in 0..c_in {
                let g = &weight[(co * c_in + ci) * 9..][..9];
                let mut gg = [[0.0f64; 3]; A];
                for (i, row) in gg.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = (0..3).map(|k| G[i][k] * g[k * 3 + j] as f64).sum();
                    }
                }
                for i in 0..A {
                    for j in 0..A {
                        let v: f64 = (0..3).map(|k| gg[i][k] * G[j][k]).sum();
                        u[((i * A + j) * c_out + co) * c_in + ci] = v as f32;
                    }
                }
            }
        }
        Self { c_in, c_out, u, bias: bias.to_vec() }
    }

    /// `out = relu(maxpool2x2(conv(input)) + bias)` for one `c_in × h × w` image; `out` is
    /// `c_out × (h/2) × (w/2)`. `pad`, `v` and `m` hold at least [`scratch_sizes`] values.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_pool(&self, input: &[f32], h: usize, w: usize, pad: &mut [f32], v: &mut [f32], m: &mut [f32], out: &mut [f32]) {
        let g = Geometry::new(h, w);
        let (c_in, c_out, tp) = (self.c_in, self.c_out, g.tiles_padded);
        let pad = &mut pad[..c_in * g.padded_h * g.padded_w];
        let v = &mut v[..A * A * c_in * tp];
        let m = &mut m[..A * A * c_out * tp];
        pad_input(input, c_in, h, w, g.padded_h, g.padded_w, pad);
        input_transform(pad, c_in, &g, v);
        for xi in 0..A * A {
            let lhs = &self.u[xi * c_out * c_in..][..c_out * c_in];
            let rhs = &v[xi * c_in * tp..][..c_in * tp];
            let dst = &mut m[xi * c_out * tp..][..c_out * tp];
            // SAFETY: lhs is c_out × c_in, rhs c_in × tp (the first `tiles` columns used), dst
            // c_out × tp, all row-major and in bounds; dst aliases neither input.
            unsafe {
                gemm::gemm(
                    c_out,
                    g.tiles,
                    c_in,
                    dst.as_mut_ptr(),
                    1,
                    tp as isize,
                    false,
                    lhs.as_ptr(),
                    1,
                    c_in as isize,
                    rhs.as_ptr(),
                    1,
                    tp as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        }
        output_transform_pool(m, c_out, &g, &self.bias, out);
    }
}

avx2_dispatch!(fn input_transform => input_transform_impl(pad: &[f32], c_in: usize, g: &Geometry, v: &mut [f32]));

/// `V[ξ][ci][t] = (Bᵀ d B)[ξ]` for every input channel and tile, 8 tiles at a time.
#[inline(always)]
fn input_transform_impl<V: Lanes>(pad: &[f32], c_in: usize, g: &Geometry, v: &mut [f32]) {
    let tp = g.tiles_padded;
    let plane = g.padded_h * g.padded_w;
    for ci in 0..c_in {
        let src = &pad[ci * plane..(ci + 1) * plane];
        for t0 in (0..g.tiles).step_by(LANES) {
            // Gather the 6×6 input tile of each lane; a tile's top-left corner in the padded plane
            // (whose origin is one row and column before the image's: the convolution's padding)
            // is (4·ty, 4·tx). Lanes past the last tile repeat it; their results land in V's
            // padding columns.
            let mut d = [[[0.0f32; LANES]; A]; A];
            for l in 0..LANES {
                let t = (t0 + l).min(g.tiles - 1);
                let base = (t / g.tiles_x) * M * g.padded_w + (t % g.tiles_x) * M;
                for (r, row) in d.iter_mut().enumerate() {
                    let s = &src[base + r * g.padded_w..][..A];
                    for (c, cell) in row.iter_mut().enumerate() {
                        cell[l] = s[c];
                    }
                }
            }
            // Bᵀ on every column, then B on every row.
            let mut cols = [[V::zero(); A]; A];
            for c in 0..A {
                let t = bt::<V>(std::array::from_fn(|r| V::from_array(d[r][c])));
                for r in 0..A {
                    cols[r][c] = t[r];
                }
            }
            for (i, row) in cols.iter().enumerate() {
                for (j, val) in bt(*row).into_iter().enumerate() {
                    val.store(&mut v[((i * A + j) * c_in + ci) * tp + t0..]);
                }
            }
        }
    }
}

avx2_dispatch!(fn output_transform_pool => output_transform_pool_impl(m: &[f32], c_out: usize, g: &Geometry, bias: &[f32], out: &mut [f32]));

/// `out = relu(maxpool2x2(Aᵀ M A) + bias)` for every output channel and tile, 8 tiles at a time.
#[inline(always)]
fn output_transform_pool_impl<V: Lanes>(m: &[f32], c_out: usize, g: &Geometry, bias: &[f32], out: &mut [f32]) {
    let tp = g.tiles_padded;
    let (ho, wo) = (g.h / 2, g.w / 2);
    for co in 0..c_out {
        let dst = &mut out[co * ho * wo..(co + 1) * ho * wo];
        let b = V::splat(bias[co]);
        for t0 in (0..g.tiles).step_by(LANES) {
            // Aᵀ on every column, then A on every row.
            let mut rows = [[V::zero(); A]; M];
            for c in 0..A {
                let col: [V; A] = std::array::from_fn(|r| V::load(&m[((r * A + c) * c_out + co) * tp + t0..]));
                for (r, val) in at(col).into_iter().enumerate() {
                    rows[r][c] = val;
                }
            }
            let y: [[V; M]; M] = std::array::from_fn(|r| at(rows[r]));
            // Pool each 2×2 cell of the 4×4 tile, then bias and ReLU.
            let pooled: [[[f32; LANES]; 2]; 2] = std::array::from_fn(|py| {
                std::array::from_fn(|px| {
                    let (r, c) = (2 * py, 2 * px);
                    let cell = y[r][c].max(y[r][c + 1]).max(y[r + 1][c].max(y[r + 1][c + 1]));
                    cell.add(b).max(V::zero()).to_array()
                })
            });
            for l in 0..LANES.min(g.tiles - t0) {
                let t = t0 + l;
                let (oy0, ox0) = ((t / g.tiles_x) * 2, (t % g.tiles_x) * 2);
                for (py, prow) in pooled.iter().enumerate() {
                    let oy = oy0 + py;
                    if oy >= ho {
                        break;
                    }
                    for (px, p) in prow.iter().enumerate() {
                        let ox = ox0 + px;
                        if ox < wo {
                            dst[oy * wo + ox] = p[l];
                        }
                    }
                }
            }
        }
    }
}
