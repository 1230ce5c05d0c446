//! Writes deterministic, untrained InstruNET weights (PyTorch-style random initialisation) with the
//! default spec: `cargo run -p instrunet-model --example write_untrained_weights -- OUT [SEED]`.
//! Used for tests and as the embedded default until trained weights replace it.

use instrunet_model::{ModelSpec, Provenance, Weights};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: write_untrained_weights OUT.safetensors [SEED]")?;
    let seed: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20261126);
    let spec = ModelSpec::new_default(Provenance {
        data: "none: untrained, deterministic random initialisation".into(),
        epochs: 0,
        metrics: Default::default(),
        notes: format!("PyTorch-style uniform init, seed {seed}; probabilities carry no meaning"),
    });
    Weights::random(spec, seed).save(&out)?;
    println!("wrote {out} (seed {seed})");
    Ok(())
}
