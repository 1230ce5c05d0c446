//! `instrunet info [WEIGHTS]`: what a weights file (or the embedded model) is.

use std::path::Path;

use crate::cli::common::weights_or_embedded;

/// Prints the classes, network, training data and metrics of a weights file, or of the embedded
/// model without one.
pub fn info(weights: Option<&Path>) -> anyhow::Result<()> {
    let spec = weights_or_embedded(weights)?.spec;
    let name = weights
        .as_ref()
        .map_or("InstruNET embedded model".into(), |p| {
            p.display().to_string()
        });
    println!(
        "{name}: {} classes: {}",
        spec.n_classes(),
        spec.classes.join(", ")
    );
    println!(
        "network: blocks of {:?} channels, {} frequency band(s) after the adaptive average pool; input {} Mel bands x {} frames",
        spec.network.conv_channels,
        spec.network.pool_bands,
        spec.mel.n_mels,
        spec.mel.window_frames
    );
    println!(
        "trained on: {} ({} epochs)",
        spec.provenance.data, spec.provenance.epochs
    );
    if !spec.provenance.metrics.is_empty() {
        let metrics: Vec<String> = spec
            .provenance
            .metrics
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("held-out metrics: {}", metrics.join(", "));
    }
    if !spec.provenance.notes.is_empty() {
        println!("notes: {}", spec.provenance.notes);
    }
    Ok(())
}
