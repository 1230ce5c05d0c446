//! Eight f32 lanes: an AVX register on x86-64 CPUs that have AVX2 and FMA, plain arrays elsewhere.
//!
//! Kernels are written once, generic over [`Lanes`], and compiled twice by [`avx2_dispatch`]:
//! with [`Avx2`] inside a function compiled for those instructions, and with [`Portable`] for any
//! other CPU. (Left to itself LLVM vectorises `[f32; 8]` arithmetic into half-width registers with
//! shuffles, at a third of the speed.)
//!
//! [`avx2_dispatch`]: super::dispatch

/// Number of lanes.
pub const LANES: usize = 8;

/// Operations on eight f32 lanes. Implementations are `#[inline(always)]` so that they compile
/// into the kernel that uses them. Kernels use plain loops, not closures (`array::from_fn`): a
/// closure is compiled apart from the AVX2 kernel, and the intrinsics inside it become calls.
pub trait Lanes: Copy {
    fn splat(v: f32) -> Self;
    /// Loads the first eight values of `s`.
    fn load(s: &[f32]) -> Self;
    /// Stores into the first eight values of `s`.
    fn store(self, s: &mut [f32]);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self + a·b`.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Lane-wise maximum (inputs are never NaN here).
    fn max(self, o: Self) -> Self;
    fn to_array(self) -> [f32; LANES];
    fn from_array(a: [f32; LANES]) -> Self;
    /// Lane-wise minimum (inputs are never NaN here).
    fn min(self, o: Self) -> Self;
    /// All bits set where `self > o`, else zero.
    fn gt(self, o: Self) -> Self;
    /// All bits set where `self == o`, else zero.
    fn eq(self, o: Self) -> Self;
    /// Bitwise and.
    fn and(self, o: Self) -> Self;
    /// Bitwise or.
    fn or(self, o: Self) -> Self;
    /// Bitwise `!self & o`.
    fn and_not(self, o: Self) -> Self;
    /// The even- and odd-indexed values of `s[..16]`: `([s0, s2, …, s14], [s1, s3, …, s15])`.
    fn load_even_odd(s: &[f32]) -> (Self, Self);
    /// The inverse of [`Lanes::load_even_odd`]: writes `even` and `odd` interleaved to `s[..16]`.
    fn store_interleaved(even: Self, odd: Self, s: &mut [f32]);

    #[inline(always)]
    fn zero() -> Self {
        Self::splat(0.0)
    }
    #[inline(always)]
    fn scale(self, k: f32) -> Self {
        self.mul(Self::splat(k))
    }
}

/// Plain arrays, for CPUs without AVX2 (and other architectures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Portable(pub [f32; LANES]);

impl Lanes for Portable {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        Portable([v; LANES])
    }
    #[inline(always)]
    fn load(s: &[f32]) -> Self {
        Portable(s[..LANES].try_into().expect("eight values"))
    }
    #[inline(always)]
    fn store(self, s: &mut [f32]) {
        s[..LANES].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = self.0[l] + o.0[l];
        }
        r
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = self.0[l] - o.0[l];
        }
        r
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = self.0[l] * o.0[l];
        }
        r
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] += a.0[l] * b.0[l];
        }
        r
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            if o.0[l] > r.0[l] {
                r.0[l] = o.0[l];
            }
        }
        r
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            if o.0[l] < r.0[l] {
                r.0[l] = o.0[l];
            }
        }
        r
    }
    #[inline(always)]
    fn gt(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = f32::from_bits(if self.0[l] > o.0[l] { u32::MAX } else { 0 });
        }
        r
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = f32::from_bits(if self.0[l] == o.0[l] { u32::MAX } else { 0 });
        }
        r
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = f32::from_bits(self.0[l].to_bits() & o.0[l].to_bits());
        }
        r
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = f32::from_bits(self.0[l].to_bits() | o.0[l].to_bits());
        }
        r
    }
    #[inline(always)]
    fn and_not(self, o: Self) -> Self {
        let mut r = self;
        for l in 0..LANES {
            r.0[l] = f32::from_bits(!self.0[l].to_bits() & o.0[l].to_bits());
        }
        r
    }
    #[inline(always)]
    fn load_even_odd(s: &[f32]) -> (Self, Self) {
        let s = &s[..2 * LANES];
        let (mut e, mut o) = ([0.0; LANES], [0.0; LANES]);
        for l in 0..LANES {
            e[l] = s[2 * l];
            o[l] = s[2 * l + 1];
        }
        (Portable(e), Portable(o))
    }
    #[inline(always)]
    fn store_interleaved(even: Self, odd: Self, s: &mut [f32]) {
        let s = &mut s[..2 * LANES];
        for l in 0..LANES {
            s[2 * l] = even.0[l];
            s[2 * l + 1] = odd.0[l];
        }
    }
    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        self.0
    }
    #[inline(always)]
    fn from_array(a: [f32; LANES]) -> Self {
        Portable(a)
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, Lanes};
    use std::arch::x86_64::*;

    /// One AVX register. Only constructed inside functions compiled for AVX2 + FMA on CPUs
    /// that have them (see `avx2_dispatch`).
    #[derive(Debug, Clone, Copy)]
    pub struct Avx2(__m256);

    // SAFETY (for every `unsafe` block below): `Avx2` values exist only in code that
    // `avx2_dispatch` runs after checking that the CPU has AVX2 and FMA; loads and stores are
    // bounds-checked by the slice indexing first.
    impl Lanes for Avx2 {
        #[inline(always)]
        fn splat(v: f32) -> Self {
            Avx2(unsafe { _mm256_set1_ps(v) })
        }
        #[inline(always)]
        fn load(s: &[f32]) -> Self {
            let s = &s[..LANES];
            Avx2(unsafe { _mm256_loadu_ps(s.as_ptr()) })
        }
        #[inline(always)]
        fn store(self, s: &mut [f32]) {
            let s = &mut s[..LANES];
            unsafe { _mm256_storeu_ps(s.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_add_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_sub_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_mul_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn mul_add(self, a: Self, b: Self) -> Self {
            Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, self.0) })
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_max_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn min(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_min_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn gt(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, o.0) })
        }
        #[inline(always)]
        fn eq(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, o.0) })
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_and_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_or_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn and_not(self, o: Self) -> Self {
            Avx2(unsafe { _mm256_andnot_ps(self.0, o.0) })
        }
        #[inline(always)]
        fn load_even_odd(s: &[f32]) -> (Self, Self) {
            let s = &s[..2 * LANES];
            unsafe {
                let (a, b) = (
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(LANES)),
                );
                // [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs reordered to a0 a2 a4 a6 b0 b2 b4 b6.
                let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
                let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
                let fix = |v: __m256| {
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
                };
                (Avx2(fix(even)), Avx2(fix(odd)))
            }
        }
        #[inline(always)]
        fn store_interleaved(even: Self, odd: Self, s: &mut [f32]) {
            let s = &mut s[..2 * LANES];
            unsafe {
                let lo = _mm256_unpacklo_ps(even.0, odd.0); // e0 o0 e1 o1 | e4 o4 e5 o5
                let hi = _mm256_unpackhi_ps(even.0, odd.0); // e2 o2 e3 o3 | e6 o6 e7 o7
                _mm256_storeu_ps(s.as_mut_ptr(), _mm256_permute2f128_ps::<0x20>(lo, hi));
                _mm256_storeu_ps(
                    s.as_mut_ptr().add(LANES),
                    _mm256_permute2f128_ps::<0x31>(lo, hi),
                );
            }
        }
        #[inline(always)]
        fn to_array(self) -> [f32; LANES] {
            let mut a = [0.0; LANES];
            unsafe { _mm256_storeu_ps(a.as_mut_ptr(), self.0) };
            a
        }
        #[inline(always)]
        fn from_array(a: [f32; LANES]) -> Self {
            Avx2(unsafe { _mm256_loadu_ps(a.as_ptr()) })
        }
    }
}

/// Converts a planar `c × h × w` image to the C8 layout (`[c/8][h][w][8]`) the fast kernels use.
pub fn to_c8(planar: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0; planar.len()];
    for ch in 0..c {
        for i in 0..h * w {
            out[((ch / LANES) * h * w + i) * LANES + ch % LANES] = planar[ch * h * w + i];
        }
    }
    out
}

/// Converts a C8 image back to planar `c × h × w`.
pub fn from_c8(c8: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0; c8.len()];
    for ch in 0..c {
        for i in 0..h * w {
            out[ch * h * w + i] = c8[((ch / LANES) * h * w + i) * LANES + ch % LANES];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c8_layout_round_trips() {
        let (c, h, w) = (16, 3, 5);
        let planar: Vec<f32> = (0..c * h * w).map(|i| i as f32).collect();
        let c8 = to_c8(&planar, c, h, w);
        // Channel 9 at (1, 2) lives in block 1, pixel 1·5 + 2, lane 1.
        assert_eq!(c8[((h * w) + 7) * 8 + 1], planar[9 * h * w + 7]);
        assert_eq!(from_c8(&c8, c, h, w), planar);
    }

    fn exercise<V: Lanes>() -> [f32; LANES] {
        let a = V::from_array([1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0]);
        let b = V::splat(0.5);
        let mut out = [0.0; 9];
        a.mul_add(a, b)
            .sub(b)
            .add(a.scale(2.0))
            .max(V::zero())
            .mul(b)
            .store(&mut out[1..]);
        out[1..].try_into().unwrap()
    }

    #[test]
    fn portable_lanes_compute_lane_by_lane() {
        let want: [f32; LANES] = std::array::from_fn(|l| {
            let a = [1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0][l];
            ((a + a * 0.5 - 0.5 + 2.0 * a).max(0.0)) * 0.5
        });
        assert_eq!(exercise::<Portable>(), want);
    }

    fn exercise_masks<V: Lanes>() -> [f32; 2 * LANES] {
        let src: [f32; 2 * LANES] = std::array::from_fn(|i| (i as f32 * 7.0) % 5.0 - 2.0);
        let (e, o) = V::load_even_odd(&src);
        let m = e.max(o);
        let first = e.eq(m);
        let second = first.and_not(o.eq(m));
        let pos = m.gt(V::zero());
        let mut out = [0.0; 2 * LANES];
        V::store_interleaved(
            first.and(pos).and(V::splat(1.0)).or(e.min(o).and(second)),
            second.and(V::splat(2.0)),
            &mut out,
        );
        out
    }

    #[test]
    fn even_odd_loads_and_masks_round_trip() {
        let src: [f32; 2 * LANES] = std::array::from_fn(|i| i as f32);
        let (e, o) = Portable::load_even_odd(&src);
        assert_eq!(e.0, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        let mut back = [0.0; 2 * LANES];
        Portable::store_interleaved(e, o, &mut back);
        assert_eq!(back, src);
        let m = Portable::splat(1.0).gt(Portable::zero());
        assert_eq!(m.0[0].to_bits(), u32::MAX);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_masks_and_shuffles_match_portable() {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            let got = exercise_masks::<Avx2>();
            let want = exercise_masks::<Portable>();
            assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_match_portable_lanes() {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            let got = exercise::<Avx2>();
            let want = exercise::<Portable>();
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                    "{got:?} vs {want:?}"
                );
            }
        }
    }
}
