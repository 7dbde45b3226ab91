"""Workdir bookkeeping: the run's config.json, crash-safe checkpoints and strict restore.

Layout of a workdir:
    config.json             the frozen Config of the run (written once, atomically)
    checkpoints/ckpt-<step> model weights, optimizer state, step counter, seed-generator states
    checkpoints/corrupt/    checkpoints that failed to read, moved aside by `RunCheckpoint.restore_latest`
    best_checkpoint/ckpt-<step>  the weights of the best validation score so far, and that score (same rules)
    tensorboard/            summaries
    samples/                GIFs (context | ground truth | samples)
    previous/<time>/        samples/ and tensorboard/ of an earlier run whose checkpoints were lost (set aside when
                            training starts again from step 0)
    .tfvideo.lock           while a training runs: its owner (tfvideo.utils.locks)

Crash safety. TensorFlow writes a checkpoint's files under `ckpt-<step>_temp/`, merges them into
`ckpt-<step>.index/.data-*`, and only then points the `checkpoint` state file at it (an atomic rename);
`save` then fsyncs the new files, so the previous checkpoint is always complete on disk. `restore_latest`
tries the checkpoints newest first -- the ones the state file lists and any complete `ckpt-<step>` files it
does not list (a kill between writing and recording) -- reads every tensor of each (CRC-checked) and falls
back to the previous one, with a warning naming the bad file, when one is truncated, missing or corrupt.
A checkpoint that reads fine but does not fit the model is an error, not a fallback (another
configuration). A save that fails (full disk, lost permissions) removes its partial files and raises
`CheckpointSaveError` naming the newest intact checkpoint.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import time

from absl import logging
import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.utils import files

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
BEST_CHECKPOINT_DIR = "best_checkpoint"  # the weights with the best validation score (tfvideo.training.validation)
MIN_FREE_BYTES = 200 * 1024 * 1024


class WorkdirError(RuntimeError):
    """The workdir cannot be used as asked; the message says why and what to do."""


def prepare_workdir(config: config_lib.Config, record: bool = True) -> str:
    """Creates the workdir, checks it is writable with free space, and checks config.json against `config`;
    with `record`, writes config.json (else call `record_config` later, e.g. once the data is found).

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
        raise WorkdirError(f"--workdir={workdir!r} is not writable ({files.os_error_reason(error)}). Choose a "
                           "directory you can write to.") from None
    free = shutil.disk_usage(workdir).free
    if free < MIN_FREE_BYTES:
        raise WorkdirError(f"--workdir={workdir!r} has only {free / 2**20:.0f} MiB free; checkpoints need at least "
                           f"{MIN_FREE_BYTES / 2**20:.0f} MiB. Free some space or choose another --workdir.")
    path = os.path.join(workdir, CONFIG_FILE)
    if os.path.exists(path):
        old = read_config_file(path, "Use another --workdir")
        differences = config_lib.run_defining_differences(old, config)
        if differences:
            raise WorkdirError(
                f"--workdir={workdir!r} holds a run of a different configuration:\n  " + "\n  ".join(differences)
                + "\nUse a new --workdir for the new configuration, or rerun with the run's original flags "
                f"(saved in {path}).")
    if record:
        record_config(config)
    return workdir


OUTPUT_DIRS = ("samples", "tensorboard")  # what a run writes besides config.json and its checkpoints
PREVIOUS_DIR = "previous"


def set_aside_outputs(workdir: str) -> str | None:
    """Moves the sample GIFs and TensorBoard events of an earlier run in `workdir` into
    `previous/<time>/` (a run starting from step 0 must not mix its outputs with them); returns that folder, or None
    when there was nothing to move."""
    present = [name for name in OUTPUT_DIRS if os.path.isdir(os.path.join(workdir, name))]
    if not present:
        return None
    target = os.path.join(workdir, PREVIOUS_DIR, time.strftime("%Y%m%d-%H%M%S"))
    suffix, unique = 0, target
    while os.path.exists(unique):
        suffix += 1
        unique = f"{target}-{suffix}"
    os.makedirs(unique)
    for name in present:
        os.replace(os.path.join(workdir, name), os.path.join(unique, name))
    return unique


def record_config(config: config_lib.Config) -> None:
    """Writes config.json into the workdir, atomically."""
    files.atomic_write(os.path.join(config.train.workdir, CONFIG_FILE), config.to_json())


