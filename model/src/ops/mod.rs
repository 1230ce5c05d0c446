//! The network's CPU hot path for training, as candle `CustomOp`s with their own backward passes,
//! so that training keeps candle's autograd, `VarMap` and optimisers:
//!
//! - [`conv3x3`]: 3×3 padding-1 convolution with bias (forward, grad-input, grad-weight, grad-bias),
//!   im2col + `gemm` per image;
//! - [`bn_relu_train`]: BatchNorm on batch statistics → ReLU → 2×2 max-pool (or no pool, for the
//!   extra blocks) in one pass, with the fused backward; [`bn_relu_eval`] is the inference form on
//!   running statistics.
//!
//! Every op spreads the batch (or, for reductions, the channels) over a thread count the caller
//! sets. candle's own ops stay the path on CUDA and Metal and are the reference in tests
//! (`model/tests/ops_vs_candle.rs`).

mod bn_relu;
mod bn_relu_pool;
mod conv;

pub use bn_relu_pool::{BatchStats, bn_relu_eval, bn_relu_train};
pub use conv::conv3x3;

/// Keeps freed large blocks in the process for reuse instead of returning them to the system.
///
/// A training step allocates and frees activations of tens of megabytes. glibc serves blocks
/// that large with `mmap` and unmaps them on free, so every step page-faults them in again and
/// every unmap interrupts the other threads to flush their TLBs (measured: a large share of a
/// step's time in the kernel). This turns `mmap` allocation off and heap trimming down. Call it
/// once, early, in a training or benchmark process; it is a no-op where the C library is not glibc.
pub fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Result, bail};

/// The f32 values of a contiguous CPU tensor argument, or an error naming the op.
fn f32_slice<'a>(op: &str, what: &str, s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = s else {
        bail!("{op}: {what} must be f32, got {:?}", s.dtype())
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => bail!("{op}: {what} must be contiguous"),
    }
}

/// Runs `f` on the values of a CPU f32 tensor (made contiguous first if needed).
fn tensor_values<R>(
    op: &str,
    t: &candle_core::Tensor,
    f: impl FnOnce(&[f32]) -> Result<R>,
) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(s) => f(f32_slice(op, "tensor", s, layout)?),
        _ => bail!("{op}: only runs on the CPU"),
    }
}

/// Runs `f(items, worker)` over `0..n` split into at most `threads` contiguous ranges, in parallel.
fn parallel_ranges(n: usize, threads: usize, f: impl Fn(std::ops::Range<usize>, usize) + Sync) {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        f(0..n, 0);
        return;
    }
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            let range = (t * per).min(n)..((t + 1) * per).min(n);
            s.spawn(move || f(range, t));
        }
    });
}

/// A mutable slice that threads write in disjoint ranges. It borrows the slice for `'a`, so no
/// sub-slice can outlive it.
#[derive(Clone, Copy)]
struct SharedMut<'a> {
    ptr: *mut f32,
    len: usize,
    _slice: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: only used by `parallel_ranges` workers that write disjoint ranges.
unsafe impl Send for SharedMut<'_> {}
unsafe impl Sync for SharedMut<'_> {}

impl<'a> SharedMut<'a> {
    fn new(s: &'a mut [f32]) -> Self {
        Self {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _slice: std::marker::PhantomData,
        }
    }

    /// The sub-slice `start..start + len`.
    ///
    /// # Safety
    /// No two live sub-slices may overlap.
    unsafe fn slice(&self, start: usize, len: usize) -> &'a mut [f32] {
        assert!(start + len <= self.len);
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}
