//! The training kernels (`instrunet_model::ops`) against candle's own ops: forward values and
//! every gradient, at batch 1, 3 and 32 and inputs of 64×128, 128×128 and 96×200; a
//! finite-difference check of the gradients; and the whole network (logits, gradients of every
//! variable, running statistics) on both paths. The max-pool reference is `net::max_pool2x2`
//! (reshape + max): candle 0.11.1's `max_pool2d` backward scales a unique maximum's gradient by 1/4.

use candle_core::{DType, Device, Tensor, Var, backprop::GradStore};
use candle_nn::{BatchNorm, ModuleT, VarBuilder, VarMap};
use instrunet_model::net::{InstruNet, max_pool2x2};
use instrunet_model::{ModelSpec, Provenance, ops};
use rand::distr::{Distribution, Uniform};
use rand::{SeedableRng, rngs::StdRng};

const DEV: Device = Device::Cpu;

fn uniform(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut rng = StdRng::seed_from_u64(seed);
    let d = Uniform::new(lo, hi).unwrap();
    let v: Vec<f32> = (0..n).map(|_| d.sample(&mut rng)).collect();
    Tensor::from_vec(v, shape, &DEV).unwrap()
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
        / scale
}

/// A weighted sum of `y` with fixed random weights: a scalar loss whose gradient is not uniform.
fn loss(y: &Tensor, seed: u64) -> Tensor {
    let r = uniform(y.dims(), -1.0, 1.0, seed);
    (y * r).unwrap().sum_all().unwrap()
}

fn grad(g: &GradStore, v: &Var) -> Tensor {
    g.get(v.as_tensor()).expect("gradient").clone()
}

/// (batch, c_in, c_out, h, w); the last two have channel counts in multiples of eight, so they
/// run the Winograd kernels.
const CONV_CASES: [(usize, usize, usize, usize, usize); 6] = [
    (1, 1, 8, 64, 128),
    (3, 4, 8, 128, 128),
    (3, 5, 6, 96, 200),
    (32, 2, 4, 32, 32),
    (2, 32, 64, 16, 20),
    (3, 64, 128, 32, 24),
];

#[test]
fn conv3x3_forward_and_gradients_match_candle() {
    for (i, &(n, ci, co, h, w)) in CONV_CASES.iter().enumerate() {
        let s = i as u64 * 10;
        let x = Var::from_tensor(&uniform(&[n, ci, h, w], -1.0, 1.0, s)).unwrap();
        let bound = 1.0 / ((ci * 9) as f32).sqrt();
        let wt = Var::from_tensor(&uniform(&[co, ci, 3, 3], -bound, bound, s + 1)).unwrap();
        let b = Var::from_tensor(&uniform(&[co], -0.1, 0.1, s + 2)).unwrap();

        let ours = ops::conv3x3(x.as_tensor(), wt.as_tensor(), b.as_tensor(), 2).unwrap();
        let reference = x
            .as_tensor()
            .conv2d(wt.as_tensor(), 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&b.as_tensor().reshape((1, co, 1, 1)).unwrap())
            .unwrap();
        let fwd = max_rel_diff(&ours, &reference);
        let g_ours = loss(&ours, s + 3).backward().unwrap();
        let g_ref = loss(&reference, s + 3).backward().unwrap();
        let (gx, gw, gb) = (
            max_rel_diff(&grad(&g_ours, &x), &grad(&g_ref, &x)),
            max_rel_diff(&grad(&g_ours, &wt), &grad(&g_ref, &wt)),
            max_rel_diff(&grad(&g_ours, &b), &grad(&g_ref, &b)),
        );
        println!(
            "conv {n}x{ci}x{h}x{w} -> {co}: rel. error fwd {fwd:.1e}, dx {gx:.1e}, dw {gw:.1e}, db {gb:.1e}"
        );
        // Tolerance, relative to the largest value: 1e-5 for im2col (f32 sums of up to
        // 32·128·128 terms in another order); 2e-5 for Winograd F(4×4, 3×3), whose transforms
        // multiply by constants up to 8 before the sums and so round a little more.
        let tol = if ci % 8 == 0 && co % 8 == 0 {
            2e-5
        } else {
            1e-5
        };
        for (what, e) in [("forward", fwd), ("dx", gx), ("dw", gw), ("db", gb)] {
            assert!(e <= tol, "conv {n}x{ci}x{h}x{w}: {what} relative error {e}");
        }
    }
}

