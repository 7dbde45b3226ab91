"""Shared, once-per-process artefacts of the export tests: a tiny trained run and its exports.

pytest fixtures cannot be shared across these modules without a conftest.py here (which would shadow
tests/conftest.py for `from conftest import tiny_config`), so each module has thin fixtures that call these
memoised builders with its `tmp_path_factory`.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import runs_testlib
from conftest import tiny_config
from runs_testlib import run_cli  # noqa: F401 (re-exported for the export tests)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A small residual gain keeps the tiny untrained dynamics bounded over the horizons tested (with the default
# 1.41 the tiny net's latent states grow about 3x per frame, and float32 comparisons stop meaning anything).
EXPORT_MODEL = {"residual_gain": 0.5}
IMAGE = (64, 64, 1)
_CACHE: dict = {}


def tiny_export_config(workdir: str = "unused"):
    return tiny_config(workdir, model=EXPORT_MODEL)


def _once(key, build):
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def sharpen(model) -> None:
    """`runs_testlib.sharpen` with 30 calibration passes over `contexts` videos."""
    runs_testlib.sharpen(model, contexts(8, 5, seed=3), 30)


def trained_run(tmp_path_factory) -> str:
    """Workdir of a tiny SRVP trained for 6 steps by `train_lib.train` (checkpoints at steps 3 and 6), then
    sharpened (see `sharpen`) and saved with the optimizer state as the step-7 checkpoint, as training would."""
    def build():
        workdir = str(tmp_path_factory.mktemp("export_run") / "run")
        return runs_testlib.train_and_sharpen(tiny_export_config(workdir), sharpen)
    return _once("run", build)


def restored(tmp_path_factory):
    """`lib.load_trained_model` of the trained run."""
    from tfvideo.export import lib
    return _once("restored", lambda: lib.load_trained_model(trained_run(tmp_path_factory)))


def saved_model_export(tmp_path_factory) -> dict:
    """The SavedModel exported by `python -m tfvideo.export` (main, in process): {"path", "base", "stdout",
    "code"}; stdout is captured for the CLI test."""
    def build():
        import contextlib
        import io

        from tfvideo.export import __main__ as cli
        export_dir = str(tmp_path_factory.mktemp("exports"))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = run_cli(cli, [f"--workdir={trained_run(tmp_path_factory)}", "--format=saved_model",
                                 f"--export_dir={export_dir}"])
        return {"code": code, "stdout": out.getvalue(), "export_dir": export_dir,
                "base": os.path.join(export_dir, "srvp"), "path": os.path.join(export_dir, "srvp", "1")}
    return _once("saved_model", build)


def loaded_saved_model(tmp_path_factory):
    import tensorflow as tf
    return _once("loaded", lambda: tf.saved_model.load(saved_model_export(tmp_path_factory)["path"]))


def tflite_export(tmp_path_factory, quantize: str = "none") -> str:
    """Path of the TFLite variant written by `python -m tfvideo.export --format=tflite --quantize=...`."""
    def build():
        from tfvideo.export import __main__ as cli
        from tfvideo.export import tflite
        export_dir = saved_model_export(tmp_path_factory)["export_dir"]
        code = run_cli(cli, [f"--workdir={trained_run(tmp_path_factory)}", "--format=tflite",
                             f"--quantize={quantize}", f"--export_dir={export_dir}"])
        assert code == 0
        return os.path.join(export_dir, f"srvp_{tflite.variant_name(quantize)}.tflite")
    return _once(("tflite", quantize), build)


def contexts(batch: int, length: int, seed: int = 0) -> np.ndarray:
    """Random context videos float32 [batch, length, 64, 64, 1] in [0, 1] (a blob over noise, so encodings
    differ between videos)."""
    rng = np.random.default_rng(seed)
    frames = rng.uniform(0.0, 0.3, size=(batch, length, *IMAGE)).astype(np.float32)
    for b in range(batch):
        for t in range(length):
            y, x = rng.integers(8, 48, size=2)
            frames[b, t, y:y + 12, x:x + 12] = 1.0
    return frames


def load_script(name: str):
    """Imports a script of the top-level export/ folder as a module."""
    path = os.path.join(REPO, "export", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"export_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call_signature(signature, context, num_samples, dt, horizon, seed) -> np.ndarray:
    import tensorflow as tf
    return signature(context=tf.constant(context, tf.float32), num_samples=tf.constant(num_samples, tf.int32),
                     dt=tf.constant(dt, tf.float32), horizon=tf.constant(horizon, tf.int32),
                     seed=tf.constant(seed, tf.int32))["frames"].numpy()
