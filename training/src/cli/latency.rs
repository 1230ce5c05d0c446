//! `instrunet latency`: how long meters take to light after an instrument enters, and what
//! smoothing the engine's output costs and buys, on the tracks of Slakh-format folders.

use std::path::PathBuf;

use anyhow::Context;
use instrunet_training::data::slakh::{Track, discover};
use instrunet_training::data::windows::WindowSettings;
use instrunet_training::eval::latency::{
    EngineOutput, LatencySummary, analyses, analysis_labels, entries, latencies, summarise,
};
use instrunet_training::eval::metrics::evaluate;

use crate::cli::common::weights_or_fallback;

#[derive(clap::Args)]
pub(crate) struct LatencyArgs {
    /// Data roots (repeatable): TrackNNNNN/ folders (every track is used: point it at songs the
    /// model never heard, e.g. a validation or test folder).
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// Weights file (default: the embedded model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Seconds between analyses, as the plugin's parameter.
    #[arg(long, default_value_t = instrunet_model::DEFAULT_HOP_SECONDS)]
    hop: f32,
    /// Causal means to compare with the raw output, seconds (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [0.5f32, 1.0, 2.0])]
    causal: Vec<f32>,
    /// The offline centred mean to compare too, seconds (`instrunet analyze`'s default).
    #[arg(long, default_value_t = 4.0)]
    centred: f64,
    /// Use at most this many tracks.
    #[arg(long)]
    max_tracks: Option<usize>,
    /// Also write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn latency(args: LatencyArgs) -> anyhow::Result<()> {
    let (weights, model_name) = weights_or_fallback(args.weights.as_deref());
    let spec = weights.spec.clone();
    let mut classifier = instrunet_model::Classifier::new(&weights, &instrunet_model::Device::Cpu)?;
    let mut dirs = Vec::new();
    for root in &args.data {
        dirs.extend(discover(root).with_context(|| format!("reading {}", root.display()))?);
    }
    dirs.truncate(args.max_tracks.unwrap_or(usize::MAX));
    anyhow::ensure!(!dirs.is_empty(), "no tracks in the data roots");
    let mut variants = vec![EngineOutput::Raw];
    variants.extend(args.causal.iter().map(|&s| EngineOutput::Causal(s)));
    variants.push(EngineOutput::Centred(args.centred));
    let active_dbfs = WindowSettings::default().active_dbfs;
    let window = spec.mel.window_seconds();
    // Per variant: every entry's latency; every analysis's probabilities and labels.
    let mut lat: Vec<Vec<Option<f64>>> = vec![Vec::new(); variants.len()];
    let mut probs: Vec<Vec<f32>> = vec![Vec::new(); variants.len()];
    let mut labels: Vec<Vec<f32>> = vec![Vec::new(); variants.len()];
    for dir in &dirs {
        let track = Track::open(dir).with_context(|| format!("{}", dir.path.display()))?;
        let (mix, stem_audio) = track
            .load_audio()
            .with_context(|| format!("{}", dir.path.display()))?;
        let stems: Vec<_> = track
            .stems
            .iter()
            .zip(&stem_audio)
            .map(|(s, a)| (s.class, a))
            .collect();
        let found = entries(&stems, active_dbfs, window);
        for (v, &smoothing) in variants.iter().enumerate() {
            let (times, p, c) = analyses(classifier, &mix, args.hop, smoothing)?;
            classifier = c;
            let l = latencies(&found, &times, &p, &spec.classes, &spec.thresholds);
            lat[v].extend(l.into_iter().map(|(_, x)| x));
            labels[v].extend(analysis_labels(
                &stems,
                active_dbfs,
                &times,
                window,
                &spec.classes,
            ));
            probs[v].extend(p.concat());
        }
    }
    println!(
        "{model_name}, {} tracks, hop {} s; an entry is a class sounding after {} s of silence; \
         latency from the entry to the first analysis over the class's threshold (missed after {} s)\n",
        dirs.len(),
        args.hop,
        instrunet_training::eval::latency::MIN_GAP_SECONDS,
        instrunet_training::eval::latency::MAX_LATENCY_SECONDS
    );
    println!(
        "| Output | Entries | Detected | Median latency | 90th percentile | Macro F1 | Macro precision | Macro recall | mAP |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let secs = |x: Option<f64>| x.map_or("–".into(), |s| format!("{s:.2} s"));
    for (v, smoothing) in variants.iter().enumerate() {
        let s: LatencySummary = summarise(&lat[v]);
        let m = evaluate(&probs[v], &labels[v], &spec.classes, &spec.thresholds);
        println!(
            "| {smoothing} | {} | {:.1} % | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            s.entries,
            100.0 * s.detected,
            secs(s.median_seconds),
            secs(s.p90_seconds),
            m.macro_avg.f1,
            m.macro_avg.precision,
            m.macro_avg.recall,
            m.map
        );
        rows.push(serde_json::json!({
            "output": smoothing.to_string(),
            "latency": s,
            "macro_f1": m.macro_avg.f1,
            "macro_precision": m.macro_avg.precision,
            "macro_recall": m.macro_avg.recall,
            "map": m.map,
            "analyses": m.windows,
        }));
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "model": model_name,
            "tracks": dirs.len(),
            "hop_seconds": args.hop,
            "outputs": rows,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}
