//! Runs InstruNET's CPU inference on windows from a file and times it; the ONNX Runtime comparison
//! (`model/tools/onnx_check.py`) calls it so that both are measured in the same run.
//!
//! ```text
//! cargo run --release -p instrunet-model --example infer_bench -- \
//!     --weights W.safetensors --input windows.f32 --batch N --probs out.f32 [--seconds 3]
//! ```
//! `windows.f32` holds N mel-major windows of raw log-Mel dB values (little-endian f32). Writes the
//! probabilities (N × classes) to `--probs`, then prints one JSON line with the median time per
//! window at batch 1 and at batch N, on one thread.

use std::time::Instant;

use instrunet_model::cpu::CpuNet;
use instrunet_model::{Weights, sigmoid};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Median seconds per call of `f`, over calls made for about `budget` seconds.
fn median_secs(budget: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut times = Vec::new();
    while start.elapsed().as_secs_f64() < budget || times.len() < 5 {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let need = |n: &str| {
        arg(&args, n).ok_or_else(|| format!("missing {n} (see the header of infer_bench.rs)"))
    };
    let weights = Weights::from_file(need("--weights")?)?;
    let batch: usize = need("--batch")?.parse()?;
    let seconds: f64 = arg(&args, "--seconds")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3.0);
    let input_path = need("--input")?;
    let bytes = std::fs::read(&input_path).map_err(|e| format!("{input_path}: {e}"))?;
    let windows: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();

    let net = CpuNet::new(&weights);
    let (wl, nc) = (net.window_len(), net.n_classes());
    if windows.len() != batch * wl {
        return Err(format!(
            "{input_path}: {} values, expected {batch} × {wl}",
            windows.len()
        )
        .into());
    }
    let mut scratch = vec![net.scratch()];
    let mut out = vec![0.0; batch * nc];
    net.logits_batch(&windows, batch, 1, &mut scratch, &mut out)?;
    let probs: Vec<u8> = out.iter().flat_map(|&l| sigmoid(l).to_le_bytes()).collect();
    std::fs::write(need("--probs")?, probs)?;

    let mut one = vec![0.0; nc];
    let batch1 = median_secs(seconds, || {
        net.logits(&windows[..wl], &mut scratch[0], &mut one)
            .unwrap()
    });
    let batched = median_secs(seconds, || {
        net.logits_batch(&windows, batch, 1, &mut scratch, &mut out)
            .unwrap()
    }) / batch as f64;
    println!(
        "{{\"batch1_ms\": {:.4}, \"batch{batch}_ms_per_window\": {:.4}, \"threads\": 1}}",
        batch1 * 1e3,
        batched * 1e3
    );
    Ok(())
}
