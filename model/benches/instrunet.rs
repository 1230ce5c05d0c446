//! `cargo bench -p instrunet-model`: the front end and inference at the sizes the plugin and
//! training use. Targets on the 2-core CI machine: a Mel frame ≤ 20 µs; batch-1 inference of a
//! 128×128 window on one thread ≤ 3 ms.

use candle_core::Device;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use instrunet_model::cpu::CpuNet;
use instrunet_model::net::{InstruNet, windows_to_tensor};
use instrunet_model::{MelFrontend, ModelSpec, Provenance, Weights};
use std::hint::black_box;

fn test_signal(n: usize) -> Vec<f32> {
    // A chord plus a little noise: realistic spectra without a file.
    let mut state = 0x2545_f491u32;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let t = i as f32 / 16_000.0;
            let tone: f32 = [220.0f32, 277.2, 329.6]
                .iter()
                .map(|f| (std::f32::consts::TAU * f * t).sin())
                .sum();
            0.2 * tone + 0.01 * (state as f32 / u32::MAX as f32 - 0.5)
        })
        .collect()
}

fn weights() -> Weights {
    Weights::random(ModelSpec::new_default(Provenance::default()), 1)
}

fn front_end(c: &mut Criterion) {
    let spec = ModelSpec::new_default(Provenance::default());
    let mut fe = MelFrontend::new(&spec.mel);
    let frame = test_signal(spec.mel.n_fft);
    let mut out = vec![0.0; spec.mel.n_mels];
    c.bench_function("mel/frame (1024 samples -> 128 bands)", |b| {
        b.iter(|| fe.process_frame(black_box(&frame), &mut out).unwrap())
    });
    let window = test_signal(spec.mel.window_samples());
    c.bench_function("mel/window (128 frames)", |b| {
        b.iter(|| black_box(fe.spectrogram(black_box(&window))))
    });
}

fn inference(c: &mut Criterion) {
    let w = weights();
    let net = CpuNet::new(&w);
    let wl = net.window_len();
    let mut fe = MelFrontend::new(&w.spec.mel);
    let one = instrunet_model::mel::frames_to_window_vec(
        &fe.spectrogram(&test_signal(w.spec.mel.window_samples())),
        w.spec.mel.n_mels,
    );
    let mut group = c.benchmark_group("inference");
    group.throughput(Throughput::Elements(1));
    let mut scratch = vec![net.scratch(), net.scratch()];
    let mut logits = vec![0.0; net.n_classes()];
    group.bench_function("batch 1, 1 thread (128x128)", |b| {
        b.iter(|| {
            net.logits(black_box(&one), &mut scratch[0], &mut logits)
                .unwrap()
        })
    });
    for threads in [1usize, 2] {
        let batch = 16;
        let windows: Vec<f32> = one.iter().cycle().take(batch * wl).copied().collect();
        let mut out = vec![0.0; batch * net.n_classes()];
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new("batch 16", format!("{threads} thread(s)")),
            &threads,
            |b, &t| {
                b.iter(|| {
                    net.logits_batch(black_box(&windows), batch, t, &mut scratch, &mut out)
                        .unwrap()
                })
            },
        );
    }
    group.finish();

    // candle's own ops on the same network, for scale (the reference path).
    let mut group = c.benchmark_group("inference (candle reference)");
    group.sample_size(10);
    let dev = Device::Cpu;
    let mut model = InstruNet::new(&w.spec, 0.0, w.tensors.var_builder(&dev).unwrap()).unwrap();
    model.use_candle_ops(true);
    let x = windows_to_tensor(&one, 1, &w.spec, &dev).unwrap();
    group.bench_function("batch 1", |b| {
        b.iter(|| black_box(model.forward_t(&x, false).unwrap()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters' text backend here has no font registered (criterion's plots crash).
    config = Criterion::default().without_plots();
    targets = front_end, inference
}
criterion_main!(benches);
