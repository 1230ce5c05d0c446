//! The `instrunet` command's subcommands, one module each (`train` serves `baseline` too), and what
//! several share ([`common`]). `main.rs` parses the command line and calls into these; nothing
//! here refers back to it.

pub mod analyze;
pub mod average;
pub mod calibrate;
pub mod common;
pub mod compare;
pub mod data;
pub mod deepen;
pub mod eval;
pub mod info;
pub mod latency;
pub mod synth;
pub mod tag;
pub mod train;
pub mod widen;
