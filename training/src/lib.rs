//! InstruNET's data, training and evaluation tools; the `instrunet` command is `src/main.rs` with
//! its subcommands in `src/cli/`.
//!
//! The stages, each a folder, each using only those before it: [`data`] (the Slakh layout, audio,
//! labelled windows, the cache, splits), [`synth`] (composing and rendering training tracks in
//! that layout), then [`train`] and [`eval`] (training uses the evaluation's metrics and
//! prediction). [`error`] (the data errors) and [`plot`] (the PNG font) are shared helpers.

pub mod data;
pub mod error;
pub mod eval;
pub mod plot;
pub mod synth;
pub mod train;

pub use error::DataError;
