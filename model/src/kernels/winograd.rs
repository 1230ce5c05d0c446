//! Winograd convolution F(4×4, 3×3) with the 2×2 max-pool, bias and ReLU fused into the output
//! transform.
//!
//! A 3×3 convolution costs 9 multiply-adds per output and input channel. Winograd's minimal
//! filtering computes a 4×4 output tile from a 6×6 input tile with 36 products instead of 144:
//! 4× fewer. The products become 36 independent matrix products
//! `V[ξ] (tiles × c_in) · U[ξ] (c_in × c_out)`, which [`super::matmul`] runs near the core's peak. This is
//! what takes batch-1 inference below the time even a perfect direct (im2col) convolution needs on
//! an AVX2 core.
//!
//! Images are stored channel-interleaved in blocks of eight ("C8": `[c/8][y][x][8]`), so that
//! every tile value of eight channels is one vector load and every transform is plain vector
//! arithmetic, with no gathers or scatters; channel counts must be multiples of eight. Matrices from
//! Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2015).

use super::avx2_dispatch;
use super::lanes::{LANES, Lanes};
use super::matmul::matmul;
use super::padding::pad_input;

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
    /// Transformed filters: 36 matrices of `c_in × c_out`, row-major.
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
    padded_h: usize,
    padded_w: usize,
}

impl Geometry {
    fn new(h: usize, w: usize) -> Self {
        let (tiles_y, tiles_x) = (h.div_ceil(M), w.div_ceil(M));
        Self {
            h,
            w,
            tiles_x,
            tiles: tiles_y * tiles_x,
            padded_h: tiles_y * M + 2,
            padded_w: tiles_x * M + 2,
        }
    }
}

/// Scratch one layer needs for a `c_in × h × w` input: (padded input, V, M) lengths.
pub fn scratch_sizes(c_in: usize, c_out: usize, h: usize, w: usize) -> (usize, usize, usize) {
    let g = Geometry::new(h, w);
    (
        c_in * g.padded_h * g.padded_w,
        A * A * c_in * g.tiles,
        A * A * c_out * g.tiles,
    )
}

