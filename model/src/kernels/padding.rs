//! Zero borders for the 3×3 convolutions (padding 1).

/// Copies a `c × h × w` image whose pixels are `px` consecutive values (1 for planar images, 8
/// for C8 blocks) into `c × ph × pw` planes with a zero border: one pixel before the image, the
/// rest after it.
#[allow(clippy::too_many_arguments)]
pub fn pad_input(
    input: &[f32],
    c: usize,
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
    px: usize,
    pad: &mut [f32],
) {
    debug_assert!(ph >= h + 2 && pw >= w + 2);
    let (row, plane) = (pw * px, ph * pw * px);
    for ch in 0..c {
        let dst = &mut pad[ch * plane..(ch + 1) * plane];
        dst[..row].fill(0.0);
        for y in 0..h {
            let r = &mut dst[(y + 1) * row..(y + 2) * row];
            r[..px].fill(0.0);
            r[px..(w + 1) * px].copy_from_slice(&input[(ch * h + y) * w * px..][..w * px]);
            r[(w + 1) * px..].fill(0.0);
        }
        dst[(h + 1) * row..].fill(0.0);
    }
}
