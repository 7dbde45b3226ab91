"""Helpers shared by the test libraries: running an absl CLI in process, and a tiny "sharpened" trained run."""

from __future__ import annotations

import os

from absl import flags

from conftest import TINY_DATA, TINY_MODEL, TINY_TRAIN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def as_flags(values: dict) -> list[str]:
    """["--name=value", ...] for config values (booleans as --name / --noname)."""
    return [(f"--{name}" if value else f"--no{name}") if isinstance(value, bool) else f"--{name}={value}"
            for name, value in values.items()]


# conftest's tiny config as flags of the train CLI: its model and data sections and its training hyperparameters
# (the length of the run and its checkpoint and video intervals are each test's own).
TINY_FLAGS = as_flags({**TINY_MODEL, **TINY_DATA, **{name: TINY_TRAIN[name] for name in (
    "batch_size", "learning_rate", "lr_burnin_steps", "lr_decay_steps", "log_every", "num_gif_videos",
    "num_gif_samples")}})


def run_cli(module, argv: list[str], prog: str = "prog") -> int:
    """Runs an absl CLI's `main` in process with `argv` parsed into the global flags (reset afterwards)."""
    flags.FLAGS.unparse_flags()
    argv = flags.FLAGS([prog, *argv])
    try:
        return module.main(argv)
    finally:
        flags.FLAGS.unparse_flags()


def run_train(argv: list[str]) -> int:
    """`python -m tfvideo.train` with `argv`, in process."""
    from tfvideo import train
    return run_cli(train, argv, prog="tfvideo.train")


def sharpen(model, videos, passes: int) -> None:
    """Makes a tiny (barely trained) model's frames depend visibly on its inputs, so that comparisons can fail:
    a tiny net with the DCGAN init outputs ~0.5 +- 1e-6 everywhere. Calibrates the batch-norm statistics with
    `passes` training-mode passes over `videos` [B, T, 64, 64, C] (they update the moving mean and variance;
    {"frames", "actions"} for an action-conditioned model), then scales the decoder's last convolution by 20, which
    spreads the frames over ~[0.35, 0.65]."""
    import tensorflow as tf
    from tfvideo.models import networks

    videos = tf.nest.map_structure(tf.constant, videos)
    step = tf.function(lambda v: model.compute_loss_terms(v, training=True))
    for _ in range(passes):
        step(videos)
    last = networks._blocks(model.decoder, model.decoder._structure, "block")[-1][0]
    last.kernel.assign(last.kernel * 20.0)


def train_and_sharpen(config, sharpen_model) -> str:
    """Trains `config` with `train_lib.train`, restores its last checkpoint (step N) strictly, applies
    `sharpen_model(model)` and saves it with the optimizer state as checkpoint N + 1; returns the workdir."""
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
    sharpen_model(model)
    state.save(step + 1)
    return config.train.workdir