def load_run_config(workdir: str) -> config_lib.Config:
    """The Config saved in a workdir; WorkdirError when there is none."""
    path = os.path.join(workdir, CONFIG_FILE)
    if not os.path.exists(path):
        raise WorkdirError(f"No {CONFIG_FILE} in --workdir={workdir!r}: it is not a tfvideo training run. "
                           "Point --workdir at the directory given to `python -m tfvideo.train`.")
    return read_config_file(path, "Point --workdir at a run written by `python -m tfvideo.train`, or restore its "
                                  f"{CONFIG_FILE}")


def read_config_file(path: str, fix: str) -> config_lib.Config:
    """The validated Config a run's config.json holds; WorkdirError naming the file, the field and `fix` when it
    cannot be read, is not JSON, or is JSON of the wrong shape (a list, null, a field of the wrong type)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return config_lib.Config.from_json(handle.read()).validate()
    except OSError as error:
        raise WorkdirError(f"Cannot read {path} ({error.strerror or error}). {fix}.") from None
    except (ValueError, TypeError) as error:  # JSONDecodeError, UnicodeDecodeError and ConfigError are ValueErrors
        raise WorkdirError(f"{path} is not a tfvideo config ({str(error).rstrip('.')}). {fix}.") from None


# ------------------------------------------------------------------------------------------------ checkpoints

STATE_FILE = "checkpoint"  # tf.train.CheckpointManager's list of checkpoints (a text proto)
CORRUPT_DIR = "corrupt"
_PREFIX = re.compile(r"^ckpt-(\d+)$")


class CheckpointSaveError(WorkdirError):
    """A checkpoint could not be written (full disk, lost permissions); the message names the newest intact one."""


class NonFiniteWeightsError(FloatingPointError):
    """The weights or optimizer state hold NaN/Inf: no checkpoint is saved; the message names the newest one."""


class RunCheckpoint:
    """The checkpointed state of a run: model (with its seed-generator states), optimizer (optional) and step.

    Attributes:
      step: int64 variable, the step of the last save or restore.
      seed_states: the [2] state variables of the model's keras.random.SeedGenerators, saved with the weights so
        that a resumed run draws the same noise as an uninterrupted one.
      fallbacks: one message per unreadable checkpoint that the last `restore_latest` skipped.
      subdir: the checkpoints' folder in the workdir (`CHECKPOINT_DIR`; the best one's: `BEST_CHECKPOINT_DIR`).
      extra: more trackables saved and restored with the model under their names (e.g. the best validation score).
      owner: whether restores also repair the directory (remove partial writes, move unreadable checkpoints
        aside, rewrite the state file). Default: True with an optimizer (the training process; pass False for
        the non-chief workers of a multi-worker run). Readers (evaluation, export) only read, so that they
        cannot disturb a run that is writing a checkpoint at the same time.
    """

    def __init__(self, workdir: str, model, optimizer=None, max_to_keep: int = 3, owner: bool | None = None,
                 subdir: str = CHECKPOINT_DIR, extra: dict | None = None):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.seed_states = seed_generator_states(model)
        self._objects = {"model": model, "step": self.step, **(extra or {})}
        if optimizer is not None:
            self._objects["optimizer"] = optimizer
        self._variables = list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])
        seeds = {"seed_states": list(self.seed_states)} if self.seed_states else {}
        self.checkpoint = tf.train.Checkpoint(**self._objects, **seeds)
        self.directory = os.path.join(workdir, subdir)
        self.max_to_keep = max_to_keep
        self.owner = optimizer is not None if owner is None else owner
        self.fallbacks: list[str] = []
        self.restored_path: str | None = None  # the checkpoint the last `restore_latest` restored
        self._last_size: int | None = None
        self.manager = self._open_manager()

    # -------------------------------------------------------------------------------------------- restore
    def restore_latest(self, strict: bool = True) -> int | None:
        """Restores the newest readable checkpoint (every variable matched when strict); returns its step or None.

        Newer checkpoints that cannot be read are moved to checkpoints/corrupt/ with a warning naming them
        (`fallbacks`). Raises WorkdirError when the checkpoint does not match the model (another configuration)
        or when no checkpoint can be read. An owner repairs the directory only once a checkpoint fits the model
        (or when there is none): a refused restore leaves the directory as it was.
        """
        candidates = self._candidates()
        index, self.fallbacks = self._first_readable(candidates)
        if index is None:
            if self.owner:
                self.remove_partial_writes()
            return None
        path = candidates[index]
        step = self._restore(path, strict)
        self.restored_path = path
        for message in self.fallbacks:
            logging.warning("%s Using the previous checkpoint %s.", message, os.path.basename(path))
        if self.owner:
            self.remove_partial_writes()
            self._set_aside(candidates[:index])
            self._record(candidates[index:])
        logging.info("Restored checkpoint %s (step %d).", path, step)
        return step

    def newest_readable(self) -> str | None:
        """The path prefix of the newest checkpoint that reads back, the one `restore_latest` restores; None when
        there is no checkpoint. WorkdirError naming each checkpoint when none can be read."""
        candidates = self._candidates()
        index, _ = self._first_readable(candidates)
        return None if index is None else candidates[index]

    def _first_readable(self, candidates: list[str]) -> tuple[int | None, list[str]]:
        """(index of the first of `candidates` whose every tensor reads back, one message per unreadable one before
        it). (None, []) without candidates; WorkdirError when none of them can be read."""
        problems = []
        for index, path in enumerate(candidates):
            problem = unreadable_reason(path)
            if problem is None:
                return index, problems
            problems.append(f"Checkpoint {_describe(path)} cannot be read ({problem}).")
        if candidates:
            raise WorkdirError(f"No checkpoint in {self.directory} can be read:\n  " + "\n  ".join(problems)
                               + "\nRestore them from a backup, or move the directory away to start the run over.")
        return None, problems

    def restore_step(self, step: int, strict: bool = True) -> int:
        """Restores checkpoint ckpt-<step> (every variable matched when strict); returns its step. WorkdirError
        when there is no such checkpoint, it cannot be read, or it does not match the model."""
        path = self.path_of(step)
        problem = unreadable_reason(path)
        if problem is not None:
            raise WorkdirError(f"Checkpoint {_describe(path)} cannot be read ({problem}).")
        restored = self._restore(path, strict)
        self.restored_path = path
        logging.info("Restored checkpoint %s (step %d).", path, restored)
        return restored

    def path_of(self, step: int) -> str:
        """The path prefix of checkpoint ckpt-<step>; WorkdirError naming the steps there are when it is missing."""
        candidates = self._candidates()
        for path in candidates:
            if _step_of(path) == step:
                return path
        steps = ", ".join(str(_step_of(p)) for p in candidates) or "none"
        raise WorkdirError(f"No checkpoint of step {step} in {self.directory} (steps there: {steps}). Choose one of "
                           "those steps, or leave the step unset for the newest checkpoint.")

    def _restore(self, path: str, strict: bool) -> int:
        checkpoint = self.checkpoint
        if self.seed_states and not _has_seed_states(path):
            logging.warning("Checkpoint %s has no seed-generator states (written by an older tfvideo): the random "
                            "draws after resuming differ from those of an uninterrupted run.", path)
            checkpoint = tf.train.Checkpoint(**self._objects)
        try:
            status = checkpoint.restore(path)
            status.assert_existing_objects_matched()
            if strict:
                status.assert_consumed()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise WorkdirError(f"Checkpoint {path} does not match this model: {error}. It was written by a "
                               "different configuration; use another --workdir.") from None
        return int(self.step.numpy())

    def _candidates(self) -> list[str]:
        """Checkpoint prefixes, newest first: those the state file lists and complete-looking ones it does not."""
        by_step = {_step_of(p): os.path.normpath(p) for p in self.manager.checkpoints}
        by_step.update({_step_of(p[:-len(".index")]): os.path.normpath(p[:-len(".index")])  # files on disk win
                        for p in glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*.index"))})
        return [by_step[step] for step in sorted((s for s in by_step if s is not None), reverse=True)]

    def _set_aside(self, bad: list[str]) -> None:
        """Moves the files of unreadable checkpoints to checkpoints/corrupt/ (kept for inspection, never reused)."""
        corrupt = os.path.join(self.directory, CORRUPT_DIR)
        for path in bad:
            names = _files_of(path)
            if names:
                os.makedirs(corrupt, exist_ok=True)
                logging.warning("Moved the files of %s to %s/.", os.path.basename(path), corrupt)
            for name in names:
                os.replace(name, os.path.join(corrupt, os.path.basename(name)))

    def _record(self, kept: list[str]) -> None:
        """Rewrites the state file when it does not list exactly the checkpoints of `kept` (newest first, kept[0]
        restored) whose files exist: a kill while the manager deletes old checkpoints leaves names without files."""
        kept = [kept[0]] + [p for p in kept[1:] if os.path.exists(p + ".index")]
        wanted = sorted(kept, key=_step_of)
        listed = [os.path.normpath(p) for p in self.manager.checkpoints]
        if listed == wanted and os.path.normpath(self.manager.latest_checkpoint or "") == kept[0]:
            return
        # Timestamps after last_preserved_timestamp: the manager deletes these beyond max_to_keep, as its own.
        times = [min(os.path.getmtime(p + ".index"), time.time()) for p in wanted]
        lines = [f'model_checkpoint_path: "{os.path.basename(kept[0])}"']
        lines += [f'all_model_checkpoint_paths: "{os.path.basename(p)}"' for p in wanted]
        lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in times]
        lines += [f"last_preserved_timestamp: {min(times) - 1.0!r}"]
        files.atomic_write(os.path.join(self.directory, STATE_FILE), "\n".join(lines) + "\n")
        self.manager = self._new_manager()

    def remove_partial_writes(self) -> None:
        """Deletes the ckpt-<step>_temp/ directories that a process killed while saving leaves behind."""
        for path in glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*_temp")):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)

    def _new_manager(self) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=self.max_to_keep,
                                          checkpoint_name="ckpt")

    def _open_manager(self):
        """The CheckpointManager; for a reader whose state file is unreadable, the checkpoint files on disk."""
        try:
            return self._new_manager()
        except ValueError as error:  # a state file without a checkpoint path, e.g. emptied by a power loss
            state = os.path.join(self.directory, STATE_FILE)
            logging.warning("Ignoring the unreadable checkpoint list %s (%s): looking for checkpoint files instead.",
                            state, error)
            if not self.owner:
                return _FilesOnly(self.directory)
            os.replace(state, state + ".unreadable")
            return self._new_manager()

    # -------------------------------------------------------------------------------------------- save
    def save(self, step: int) -> str:
        """Writes checkpoints/ckpt-<step> and fsyncs it; CheckpointSaveError (earlier ones intact) if that fails.
        NonFiniteWeightsError, saving nothing, when a variable holds NaN/Inf: a checkpoint always holds finite
        weights."""
        self.step.assign(step)
        bad = self.nonfinite_variables()
        if bad:
            raise NonFiniteWeightsError(
                f"At step {step} {len(bad)} variable(s) hold NaN/Inf (e.g. {', '.join(bad[:3])}): no checkpoint was "
                f"saved. {self.newest_intact_text()}. Lower --learning_rate or check the data, then rerun to resume "
                "from it.")
        free = shutil.disk_usage(_existing_parent(self.directory)).free
        if free < self.checkpoint_bytes() + (1 << 20):
            raise self._save_failed(step, f"{free / 2**20:.1f} MiB free, a checkpoint needs about "
                                          f"{self.checkpoint_bytes() / 2**20:.1f} MiB")
        try:
            path = self.manager.save(checkpoint_number=step)
            self._last_size = _sync(path)
        except (tf.errors.OpError, OSError) as error:
            raise self._save_failed(step, _reason(error)) from None
        logging.info("Saved checkpoint %s.", path)
        return path

    def _save_failed(self, step: int, reason: str) -> CheckpointSaveError:
        """Removes the partial files of ckpt-<step>; the error names the newest checkpoint that reads back."""
        prefix = os.path.normpath(os.path.join(self.directory, f"ckpt-{step}"))
        shutil.rmtree(prefix + "_temp", ignore_errors=True)
        if os.path.exists(prefix + ".index") and unreadable_reason(prefix) is not None:
            for name in _files_of(prefix):
                with contextlib.suppress(OSError):
                    os.remove(name)
        return CheckpointSaveError(f"Could not write the checkpoint of step {step} to {self.directory}: {reason}. "
                                   f"{self.newest_intact_text()}. Free disk space (or fix the directory's "
                                   "permissions), then rerun the same command to resume.")

    def newest_intact_text(self) -> str:
        """'The newest intact checkpoint is <path> (step N)', or 'No checkpoint had been saved yet'."""
        try:
            intact = self.newest_readable()
        except WorkdirError:
            intact = None
        return (f"The newest intact checkpoint is {intact} (step {_step_of(intact)})" if intact
                else f"No checkpoint had been saved yet in {self.directory}")

    def nonfinite_variables(self) -> list[str]:
        """Names of the float variables (model and optimizer) that hold a NaN or an Inf."""
        return [v.path if hasattr(v, "path") else v.name for v in self._variables
                if "float" in str(v.dtype) and not np.isfinite(np.asarray(v.numpy(), np.float32)).all()]

    # -------------------------------------------------------------------------------------------- disk space
    def checkpoint_bytes(self) -> int:
        """Bytes of one checkpoint: the size of the last one saved, else the size of the saved variables."""
        if self._last_size:
            return self._last_size
        return sum(int(np.prod(v.shape)) * np.dtype(getattr(v.dtype, "name", v.dtype)).itemsize
                   for v in self._variables) + 4096

    def check_space(self) -> None:
        """WorkdirError unless the disk has room for the run's checkpoints (max_to_keep, plus one being written)."""
        present = sum(os.path.getsize(p) for p in glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*"))
                      if os.path.isfile(p))
        needed = (self.max_to_keep + 1) * self.checkpoint_bytes() - present
        free = shutil.disk_usage(_existing_parent(self.directory)).free
        if free < needed:
            raise WorkdirError(
                f"{self.directory} has {free / 2**20:.1f} MiB free; this run's checkpoints need about "
                f"{needed / 2**20:.1f} MiB more ({self.max_to_keep} kept + 1 being written, "
                f"{self.checkpoint_bytes() / 2**20:.1f} MiB each). Free some space, lower --max_checkpoints, or "
                "choose another --workdir.")


