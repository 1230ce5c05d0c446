//! InstruNET's data, training and evaluation tools; the `instrunet` command is `src/main.rs` with
//! its subcommands in `src/cli/`.
//!
//! Now: reading the Slakh / BabySlakh layout, decoding its audio and checking a data folder
//! ([`data`]). Windowing, labels, caching, rendering new tracks and
//! training follow.

pub mod data;
pub mod error;
pub mod eval;
pub mod plot;
pub mod synth;
pub mod train;

pub use error::DataError;
