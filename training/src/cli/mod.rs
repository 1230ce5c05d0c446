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
pub mod time_max;
pub mod train;
pub mod widen;

/// Weights for the tests of the commands that reshape a trained network (`widen`, `deepen`,
/// `time-max`).
#[cfg(test)]
pub(crate) mod test_weights {
    use instrunet_model::{ModelSpec, Provenance, Weights};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Random weights of `spec`'s network with BatchNorm parameters and statistics away from
    /// their initial (0, 1), as training leaves them, so that reshaping must carry them over.
    pub(crate) fn trained_looking(spec: ModelSpec, seed: u64) -> Weights {
        let mut w = Weights::random(spec, seed);
        let mut rng = StdRng::seed_from_u64(seed + 100);
        for (name, (_, values)) in w.tensors.0.iter_mut() {
            if name.starts_with("bn") {
                let (lo, hi) = if name.ends_with("running_var") || name.ends_with("weight") {
                    (0.5, 2.0)
                } else {
                    (-0.5, 0.5)
                };
                values
                    .iter_mut()
                    .for_each(|v| *v = rng.random_range(lo..hi));
            }
        }
        w
    }

    /// The paper's network, trained-looking.
    pub(crate) fn paper_trained_looking(seed: u64) -> Weights {
        trained_looking(ModelSpec::new_default(Provenance::default()), seed)
    }
}
