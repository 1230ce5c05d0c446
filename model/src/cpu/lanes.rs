//! Eight f32 lanes: an AVX register on x86-64 CPUs that have AVX2 and FMA, plain arrays elsewhere.
//!
//! Kernels are written once, generic over [`Lanes`], and compiled twice by [`avx2_dispatch`]:
//! with [`Avx2`] inside a function compiled for those instructions, and with [`Portable`] for any
//! other CPU. (Left to itself LLVM vectorises `[f32; 8]` arithmetic into half-width registers with
//! shuffles, at a third of the speed.)
//!
//! [`avx2_dispatch`]: super::avx2_dispatch

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

#[cfg(test)]
mod tests {
    use super::*;

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