/// (batch, channels, h, w)
const BN_CASES: [(usize, usize, usize, usize); 5] = [
    (1, 4, 64, 128),
    (3, 8, 128, 128),
    (3, 3, 96, 200),
    (32, 4, 32, 32),
    (2, 5, 7, 9),
];

/// `ops::bn_relu_train`'s last argument: with the 2×2 max-pool or without.
const POOL: bool = true;
const NO_POOL: bool = false;

/// A BatchNorm case: input, γ (negative ones too), β, and candle's `BatchNorm` on them (running
/// mean 0 and variance 1, momentum 0.1) as the reference.
struct BnCase {
    x: Var,
    gamma: Var,
    beta: Var,
    bn: BatchNorm,
}

fn bn_case(n: usize, c: usize, h: usize, w: usize, s: u64) -> BnCase {
    let x = Var::from_tensor(&uniform(&[n, c, h, w], -2.0, 3.0, s)).unwrap();
    let gamma = Var::from_tensor(&uniform(&[c], -1.5, 1.5, s + 1)).unwrap();
    let beta = Var::from_tensor(&uniform(&[c], -0.5, 0.5, s + 2)).unwrap();
    let bn = BatchNorm::new(
        c,
        Var::zeros(c, DType::F32, &DEV).unwrap().as_tensor().clone(),
        Var::ones(c, DType::F32, &DEV).unwrap().as_tensor().clone(),
        gamma.as_tensor().clone(),
        beta.as_tensor().clone(),
        1e-5,
    )
    .unwrap();
    BnCase { x, gamma, beta, bn }
}