# ------------------------------------------------------------------------------------------------ helpers


def seed_generator_states(model) -> list:
    """The [2] state variables of `model`'s keras.random.SeedGenerators (its own and its layers'), in
    `model.variables` order. Keras keeps them out of tf.train.Checkpoint's object graph."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def unreadable_reason(prefix: str) -> str | None:
    """None when every tensor of checkpoint `prefix` reads back (CRC-checked), else why it cannot be read."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001 - the reader raises OpErrors, IndexError, ValueError, ...
        return _reason(error)
    return None


def _has_seed_states(prefix: str) -> bool:
    return any(name.startswith("seed_states/") for name, _ in tf.train.list_variables(prefix))


def _step_of(prefix: str) -> int | None:
    match = _PREFIX.match(os.path.basename(prefix))
    return int(match.group(1)) if match else None


def _files_of(prefix: str) -> list[str]:
    return sorted(glob.glob(glob.escape(prefix) + ".index") + glob.glob(glob.escape(prefix) + ".data-*"))


def _describe(prefix: str) -> str:
    names = ", ".join(os.path.basename(f) for f in _files_of(prefix)) or "no files left"
    return f"{prefix} ({names})"


def _reason(error: BaseException) -> str:
    if isinstance(error, tf.errors.OpError):
        text = error.message
    elif isinstance(error, OSError) and error.strerror:
        text = error.strerror + (f": {error.filename}" if error.filename else "")
    else:
        text = str(error)
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]", "", text).strip()  # TF's op decorations
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


def _existing_parent(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _sync(prefix: str) -> int:
    """fsyncs a checkpoint's files and directory (a power loss cannot lose it once saved); returns its bytes."""
    size = 0
    for name in _files_of(prefix):
        with open(name, "rb") as handle:
            os.fsync(handle.fileno())
        size += os.path.getsize(name)
    directory = os.open(os.path.dirname(prefix) or ".", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return size


class _FilesOnly:
    """What a reader uses instead of a CheckpointManager when the state file is unreadable: the files on disk."""

    def __init__(self, directory: str):
        self.directory = directory

    @property
    def checkpoints(self) -> list[str]:
        prefixes = [p[:-len(".index")] for p in glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*.index"))]
        return sorted((p for p in prefixes if _step_of(p) is not None), key=_step_of)

    @property
    def latest_checkpoint(self) -> str | None:
        return (self.checkpoints or [None])[-1]