impl WinogradConv {
    /// Transforms `c_out × c_in × 3 × 3` filters, `U = G g Gᵀ`, in f64.
    ///
    /// # Panics
    /// If the channel counts are not multiples of eight or the shapes disagree.
    pub fn new(weight: &[f32], bias: &[f32], c_in: usize) -> Self {
        let c_out = bias.len();
        assert!(
            c_in.is_multiple_of(LANES) && c_out.is_multiple_of(LANES),
            "channel counts must be multiples of {LANES}"
        );
        assert_eq!(
            weight.len(),
            c_out * c_in * 9,
            "weight must be c_out × c_in × 3 × 3"
        );
        let mut u = vec![0.0; A * A * c_in * c_out];
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
                        u[((i * A + j) * c_in + ci) * c_out + co] = v as f32;
                    }
                }
            }
        }
        Self {
            c_in,
            c_out,
            u,
            bias: bias.to_vec(),
        }
    }

    /// `out = relu(maxpool2x2(conv(input)) + bias)` for one C8 image of `c_in × h × w`; `out` is
    /// C8 `c_out × (h/2) × (w/2)`. `pad`, `v` and `m` hold at least [`scratch_sizes`] values.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_pool(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: &mut [f32],
        v: &mut [f32],
        m: &mut [f32],
        out: &mut [f32],
    ) {
        self.forward_c8(input, h, w, true, pad, v, m, out);
    }

    /// `out = relu(conv(input) + bias)` for one C8 image of `c_in × h × w`, no pool; `out` is C8
    /// `c_out × h × w` (the blocks after the third). `pad`, `v` and `m` hold at least
    /// [`scratch_sizes`] values.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_relu(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: &mut [f32],
        v: &mut [f32],
        m: &mut [f32],
        out: &mut [f32],
    ) {
        self.forward_c8(input, h, w, false, pad, v, m, out);
    }

    /// A C8 image through the convolution, bias and ReLU, pooled when `pool`.
    #[allow(clippy::too_many_arguments)]
    fn forward_c8(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pool: bool,
        pad: &mut [f32],
        v: &mut [f32],
        m: &mut [f32],
        out: &mut [f32],
    ) {
        let g = Geometry::new(h, w);
        let pad = &mut pad[..self.c_in * g.padded_h * g.padded_w];
        pad_input(
            input,
            self.c_in / LANES,
            h,
            w,
            g.padded_h,
            g.padded_w,
            LANES,
            pad,
        );
        let m = self.products(&g, pad, v, m);
        if pool {
            output_transform_pool(m, self.c_out, &g, &self.bias, out);
        } else {
            output_transform_relu(m, self.c_out, &g, &self.bias, out);
        }
    }

    /// A plain convolution of one planar (`c_in × h × w`) image: `out = conv(input) + bias`,
    /// planar `c_out × h × w`, no ReLU or pool. Training's convolution op uses this; `pad`, `v`
    /// and `m` hold at least [`scratch_sizes`] values.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_planar(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        pad: &mut [f32],
        v: &mut [f32],
        m: &mut [f32],
        out: &mut [f32],
    ) {
        let g = Geometry::new(h, w);
        let pad = &mut pad[..self.c_in * g.padded_h * g.padded_w];
        pad_planar_to_c8(input, self.c_in, h, w, g.padded_h, g.padded_w, pad);
        let m = self.products(&g, pad, v, m);
        output_transform_planar(m, self.c_out, &g, &self.bias, out);
    }

    /// From the padded C8 input: the input transform into `v`, then the 36 products
    /// `M[ξ] = V[ξ] · U[ξ]` into `m`; returns the used part of `m`.
    fn products<'m>(
        &self,
        g: &Geometry,
        pad: &[f32],
        v: &mut [f32],
        m: &'m mut [f32],
    ) -> &'m mut [f32] {
        let (c_in, c_out, t) = (self.c_in, self.c_out, g.tiles);
        let v = &mut v[..A * A * c_in * t];
        let m = &mut m[..A * A * c_out * t];
        input_transform(pad, c_in, g, v);
        // V and M are tile-major (`[t][ξ][c]`), so that the transforms read and write each
        // tile's values contiguously; the ξ-th matrix is every 36th row.
        for xi in 0..A * A {
            let u = &self.u[xi * c_in * c_out..][..c_in * c_out];
            matmul(
                t,
                c_in,
                c_out,
                &v[xi * c_in..],
                A * A * c_in,
                u,
                &mut m[xi * c_out..],
                A * A * c_out,
            );
        }
        m
    }
}

/// A·d for four values (a column or row of an output-gradient tile): the transpose of [`at`].
#[inline(always)]
fn a_col<V: Lanes>(d: [V; M]) -> [V; A] {
    let [d0, d1, d2, d3] = d;
    let (s02, s13) = (d0.add(d2), d1.add(d3));
    let (near, far) = (
        d0.mul_add(d2, V::splat(4.0)),
        d1.scale(2.0).mul_add(d3, V::splat(8.0)),
    );
    [
        d0,
        s02.add(s13),
        s02.sub(s13),
        near.add(far),
        near.sub(far),
        d3,
    ]
}

