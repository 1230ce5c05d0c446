//! `cargo bench -p instrunet-model --bench train`: one training step (forward, binary
//! cross-entropy, backward, AdamW) at batch 32 on 128×128 windows, on one and two threads, with
//! the fused CPU kernels (the default path). Throughput is reported in examples per second.
//! Targets from the fast-kernels issue: ≥ 60 examples/s on one thread, ≥ 90 on two. The
//! shipped model's widths (32/64/256, 8 bands), and the same with one block after the third
//! (`instrunet deepen`), run on two threads for scale.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use instrunet_model::loss::bce_with_logits;
use instrunet_model::net::InstruNet;
use instrunet_model::{ModelSpec, Provenance, TensorMap, ops};

const BATCH: usize = 32;

fn train_step(c: &mut Criterion) {
    ops::keep_freed_memory_for_reuse();
    let dev = Device::Cpu;
    let paper = ModelSpec::new_default(Provenance::default());
    let mut shipped = paper.clone();
    shipped.network.conv_channels = [32, 64, 256];
    shipped.network.pool_bands = 8;
    let mut deeper = shipped.clone();
    deeper.network.extra_blocks = 1;
    let x = Tensor::rand(-90f32, 0.0, (BATCH, 1, 128, 128), &dev).unwrap();
    let y = Tensor::rand(0f32, 1.0, (BATCH, paper.n_classes()), &dev)
        .unwrap()
        .ge(0.7)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    let mut group = c.benchmark_group("train step (batch 32, 128x128)");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    let cases = [
        ("fused kernels", &paper, 1usize),
        ("fused kernels", &paper, 2),
        ("32-64-256, 8 bands", &shipped, 2),
        ("32-64-256 + a 4th block", &deeper, 2),
    ];
    for (label, spec, threads) in cases {
        let varmap = VarMap::new();
        let mut net = InstruNet::new(
            spec,
            0.3,
            VarBuilder::from_varmap(&varmap, DType::F32, &dev),
        )
        .unwrap();
        TensorMap::random_init(spec, 1)
            .copy_into_varmap(&varmap)
            .unwrap();
        net.set_threads(threads);
        let mut opt = AdamW::new(
            varmap.all_vars(),
            ParamsAdamW {
                lr: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        group.bench_with_input(
            BenchmarkId::new(label, format!("{threads} thread(s)")),
            &threads,
            |b, _| {
                b.iter(|| {
                    let loss =
                        bce_with_logits(&net.forward_t(&x, true).unwrap(), &y, None).unwrap();
                    opt.backward_step(&loss).unwrap();
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // No plots: plotters' text backend here has no font registered (criterion's plots crash).
    config = Criterion::default().without_plots();
    targets = train_step
}
criterion_main!(benches);
