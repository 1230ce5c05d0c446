//! The network against ONNX Runtime, without Python: `tests/fixtures/onnx/small-8band.json` holds
//! ONNX Runtime's probabilities for the small 8-band model in `small-8band.safetensors` (92 Mel
//! bands × 42 frames, so that the last block's 11 rows fall into 8 overlapping adaptive bands) on
//! input windows given by a formula repeated here exactly in f32. `tools/onnx_check.py
//! --write-fixture` made both (the command is in the JSON); it builds the network as an ONNX graph
//! from the file's tensors and metadata alone, pooling each band with Slice + ReduceMean.
//!
//! Requirement: every probability within 1e-4 of ONNX Runtime's, on the fast CPU path (what
//! [`Classifier`] runs on the CPU) and on the candle network (fused kernels and candle's own ops).
//! The script also recorded how far wrong band poolings (a global pool in every band, off-by-one
//! band edges, equal-width bands, band-major flattening, ...) land from ONNX Runtime's outputs; the
//! fixture is only useful while all of those are far outside the tolerance, which
//! `the_fixture_is_an_overlapping_8_band_model_that_tells_poolings_apart` checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use instrunet_model::net::windows_to_tensor;
use instrunet_model::shape::band_ranges;
use instrunet_model::{Classifier, Device, InstruNet, Weights};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    onnxruntime: String,
    weights: String,
    tolerance: f32,
    pooled_rows: usize,
    band_ranges: Vec<(usize, usize)>,
    input: Input,
    wrong_pooling_max_difference: BTreeMap<String, f32>,
    classes: Vec<String>,
    probabilities: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct Input {
    formula: String,
    windows: usize,
    n_mels: usize,
    frames: usize,
    sum: f64,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

fn fixture() -> Fixture {
    let path = dir().join("small-8band.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn weights(fx: &Fixture) -> Weights {
    Weights::from_file(dir().join(&fx.weights)).expect("the fixture's weights load")
}

/// The fixture's input windows, mel-major and back to back. Every value is a multiple of 0.25
/// below 256 in magnitude, so this is exact in f32 and equal to the script's.
fn windows(input: &Input) -> Vec<f32> {
    assert_eq!(
        input.formula,
        "x[w][m][t] = 0.75 * ((37*m + 11*t + 53*w + 7*m*t + 5*w*m) % 97) - 0.5*m - 10*w - 30",
        "the script's input formula changed: change `windows` to match"
    );
    let mut out = Vec::with_capacity(input.windows * input.n_mels * input.frames);
    for w in 0..input.windows {
        for m in 0..input.n_mels {
            for t in 0..input.frames {
                let k = (37 * m + 11 * t + 53 * w + 7 * m * t + 5 * w * m) % 97;
                out.push(0.75 * k as f32 - 0.5 * m as f32 - 10.0 * w as f32 - 30.0);
            }
        }
    }
    let sum: f64 = out.iter().map(|&v| v as f64).sum();
    assert_eq!(sum, input.sum, "input windows differ from the script's");
    out
}

/// Asserts `got` (windows × classes) is within the tolerance of ONNX Runtime's probabilities,
/// naming every window and class that is not.
fn assert_matches(path: &str, got: &[f32], fx: &Fixture) {
    let n = fx.classes.len();
    assert_eq!(got.len(), fx.probabilities.len() * n, "{path}: output size");
    let mut max_err = 0.0f32;
    let mut bad = Vec::new();
    for (w, (ours, want)) in got.chunks_exact(n).zip(&fx.probabilities).enumerate() {
        for (c, (&o, &r)) in ours.iter().zip(want).enumerate() {
            let err = (o - r).abs();
            max_err = max_err.max(err);
            if err.is_nan() || err > fx.tolerance {
                bad.push(format!(
                    "window {w}, class {c} ({}): ours {o:.6}, ONNX Runtime {r:.6}, |diff| {err:.2e}",
                    fx.classes[c]
                ));
            }
        }
    }
    println!(
        "{path}: max |ours - ONNX Runtime {}| = {max_err:.2e} over {} values",
        fx.onnxruntime,
        got.len()
    );
    assert!(
        bad.is_empty(),
        "{path}: {} of {} probabilities differ from ONNX Runtime's by more than {}:\n{}",
        bad.len(),
        got.len(),
        fx.tolerance,
        bad.join("\n")
    );
}

#[test]
fn the_fixture_is_an_overlapping_8_band_model_that_tells_poolings_apart() {
    let fx = fixture();
    let w = weights(&fx);
    let spec = &w.spec;
    assert_eq!(spec.network.pool_bands, 8);
    assert_eq!(
        (spec.mel.n_mels, spec.mel.window_frames),
        (fx.input.n_mels, fx.input.frames)
    );
    assert_eq!(spec.classes, fx.classes);
    assert_eq!(fx.probabilities.len(), fx.input.windows);
    assert!(fx.probabilities.iter().all(|p| p.len() == fx.classes.len()));
    // Three 2×2 pools floor 92 → 46 → 23 → 11 rows, which 8 bands cannot split evenly: our band
    // edges must be the ones the ONNX graph sliced.
    assert_eq!(spec.mel.n_mels / 2 / 2 / 2, fx.pooled_rows);
    assert_eq!(
        band_ranges(fx.pooled_rows, 8).collect::<Vec<_>>(),
        fx.band_ranges
    );
    assert!(!fx.pooled_rows.is_multiple_of(8));
    // Any of the wrong poolings the script tried would miss the tolerance by a wide margin.
    assert!(fx.wrong_pooling_max_difference.len() >= 5);
    for (mistake, diff) in &fx.wrong_pooling_max_difference {
        assert!(
            *diff >= 100.0 * fx.tolerance,
            "the fixture hardly notices {mistake:?}: {diff}"
        );
    }
    // Not saturated: the probabilities respond to the features.
    let spread = fx
        .probabilities
        .iter()
        .flatten()
        .filter(|p| (0.05..0.95).contains(*p));
    assert!(spread.count() >= fx.probabilities.len() * fx.classes.len() / 2);
}

#[test]
fn cpu_path_matches_onnx_runtime() {
    let fx = fixture();
    let w = weights(&fx);
    let x = windows(&fx.input);
    let mut classifier = Classifier::new(&w, &Device::Cpu).unwrap();
    assert!(classifier.device_name().starts_with("CPU"));
    let batch = classifier.predict_batch(&x, fx.input.windows).unwrap();
    assert_matches("CPU path (Classifier::predict_batch)", &batch, &fx);

    let mut one = Vec::new();
    let mut p = vec![0.0; classifier.n_classes()];
    for window in x.chunks_exact(classifier.window_len()) {
        classifier.predict(window, &mut p).unwrap();
        one.extend_from_slice(&p);
    }
    assert_matches("CPU path (Classifier::predict)", &one, &fx);
}

#[test]
fn candle_network_matches_onnx_runtime() {
    let fx = fixture();
    let w = weights(&fx);
    let x = windows(&fx.input);
    let dev = Device::Cpu;
    let xs = windows_to_tensor(&x, fx.input.windows, &w.spec, &dev).unwrap();
    let mut net = InstruNet::new(&w.spec, 0.0, w.tensors.var_builder(&dev).unwrap()).unwrap();
    for (path, candle_ops) in [
        ("candle network, fused CPU kernels", false),
        ("candle network, candle's own ops", true),
    ] {
        net.use_candle_ops(candle_ops);
        let probs: Vec<f32> = net
            .probabilities(&xs)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_matches(path, &probs, &fx);
    }
}
