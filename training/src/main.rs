//! `instrunet`: InstruNET's data, training and evaluation tool. Its commands (`data check`,
//! `synth`, `train`, `eval`, `baseline`, `analyze`) arrive with the data and training work; for
//! now it reports what the embedded model is.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let classifier = instrunet_model::Classifier::embedded_default();
    let spec = classifier.spec();
    match args.first().map(String::as_str) {
        None | Some("info") => {
            println!(
                "InstruNET embedded model: {} classes: {}",
                spec.n_classes(),
                spec.classes.join(", ")
            );
            println!(
                "trained on: {} ({} epochs)",
                spec.provenance.data, spec.provenance.epochs
            );
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; available: info"),
    }
}
