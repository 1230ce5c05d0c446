//! Runtime choice between the AVX2 + FMA build of a kernel and the portable one.

/// Defines `$name(args)`, which runs `$imp::<Avx2>(args)` compiled for AVX2 + FMA where the
/// CPU has them (the check is a cached load) and `$imp::<Portable>(args)` elsewhere. `$imp` is
/// generic over [`super::lanes::Lanes`] and `#[inline(always)]`, so each version is compiled whole.
macro_rules! avx2_dispatch {
    ($vis:vis fn $name:ident => $imp:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)?) => {
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $imp::<$crate::kernels::lanes::Avx2>($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` is compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp::<$crate::kernels::lanes::Portable>($($arg),*)
        }
    };
}
pub(crate) use avx2_dispatch;