impl BnCase {
    /// Relative errors of dx, dγ and dβ between our output and the reference under one loss.
    fn gradient_errors(
        &self,
        ours: &Tensor,
        reference: &Tensor,
        s: u64,
    ) -> [(&'static str, f32); 3] {
        let g_ours = loss(ours, s).backward().unwrap();
        let g_ref = loss(reference, s).backward().unwrap();
        let err = |v: &Var| max_rel_diff(&grad(&g_ours, v), &grad(&g_ref, v));
        [
            ("dx", err(&self.x)),
            ("dgamma", err(&self.gamma)),
            ("dbeta", err(&self.beta)),
        ]
    }
}

fn assert_close(label: &str, errors: &[(&str, f32)]) {
    let shown: Vec<String> = errors.iter().map(|(w, e)| format!("{w} {e:.1e}")).collect();
    println!("{label}: rel. error {}", shown.join(", "));
    for (what, e) in errors {
        assert!(*e <= 1e-4, "{label}: {what} relative error {e}");
    }
}

#[test]
fn bn_relu_pool_forward_stats_and_gradients_match_candle() {
    for (i, &(n, c, h, w)) in BN_CASES.iter().enumerate() {
        let s = 100 + i as u64 * 10;
        let case = bn_case(n, c, h, w, s);
        let (x, bn) = (case.x.as_tensor(), &case.bn);
        let (ours, stats) = ops::bn_relu_train(
            x,
            case.gamma.as_tensor(),
            case.beta.as_tensor(),
            1e-5,
            2,
            POOL,
        )
        .unwrap();
        let reference = max_pool2x2(&bn.forward_t(x, true).unwrap().relu().unwrap()).unwrap();
        // candle's BatchNorm moved its running mean by momentum 0.1 × the batch mean.
        let batch_mean = Tensor::from_vec(stats.mean.clone(), c, &DEV).unwrap();
        let mut errors = vec![
            ("forward", max_rel_diff(&ours, &reference)),
            (
                "batch mean",
                max_rel_diff(&(batch_mean * 0.1).unwrap(), bn.running_mean()),
            ),
        ];
        errors.extend(case.gradient_errors(&ours, &reference, s + 3));
        assert_close(&format!("bn-relu-pool {n}x{c}x{h}x{w}"), &errors);
    }
}

#[test]
fn bn_relu_forward_stats_and_gradients_match_candle() {
    // The extra blocks' form: no pool (odd plane sizes reach the scalar tails).
    for (i, &(n, c, h, w)) in BN_CASES.iter().enumerate() {
        let s = 300 + i as u64 * 10;
        let case = bn_case(n, c, h, w, s);
        let (x, gamma, beta, bn) = (
            case.x.as_tensor(),
            case.gamma.as_tensor(),
            case.beta.as_tensor(),
            &case.bn,
        );
        let (ours, stats) = ops::bn_relu_train(x, gamma, beta, 1e-5, 2, NO_POOL).unwrap();
        let reference = bn.forward_t(x, true).unwrap().relu().unwrap();
        // candle's running variance: 0.9 × 1 + 0.1 × the unbiased batch variance.
        let batch_var = Tensor::from_vec(stats.unbiased_var(), c, &DEV).unwrap();
        let var_err = max_rel_diff(
            &((batch_var * 0.1).unwrap() + 0.9).unwrap(),
            bn.running_var(),
        );
        // Inference on those running statistics, against candle's.
        let eval = ops::bn_relu_eval(
            x,
            gamma,
            beta,
            bn.running_mean(),
            bn.running_var(),
            1e-5,
            NO_POOL,
        )
        .unwrap();
        let eval_ref = bn.forward_t(x, false).unwrap().relu().unwrap();
        let mut errors = vec![
            ("forward", max_rel_diff(&ours, &reference)),
            ("batch variance", var_err),
            ("inference", max_rel_diff(&eval, &eval_ref)),
        ];
        errors.extend(case.gradient_errors(&ours, &reference, s + 3));
        assert_close(&format!("bn-relu {n}x{c}x{h}x{w}"), &errors);
    }
}

/// Central differences of the loss along random directions against the analytic gradients.
#[test]
fn gradients_match_finite_differences() {
    let (n, ci, co, h, w) = (3, 2, 3, 6, 8);
    let x = Var::from_tensor(&uniform(&[n, ci, h, w], -1.0, 1.0, 1)).unwrap();
    let wt = Var::from_tensor(&uniform(&[co, ci, 3, 3], -0.5, 0.5, 2)).unwrap();
    let b = Var::from_tensor(&uniform(&[co], -0.1, 0.1, 3)).unwrap();
    let gamma = Var::from_tensor(&uniform(&[co], 0.5, 1.5, 4)).unwrap();
    let beta = Var::from_tensor(&uniform(&[co], -0.2, 0.2, 5)).unwrap();
    let forward = |x: &Tensor, wt: &Tensor, b: &Tensor, g: &Tensor, be: &Tensor| -> Tensor {
        let y = ops::conv3x3(x, wt, b, 1).unwrap();
        let (p, _) = ops::bn_relu_train(&y, g, be, 1e-5, 1, POOL).unwrap();
        loss(&p, 99)
    };
    let vars = [&x, &wt, &b, &gamma, &beta];
    let l = forward(
        x.as_tensor(),
        wt.as_tensor(),
        b.as_tensor(),
        gamma.as_tensor(),
        beta.as_tensor(),
    );
    let grads = l.backward().unwrap();
    for (k, v) in vars.iter().enumerate() {
        let d = uniform(v.dims(), -1.0, 1.0, 1000 + k as u64);
        let analytic: f32 = (grad(&grads, v) * &d)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        let eps = 1e-3;
        let shifted = |sign: f64| {
            let moved: Vec<Tensor> = vars
                .iter()
                .enumerate()
                .map(|(j, u)| {
                    if j == k {
                        (u.as_tensor() + (&d * (sign * eps)).unwrap()).unwrap()
                    } else {
                        u.as_tensor().clone()
                    }
                })
                .collect();
            forward(&moved[0], &moved[1], &moved[2], &moved[3], &moved[4])
                .to_scalar::<f32>()
                .unwrap() as f64
        };
        let numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps);
        let diff = (numeric - analytic as f64).abs();
        println!(
            "variable {k}: analytic {analytic:.5}, finite difference {numeric:.5}, |difference| {diff:.1e}"
        );
        // f32 forward passes: the loss is O(10) and its rounding, divided by 2·eps, leaves ~1e-3 of
        // noise in the difference quotient; beyond that, 1 % of the gradient.
        assert!(
            diff < 2e-3 + 1e-2 * numeric.abs(),
            "variable {k}: analytic {analytic} vs numeric {numeric}"
        );
    }
}

