//! Shared pieces of the end-to-end tests (which live in `tests/tests/`) and benchmarks.

pub mod clap_host;
