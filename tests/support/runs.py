"""Builders of the tiny trained runs and their exports (conftest.py's session fixtures call them once each)."""

from __future__ import annotations

import contextlib
import io
import os

from tests.support.cli import run_cli
from tests.support.configs import tiny_config
from tests.support.videos import blob_videos, contexts

TRAINED_STEP = 7  # the trained run's last checkpoint: 6 training steps (checkpoints 3 and 6), then sharpened


def sharpen(model, videos=None, passes: int = 30) -> None:
    """Makes a tiny (barely trained) model's frames depend visibly on its inputs, so that comparisons can fail:
    a tiny net with the DCGAN init outputs ~0.5 +- 1e-6 everywhere. Calibrates the batch-norm statistics with
    `passes` training-mode passes over `videos` [B, T, 64, 64, C] (default: contexts(8, 5, seed=3); they update
    the moving mean and variance; {"frames", "actions"} for an action-conditioned model), then scales the
    decoder's last convolution by 20, which spreads the frames over ~[0.35, 0.65]."""
    import tensorflow as tf
    from tfvideo.models import networks

    videos = tf.nest.map_structure(tf.constant, contexts(8, 5, seed=3) if videos is None else videos)
    step = tf.function(lambda v: model.compute_loss_terms(v, training=True))
    for _ in range(passes):
        step(videos)
    last = networks._blocks(model.decoder, model.decoder._structure, "block")[-1][0]
    last.kernel.assign(last.kernel * 20.0)


def train_and_sharpen(config) -> str:
    """Trains `config` with `train_lib.train`, restores its last checkpoint (step N) strictly, sharpens it and
    saves it with the optimizer state as checkpoint N + 1, as training would; returns the workdir."""
    from tfvideo.training import checkpointing, train_lib
    from tfvideo.models import build_model
    train_lib.train(config)
    model = build_model(config)
    optimizer = train_lib.make_optimizer(config.train)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    state = checkpointing.RunCheckpoint(config.train.workdir, model, optimizer)
    step = state.restore_latest(strict=True)
    assert step == config.train.train_steps, step
    sharpen(model)
    state.save(step + 1)
    return config.train.workdir


def build_trained_run(workdir: str) -> str:
    """The tiny trained run: TINY_MODELS["srvp_bounded"] trained for 6 steps by `train_lib.train` (checkpoints
    at steps 3 and 6), then sharpened and saved as checkpoint TRAINED_STEP = 7; returns `workdir`."""
    run = train_and_sharpen(tiny_config(workdir, variant="srvp_bounded"))
    assert run == workdir
    return run


def build_untrained_workdir(workdir: str) -> str:
    """A workdir holding only config.json (enough for baselines)."""
    from tfvideo.training import checkpointing
    checkpointing.prepare_workdir(tiny_config(workdir))
    return workdir


def build_hafsvg_run(workdir: str) -> str:
    """A tiny untrained TINY_MODELS["hafsvg"] (2 groups of z, the aligner), sharpened, saved at step 1."""
    from tfvideo.models import build_model
    from tfvideo.training import checkpointing
    config = tiny_config(workdir, variant="hafsvg")
    checkpointing.prepare_workdir(config)
    model = build_model(config)
    sharpen(model, blob_videos(4, config.data.seq_len, seed=5), 3)
    checkpointing.RunCheckpoint(workdir, model).save(1)
    return workdir


def export_saved_model(workdir: str, export_dir: str) -> dict:
    """`python -m tfvideo.export --format=saved_model` of `workdir` (main, in process): {"code", "stdout",
    "export_dir", "base", "path"}; stdout is captured for the CLI test."""
    from tfvideo.export import __main__ as cli
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_cli(cli, [f"--workdir={workdir}", "--format=saved_model", f"--export_dir={export_dir}"])
    return {"code": code, "stdout": out.getvalue(), "export_dir": export_dir,
            "base": os.path.join(export_dir, "srvp"), "path": os.path.join(export_dir, "srvp", "1")}


def export_tflite(workdir: str, export_dir: str, quantize: str = "none") -> str:
    """Path of the TFLite variant written by `python -m tfvideo.export --format=tflite --quantize=...`."""
    from tfvideo.export import __main__ as cli
    from tfvideo.export import tflite
    code = run_cli(cli, [f"--workdir={workdir}", "--format=tflite", f"--quantize={quantize}",
                         f"--export_dir={export_dir}"])
    assert code == 0
    return os.path.join(export_dir, f"srvp_{tflite.variant_name(quantize)}.tflite")


def call_signature(signature, context, num_samples, horizon, dt, seed):
    """The "frames" of an exported signature (or a function of the same keywords) as numpy
    [B, num_samples, horizon / dt, H, W, C], for a context [B, T, H, W, C]."""
    import tensorflow as tf
    return signature(context=tf.constant(context, tf.float32), num_samples=tf.constant(num_samples, tf.int32),
                     horizon=tf.constant(horizon, tf.int32), dt=tf.constant(dt, tf.float32),
                     seed=tf.constant(seed, tf.int32))["frames"].numpy()
