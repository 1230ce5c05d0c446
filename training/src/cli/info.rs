//! `instrunet info [WEIGHTS]`: what a weights file (or the embedded model) is.

use std::path::Path;

use anyhow::Context;
use instrunet_model::{NetworkKind, Weights};

use crate::cli::common::weights_or_embedded;

/// Prints the classes, network, training data and metrics of a weights file, or of the embedded
/// model without one.
pub fn info(weights: Option<&Path>) -> anyhow::Result<()> {
    let spec = match weights {
        // The header alone, so that baseline files are described too.
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Weights::spec_from_bytes(&bytes).with_context(|| format!("loading {}", p.display()))?
        }
        None => weights_or_embedded(None)?.spec,
    };
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
    match spec.network.kind {
        NetworkKind::Instrunet => println!(
            "network: InstruNET, blocks of {:?} channels{}, {} frequency band(s) after the adaptive average pool{}; input {} Mel bands x {} frames",
            spec.network.conv_channels,
            match spec.network.extra_blocks {
                0 => String::new(),
                n => format!(
                    " and {n} more of {} without pooling",
                    spec.network.conv_channels[2]
                ),
            },
            spec.network.pool_bands,
            if spec.network.time_max {
                " plus each band's gated maximum over time"
            } else {
                ""
            },
            spec.mel.n_mels,
            spec.mel.window_frames
        ),
        NetworkKind::Baseline => println!(
            "network: the feed-forward baseline (read by `instrunet eval --baseline`, not by the plugin); input {} Mel bands x {} frames",
            spec.mel.n_mels, spec.mel.window_frames
        ),
    }
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
