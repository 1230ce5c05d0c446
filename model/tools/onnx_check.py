#!/usr/bin/env python3
"""An independent check of InstruNET's network and speed against ONNX Runtime.

    python3 -m venv /tmp/onnx && /tmp/onnx/bin/pip install -r model/tools/requirements-onnx.txt
    cargo build --release -p instrunet-model --example infer_bench
    /tmp/onnx/bin/python model/tools/onnx_check.py [WEIGHTS.safetensors]

It reads one of our weights files with Python's `safetensors`, gives the BatchNorm layers
non-trivial statistics (so that a lost running mean or variance shows) and writes them back as a
new weights file, which our Rust loader must accept. It then builds the same network as an ONNX
graph from those tensors alone (Conv, BatchNormalization, Relu, MaxPool, GlobalAveragePool, Gemm,
Sigmoid; the input normalisation from the file's metadata), runs it and our `infer_bench` binary on
the same log-Mel windows, checks that the probabilities agree to 1e-4, and times both on one thread
in the same run: batch 1 and batch 16.
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCH = ROOT / "target" / "release" / "examples" / "infer_bench"
BATCH = 16


def build_graph(t: dict, meta: dict) -> onnx.ModelProto:
    norm = json.loads(meta["normalization"])
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in t.items()]
    inits += [
        numpy_helper.from_array(np.array(norm["mean"], np.float32), "norm_mean"),
        numpy_helper.from_array(np.array(norm["std"], np.float32), "norm_std"),
    ]
    nodes = [helper.make_node("Sub", ["x", "norm_mean"], ["x0"]), helper.make_node("Div", ["x0", "norm_std"], ["h0"])]
    prev = "h0"
    for i in (1, 2, 3):
        nodes += [
            helper.make_node("Conv", [prev, f"conv{i}.weight", f"conv{i}.bias"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node(
                "BatchNormalization",
                [f"c{i}", f"bn{i}.weight", f"bn{i}.bias", f"bn{i}.running_mean", f"bn{i}.running_var"],
                [f"b{i}"],
                epsilon=1e-5,
            ),
            helper.make_node("Relu", [f"b{i}"], [f"r{i}"]),
            helper.make_node("MaxPool", [f"r{i}"], [f"h{i}"], kernel_shape=[2, 2], strides=[2, 2]),
        ]
        prev = f"h{i}"
    nodes += [
        helper.make_node("GlobalAveragePool", [prev], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["feat"]),
        helper.make_node("Gemm", ["feat", "fc1.weight", "fc1.bias"], ["f1"], transB=1),
        helper.make_node("Relu", ["f1"], ["f1r"]),
        helper.make_node("Gemm", ["f1r", "fc2.weight", "fc2.bias"], ["logits"], transB=1),
        helper.make_node("Sigmoid", ["logits"], ["probs"]),
    ]
    fe = json.loads(meta["frontend"])
    n_classes = t["fc2.bias"].shape[0]
    graph = helper.make_graph(
        nodes,
        "instrunet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, fe["n_mels"], fe["window_frames"]])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def median_ms(fn, budget=3.0, per=1):
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < budget or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3 / per


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "model/weights/instrunet-default.safetensors")
    if not BENCH.exists():
        print(f"build the benchmark binary first: cargo build --release -p instrunet-model --example infer_bench")
        return 2
    with safe_open(str(src), "np") as f:
        meta = f.metadata()
    t = load_file(str(src))
    rng = np.random.default_rng(7)
    for i in (1, 2, 3):
        c = t[f"bn{i}.running_mean"].shape[0]
        t[f"bn{i}.running_mean"] = rng.uniform(-0.5, 0.5, c).astype(np.float32)
        t[f"bn{i}.running_var"] = rng.uniform(0.2, 3.0, c).astype(np.float32)
        t[f"bn{i}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        t[f"bn{i}.bias"] = rng.uniform(-0.3, 0.3, c).astype(np.float32)
    fe = json.loads(meta["frontend"])
    shape = (BATCH, 1, fe["n_mels"], fe["window_frames"])
    # Log-Mel-like input: dB values between -100 and 0 with some structure along frequency.
    x = (rng.uniform(-30, 10, shape) - 40 - 30 * np.linspace(0, 1, fe["n_mels"])[None, None, :, None]).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        weights = tmp / "checked.safetensors"
        save_file(t, str(weights), metadata=meta)
        x.tofile(tmp / "x.f32")
        run = subprocess.run(
            [str(BENCH), "--weights", str(weights), "--input", str(tmp / "x.f32"), "--batch", str(BATCH), "--probs", str(tmp / "p.f32")],
            check=True, capture_output=True, text=True,
        )
        ours = json.loads(run.stdout.strip().splitlines()[-1])
        ours_probs = np.fromfile(tmp / "p.f32", dtype=np.float32).reshape(BATCH, -1)

    model = build_graph(t, meta)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    ort_probs = sess.run(["probs"], {"x": x})[0]
    err = float(np.abs(ort_probs - ours_probs).max())
    print(f"probabilities: max |ours - onnxruntime| = {err:.2e} over {ort_probs.size} values (tolerance 1e-4)")
    ort_b1 = median_ms(lambda: sess.run(["probs"], {"x": x[:1]}))
    ort_b16 = median_ms(lambda: sess.run(["probs"], {"x": x}), per=BATCH)
    ours_b16 = ours[f"batch{BATCH}_ms_per_window"]
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, one thread, ms per window:")
    print("| work | ONNX Runtime | InstruNET (Rust) | ours / ORT |")
    print("|---|---|---|---|")
    print(f"| batch 1 | {ort_b1:.3f} | {ours['batch1_ms']:.3f} | {ours['batch1_ms'] / ort_b1:.2f} |")
    print(f"| batch {BATCH} | {ort_b16:.3f} | {ours_b16:.3f} | {ours_b16 / ort_b16:.2f} |")
    if err > 1e-4:
        print("FAILED: the probabilities disagree")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
