"""Shared, once-per-process artefacts of the evaluation tests: a tiny trained run, tiny LPIPS and I3D weights.

(Module-level memoisation instead of a conftest.py fixture, as in tests/export/export_testlib.py.)
"""

from __future__ import annotations

import os

import numpy as np

import runs_testlib
from conftest import tiny_config
from runs_testlib import run_cli  # noqa: F401 (re-exported for the evaluation tests)

_CACHE: dict = {}
STEPS = 150
EVAL_MODEL = {"residual_gain": 0.5}  # keeps the tiny untrained latent dynamics bounded


def _once(key, build):
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def sharpen(model) -> None:
    """`runs_testlib.sharpen` with STEPS calibration passes over blob videos."""
    runs_testlib.sharpen(model, blob_videos(8, 5, seed=3), STEPS)


def blob_videos(count: int, length: int, seed: int = 0) -> np.ndarray:
    """float32 [count, length, 64, 64, 1]: a bright square moving over dim noise (encodings differ per video)."""
    rng = np.random.default_rng(seed)
    out = rng.uniform(0.0, 0.2, size=(count, length, 64, 64, 1)).astype(np.float32)
    for b in range(count):
        for t in range(length):
            y, x = rng.integers(4, 44, size=2)
            out[b, t, y:y + 16, x:x + 16] = 1.0
    return out


def trained_run(tmp_path_factory) -> str:
    """Workdir of a tiny SRVP trained for 2 steps by `train_lib.train`, then sharpened and saved at step 3."""
    def build():
        workdir = str(tmp_path_factory.mktemp("eval_run") / "run")
        return runs_testlib.train_and_sharpen(
            tiny_config(workdir, model=EVAL_MODEL, train={"train_steps": 2}), sharpen)
    return _once("run", build)


def untrained_workdir(tmp_path_factory) -> str:
    """A workdir holding only config.json (enough for baselines)."""
    def build():
        from tfvideo.training import checkpointing
        workdir = str(tmp_path_factory.mktemp("eval_config") / "run")
        checkpointing.prepare_workdir(tiny_config(workdir))
        return workdir
    return _once("config_only", build)


def lpips_weights(seed: int = 0, widths=(4, 5, 6, 3, 2)) -> dict[str, np.ndarray]:
    """Random AlexNet-lin weights with tiny widths (torchvision / LPIPS names, PyTorch OIHW layout)."""
    from tfvideo.evaluation import lpips
    rng = np.random.default_rng(seed)
    out, channels = {}, 3
    for (name, _, _), width, kernel, lin in zip(lpips.CONVS, widths, (11, 5, 3, 3, 3), lpips.LIN_KEYS):
        out[f"{name}.weight"] = rng.normal(0, 0.2, size=(width, channels, kernel, kernel)).astype(np.float32)
        out[f"{name}.bias"] = rng.normal(0, 0.1, size=(width,)).astype(np.float32)
        out[lin] = rng.uniform(0.1, 1.0, size=(1, width, 1, 1)).astype(np.float32)
        channels = width
    return out


def i3d_weights(seed: int = 0, classes: int = 6) -> dict[str, np.ndarray]:
    """Random InceptionI3d weights (piergiaj names) with tiny widths."""
    from tfvideo.evaluation import fvd
    rng = np.random.default_rng(seed)
    out, channels = {}, 3

    def unit(name, cin, cout, k):
        out[f"{name}.conv3d.weight"] = rng.normal(0, 0.3, size=(cout, cin, *k)).astype(np.float32)
        out[f"{name}.bn.weight"] = rng.uniform(0.5, 1.5, size=cout).astype(np.float32)
        out[f"{name}.bn.bias"] = rng.normal(0, 0.1, size=cout).astype(np.float32)
        out[f"{name}.bn.running_mean"] = rng.normal(0, 0.1, size=cout).astype(np.float32)
        out[f"{name}.bn.running_var"] = rng.uniform(0.5, 1.5, size=cout).astype(np.float32)

    widths = {"b0": 2, "b1a": 2, "b1b": 3, "b2a": 1, "b2b": 2, "b3b": 2}
    for kind, name, kernel, _ in fvd.LAYERS:
        if kind == "conv":
            cout = {"Conv3d_1a_7x7": 4, "Conv3d_2b_1x1": 4, "Conv3d_2c_3x3": 5}[name]
            unit(name, channels, cout, kernel)
            channels = cout
        elif kind == "mixed":
            for branch, size in fvd.BRANCHES:
                cin = widths[branch[:2] + "a"] if branch in ("b1b", "b2b") else channels
                unit(f"{name}.{branch}", cin, widths[branch], (size,) * 3)
            channels = widths["b0"] + widths["b1b"] + widths["b2b"] + widths["b3b"]
    out["logits.conv3d.weight"] = rng.normal(0, 0.3, size=(classes, channels, 1, 1, 1)).astype(np.float32)
    out["logits.conv3d.bias"] = rng.normal(0, 0.1, size=classes).astype(np.float32)
    return out


def write_npz(path, weights: dict[str, np.ndarray]) -> str:
    np.savez(path, **weights)
    return str(path)


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hafsvg_run(tmp_path_factory) -> str:
    """Workdir of a tiny untrained HAF-SVG with 2 groups of z and the aligner, saved at step 1."""
    def build():
        from tfvideo.models import build_model
        from tfvideo.training import checkpointing
        workdir = str(tmp_path_factory.mktemp("hafsvg_run") / "hafsvg_run")
        config = tiny_config(workdir, model={"model": "hafsvg", "rnn_size": 6, "predictor_layers": 1,
                                             "num_groups": 2, "skip_connections": True, "feature_aligner": True})
        checkpointing.prepare_workdir(config)
        model = build_model(config)
        runs_testlib.sharpen(model, blob_videos(4, config.data.seq_len, seed=5), 3)
        checkpointing.RunCheckpoint(workdir, model).save(1)
        return workdir
    return _once("hafsvg_run", build)
