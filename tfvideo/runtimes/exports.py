"""The exports of `python -m tfvideo.export` as runtimes: a SavedModel's `serving_default` signature and a TFLite
file in the LiteRT interpreter. Both return every Euler step's frame (`Runtime.sample` keeps each k-th without
`include_intermediate`)."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import signatures, static_shape
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError
from tfvideo.runtimes.base import Runtime, first_line
from tfvideo.runtimes.errors import ModelError
from tfvideo.runtimes.spec import ModelSpec

SAVED_MODEL_FILE = "saved_model.pb"
SIGNATURE = "serving_default"


class SavedModelRuntime(Runtime):
    """The `serving_default` signature of a SavedModel written by `python -m tfvideo.export` (`path`: the version
    folder, or `<export_dir>/<model_name>` for its newest version)."""

    def __init__(self, path: str):
        self.directory = saved_model_dir(path)
        self.metadata = _read_metadata(os.path.join(self.directory, saved_model_lib.METADATA_FILE),
                                       f"--saved_model={self.directory}")
        self.spec = ModelSpec.of_metadata(self.metadata, f"--saved_model={self.directory}")
        try:
            self.loaded = tf.saved_model.load(self.directory)
            self.signature = self.loaded.signatures[SIGNATURE]
        except KeyError:
            raise ModelError(f"--saved_model={self.directory} has no '{SIGNATURE}' signature: export the run with "
                             "python -m tfvideo.export.") from None
        except Exception as error:  # pylint: disable=broad-except  (damaged files fail in many TF error types)
            raise ModelError(f"--saved_model={self.directory}: cannot load the SavedModel ({type(error).__name__}: "
                             f"{first_line(error)}). Export the run again.") from None

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        extra = {} if actions is None else {"actions": tf.constant(actions, tf.float32)}
        outputs = self.signature(context=tf.constant(context, tf.float32), num_samples=tf.constant(num_samples),
                                 dt=tf.constant(dt, tf.float32), horizon=tf.constant(horizon),
                                 seed=tf.constant(seed, tf.int32), **extra)
        return outputs[signatures.FRAMES]


class TFLiteRuntime(Runtime):
    """A .tflite export in the LiteRT interpreter (`export.tflite.TFLiteModel`, host-side input checks)."""

    def __init__(self, path: str, num_threads: int | None = None):
        try:
            self.model = tflite_lib.TFLiteModel(path, num_threads=num_threads)
        except ExportError as error:
            raise ModelError(f"--tflite: {error}") from None
        except (ValueError, RuntimeError, OSError) as error:  # not a TFLite flatbuffer, or an unreadable metadata file
            raise ModelError(f"--tflite={path}: cannot load the model ({first_line(error)}). Give a .tflite file "
                             "written by python -m tfvideo.export --format=tflite, with its .tflite.json beside "
                             "it.") from None
        self.path = path
        self.metadata = self.model.metadata
        self.spec = ModelSpec.of_metadata(self.metadata, f"--tflite={path}", self.model.image_size,
                                          self.model.channels)

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        try:
            return self.model(context, num_samples, horizon=horizon, dt=dt, seed=seed, actions=actions)
        except (ValueError, RuntimeError) as error:  # LiteRT reports allocation failures as RuntimeError
            raise ModelError(f"{self.spec.source}: {first_line(error)}") from None

    def check_request(self, batch: int, context_frames: int, num_samples: int, horizon: int, dt: float) -> None:
        """A fixed-shape file answers its baked request only (`export.static_shape.check_request`)."""
        if self.model.static_shape is None:
            return
        try:
            static_shape.check_request(self.model.static_shape, (batch, context_frames), num_samples, horizon=horizon,
                                        dt=dt)
        except ValueError as failure:
            raise ModelError(f"{self.spec.source}: {failure}") from None


def saved_model_dir(path: str) -> str:
    """`path` when it holds saved_model.pb, else its newest version folder that does (TF Serving's layout
    <export_dir>/<model_name>/<version>/); ModelError naming --saved_model otherwise."""
    if not os.path.isdir(path):
        what = "a file, not a SavedModel's folder" if os.path.exists(path) else "no such folder"
        raise ModelError(f"--saved_model={path}: {what}. Give <export_dir>/<model_name> or "
                         "<export_dir>/<model_name>/<version> as written by python -m tfvideo.export.")
    if os.path.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    versions = [v for v in saved_model_lib.existing_versions(path)
                if os.path.isfile(os.path.join(path, str(v), SAVED_MODEL_FILE))]
    if not versions:
        raise ModelError(f"--saved_model={path}: no {SAVED_MODEL_FILE} in it nor in a version folder below it. "
                         "Give <export_dir>/<model_name> or <export_dir>/<model_name>/<version> as written by "
                         "python -m tfvideo.export.")
    return os.path.join(path, str(versions[-1]))


def _read_metadata(path: str, flag: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            metadata = json.load(handle)
    except FileNotFoundError:
        raise ModelError(f"{flag}: no tfvideo metadata at {path}; export the run with python -m tfvideo.export, "
                         "which writes it.") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{flag}: cannot read the export metadata {path} ({error}); export the run "
                         "again.") from None
    if not isinstance(metadata, dict):
        raise ModelError(f"{flag}: the export metadata {path} is not a JSON object; export the run again.")
    return metadata
