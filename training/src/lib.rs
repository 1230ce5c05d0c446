//! InstruNET's data, training and evaluation tools; the `instrunet` command is `src/main.rs`.
//!
//! Now: reading the Slakh / BabySlakh layout ([`slakh`]), decoding its audio ([`audio`]) and
//! checking a data folder ([`check`]). Windowing, labels, caching, rendering new tracks and
//! training follow.

pub mod analyze;
pub mod audio;
pub mod cache;
pub mod check;
pub mod compose;
pub mod dataset;
pub mod error;
pub mod gm;
pub mod metrics;
pub mod optim;
pub mod plot;
pub mod render;
pub mod resample;
pub mod slakh;
pub mod split;
pub mod tag;
pub mod train;
pub mod windows;

pub use error::DataError;
