#!/usr/bin/env python3
"""Makes the librosa reference values that model/tests/librosa_reference.rs checks the Rust
log-Mel front end against.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install -r model/tools/requirements-librosa.txt
    /tmp/ref/bin/python model/tools/librosa_reference.py model/tests/fixtures/librosa

For each configuration and test signal it writes the input (float32, little-endian) and librosa's
log-Mel output (float32, shape n_mels x frames, row-major), plus manifest.json describing them.
The inputs are stored, so the Rust test needs neither Python nor the same random generator.
librosa runs in float64 so that the reference itself carries no float32 rounding.
"""
import json
import pathlib
import sys

import librosa
import numpy as np

CONFIGS = {
    # InstruNET's defaults.
    "default": dict(sr=16000, n_fft=1024, hop_length=256, n_mels=128, fmin=0.0, fmax=8000.0),
    # Every setting changed, to show each one is honoured.
    "alt": dict(sr=22050, n_fft=2048, hop_length=512, n_mels=64, fmin=30.0, fmax=10000.0),
}


def signals(sr: int) -> dict:
    n = sr  # one second
    t = np.arange(n) / sr
    rng = np.random.default_rng(20261126)
    # Exponential sine sweep 40 Hz -> 0.9 * Nyquist.
    f0, f1 = 40.0, 0.45 * sr
    k = np.log(f1 / f0)
    sweep = 0.5 * np.sin(2 * np.pi * f0 * (np.exp(t * k) - 1) / k)
    noise = rng.uniform(-0.5, 0.5, n)
    silence = np.zeros(n)
    # C major chord (C4 E4 G4 C5), five decaying harmonics each, with a slow fade-out.
    chord = np.zeros(n)
    for f in (261.63, 329.63, 392.00, 523.25):
        for h in range(1, 6):
            if f * h < sr / 2:
                chord += (0.15 / h) * np.sin(2 * np.pi * f * h * t + h)
    chord *= np.exp(-1.5 * t)
    return {"sweep": sweep, "noise": noise, "silence": silence, "chord": chord}


def main(out_dir: str) -> None:
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"librosa": librosa.__version__, "numpy": np.__version__, "cases": []}
    for cfg_name, cfg in CONFIGS.items():
        for sig_name, x in signals(cfg["sr"]).items():
            x32 = x.astype(np.float32)
            mel = librosa.feature.melspectrogram(
                y=x32.astype(np.float64),
                sr=cfg["sr"],
                n_fft=cfg["n_fft"],
                hop_length=cfg["hop_length"],
                win_length=cfg["n_fft"],
                window="hann",
                center=False,
                pad_mode="constant",
                power=2.0,
                n_mels=cfg["n_mels"],
                fmin=cfg["fmin"],
                fmax=cfg["fmax"],
                htk=False,
                norm="slaney",
                dtype=np.float64,
            )
            db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
            stem = f"{cfg_name}-{sig_name}"
            x32.tofile(out / f"{stem}.input.f32")
            db.astype(np.float32).tofile(out / f"{stem}.mel_db.f32")
            manifest["cases"].append(
                {"name": stem, "config": cfg, "samples": len(x32), "n_mels": db.shape[0], "frames": db.shape[1]}
            )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(manifest['cases'])} cases to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "model/tests/fixtures/librosa")
