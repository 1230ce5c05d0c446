//! The model crate's demo: loads the embedded default weights (or `--weights FILE`, falling back
//! to the embedded model with the reason when that file is unusable), synthesises a short test
//! mix, runs it through the log-Mel front end and the classifier window by window, and prints the
//! per-class probabilities.
//!
//! `cargo run --release -p instrunet-model --example demo [-- --weights FILE]`

use std::f32::consts::TAU;
use std::time::Instant;

use instrunet_model::{Classifier, MelFrontend, frames_to_window};

/// Six seconds at `sr`: a bass line, a sustained three-note chord, and hi-hat-like noise bursts
/// from the third second on.
fn test_mix(sr: u32) -> Vec<f32> {
    let n = 6 * sr as usize;
    let mut noise = 0x9e37_79b9u32;
    (0..n)
        .map(|i| {
            let t = i as f32 / sr as f32;
            let bass_hz = [55.0, 55.0, 73.4, 82.4][(t * 2.0) as usize % 4];
            let bass = 0.3 * (TAU * bass_hz * t).sin();
            let chord: f32 = [261.6f32, 329.6, 392.0]
                .iter()
                .map(|f| {
                    (1..4)
                        .map(|h| (TAU * f * h as f32 * t).sin() / h as f32)
                        .sum::<f32>()
                })
                .sum::<f32>()
                * 0.08;
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let beat = (t * 4.0).fract();
            let hat = if t >= 2.0 {
                (noise as f32 / u32::MAX as f32 - 0.5) * 0.3 * (-beat * 30.0).exp()
            } else {
                0.0
            };
            bass + chord + hat
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut classifier = match args
        .iter()
        .position(|a| a == "--weights")
        .and_then(|i| args.get(i + 1))
    {
        Some(path) => {
            let (c, why) = Classifier::from_file_or_default(path);
            match why {
                Some(e) => println!("{path}: {e}\n  -> using the embedded default model instead\n"),
                None => println!("weights: {path}"),
            }
            c
        }
        None => {
            println!("weights: embedded default");
            Classifier::embedded_default()
        }
    };
    let spec = classifier.spec().clone();
    println!(
        "provenance: {} ({} epochs)",
        spec.provenance.data, spec.provenance.epochs
    );
    if !spec.provenance.notes.is_empty() {
        println!("notes: {}", spec.provenance.notes);
    }
    let mel = &spec.mel;
    println!(
        "front end: {} Hz, n_fft {}, hop {}, {} Mel bands {}-{} Hz; window {} frames ({:.2} s); {} classes; {}\n",
        mel.sample_rate,
        mel.n_fft,
        mel.hop_length,
        mel.n_mels,
        mel.fmin,
        mel.fmax,
        mel.window_frames,
        mel.window_seconds(),
        spec.n_classes(),
        classifier.device_name()
    );

    let audio = test_mix(mel.sample_rate);
    let mut frontend = MelFrontend::new(mel);
    let frames = frontend.spectrogram(&audio);
    let n_frames = frames.len() / mel.n_mels;
    let step = mel.window_frames / 4;
    let mut window = vec![0.0; mel.window_len()];
    let mut probs = vec![0.0; spec.n_classes()];
    let mut rows = Vec::new();
    let mut infer_ms = Vec::new();
    let mut start = 0;
    while start + mel.window_frames <= n_frames {
        let slice = &frames[start * mel.n_mels..(start + mel.window_frames) * mel.n_mels];
        frames_to_window(slice, mel.n_mels, &mut window).expect("whole frames");
        let t = Instant::now();
        classifier
            .predict(&window, &mut probs)
            .expect("window of the model's size");
        infer_ms.push(t.elapsed().as_secs_f64() * 1e3);
        rows.push((
            start as f64 * mel.hop_length as f64 / mel.sample_rate as f64,
            probs.clone(),
        ));
        start += step;
    }

    print!("{:<22}", "class \\ window start");
    for (t, _) in &rows {
        print!("{:>8}", format!("{t:.2}s"));
    }
    println!("{:>11}", "threshold");
    for (c, name) in spec.classes.iter().enumerate() {
        print!("{name:<22}");
        for (_, p) in &rows {
            let mark = if p[c] >= spec.thresholds[c] { "*" } else { " " };
            print!("{:>7.3}{mark}", p[c]);
        }
        println!("{:>11.2}", spec.thresholds[c]);
    }
    infer_ms.sort_by(f64::total_cmp);
    println!(
        "\n* = at or above the class threshold. {} windows, median inference {:.2} ms per window.",
        rows.len(),
        infer_ms[infer_ms.len() / 2]
    );
    if spec.provenance.epochs == 0 {
        println!(
            "These weights are untrained: the probabilities show that the pipeline runs, not what is playing."
        );
    }
}
