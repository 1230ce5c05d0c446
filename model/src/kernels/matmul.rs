//! A small matrix product for the Winograd layers: `C (m × n) = A (m × k) · B (k × n)` with the
//! rows of A and C at any stride (the Winograd buffers are tile-major) and `n` a multiple of 8.
//!
//! The products here are small (at the paper's widths k = 32 or 64, n = 64 or 128) and B fits
//! in L1, so a register-blocked kernel (6 rows × 16 columns of accumulators, B read in place, A
//! broadcast) needs no packing. Unlike the `gemm` crate, which allocates packing buffers on every
//! call, it allocates nothing, so inference stays allocation-free; it is also faster at these
//! sizes.

use super::avx2_dispatch;
use super::lanes::{LANES, Lanes};

/// Rows of A (and C) per register block.
const ROWS: usize = 6;

avx2_dispatch!(pub fn matmul => matmul_impl(m: usize, k: usize, n: usize, a: &[f32], a_stride: usize, b: &[f32], c: &mut [f32], c_stride: usize));

/// `C[i][j] = Σₚ A[i·a_stride + p] · B[p·n + j]`, written to `C[i·c_stride + j]`.
///
/// # Panics
/// If `n` is not a multiple of 8 or a slice is too short for the strides.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn matmul_impl<V: Lanes>(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    c: &mut [f32],
    c_stride: usize,
) {
    assert_eq!(n % LANES, 0, "n must be a multiple of {LANES}");
    if m == 0 {
        return;
    }
    assert!(
        a.len() >= (m - 1) * a_stride + k && b.len() >= k * n && c.len() >= (m - 1) * c_stride + n
    );
    let mut j0 = 0;
    while j0 < n {
        let cols = if n - j0 >= 2 * LANES { 2 } else { 1 };
        let mut i0 = 0;
        while i0 < m {
            let rows = ROWS.min(m - i0);
            match (rows, cols) {
                (6, 2) => block::<V, 6, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (6, _) => block::<V, 6, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (5, 2) => block::<V, 5, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (5, _) => block::<V, 5, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (4, 2) => block::<V, 4, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (4, _) => block::<V, 4, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (3, 2) => block::<V, 3, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (3, _) => block::<V, 3, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (2, 2) => block::<V, 2, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (2, _) => block::<V, 2, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                (_, 2) => block::<V, 1, 2>(i0, j0, k, n, a, a_stride, b, c, c_stride),
                _ => block::<V, 1, 1>(i0, j0, k, n, a, a_stride, b, c, c_stride),
            }
            i0 += rows;
        }
        j0 += cols * LANES;
    }
}

/// One `R × (C·8)` block of C at (i0, j0), accumulated in registers over all of k.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<V: Lanes, const R: usize, const C: usize>(
    i0: usize,
    j0: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    c: &mut [f32],
    c_stride: usize,
) {
    let mut acc = [[V::zero(); C]; R];
    let a_rows: [&[f32]; R] = core::array::from_fn(|r| &a[(i0 + r) * a_stride..][..k]);
    for p in 0..k {
        let brow = &b[p * n + j0..][..C * LANES];
        let mut bv = [V::zero(); C];
        for (q, v) in bv.iter_mut().enumerate() {
            *v = V::load(&brow[q * LANES..]);
        }
        for r in 0..R {
            let av = V::splat(a_rows[r][p]);
            for q in 0..C {
                acc[r][q] = acc[r][q].mul_add(av, bv[q]);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        let dst = &mut c[(i0 + r) * c_stride + j0..][..C * LANES];
        for (q, v) in row.iter().enumerate() {
            v.store(&mut dst[q * LANES..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_at_odd_sizes_and_strides() {
        for (m, k, n, a_stride, c_stride) in [
            (1, 1, 8, 1, 8),
            (7, 5, 24, 9, 30),
            (13, 32, 64, 40, 64),
            (64, 64, 128, 64, 200),
        ] {
            let a: Vec<f32> = (0..(m - 1) * a_stride + k)
                .map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 11) % 23) as f32 / 11.0 - 1.0)
                .collect();
            let mut c = vec![f32::NAN; (m - 1) * c_stride + n];
            matmul(m, k, n, &a, a_stride, &b, &mut c, c_stride);
            for i in 0..m {
                for j in 0..n {
                    let want: f32 = (0..k).map(|p| a[i * a_stride + p] * b[p * n + j]).sum();
                    let got = c[i * c_stride + j];
                    assert!(
                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "{m}x{k}x{n} at ({i},{j}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
