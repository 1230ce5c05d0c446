//! The CPU inference kernels against candle's own ops, which stay the reference: each convolution
//! kernel against `conv2d` (+ ReLU + `max_pool2d`), and the whole CPU network against the candle
//! network, at odd sizes too.

use candle_core::{Device, Tensor};
use instrunet_model::cpu::{CpuNet, FoldedConv};
use instrunet_model::kernels::winograd::{WinogradConv, scratch_sizes};
use instrunet_model::kernels::{direct, from_c8, im2col, to_c8};
use instrunet_model::net::{InstruNet, windows_to_tensor};
use instrunet_model::{ModelSpec, Provenance, Weights};
use rand::distr::{Distribution, Uniform};
use rand::{SeedableRng, rngs::StdRng};

fn uniform(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let d = Uniform::new(lo, hi).unwrap();
    (0..n).map(|_| d.sample(&mut rng)).collect()
}

/// candle's `relu(maxpool2x2(conv(x) + bias))` for one image, flattened.
fn candle_conv_pool(
    x: &[f32],
    c_in: usize,
    h: usize,
    w: usize,
    weight: &[f32],
    bias: &[f32],
    pool: bool,
) -> Vec<f32> {
    let dev = Device::Cpu;
    let c_out = bias.len();
    let xt = Tensor::from_slice(x, (1, c_in, h, w), &dev).unwrap();
    let wt = Tensor::from_slice(weight, (c_out, c_in, 3, 3), &dev).unwrap();
    let bt = Tensor::from_slice(bias, (1, c_out, 1, 1), &dev).unwrap();
    let y = xt.conv2d(&wt, 1, 1, 1, 1).unwrap();
    if !pool {
        return y.flatten_all().unwrap().to_vec1().unwrap();
    }
    let y = y
        .broadcast_add(&bt)
        .unwrap()
        .relu()
        .unwrap()
        .max_pool2d(2)
        .unwrap();
    y.flatten_all().unwrap().to_vec1().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// (c_in, c_out, h, w): the network's layer shapes, the odd sizes and odd extents.
const CASES: [(usize, usize, usize, usize); 8] = [
    (1, 32, 128, 128),
    (32, 64, 64, 64),
    (64, 128, 32, 32),
    (1, 32, 64, 128),
    (32, 64, 96, 200),
    (3, 8, 7, 9),
    (8, 16, 11, 10),
    (64, 16, 13, 6),
];

#[test]
fn im2col_conv_matches_candle_conv2d_to_1e5() {
    for (i, &(c_in, c_out, h, w)) in CASES.iter().enumerate() {
        let x = uniform(c_in * h * w, -1.0, 1.0, i as u64);
        let bound = 1.0 / ((c_in * 9) as f32).sqrt();
        let conv = FoldedConv {
            c_in,
            c_out,
            weight: uniform(c_out * c_in * 9, -bound, bound, 100 + i as u64),
            bias: vec![0.0; c_out],
        };
        let mut col = vec![0.0; c_in * 9 * h * w];
        let mut out = vec![0.0; c_out * h * w];
        im2col::conv3x3(&x, &conv.weight, c_in, c_out, h, w, &mut col, &mut out);
        let want = candle_conv_pool(&x, c_in, h, w, &conv.weight, &conv.bias, false);
        let err = max_abs_diff(&out, &want);
        println!("im2col {c_in}x{h}x{w} -> {c_out}: max |error| {err:.2e}");
        assert!(err <= 1e-5, "{c_in}x{h}x{w} -> {c_out}: max error {err}");
    }
}

#[test]
fn direct_and_winograd_conv_pool_match_candle() {
    for (i, &(c_in, c_out, h, w)) in CASES.iter().enumerate() {
        let x = uniform(c_in * h * w, -1.0, 1.0, 10 + i as u64);
        let bound = 1.0 / ((c_in * 9) as f32).sqrt();
        let weight = uniform(c_out * c_in * 9, -bound, bound, 200 + i as u64);
        let bias = uniform(c_out, -0.1, 0.1, 300 + i as u64);
        let want = candle_conv_pool(&x, c_in, h, w, &weight, &bias, true);

        let (ho, wo) = (h / 2, w / 2);
        let mut pad = vec![0.0; direct::pad_len(c_in, h, w)];
        let mut out = vec![f32::NAN; c_out * ho * wo];
        direct::conv3x3_pool(&x, c_in, h, w, &weight, &bias, &mut pad, &mut out);
        let err = max_abs_diff(&from_c8(&out, c_out, ho, wo), &want);
        println!("direct {c_in}x{h}x{w} -> {c_out}: max |error| {err:.2e}");
        assert!(
            err <= 1e-5,
            "direct {c_in}x{h}x{w} -> {c_out}: max error {err}"
        );

        if c_in % 8 != 0 {
            continue; // the Winograd kernel works on blocks of eight channels
        }
        let conv = WinogradConv::new(&weight, &bias, c_in);
        let (p, v, m) = scratch_sizes(c_in, c_out, h, w);
        let (mut pad, mut v, mut m) = (vec![0.0; p], vec![0.0; v], vec![0.0; m]);
        let mut out = vec![f32::NAN; c_out * ho * wo];
        conv.forward_pool(
            &to_c8(&x, c_in, h, w),
            h,
            w,
            &mut pad,
            &mut v,
            &mut m,
            &mut out,
        );
        let err = max_abs_diff(&from_c8(&out, c_out, ho, wo), &want);
        println!("winograd {c_in}x{h}x{w} -> {c_out}: max |error| {err:.2e}");
        // Winograd F(4×4, 3×3) reorders the arithmetic (transforms with constants up to 8), so
        // it rounds differently from a direct sum: a few ulp of the O(1) outputs.
        assert!(
            err <= 1e-5,
            "winograd {c_in}x{h}x{w} -> {c_out}: max error {err}"
        );
    }
}

/// Weights with non-trivial BatchNorm affine parameters and running statistics.
fn weights_with_batchnorm(spec: ModelSpec, seed: u64) -> Weights {
    let mut w = Weights::random(spec, seed);
    for (k, (name, (_, v))) in w.tensors.0.iter_mut().enumerate() {
        let n = v.len();
        let r = |lo, hi| uniform(n, lo, hi, seed * 1000 + k as u64);
        if name.ends_with("running_var") {
            *v = r(0.2, 3.0);
        } else if name.ends_with("running_mean") {
            *v = r(-0.5, 0.5);
        } else if name.starts_with("bn") && name.ends_with("weight") {
            *v = r(0.5, 1.5);
        } else if name.starts_with("bn") && name.ends_with("bias") {
            *v = r(-0.3, 0.3);
        } else if name == "time_max_gate" {
            *v = r(-1.0, 2.0);
        }
    }
    w
}

fn check_network(spec: ModelSpec, batch: usize, seed: u64) {
    let w = weights_with_batchnorm(spec, seed);
    let spec = &w.spec;
    let dev = Device::Cpu;
    let mut net = InstruNet::new(spec, 0.3, w.tensors.var_builder(&dev).unwrap()).unwrap();
    net.use_candle_ops(true);
    let windows = uniform(batch * spec.mel.window_len(), -100.0, 0.0, seed + 1);
    let want: Vec<f32> = net
        .forward_t(
            &windows_to_tensor(&windows, batch, spec, &dev).unwrap(),
            false,
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();

    let cpu = CpuNet::new(&w);
    let mut scratch = vec![cpu.scratch(), cpu.scratch()];
    for threads in [1, 2] {
        let mut got = vec![0.0; batch * spec.n_classes()];
        cpu.logits_batch(&windows, batch, threads, &mut scratch, &mut got)
            .unwrap();
        let err = max_abs_diff(&got, &want);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        println!(
            "network {}x{} batch {batch} threads {threads}: max |logit error| {err:.2e} (max |logit| {scale:.2})",
            spec.mel.n_mels, spec.mel.window_frames
        );
        assert!(
            err <= 1e-4 * scale.max(1.0),
            "{}x{} batch {batch} threads {threads}: logit error {err}",
            spec.mel.n_mels,
            spec.mel.window_frames
        );
    }
}

#[test]
fn cpu_network_matches_candle_network() {
    for batch in [1, 3] {
        check_network(
            ModelSpec::new_default(Provenance::default()),
            batch,
            batch as u64,
        );
    }
}

#[test]
fn cpu_network_matches_candle_network_at_odd_sizes() {
    for (n_mels, frames) in [(64, 128), (96, 200), (40, 75)] {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.mel.n_mels = n_mels;
        spec.mel.window_frames = frames;
        check_network(spec, 2, n_mels as u64);
    }
}

#[test]
fn cpu_network_matches_candle_network_with_band_pooling() {
    // 128 mels: 16 rows into 4 equal bands; 40 mels: 5 rows into 3 overlapping adaptive bands
    // (rows 0-1, 1-3, 3-4), 96 mels: 12 rows into 5.
    for (n_mels, frames, bands) in [(128, 128, 4), (40, 75, 3), (96, 200, 5)] {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.mel.n_mels = n_mels;
        spec.mel.window_frames = frames;
        spec.network.pool_bands = bands;
        check_network(spec, 2, bands as u64);
    }
}

#[test]
fn cpu_network_matches_candle_network_with_other_widths() {
    // The weights file may record blocks wider (or narrower) than the paper's 32/64/128.
    for (channels, bands) in [([16, 40, 256], 8), ([48, 96, 192], 1)] {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = channels;
        spec.network.pool_bands = bands;
        check_network(spec, 2, channels[1] as u64);
    }
}

#[test]
fn cpu_network_matches_candle_network_with_extra_blocks() {
    // Blocks after the third, without pooling, at its width (one and two of them, so that the
    // last one's output lands in either scratch image).
    for (extra, channels, bands) in [(1, [32, 64, 128], 8), (2, [16, 40, 64], 1)] {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.network.conv_channels = channels;
        spec.network.pool_bands = bands;
        spec.network.extra_blocks = extra;
        check_network(spec, 2, 40 + extra as u64);
    }
}

#[test]
fn cpu_network_matches_candle_network_with_time_max() {
    // Each band's gated maximum over time added to its mean: 16 rows in 8 equal bands, 5 rows in
    // 3 overlapping ones, and with extra blocks before the pool.
    for (n_mels, frames, bands, extra) in [(128, 128, 8, 0), (40, 75, 3, 0), (64, 96, 2, 1)] {
        let mut spec = ModelSpec::new_default(Provenance::default());
        spec.mel.n_mels = n_mels;
        spec.mel.window_frames = frames;
        spec.network.pool_bands = bands;
        spec.network.extra_blocks = extra;
        spec.network.time_max = true;
        check_network(spec, 2, 60 + bands as u64);
    }
}
