"""Export library: restore a trained run strictly, then write a SavedModel or TFLite file.

`load_trained_model(workdir)` rebuilds the run's model from its config.json (`checkpointing.load_run_config` +
`build_model`) and restores the newest checkpoint with `RunCheckpoint(workdir, model).restore_latest`. The
checkpoint also holds the optimizer state, which export does not need, so the match is checked in both
directions for the model alone:

- every model variable gets a value from the checkpoint (`restore_latest(strict=False)` asserts that every
  existing Python object was matched), with the right shape (restore raises on a shape mismatch);
- every variable the checkpoint stores under `model` is a variable of the rebuilt model and vice versa
  (`_unmatched_variables`: the checkpoint's object graph below `model`, minus the `optimizer` edge Keras
  adds at compile time, compared path by path with the rebuilt model's own object graph; this also gives
  short error messages naming the variables).

Either failure raises ExportError naming the checkpoint and the variables.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from tfvideo.training import checkpointing
from tfvideo import config as config_lib
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import signatures
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError
from tfvideo.models import build_model

FORMATS = ("saved_model", "tflite")
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# Edges below the model that lead to state export does not restore: Keras' compile() tracks the optimizer
# on the model (its variables are checked by training's own strict restore).
_SKIPPED_EDGES = frozenset({"optimizer"})


@dataclasses.dataclass
class TrainedModel:
    model: object  # the restored VideoPredictor
    config: config_lib.Config
    step: int
    checkpoint: str  # path prefix of the restored checkpoint


@dataclasses.dataclass
class ExportResult:
    format: str
    path: str  # SavedModel version directory or .tflite file
    size_bytes: int
    endpoints: list[str]
    version: int | None = None  # SavedModel version
    quantize: str | None = None  # TFLite variant


def load_trained_model(workdir: str) -> TrainedModel:
    """The run's model with the weights of its newest checkpoint, every variable matched (ExportError if not)."""
    try:
        config = checkpointing.load_run_config(workdir)
    except (checkpointing.WorkdirError, config_lib.ConfigError, ValueError, TypeError) as error:
        raise ExportError(f"Cannot read the run in --workdir={workdir!r}: {error}") from None
    try:
        model = build_model(config)
    except (config_lib.ConfigError, ValueError) as error:
        raise ExportError(f"Cannot rebuild the model of --workdir={workdir!r} from its "
                          f"{checkpointing.CONFIG_FILE}: {error}") from None
    state = checkpointing.RunCheckpoint(workdir, model)
    path = state.manager.latest_checkpoint
    if path is None:
        raise ExportError(f"No checkpoint in {os.path.join(workdir, checkpointing.CHECKPOINT_DIR)}: train the run "
                          "first (python -m tfvideo.train --workdir=...), or point --workdir at a trained run.")
    extra, missing = _unmatched_variables(path, model)
    if extra or missing:
        problems = []
        if extra:
            problems.append(f"it stores {len(extra)} model variable(s) that the rebuilt model lacks, e.g. "
                            f"{', '.join(extra[:5])}")
        if missing:
            problems.append(f"it has no value for {len(missing)} variable(s) of the rebuilt model, e.g. "
                            f"{', '.join(missing[:5])}")
        raise ExportError(
            f"Checkpoint {path} does not match the model described by {workdir}/{checkpointing.CONFIG_FILE}: "
            f"{'; '.join(problems)}. Was config.json edited, the checkpoint copied from another run, or written "
            "by an older tfvideo whose variable layout differs?")
    _silence_unread_optimizer_warnings()
    try:
        step = state.restore_latest(strict=False)  # asserts every model variable was matched
    except checkpointing.WorkdirError as error:
        raise ExportError(str(error)) from None
    except (ValueError, tf.errors.OpError) as error:
        raise ExportError(f"Checkpoint {path} does not match the model described by "
                          f"{workdir}/{checkpointing.CONFIG_FILE}: {error}") from None
    return TrainedModel(model=model, config=config, step=step, checkpoint=path)


class _UnreadOptimizerFilter(logging.Filter):
    """Drops TensorFlow's warnings about the checkpoint's optimizer values, which export leaves unread on
    purpose (they are logged when the restored model is collected, often at exit)."""

    PREFIXES = ("Detecting that an object or model or tf.train.Checkpoint is being deleted with unrestored",
                "Value in checkpoint could not be found in the restored object: (root).optimizer",
                "Value in checkpoint could not be found in the restored object: (root).model.optimizer")

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
    with tempfile.TemporaryDirectory(prefix="tfvideo_export_") as tmp:
        own = tf.train.Checkpoint(model=model).write(os.path.join(tmp, "model"))
        expected = _variable_paths(_object_graph(own), "model")
    return sorted(stored - expected), sorted(expected - stored)


def export(workdir: str, export_dir: str, format: str = "saved_model", quantize: str = "none",
           model_name: str | None = None, version: int | None = None, overwrite: bool = False,
           extra_endpoints: bool = True) -> ExportResult:
    """Restores `workdir` strictly and exports it; see `python -m tfvideo.export --help`.

    saved_model: `<export_dir>/<model_name>/<version>/` (TF Serving layout; the next free version unless given;
    an existing version is never overwritten). tflite: `<export_dir>/<model_name>_<variant>.tflite` and its
    metadata `<...>.tflite.json` (an existing file is only replaced with overwrite=True).
    """
    if format not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}; got {format!r}.")
    if quantize not in tflite_lib.QUANTIZATIONS:
        raise ExportError(f"--quantize must be one of {', '.join(tflite_lib.QUANTIZATIONS)}; got {quantize!r}.")
    if format == "saved_model" and quantize != "none":
        raise ExportError("--quantize applies to --format=tflite only; a SavedModel keeps float32 weights.")
    if not export_dir:
        raise ExportError("--export_dir must name the directory to export to.")
    trained = load_trained_model(workdir)
    model_name = model_name or trained.config.model.model
    if not model_name or os.sep in model_name or model_name in (".", ".."):
        raise ExportError(f"--model_name must be a plain directory name; got {model_name!r}.")
    metadata = export_metadata(trained, workdir)
    if format == "saved_model":
        path, version = saved_model_lib.export_saved_model(trained.model, export_dir, model_name, version=version,
                                                           metadata=metadata, extra_endpoints=extra_endpoints)
        names = [e.name for e in signatures.endpoints(trained.model, extras=extra_endpoints)]
        return ExportResult("saved_model", path, _size(path), ["serving_default", *names], version=version)
    path = os.path.join(export_dir, f"{model_name}_{tflite_lib.variant_name(quantize)}.tflite")
    tflite_lib.export_tflite(trained.model, path, quantize=quantize, metadata=metadata, overwrite=overwrite)
    return ExportResult("tflite", path, _size(path), ["serving_default"], quantize=quantize)


def export_metadata(trained: TrainedModel, workdir: str) -> dict:
    """What a client needs besides the signatures: frame geometry, context length, dt support, the run."""
    model = trained.model
    return {
        "model": trained.config.model.model,
        "image_size": model.image_size,
        "channels": model.channels,
        "min_context_frames": model.min_context_frames(),
        "training_dt": trained.config.model.dt,
        "dt_supported": bool(model.supports_dt(2)),
        "checkpoint": trained.checkpoint,
        "step": trained.step,
        "workdir": os.path.abspath(workdir),
        "config": json.loads(trained.config.to_json()),
    }


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
