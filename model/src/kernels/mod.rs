//! The SIMD kernels under both the CPU network ([`crate::cpu`]) and the training ops
//! ([`crate::ops`]): eight-lane arithmetic, the C8 image layout (channels interleaved in blocks of
//! [`lanes::LANES`]), zero padding, a packed matrix product, Winograd F(4×4, 3×3) and direct 3×3
//! convolutions with fused ReLU and 2×2 max-pool, and im2col.
//!
//! This folder is the bottom layer: it imports nothing else of the crate. It knows nothing of
//! weights files or specs; channel counts reach it as numbers, and it asserts they are whole
//! blocks of lanes.

pub mod direct;
mod dispatch;
pub mod im2col;
pub mod lanes;
pub mod matmul;
pub mod padding;
pub mod winograd;

pub(crate) use dispatch::avx2_dispatch;
pub use lanes::{LANES, from_c8, to_c8};
pub use padding::pad_input;
