//! Evaluating and using trained weights: running them over windows ([`predict`]), the metrics
//! ([`metrics`]), averaging neighbouring windows and tuning thresholds on another set
//! ([`smooth`]), where the errors come from ([`study`]) and what `instrunet eval` prints and writes
//! ([`report`]), and the two tools that
//! run a model over audio files: a timeline of one file ([`analyze`]) and the main class of many
//! ([`tag`]).

pub mod analyze;
pub mod latency;
pub mod metrics;
pub mod predict;
pub mod report;
pub mod smooth;
pub mod study;
pub mod tag;
