"""A training run read back: its config and its trained model, for evaluation, export and prediction.

`load_trained_model(workdir, step=None, checkpoint="final")` rebuilds the run's model from its config.json
(`load_config` + `build_model`) and restores the newest checkpoint (or the checkpoint of `step`; with
checkpoint="best", the weights of the best validation score in best_checkpoint/) with `RunCheckpoint`. The
checkpoint also holds the optimizer state, which a trained model does not need, so the match is checked in both
directions for the model alone:

- every model variable gets a value from the checkpoint (the restore with `strict=False` asserts that every
  existing Python object was matched), with the right shape (restore raises on a shape mismatch);
- every variable the checkpoint stores under `model` is a variable of the rebuilt model and vice versa
  (`_unmatched_variables`: the checkpoint's object graph below `model`, minus the `optimizer` edge Keras
  adds at compile time, compared path by path with the rebuilt model's own object graph; this also gives
  short error messages naming the variables).

Every failure raises RunError naming the run, the checkpoint and the variables.

`precision` (float32 by default, or auto / mixed_bfloat16 / mixed_float16: `tfvideo.perf.precision`) is the dtype
policy the restored model's convolutional networks sample with; variables stay float32 in every policy.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tfvideo import config as config_lib
from tfvideo.models import VideoPredictor, build_model
from tfvideo.perf import precision as precision_lib
from tfvideo.training import checkpointing

_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# --checkpoint: the training checkpoints (the newest is the final one) or the best validation score's.
CHECKPOINT_DIRS = dict(zip(config_lib.CHECKPOINTS, (checkpointing.CHECKPOINT_DIR, checkpointing.BEST_CHECKPOINT_DIR)))
# Edges below the model that lead to state a trained model does not restore: Keras' compile() tracks the
# optimizer on the model (its variables are checked by training's own strict restore).
_SKIPPED_EDGES = frozenset({"optimizer"})


class RunError(RuntimeError):
    """A run cannot be read back as asked; the message says why and what to do."""


@dataclasses.dataclass
class TrainedModel:
    model: VideoPredictor  # with the weights of `checkpoint`
    config: config_lib.Config
    step: int
    checkpoint: str  # path prefix of the restored checkpoint
    precision: str = "float32"  # the resolved dtype policy the model samples with


def load_config(workdir: str) -> config_lib.Config:
    """The Config of the run in `workdir` (its config.json); RunError when there is none or it is unreadable."""
    try:
        return checkpointing.load_run_config(workdir)
    except (checkpointing.WorkdirError, config_lib.ConfigError, ValueError, TypeError) as error:
        raise RunError(f"Cannot read the run in --workdir={workdir!r}: {error}") from None


def load_trained_model(workdir: str, step: int | None = None, precision: str = "float32",
                       checkpoint: str = "final") -> TrainedModel:
    """The run's model with the weights of its newest checkpoint (or of the checkpoint of `step`), every variable
    matched (RunError if not), its convolutional networks computing in `precision` (see the module docstring).

    checkpoint: "final" (the training checkpoints: the newest, or `step`'s) or "best" (the weights of the best
      validation score, `checkpointing.BEST_CHECKPOINT_DIR`; `step` must be None).
    """
    if checkpoint not in CHECKPOINT_DIRS:
        raise RunError(f"--checkpoint={checkpoint!r}: expected one of {', '.join(config_lib.CHECKPOINTS)}.")
    if checkpoint == "best" and step is not None:
        raise RunError("A step picks one of the final checkpoints: give it without --checkpoint=best.")
    config = load_config(workdir)
    try:
        policy = precision_lib.resolve_precision(precision)
    except ValueError as error:
        raise RunError(f"--precision={precision}: {error}") from None
    try:
        model = build_model(config)
    except (config_lib.ConfigError, ValueError) as error:
        raise RunError(f"Cannot rebuild the model of --workdir={workdir!r} from its "
                       f"{checkpointing.CONFIG_FILE}: {error}") from None
    state = checkpointing.RunCheckpoint(workdir, model, subdir=CHECKPOINT_DIRS[checkpoint])
    path = _checkpoint_path(state, workdir, step)
    _check_variables_match(path, model, workdir)
    _silence_unread_optimizer_warnings()
    try:  # strict=False: asserts every model variable was matched, leaves the optimizer's values unread
        restored = state.restore_latest(strict=False) if step is None else state.restore_step(step, strict=False)
    except checkpointing.WorkdirError as error:
        raise RunError(str(error)) from None
    except (ValueError, tf.errors.OpError) as error:
        raise RunError(f"Checkpoint {path} does not match the model described by "
                       f"{workdir}/{checkpointing.CONFIG_FILE}: {error}") from None
    if policy != "float32":
        precision_lib.apply_precision(model, policy)
    return TrainedModel(model=model, config=config, step=restored, checkpoint=path, precision=policy)


def _checkpoint_path(state: checkpointing.RunCheckpoint, workdir: str, step: int | None) -> str:
    """The prefix of the newest checkpoint, or of the checkpoint of `step`; RunError when there is none."""
    if step is not None:
        try:
            return state.path_of(step)
        except checkpointing.WorkdirError as error:
            raise RunError(str(error)) from None
    try:
        path = state.newest_readable()  # the checkpoint restore_latest restores
    except checkpointing.WorkdirError as error:
        raise RunError(str(error)) from None
    if path is None and os.path.basename(state.directory) == checkpointing.BEST_CHECKPOINT_DIR:
        raise RunError(f"No best checkpoint in {state.directory}: the run has not been validated yet (training "
                       "validates every --validation_every steps on the held-out clips of --validation_fraction). "
                       "Evaluate the final checkpoint (--checkpoint=final), or train further.")
    if path is None:
        raise RunError(f"No checkpoint in {state.directory}: train the run "
                       "first (python -m tfvideo.train --workdir=...), or point --workdir at a trained run.")
    return path


def _check_variables_match(path: str, model, workdir: str) -> None:
    """RunError naming the variables when checkpoint `path` and `model` do not hold the same variables."""
    extra, missing = _unmatched_variables(path, model)
    if not extra and not missing:
        return
    problems = []
    if extra:
        problems.append(f"it stores {len(extra)} model variable(s) that the rebuilt model lacks, e.g. "
                        f"{', '.join(extra[:5])}")
    if missing:
        problems.append(f"it has no value for {len(missing)} variable(s) of the rebuilt model, e.g. "
                        f"{', '.join(missing[:5])}")
    raise RunError(
        f"Checkpoint {path} does not match the model described by {workdir}/{checkpointing.CONFIG_FILE}: "
        f"{'; '.join(problems)}. Was config.json edited, the checkpoint copied from another run, or written "
        "by an older tfvideo whose variable layout differs?")


class _UnreadOptimizerFilter(logging.Filter):
    """Drops TensorFlow's warnings about the checkpoint's optimizer values, which a trained model leaves unread on
    purpose (they are logged when the restored model is collected, often at exit)."""

    PREFIXES = ("Detecting that an object or model or tf.train.Checkpoint is being deleted with unrestored",
                "Value in checkpoint could not be found in the restored object: (root).optimizer",
                "Value in checkpoint could not be found in the restored object: (root).model.optimizer",
                "Value in checkpoint could not be found in the restored object: (root).validation_score")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.PREFIXES)


def _silence_unread_optimizer_warnings() -> None:
    logger = tf.get_logger()
    if not any(isinstance(f, _UnreadOptimizerFilter) for f in logger.filters):
        logger.addFilter(_UnreadOptimizerFilter())


def _variable_paths(graph: trackable_object_graph_pb2.TrackableObjectGraph, root_child: str) -> set[str]:
    """Paths (relative to the root's child `root_child`) of the variables of a checkpoint object graph."""
    start = [child.node_id for child in graph.nodes[0].children if child.local_name == root_child]
    if not start:
        return set()
    paths, seen, queue = set(), {start[0]}, [(start[0], "")]
    while queue:  # breadth first, so a variable reachable twice gets its shortest path in both graphs
        node_id, path = queue.pop(0)
        node = graph.nodes[node_id]
        if any(attribute.name == "VARIABLE_VALUE" for attribute in node.attributes):
            paths.add(path)
        for child in node.children:
            if child.local_name in _SKIPPED_EDGES or child.node_id in seen:
                continue
            seen.add(child.node_id)
            queue.append((child.node_id, f"{path}/{child.local_name}" if path else child.local_name))
    return paths


def _object_graph(checkpoint_path: str) -> trackable_object_graph_pb2.TrackableObjectGraph:
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(checkpoint_path).get_tensor(_OBJECT_GRAPH_KEY))
    return graph


def _unmatched_variables(checkpoint_path: str, model) -> tuple[list[str], list[str]]:
    """(variables stored under `model` in the checkpoint that the model lacks, model variables the checkpoint
    lacks), as sorted paths relative to the model."""
    stored = _variable_paths(_object_graph(checkpoint_path), "model")
    with tempfile.TemporaryDirectory(prefix="tfvideo_run_") as tmp:
        own = tf.train.Checkpoint(model=model).write(os.path.join(tmp, "model"))
        expected = _variable_paths(_object_graph(own), "model")
    return sorted(stored - expected), sorted(expected - stored)
