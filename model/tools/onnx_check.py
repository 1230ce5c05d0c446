#!/usr/bin/env python3
"""An independent check of InstruNET's network and speed against ONNX Runtime.

    python3 -m venv /tmp/onnx && /tmp/onnx/bin/pip install -r model/tools/requirements-onnx.txt
    cargo build --profile release-checked -p instrunet-model --example infer_bench
    /tmp/onnx/bin/python model/tools/onnx_check.py [WEIGHTS.safetensors] [--bench PATH]

It reads one of our weights files with Python's `safetensors`, moves the BatchNorm layers'
statistics a little (so that a lost or swapped running mean or variance shows, while the trained
network's outputs stay away from 0 and 1: the check fails when fewer than MIN_LIVE of them do)
and writes them back as a new weights file, which our Rust loader must accept. It then builds the network that file's
metadata describes (`frontend`, `normalization`, `network`: block widths and `pool_bands`) as an
ONNX graph from those tensors alone: Conv, BatchNormalization, Relu, MaxPool, then the adaptive
average pool to `pool_bands` frequency bands (GlobalAveragePool for one band; otherwise a Slice and
ReduceMean per band with PyTorch's `AdaptiveAvgPool2d((bands, 1))` row ranges, concatenated and
flattened channel-major as `flatten(1)` does), with `time_max` each band's mean over its rows, its
maximum over frames (ReduceMax) times its `time_max_gate` added, then Gemm, Relu, Gemm, Sigmoid. It runs that graph and
our `infer_bench` binary on the same log-Mel windows, checks that the probabilities agree to 1e-4,
and times both on one thread in the same run: batch 1 and batch 16.

`--bench PATH` (or the environment variable INFER_BENCH) names the `infer_bench` binary; without
it the script looks under `$CARGO_TARGET_DIR` (else `target/`) for `release/examples/infer_bench`
(what `cargo build --release` builds), then `release-checked/examples/infer_bench`.

The CI fixture (`model/tests/onnx_reference.rs` reads it; no Python in CI) is regenerated with

    /tmp/onnx/bin/python model/tools/onnx_check.py --write-fixture model/tests/fixtures/onnx

which writes there a small 8-band model (`small-8band.safetensors`: 92 Mel bands × 42 frames, so
that the last block's 11 rows fall into 8 overlapping adaptive bands; blocks of 8 channels;
deterministic random weights with non-trivial BatchNorm statistics) and `small-8band.json`: ONNX
Runtime's probabilities for a few input windows given by a formula the Rust test repeats exactly in
f32. It also reports how far the outputs of wrong poolings (a global pool copied into every band,
equal-width bands, off-by-one band edges, band-major flattening, ...) lie from ONNX Runtime's, and
refuses to write a fixture that would not tell them apart; with a built `infer_bench` it checks
our probabilities against the fixture too.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS = ROOT / "model/weights/instrunet-default.safetensors"
BATCH = 16
TOLERANCE = 1e-4
# The share of probabilities away from 0 and 1 below which an agreement proves nothing.
MIN_LIVE = 0.1
BN_EPS = 1e-5

# The CI fixture: a small network whose pooled height (92 → 46 → 23 → 11 rows) does not divide
# into its 8 bands, so that the adaptive-pool row ranges overlap and every boundary rule shows.
FIXTURE_NAME = "small-8band"
FIXTURE_SHAPE = {"n_mels": 92, "window_frames": 42, "conv_channels": [8, 8, 8], "pool_bands": 8}
FIXTURE_WINDOWS = 4
FIXTURE_SEED = 21
# Window w, Mel row m, frame t (row-major `[w][m][t]`); every value is a multiple of 0.25 below
# 256 in magnitude, so the formula is exact in f32 (and in the Rust test).
INPUT_FORMULA = "x[w][m][t] = 0.75 * ((37*m + 11*t + 53*w + 7*m*t + 5*w*m) % 97) - 0.5*m - 10*w - 30"


def fixture_windows(n: int, n_mels: int, frames: int) -> np.ndarray:
    w, m, t = np.meshgrid(np.arange(n), np.arange(n_mels), np.arange(frames), indexing="ij")
    k = (37 * m + 11 * t + 53 * w + 7 * m * t + 5 * w * m) % 97
    x = 0.75 * k.astype(np.float64) - 0.5 * m - 10.0 * w - 30.0
    x32 = x.astype(np.float32)
    assert np.array_equal(x32.astype(np.float64), x), "the input formula must be exact in f32"
    return x32.reshape(n, 1, n_mels, frames)


def pooled_height(n_mels: int) -> int:
    """Rows left after three 2×2 max-pools (odd sizes floored, as MaxPool's ceil_mode=0)."""
    h = n_mels
    for _ in range(3):
        h //= 2
    return h


def band_ranges(h: int, bands: int) -> list:
    """PyTorch's AdaptiveAvgPool row ranges: from ⌊b·h/bands⌋ to ⌈(b+1)·h/bands⌉."""
    return [(b * h // bands, -((-(b + 1) * h) // bands)) for b in range(bands)]


def spec_of(meta: dict) -> tuple:
    fe = json.loads(meta["frontend"])
    norm = json.loads(meta["normalization"])
    # Files written before the `network` entry existed hold the paper's widths and a global pool.
    net = json.loads(meta.get("network", '{"pool_bands": 1}'))
    net.setdefault("conv_channels", [32, 64, 128])
    net.setdefault("extra_blocks", 0)
    return fe, norm, net


def build_graph(t: dict, meta: dict, extra_outputs=()) -> onnx.ModelProto:
    fe, norm, net = spec_of(meta)
    bands = net["pool_bands"]
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in t.items()]
    inits += [
        numpy_helper.from_array(np.array(norm["mean"], np.float32), "norm_mean"),
        numpy_helper.from_array(np.array(norm["std"], np.float32), "norm_std"),
    ]
    nodes = [helper.make_node("Sub", ["x", "norm_mean"], ["x0"]), helper.make_node("Div", ["x0", "norm_std"], ["h0"])]
    prev = "h0"
    c_in = 1
    # Blocks 1-3 (`network.conv_channels`) end in a 2×2 max-pool; blocks after the third
    # (`network.extra_blocks`) keep the third's width and have none.
    widths = list(net["conv_channels"]) + [net["conv_channels"][-1]] * net["extra_blocks"]
    for i, c in enumerate(widths, start=1):
        assert t[f"conv{i}.weight"].shape == (c, c_in, 3, 3), f"conv{i}.weight does not match the metadata's widths"
        c_in = c
        pooled = i <= 3
        nodes += [
            helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node(
                "BatchNormalization",
                [f"c{i}", f"bn{i}.weight", f"bn{i}.bias", f"bn{i}.running_mean", f"bn{i}.running_var"],
                [f"b{i}"],
                epsilon=BN_EPS,
            ),
            helper.make_node("Relu", [f"b{i}"], [f"r{i}" if pooled else f"h{i}"]),
        ]
        if pooled:
            nodes.append(helper.make_node("MaxPool", [f"r{i}"], [f"h{i}"], kernel_shape=[2, 2], strides=[2, 2]))
        prev = f"h{i}"
    time_max = net.get("time_max", False)
    mean_out = "pooled_mean" if time_max else "pooled"
    rows = []
    if bands > 1 or time_max:
        # Each band's rows, PyTorch's `AdaptiveAvgPool2d((bands, 1))` ranges: the band means and
        # the maxima over time both read them.
        inits.append(numpy_helper.from_array(np.array([2], np.int64), "axis_h"))
        for b, (start, end) in enumerate(band_ranges(pooled_height(fe["n_mels"]), bands)):
            inits += [
                numpy_helper.from_array(np.array([start], np.int64), f"band{b}_start"),
                numpy_helper.from_array(np.array([end], np.int64), f"band{b}_end"),
            ]
            nodes.append(helper.make_node("Slice", [prev, f"band{b}_start", f"band{b}_end", "axis_h"], [f"band{b}_rows"]))
            rows.append(f"band{b}_rows")
    if bands == 1:
        nodes.append(helper.make_node("GlobalAveragePool", [prev], [mean_out]))
    else:
        # Adaptive average pool to (bands, 1): each band is the mean over its rows and all frames.
        nodes += [helper.make_node("ReduceMean", [r], [f"band{b}"], axes=[2, 3], keepdims=1) for b, r in enumerate(rows)]
        # (N, C, bands, 1): flattening gives channel-major features, c · bands + band.
        nodes.append(helper.make_node("Concat", [f"band{b}" for b in range(bands)], [mean_out], axis=2))
    if time_max:
        # The pool's maximum over time (`network.time_max`): per band, the mean over its rows,
        # then the maximum over frames, times that feature's gate (`time_max_gate`, indexed
        # c · bands + band like the features), added to the band's mean.
        for b, r in enumerate(rows):
            nodes += [
                helper.make_node("ReduceMean", [r], [f"tmax{b}_rowmean"], axes=[2], keepdims=1),
                helper.make_node("ReduceMax", [f"tmax{b}_rowmean"], [f"tmax{b}"], axes=[3], keepdims=1),
            ]
        parts = [f"tmax{b}" for b in range(bands)]
        gate = t["time_max_gate"].astype(np.float32)
        assert gate.size == c_in * bands, f"time_max_gate has {gate.size} values, the network {c_in} × {bands}"
        inits.append(numpy_helper.from_array(gate.reshape(1, c_in, bands, 1), "time_max_gate_nchw"))
        nodes += [
            helper.make_node("Concat", parts, ["tmax"], axis=2),
            helper.make_node("Mul", ["tmax", "time_max_gate_nchw"], ["tmax_gated"]),
            helper.make_node("Add", [mean_out, "tmax_gated"], ["pooled"]),
        ]
    assert t["fc1.weight"].shape[1] == c_in * bands, (
        f"fc1.weight has {t['fc1.weight'].shape[1]} inputs, the metadata's network {c_in} × {bands}"
    )
    nodes += [
        helper.make_node("Flatten", ["pooled"], ["feat"], axis=1),
        helper.make_node("Gemm", ["feat", "fc1.weight", "fc1.bias"], ["f1"], transB=1),
        helper.make_node("Relu", ["f1"], ["f1r"]),
        helper.make_node("Gemm", ["f1r", "fc2.weight", "fc2.bias"], ["logits"], transB=1),
        helper.make_node("Sigmoid", ["logits"], ["probs"]),
    ]
    n_classes = t["fc2.bias"].shape[0]
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])]
    outputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", "C", "H", "W"]) for name in extra_outputs]
    graph = helper.make_graph(
        nodes,
        "instrunet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, fe["n_mels"], fe["window_frames"]])],
        outputs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def batchnorm_indices(t: dict) -> list:
    """The blocks' numbers, from their BatchNorm tensors (three, and any after the third)."""
    return sorted(int(k[2:-len(".running_mean")]) for k in t if k.startswith("bn") and k.endswith(".running_mean"))


def perturb_batchnorm(t: dict, rng: np.random.Generator) -> None:
    for i in batchnorm_indices(t):
        c = t[f"bn{i}.running_mean"].shape[0]
        t[f"bn{i}.running_mean"] = rng.uniform(-0.5, 0.5, c).astype(np.float32)
        t[f"bn{i}.running_var"] = rng.uniform(0.2, 3.0, c).astype(np.float32)
        t[f"bn{i}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        t[f"bn{i}.bias"] = rng.uniform(-0.3, 0.3, c).astype(np.float32)


def nudge_batchnorm(t: dict, rng: np.random.Generator) -> None:
    """Moves a trained network's BatchNorm statistics a little, each channel its own way, so that
    a loader that dropped or swapped them disagrees, while the network still computes something
    like what it learnt (perturb_batchnorm's fresh statistics drive a trained network's outputs
    to 0 or 1, where the comparison would prove nothing)."""
    for i in batchnorm_indices(t):
        c = t[f"bn{i}.running_mean"].shape[0]
        sd = np.sqrt(t[f"bn{i}.running_var"])
        t[f"bn{i}.running_mean"] = (t[f"bn{i}.running_mean"] + rng.normal(0, 0.1, c) * sd).astype(np.float32)
        t[f"bn{i}.running_var"] = (t[f"bn{i}.running_var"] * rng.uniform(0.8, 1.25, c)).astype(np.float32)
        t[f"bn{i}.weight"] = (t[f"bn{i}.weight"] * rng.uniform(0.9, 1.1, c)).astype(np.float32)
        t[f"bn{i}.bias"] = (t[f"bn{i}.bias"] + rng.normal(0, 0.05, c)).astype(np.float32)


def find_bench(arg) -> pathlib.Path:
    if arg:
        return pathlib.Path(arg)
    if os.environ.get("INFER_BENCH"):
        return pathlib.Path(os.environ["INFER_BENCH"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    candidates = [target / profile / "examples" / "infer_bench" for profile in ("release", "release-checked")]
    return next((p for p in candidates if p.exists()), candidates[0])


def run_bench(bench: pathlib.Path, weights: pathlib.Path, x: np.ndarray, seconds: float) -> tuple:
    """Our probabilities for windows `x` and the benchmark's timings (JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        x.astype("<f4").tofile(tmp / "x.f32")
        run = subprocess.run(
            [str(bench), "--weights", str(weights), "--input", str(tmp / "x.f32"), "--batch", str(len(x)),
             "--probs", str(tmp / "p.f32"), "--seconds", str(seconds)],
            check=True, capture_output=True, text=True,
        )
        timings = json.loads(run.stdout.strip().splitlines()[-1])
        probs = np.fromfile(tmp / "p.f32", dtype="<f4").reshape(len(x), -1)
    return probs, timings


def median_ms(fn, budget=3.0, per=1):
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < budget or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3 / per


def check(src: pathlib.Path, bench: pathlib.Path) -> int:
    if not bench.exists():
        print(f"no infer_bench at {bench}: cargo build --profile release-checked -p instrunet-model --example infer_bench"
              " (or pass --bench PATH)")
        return 2
    with safe_open(str(src), "np") as f:
        meta = f.metadata()
    t = load_file(str(src))
    rng = np.random.default_rng(7)
    nudge_batchnorm(t, rng)
    fe, _, net = spec_of(meta)
    shape = (BATCH, 1, fe["n_mels"], fe["window_frames"])
    # Log-Mel-like input: dB values between -100 and 0 with some structure along frequency.
    x = (rng.uniform(-30, 10, shape) - 40 - 30 * np.linspace(0, 1, fe["n_mels"])[None, None, :, None]).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        weights = pathlib.Path(tmp) / "checked.safetensors"
        save_file(t, str(weights), metadata=meta)
        ours_probs, ours = run_bench(bench, weights, x, 3.0)

    model = build_graph(t, meta)
    sess = session(model)
    ort_probs = sess.run(["probs"], {"x": x})[0]
    err = float(np.abs(ort_probs - ours_probs).max())
    print(f"weights {src.relative_to(ROOT) if src.is_relative_to(ROOT) else src}: {fe['n_mels']} Mel bands × "
          f"{fe['window_frames']} frames, blocks {net['conv_channels']} + {net['extra_blocks']} without pooling, "
          f"time max {net.get('time_max', False)}, pool_bands {net['pool_bands']} "
          f"(rows {band_ranges(pooled_height(fe['n_mels']), net['pool_bands'])})")
    print(f"probabilities: max |ours - onnxruntime| = {err:.2e} over {ort_probs.size} values (tolerance {TOLERANCE:g})")
    ort_b1 = median_ms(lambda: sess.run(["probs"], {"x": x[:1]}))
    ort_b16 = median_ms(lambda: sess.run(["probs"], {"x": x}), per=BATCH)
    ours_b16 = ours[f"batch{BATCH}_ms_per_window"]
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, one thread, ms per window:")
    print("| work | ONNX Runtime | InstruNET (Rust) | ours / ORT |")
    print("|---|---|---|---|")
    print(f"| batch 1 | {ort_b1:.3f} | {ours['batch1_ms']:.3f} | {ours['batch1_ms'] / ort_b1:.2f} |")
    print(f"| batch {BATCH} | {ort_b16:.3f} | {ours_b16:.3f} | {ours_b16 / ort_b16:.2f} |")
    # Probabilities pinned at 0 or 1 would agree whatever the two networks compute.
    live = float(((ort_probs > 0.01) & (ort_probs < 0.99)).mean())
    print(f"share of probabilities between 0.01 and 0.99: {live:.2f} (at least {MIN_LIVE} for the comparison to count)")
    if not err <= TOLERANCE:
        print("FAILED: the probabilities disagree")
        return 1
    if live < MIN_LIVE:
        print("FAILED: the probabilities are saturated, so their agreement shows nothing")
        return 1
    return 0


def dense_probs(features: np.ndarray, t: dict) -> np.ndarray:
    """The fully connected head in float64: features (N, C·bands) → probabilities."""
    h = np.maximum(features @ t["fc1.weight"].astype(np.float64).T + t["fc1.bias"], 0.0)
    logits = h @ t["fc2.weight"].astype(np.float64).T + t["fc2.bias"]
    return 1.0 / (1.0 + np.exp(-logits))


def band_features(h3: np.ndarray, ranges, reduce=np.mean, band_major=False) -> np.ndarray:
    """Pools the last block's output (N, C, H, W) into the given row ranges and flattens."""
    f = np.stack([reduce(h3[:, :, s:e, :], axis=(2, 3)) for s, e in ranges], axis=2)  # (N, C, bands)
    if band_major:
        f = f.transpose(0, 2, 1)
    return f.reshape(len(h3), -1)


def wrong_poolings(h3: np.ndarray, bands: int) -> dict:
    """Features of plausible mistakes in the band pooling (each must change the outputs)."""
    h = h3.shape[2]
    right = band_ranges(h, bands)
    clamp = lambda s, e: (max(0, min(s, h - 1)), max(1, min(e, h)))
    global_mean = h3.astype(np.float64).mean(axis=(2, 3))
    return {
        "global pool copied into every band": np.repeat(global_mean[:, :, None], bands, axis=2).reshape(len(h3), -1),
        "equal-width bands, floor ends (b*h/bands .. (b+1)*h/bands)": band_features(
            h3, [(b * h // bands, max((b + 1) * h // bands, b * h // bands + 1)) for b in range(bands)]),
        "band ends one row longer": band_features(h3, [clamp(s, e + 1) for s, e in right]),
        "band ends one row shorter": band_features(h3, [(s, max(s + 1, e - 1)) for s, e in right]),
        "band starts one row later": band_features(h3, [(min(s + 1, e - 1), e) for s, e in right]),
        "bands shifted down one row": band_features(h3, [clamp(s + 1, e + 1) for s, e in right]),
        "bands in reverse order": band_features(h3, right[::-1]),
        "band-major flatten (band * C + c)": band_features(h3, right, band_major=True),
        "max instead of mean within a band": band_features(h3, right, reduce=np.max),
    }


def safetensors_bytes(t: dict, meta: dict) -> bytes:
    """A safetensors file as our Rust writer lays it out (header keys sorted, tensors in name
    order), so that the same tensors always give the same bytes (`save_file` orders the metadata at
    random)."""
    header, data = {"__metadata__": meta}, bytearray()
    for name in sorted(t):
        v = np.ascontiguousarray(t[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [len(data), len(data) + v.nbytes]}
        data += v.tobytes()
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + bytes(data)


def write_fixture(out_dir: pathlib.Path, bench: pathlib.Path) -> int:
    with safe_open(str(DEFAULT_WEIGHTS), "np") as f:
        shipped = f.metadata()
    rng = np.random.default_rng(FIXTURE_SEED)
    fe = dict(json.loads(shipped["frontend"]), n_mels=FIXTURE_SHAPE["n_mels"], window_frames=FIXTURE_SHAPE["window_frames"])
    channels, bands = FIXTURE_SHAPE["conv_channels"], FIXTURE_SHAPE["pool_bands"]
    n_classes = len(json.loads(shipped["classes"]))
    # Uniform weights and biases, He's ±√(6/fan_in) (larger than PyTorch's default ±1/√fan_in, so
    # that the logits spread over a few units and the probabilities respond to every feature), then
    # non-trivial BatchNorm statistics.
    t = {}
    c_in = 1
    shapes = []
    for i, c in zip((1, 2, 3), channels):
        shapes += [(f"conv{i}", (c, c_in, 3, 3))]
        for p in ("weight", "bias", "running_mean", "running_var"):
            t[f"bn{i}.{p}"] = np.zeros(c, np.float32)
        c_in = c
    shapes += [("fc1", (256, c_in * bands)), ("fc2", (n_classes, 256))]
    for name, shape in shapes:
        bound = np.sqrt(6.0 / np.prod(shape[1:]))
        t[f"{name}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        t[f"{name}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    perturb_batchnorm(t, rng)
    meta = {
        "format": shipped["format"],
        "format_version": shipped["format_version"],
        "classes": shipped["classes"],
        "thresholds": shipped["thresholds"],
        "frontend": json.dumps(fe, sort_keys=True),
        "normalization": shipped["normalization"],
        "network": json.dumps({"conv_channels": channels, "pool_bands": bands}, sort_keys=True),
        "provenance": json.dumps({
            "data": "none: a test fixture, deterministic random weights",
            "epochs": 0,
            "metrics": {},
            "notes": f"model/tools/onnx_check.py --write-fixture, seed {FIXTURE_SEED}; uniform He init, "
                     "BatchNorm statistics perturbed; classes, thresholds and normalisation from the shipped model",
        }, sort_keys=True),
    }
    x = fixture_windows(FIXTURE_WINDOWS, fe["n_mels"], fe["window_frames"])
    sess = session(build_graph(t, meta, extra_outputs=["h3"]))
    probs, h3 = sess.run(["probs", "h3"], {"x": x})
    h = pooled_height(fe["n_mels"])
    assert h3.shape[2] == h, (h3.shape, h)

    # The fixture must tell the right band pooling from wrong ones by far more than the tolerance.
    right = dense_probs(band_features(h3.astype(np.float64), band_ranges(h, bands)), t)
    numpy_err = float(np.abs(right - probs).max())
    print(f"fixture {FIXTURE_NAME}: {fe['n_mels']} Mel bands × {fe['window_frames']} frames, blocks {channels}, "
          f"{h} pooled rows into {bands} bands {band_ranges(h, bands)}")
    print(f"  probabilities in [{probs.min():.4f}, {probs.max():.4f}]; ONNX Runtime vs a NumPy float64 pooling and "
          f"head: max difference {numpy_err:.2e}")
    sensitivity = {}
    for name, feats in wrong_poolings(h3.astype(np.float64), bands).items():
        d = float(np.abs(dense_probs(feats, t) - probs).max())
        sensitivity[name] = round(d, 6)
        print(f"  {name}: max |probability - ONNX Runtime| = {d:.2e}")
    least = min(sensitivity.values())
    if numpy_err > 1e-5 or least < 100 * TOLERANCE:
        print(f"FAILED: the fixture does not separate right from wrong pooling (least difference {least:.2e})")
        return 1

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{FIXTURE_NAME}.safetensors"
    weights.write_bytes(safetensors_bytes(t, meta))
    fixture = {
        "about": "ONNX Runtime's probabilities for the InstruNET network in "
                 f"{weights.name}; model/tests/onnx_reference.rs compares ours to them",
        "regenerate": "/tmp/onnx/bin/python model/tools/onnx_check.py --write-fixture model/tests/fixtures/onnx",
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "weights": weights.name,
        "tolerance": TOLERANCE,
        "pooled_rows": h,
        "band_ranges": band_ranges(h, bands),
        "input": {
            "formula": INPUT_FORMULA,
            "windows": FIXTURE_WINDOWS,
            "n_mels": fe["n_mels"],
            "frames": fe["window_frames"],
            "sum": float(x.astype(np.float64).sum()),
        },
        "wrong_pooling_max_difference": sensitivity,
        "classes": json.loads(shipped["classes"]),
        "probabilities": [[float(v) for v in row] for row in probs],
    }
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in fixture.items() if k != "probabilities"]
    rows = ",\n".join(f"  {json.dumps(row)}" for row in fixture["probabilities"])
    lines.append(f' "probabilities": [\n{rows}\n ]')
    (out_dir / f"{FIXTURE_NAME}.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {weights} ({weights.stat().st_size} bytes) and {out_dir / (FIXTURE_NAME + '.json')}")

    if bench.exists():
        ours, _ = run_bench(bench, weights, x, 0.05)
        err = float(np.abs(ours - probs).max())
        print(f"  {bench.name}: max |ours - onnxruntime| = {err:.2e} on the fixture (tolerance {TOLERANCE:g})")
        if not err <= TOLERANCE:
            print("FAILED: our probabilities disagree with the fixture")
            return 1
    else:
        print(f"  (no infer_bench at {bench}: ours not compared here; the Rust test does)")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="?", type=pathlib.Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--bench", help="the infer_bench binary (default: $INFER_BENCH, else target/{release,release-checked})")
    p.add_argument("--write-fixture", type=pathlib.Path, metavar="DIR",
                   help="write the CI fixture (small 8-band weights + ONNX Runtime probabilities) into DIR")
    args = p.parse_args()
    bench = find_bench(args.bench)
    if args.write_fixture:
        return write_fixture(args.write_fixture, bench)
    return check(args.weights.resolve(), bench)


if __name__ == "__main__":
    sys.exit(main())
