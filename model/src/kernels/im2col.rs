//! A 3×3 padding-1 convolution as an im2col laid out for this input plus one `gemm` product.
//! It is the straightforward fast convolution (candle's CPU conv builds its im2col element by
//! element); inference uses Winograd ([`super::winograd`]) for the wide layers, and this one
//! serves as the reference kernel and for training's gradients.

use gemm::Parallelism;

/// Lays out the 3×3, padding-1 patches of one `c × h × w` image as a `(c·9) × (h·w)` matrix.
pub fn im2col_3x3(input: &[f32], c: usize, h: usize, w: usize, col: &mut [f32]) {
    debug_assert_eq!(input.len(), c * h * w);
    debug_assert_eq!(col.len(), c * 9 * h * w);
    let hw = h * w;
    for ci in 0..c {
        let plane = &input[ci * hw..(ci + 1) * hw];
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut col[((ci * 9) + ky * 3 + kx) * hw..][..hw];
                for y in 0..h {
                    let out = &mut row[y * w..(y + 1) * w];
                    let sy = y as isize + ky as isize - 1;
                    if sy < 0 || sy >= h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[sy as usize * w..(sy as usize + 1) * w];
                    // Output x reads input x + kx - 1.
                    match kx {
                        0 => {
                            out[0] = 0.0;
                            out[1..].copy_from_slice(&src[..w - 1]);
                        }
                        1 => out.copy_from_slice(src),
                        _ => {
                            out[..w - 1].copy_from_slice(&src[1..]);
                            out[w - 1] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// `out (m × n) = lhs (m × k) · rhs (k × n)`, all row-major, single-threaded.
pub(crate) fn matmul(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], out: &mut [f32]) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && out.len() >= m * n);
    // SAFETY: the slices hold at least the m×k, k×n and m×n row-major matrices the strides
    // describe (asserted above), and `out` does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// A 3×3 padding-1 convolution of one `c_in × h × w` image (no bias) with `weight`
/// (`c_out × c_in × 3 × 3`), into `c_out × h × w`. `col` must hold `c_in·9·h·w` values.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3(
    input: &[f32],
    weight: &[f32],
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    col: &mut [f32],
    out: &mut [f32],
) {
    let hw = h * w;
    let k = c_in * 9;
    im2col_3x3(input, c_in, h, w, &mut col[..k * hw]);
    matmul(c_out, k, hw, weight, &col[..k * hw], &mut out[..c_out * hw]);
}