fn network(spec: &ModelSpec, candle_ops: bool, threads: usize) -> (InstruNet, VarMap) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &DEV);
    let mut net = InstruNet::new(spec, 0.0, vb).unwrap();
    instrunet_model::TensorMap::random_init(spec, 5)
        .copy_into_varmap(&varmap)
        .unwrap();
    net.use_candle_ops(candle_ops);
    net.set_threads(threads);
    (net, varmap)
}

#[test]
fn the_network_trains_identically_on_both_paths() {
    check_both_paths(&ModelSpec::new_default(Provenance::default()));
}

#[test]
fn a_wider_network_trains_identically_on_both_paths() {
    // Widths other than the paper's (40 is not a multiple of the kernels' 16-column blocks).
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.network.conv_channels = [16, 40, 256];
    spec.network.pool_bands = 8;
    check_both_paths(&spec);
}

#[test]
fn a_deeper_network_trains_identically_on_both_paths() {
    // Two blocks without pooling after the third (the fused BatchNorm + ReLU against candle's).
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.network.conv_channels = [16, 32, 64];
    spec.network.pool_bands = 4;
    spec.network.extra_blocks = 2;
    check_both_paths(&spec);
}

#[test]
fn a_time_max_network_trains_identically_on_both_paths() {
    // The gate's gradient, and the maximum's through the blocks, on the fused path too.
    let mut spec = ModelSpec::new_default(Provenance::default());
    spec.network.conv_channels = [16, 32, 64];
    spec.network.pool_bands = 4;
    spec.network.time_max = true;
    check_both_paths(&spec);
}

fn check_both_paths(spec: &ModelSpec) {
    let (fast, fast_vars) = network(spec, false, 2);
    let (reference, ref_vars) = network(spec, true, 1);
    let x = uniform(&[3, 1, 128, 128], -90.0, 0.0, 7);
    let y_fast = fast.forward_t(&x, true).unwrap();
    let y_ref = reference.forward_t(&x, true).unwrap();
    let fwd = max_rel_diff(&y_fast, &y_ref);
    let g_fast = loss(&y_fast, 8).backward().unwrap();
    let g_ref = loss(&y_ref, 8).backward().unwrap();
    println!("network logits: rel. error {fwd:.1e}");
    assert!(fwd <= 1e-4);
    let fast_data = fast_vars.data().lock().unwrap();
    let ref_data = ref_vars.data().lock().unwrap();
    for (name, v) in ref_data.iter() {
        let f = &fast_data[name];
        if name.contains("running") {
            let e = max_rel_diff(f.as_tensor(), v.as_tensor());
            println!("{name}: rel. error {e:.1e}");
            assert!(e <= 1e-4, "{name} (running statistic) {e}");
            continue;
        }
        let (gf, gr) = (grad(&g_fast, f), grad(&g_ref, v));
        if name.starts_with("conv") && name.ends_with("bias") {
            // A bias before training-mode BatchNorm has zero gradient (the batch mean removes it):
            // both paths must give rounding noise only.
            let noise = |g: &Tensor| {
                g.abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            };
            println!(
                "d{name}: max |gradient| {:.1e} (ours), {:.1e} (candle)",
                noise(&gf),
                noise(&gr)
            );
            assert!(noise(&gf) < 1e-4 && noise(&gr) < 1e-4, "{name}");
            continue;
        }
        let e = max_rel_diff(&gf, &gr);
        println!("d{name}: rel. error {e:.1e}");
        assert!(e <= 1e-4, "gradient of {name}: relative error {e}");
    }
}
