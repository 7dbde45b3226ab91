"""Workdir bookkeeping: the run's config.json, checkpoints (tf.train.CheckpointManager) and strict restore.

Layout of a workdir:
    config.json             the frozen Config of the run (written once, atomically)
    checkpoints/ckpt-<step> model weights, optimizer state, step counter, seed-generator states
    tensorboard/            summaries
    samples/                GIFs (context | ground truth | samples)
"""

from __future__ import annotations

import os
import shutil

from absl import logging
import tensorflow as tf

from tfvideo import config as config_lib

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
MIN_FREE_BYTES = 200 * 1024 * 1024


class WorkdirError(RuntimeError):
    """The workdir cannot be used as asked; the message says why and what to do."""


def prepare_workdir(config: config_lib.Config) -> str:
    """Creates the workdir, checks it is writable with free space, and records or checks config.json.

    Raises WorkdirError when the workdir holds a run of a different configuration (naming the fields).
    """
    workdir = config.train.workdir
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, f".write_test.{os.getpid()}")
        with open(probe, "w") as handle:
            handle.write("ok")
        os.remove(probe)
    except OSError as error:
        raise WorkdirError(f"--workdir={workdir!r} is not writable ({error.strerror}). Choose a directory you "
                           "can write to.") from None
    free = shutil.disk_usage(workdir).free
    if free < MIN_FREE_BYTES:
        raise WorkdirError(f"--workdir={workdir!r} has only {free / 2**20:.0f} MiB free; checkpoints need at least "
                           f"{MIN_FREE_BYTES / 2**20:.0f} MiB. Free some space or choose another --workdir.")
    path = os.path.join(workdir, CONFIG_FILE)
    if os.path.exists(path):
        with open(path) as handle:
            try:
                old = config_lib.Config.from_json(handle.read())
            except (ValueError, TypeError) as error:
                raise WorkdirError(f"{path} is not a tfvideo config ({error}). Use another --workdir.") from None
        differences = config_lib.run_defining_differences(old, config)
        if differences:
            raise WorkdirError(
                f"--workdir={workdir!r} holds a run of a different configuration:\n  " + "\n  ".join(differences)
                + "\nUse a new --workdir for the new configuration, or rerun with the run's original flags "
                f"(saved in {path}).")
    write_text_atomically(path, config.to_json())
    return workdir


def write_text_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_run_config(workdir: str) -> config_lib.Config:
    """The Config saved in a workdir; WorkdirError when there is none."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise WorkdirError(f"No {CONFIG_FILE} in --workdir={workdir!r}: it is not a tfvideo training run. "
                           "Point --workdir at the directory given to `python -m tfvideo.train`.")
    with open(path) as handle:
        return config_lib.Config.from_json(handle.read())


class RunCheckpoint:
    """The checkpointed state of a run: model, optimizer (optional) and the step counter."""

    def __init__(self, workdir: str, model, optimizer=None, max_to_keep: int = 3):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        objects = {"model": model, "step": self.step}
        if optimizer is not None:
            objects["optimizer"] = optimizer
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.directory = os.path.join(workdir, CHECKPOINT_DIR)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=max_to_keep,
                                                  checkpoint_name="ckpt")

    def restore_latest(self, strict: bool = True) -> int | None:
        """Restores the newest checkpoint (every variable matched when strict); returns its step or None."""
        path = self.manager.latest_checkpoint
        if path is None:
            return None
        try:
            status = self.checkpoint.restore(path)
            status.assert_existing_objects_matched()
            if strict:
                status.assert_consumed()
        except (AssertionError, ValueError) as error:
            raise WorkdirError(f"Checkpoint {path} does not match this model: {error}. It was written by a "
                               "different configuration; use another --workdir.") from None
        logging.info("Restored checkpoint %s (step %d).", path, int(self.step.numpy()))
        return int(self.step.numpy())

    def save(self, step: int) -> str:
        self.step.assign(step)
        path = self.manager.save(checkpoint_number=step)
        logging.info("Saved checkpoint %s.", path)
        return path