/// Adds one image's contribution to the gradient of the transformed filters:
/// `grad_u[ξ][ci][co] += Σₜ V[t][ξ][ci] · (A dYₜ Aᵀ)[ξ][co]`, for the planar input `x`
/// (`c_in × h × w`) and the planar output gradient `grad_y` (`c_out × h × w`); `pad`, `v` and
/// `dm` hold at least [`scratch_sizes`] values. Backpropagating through the Winograd transforms
/// costs 36 products per tile instead of im2col's 144.
#[allow(clippy::too_many_arguments)]
pub fn filter_gradient(
    x: &[f32],
    grad_y: &[f32],
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    pad: &mut [f32],
    v: &mut [f32],
    dm: &mut [f32],
    grad_u: &mut [f32],
) {
    assert!(
        c_in.is_multiple_of(LANES) && c_out.is_multiple_of(LANES),
        "channel counts must be multiples of {LANES}"
    );
    assert_eq!(grad_u.len(), A * A * c_in * c_out);
    let g = Geometry::new(h, w);
    let t = g.tiles;
    let pad = &mut pad[..c_in * g.padded_h * g.padded_w];
    let v = &mut v[..A * A * c_in * t];
    let dm = &mut dm[..A * A * c_out * t];
    pad_planar_to_c8(x, c_in, h, w, g.padded_h, g.padded_w, pad);
    input_transform(pad, c_in, &g, v);
    output_gradient_transform(grad_y, c_out, &g, dm);
    for xi in 0..A * A {
        let dst = &mut grad_u[xi * c_in * c_out..][..c_in * c_out];
        let lhs = &v[xi * c_in..];
        let rhs = &dm[xi * c_out..];
        assert!(
            lhs.len() >= (t - 1) * A * A * c_in + c_in
                && rhs.len() >= (t - 1) * A * A * c_out + c_out
        );
        // SAFETY: dst is c_in × c_out row-major; lhs is V[ξ]ᵀ (c_in × tiles: column stride
        // 36·c_in, row stride 1); rhs is dM[ξ] (tiles × c_out: row stride 36·c_out); all in
        // bounds (asserted above) and dst aliases neither.
        unsafe {
            gemm::gemm(
                c_in,
                c_out,
                t,
                dst.as_mut_ptr(),
                1,
                c_out as isize,
                true,
                lhs.as_ptr(),
                (A * A * c_in) as isize,
                1,
                rhs.as_ptr(),
                1,
                (A * A * c_out) as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

/// Turns the gradient of the transformed filters into the gradient of the 3×3 filters:
/// `grad_g = Gᵀ grad_U G`, returned as `c_out × c_in × 3 × 3`.
pub fn filter_gradient_to_weights(grad_u: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; c_out * c_in * 9];
    for ci in 0..c_in {
        for co in 0..c_out {
            // T = Gᵀ grad_U (3 × 6), then grad_g = T G (3 × 3), in f64.
            let mut t = [[0.0f64; A]; 3];
            for i in 0..A {
                for j in 0..A {
                    let gu = grad_u[((i * A + j) * c_in + ci) * c_out + co] as f64;
                    for (a, row) in t.iter_mut().enumerate() {
                        row[j] += G[i][a] * gu;
                    }
                }
            }
            for a in 0..3 {
                for b in 0..3 {
                    let v: f64 = (0..A).map(|j| t[a][j] * G[j][b]).sum();
                    out[(co * c_in + ci) * 9 + a * 3 + b] = v as f32;
                }
            }
        }
    }
    out
}

avx2_dispatch!(fn output_gradient_transform => output_gradient_transform_impl(grad_y: &[f32], c_out: usize, g: &Geometry, dm: &mut [f32]));

/// `dM[t][ξ][co] = (A dYₜ Aᵀ)[ξ]`, with dY zero outside the image.
#[inline(always)]
fn output_gradient_transform_impl<V: Lanes>(
    grad_y: &[f32],
    c_out: usize,
    g: &Geometry,
    dm: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    for t in 0..g.tiles {
        let (oy0, ox0) = ((t / g.tiles_x) * M, (t % g.tiles_x) * M);
        for cb in 0..c_out / LANES {
            let mut d = [[V::zero(); M]; M];
            for (i, row) in d.iter_mut().enumerate() {
                let oy = oy0 + i;
                if oy >= h {
                    break;
                }
                for (j, cell) in row.iter_mut().enumerate() {
                    let ox = ox0 + j;
                    if ox >= w {
                        break;
                    }
                    let mut lanes = [0.0f32; LANES];
                    for (l, v) in lanes.iter_mut().enumerate() {
                        *v = grad_y[((cb * LANES + l) * h + oy) * w + ox];
                    }
                    *cell = V::from_array(lanes);
                }
            }
            // A on every column (4 → 6 rows), then on every row (4 → 6 columns).
            let mut cols = [[V::zero(); M]; A];
            for j in 0..M {
                let e = a_col([d[0][j], d[1][j], d[2][j], d[3][j]]);
                for i in 0..A {
                    cols[i][j] = e[i];
                }
            }
            for (i, row) in cols.iter().enumerate() {
                for (j, val) in a_col(*row).into_iter().enumerate() {
                    val.store(&mut dm[(t * A * A + i * A + j) * c_out + cb * LANES..]);
                }
            }
        }
    }
}

/// Copies a planar `c × h × w` image into C8 planes of `ph × pw` with a zero border.
fn pad_planar_to_c8(
    input: &[f32],
    c: usize,
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
    pad: &mut [f32],
) {
    pad.fill(0.0);
    for cb in 0..c / LANES {
        let dst = &mut pad[cb * ph * pw * LANES..(cb + 1) * ph * pw * LANES];
        for l in 0..LANES {
            let plane = &input[(cb * LANES + l) * h * w..][..h * w];
            for y in 0..h {
                let row = &mut dst[(y + 1) * pw * LANES..(y + 2) * pw * LANES];
                for (x, &v) in plane[y * w..(y + 1) * w].iter().enumerate() {
                    row[(x + 1) * LANES + l] = v;
                }
            }
        }
    }
}

/// The 4×4 output tile `Aᵀ M A` of tile `t`, channel block `cb` (Aᵀ on every column of the 6×6
/// product tile, then A on every row).
#[inline(always)]
fn output_tile<V: Lanes>(m: &[f32], t: usize, c_out: usize, cb: usize) -> [[V; M]; M] {
    let mut rows = [[V::zero(); A]; M];
    for c in 0..A {
        let mut col = [V::zero(); A];
        for (r, x) in col.iter_mut().enumerate() {
            *x = V::load(&m[(t * A * A + r * A + c) * c_out + cb * LANES..]);
        }
        for (r, val) in at(col).into_iter().enumerate() {
            rows[r][c] = val;
        }
    }
    let mut y = [[V::zero(); M]; M];
    for (yr, row) in y.iter_mut().zip(&rows) {
        *yr = at(*row);
    }
    y
}

avx2_dispatch!(fn output_transform_planar => output_transform_planar_impl(m: &[f32], c_out: usize, g: &Geometry, bias: &[f32], out: &mut [f32]));

/// `out = Aᵀ M A + bias` for every tile and output channel, written as a planar image.
#[inline(always)]
fn output_transform_planar_impl<V: Lanes>(
    m: &[f32],
    c_out: usize,
    g: &Geometry,
    bias: &[f32],
    out: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    for_each_output::<V>(m, c_out, g, bias, |cb, oy, ox, val| {
        for (l, &v) in val.to_array().iter().enumerate() {
            out[((cb * LANES + l) * h + oy) * w + ox] = v;
        }
    });
}

/// Calls `f(channel block, y, x, Aᵀ M A + bias)` for every output pixel inside the image, eight
/// channels at a time, tile by tile.
#[inline(always)]
fn for_each_output<V: Lanes>(
    m: &[f32],
    c_out: usize,
    g: &Geometry,
    bias: &[f32],
    mut f: impl FnMut(usize, usize, usize, V),
) {
    for t in 0..g.tiles {
        let (oy0, ox0) = ((t / g.tiles_x) * M, (t % g.tiles_x) * M);
        for cb in 0..c_out / LANES {
            let b = V::load(&bias[cb * LANES..]);
            for (i, row) in output_tile::<V>(m, t, c_out, cb).iter().enumerate() {
                let oy = oy0 + i;
                if oy >= g.h {
                    break;
                }
                for (j, &val) in row.iter().enumerate() {
                    let ox = ox0 + j;
                    if ox >= g.w {
                        break;
                    }
                    f(cb, oy, ox, val.add(b));
                }
            }
        }
    }
}

avx2_dispatch!(fn input_transform => input_transform_impl(pad: &[f32], c_in: usize, g: &Geometry, v: &mut [f32]));

/// `V[t][ξ][ci] = (Bᵀ d B)[ξ]` for every tile and input channel, eight channels at a time.
#[inline(always)]
fn input_transform_impl<V: Lanes>(pad: &[f32], c_in: usize, g: &Geometry, v: &mut [f32]) {
    let (pw, t_all) = (g.padded_w, g.tiles);
    let plane = g.padded_h * pw * LANES;
    // Tile by tile, so that each tile's 36 × c_in values are written contiguously.
    for t in 0..t_all {
        // The tile's top-left corner in the padded plane (whose origin is one pixel before the
        // image's: the convolution's padding) is (4·ty, 4·tx).
        let base = ((t / g.tiles_x) * M * pw + (t % g.tiles_x) * M) * LANES;
        for cb in 0..c_in / LANES {
            let src = &pad[cb * plane..(cb + 1) * plane];
            // Bᵀ on every column, then B on every row.
            let mut cols = [[V::zero(); A]; A];
            for c in 0..A {
                let mut d = [V::zero(); A];
                for (r, x) in d.iter_mut().enumerate() {
                    *x = V::load(&src[base + (r * pw + c) * LANES..]);
                }
                let col = bt(d);
                for r in 0..A {
                    cols[r][c] = col[r];
                }
            }
            for (i, row) in cols.iter().enumerate() {
                for (j, val) in bt(*row).into_iter().enumerate() {
                    val.store(&mut v[(t * A * A + i * A + j) * c_in + cb * LANES..]);
                }
            }
        }
    }
}

avx2_dispatch!(fn output_transform_relu => output_transform_relu_impl(m: &[f32], c_out: usize, g: &Geometry, bias: &[f32], out: &mut [f32]));

/// `out = relu(Aᵀ M A + bias)` for every tile and output channel, eight channels at a time,
/// written as a C8 image of the input's size.
#[inline(always)]
fn output_transform_relu_impl<V: Lanes>(
    m: &[f32],
    c_out: usize,
    g: &Geometry,
    bias: &[f32],
    out: &mut [f32],
) {
    let (h, w) = (g.h, g.w);
    for_each_output::<V>(m, c_out, g, bias, |cb, oy, ox, val| {
        val.max(V::zero())
            .store(&mut out[(cb * h * w + oy * w + ox) * LANES..]);
    });
}

avx2_dispatch!(fn output_transform_pool => output_transform_pool_impl(m: &[f32], c_out: usize, g: &Geometry, bias: &[f32], out: &mut [f32]));

/// `out = relu(maxpool2x2(Aᵀ M A) + bias)` for every tile and output channel, eight channels at a
/// time, written as a C8 image.
#[inline(always)]
fn output_transform_pool_impl<V: Lanes>(
    m: &[f32],
    c_out: usize,
    g: &Geometry,
    bias: &[f32],
    out: &mut [f32],
) {
    let t_all = g.tiles;
    let (ho, wo) = (g.h / 2, g.w / 2);
    // Tile by tile, so that each tile's 36 × c_out values are read contiguously.
    for t in 0..t_all {
        for cb in 0..c_out / LANES {
            let b = V::load(&bias[cb * LANES..]);
            let dst = &mut out[cb * ho * wo * LANES..(cb + 1) * ho * wo * LANES];
            let y = output_tile::<V>(m, t, c_out, cb);
            // Pool each 2×2 cell of the 4×4 tile, add the bias, ReLU, store eight channels.
            let (oy0, ox0) = ((t / g.tiles_x) * 2, (t % g.tiles_x) * 2);
            for py in 0..2 {
                let oy = oy0 + py;
                if oy >= ho {
                    break;
                }
                for px in 0..2 {
                    let ox = ox0 + px;
                    if ox >= wo {
                        break;
                    }
                    let (r, c) = (2 * py, 2 * px);
                    let cell = y[r][c]
                        .max(y[r][c + 1])
                        .max(y[r + 1][c].max(y[r + 1][c + 1]));
                    cell.add(b)
                        .max(V::zero())
                        .store(&mut dst[(oy * wo + ox) * LANES..]);
                }
            }
        }
    }
}
