"""Where futures come from: a trained run (--workdir), an exported SavedModel (--saved_model) or a TFLite file
(--tflite), behind one interface.

Each runtime has a `spec` (`ModelSpec`: frame geometry, context length, dt support and the preprocessing of
the run's data; for a workdir it is what an export of the run would write in its metadata, `export_metadata`)
and `sample(context, num_samples, horizon, dt, seed, actions=None)` -> float32 frames [B, S, horizon * k, H, W, C],
dt = 1/k; actions [B, >= T - 1 + horizon, A] for (only) an action-conditioned model (`ModelSpec.action_size`).
All three sample with the model's seeded noise (`tfvideo.models.noise`), so the same inputs and seed give the
same futures from each. Every failure raises PredictError naming the flag and the fix.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from tfvideo import runs
from tfvideo.data import clips
from tfvideo.export import lib as export_lib
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import signatures
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError
from tfvideo.models import InvalidInputError
from tfvideo.prediction.errors import PredictError

SAVED_MODEL_FILE = "saved_model.pb"
SIGNATURE = "serving_default"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What a request is checked against, and how a clip is made the model's input."""

    source: str  # e.g. "--workdir=runs/x (step 300)", for messages
    image_size: int
    channels: int
    min_context_frames: int
    dt_supported: bool  # False: a discrete-time model, dt = 1 only
    training_dt: float
    conditioning_frames: int | None  # the run's context length (None: unknown, --context_frames needed)
    test_horizon: int | None
    preprocessing: clips.Preprocessing
    action_size: int = 0  # A of an action-conditioned model (it needs actions), 0 for a model without actions
    static_shape: dict | None = None  # a fixed-shape TFLite file's baked request (StaticShape fields)

    @classmethod
    def of_metadata(cls, metadata: dict, source: str, image_size: int | None = None,
                    channels: int | None = None) -> "ModelSpec":
        """From an export's metadata (`export_lib.export_metadata`); `image_size` / `channels` when known from
        the model itself (a TFLite file without its metadata file)."""
        data = metadata.get("config", {}).get("data", {})
        image_size = int(metadata.get("image_size", image_size or 64))
        channels = int(metadata.get("channels", channels or 1))
        preprocessing = clips.Preprocessing.of_data_config({**data, "image_size": image_size, "channels": channels})
        return cls(source=source, image_size=image_size, channels=channels,
                   min_context_frames=int(metadata.get("min_context_frames", 1)),
                   dt_supported=bool(metadata.get("dt_supported", True)),
                   training_dt=float(metadata.get("training_dt", 1.0)),
                   conditioning_frames=data.get("conditioning_frames"), test_horizon=data.get("test_horizon"),
                   preprocessing=preprocessing, action_size=int(metadata.get("action_size", 0)),
                   static_shape=metadata.get("static_shape") if isinstance(metadata.get("static_shape"), dict)
                   else None)


class Runtime:
    """A model that samples futures; see the module docstring."""

    spec: ModelSpec

    def sample(self, context: np.ndarray, num_samples: int, horizon: int, dt: float, seed: int,
               actions: np.ndarray | None = None) -> np.ndarray:
        """context float32 [B, T, H, W, C] in [0, 1] (and actions [B, >= T - 1 + horizon, A] for an
        action-conditioned model) -> float32 [B, S, horizon * k, H, W, C] (inputs checked)."""
        try:
            extra = {} if actions is None else {"actions": actions}
            return np.asarray(self._sample(context, num_samples, horizon, dt, seed, **extra), np.float32)
        except (tf.errors.ResourceExhaustedError, MemoryError):
            raise PredictError(f"{self.spec.source} ran out of memory sampling {num_samples} futures at once: lower "
                               "--batch_samples.") from None
        except (InvalidInputError, tf.errors.InvalidArgumentError) as error:
            raise PredictError(f"{self.spec.source} refused the inputs: {_first_line(error)}") from None

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):  # pragma: no cover - abstract
        raise NotImplementedError


class TrainedRun(Runtime):
    """The newest checkpoint of a workdir (or the checkpoint of `step`), through `model.generate`."""

    def __init__(self, workdir: str, step: int | None = None, precision: str = "float32"):
        try:
            self.trained = runs.load_trained_model(workdir, step, precision)
        except runs.RunError as error:
            raise PredictError(str(error)) from None
        source = f"--workdir={workdir} (step {self.trained.step})"
        self.spec = ModelSpec.of_metadata(export_lib.export_metadata(self.trained, workdir), source)

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        return self.trained.model.generate(context, num_samples=num_samples, horizon=horizon, dt=dt, seed=seed,
                                           include_intermediate=True, actions=actions)


class SavedModelRuntime(Runtime):
    """The `serving_default` signature of a SavedModel written by `python -m tfvideo.export`."""

    def __init__(self, path: str):
        directory = saved_model_dir(path)
        self.spec = ModelSpec.of_metadata(_read_metadata(os.path.join(directory, saved_model_lib.METADATA_FILE),
                                                         "--saved_model"), f"--saved_model={directory}")
        try:
            self.loaded = tf.saved_model.load(directory)
            self.signature = self.loaded.signatures[SIGNATURE]
        except KeyError:
            raise PredictError(f"--saved_model={directory} has no '{SIGNATURE}' signature: export the run with "
                               "python -m tfvideo.export.") from None
        except Exception as error:  # pylint: disable=broad-except  (damaged files fail in many TF error types)
            raise PredictError(f"--saved_model={directory}: cannot load the SavedModel ({type(error).__name__}: "
                               f"{_first_line(error)}). Export the run again.") from None

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        extra = {} if actions is None else {"actions": tf.constant(actions, tf.float32)}
        outputs = self.signature(context=tf.constant(context, tf.float32), num_samples=tf.constant(num_samples),
                                 dt=tf.constant(dt, tf.float32), horizon=tf.constant(horizon),
                                 seed=tf.constant(seed, tf.int32), **extra)
        return outputs[signatures.FRAMES]


class TFLiteRuntime(Runtime):
    """A .tflite export in the LiteRT interpreter (`tflite.TFLiteModel`)."""

    def __init__(self, path: str, num_threads: int | None = None):
        try:
            self.model = tflite_lib.TFLiteModel(path, num_threads=num_threads)
        except ExportError as error:
            raise PredictError(f"--tflite: {error}") from None
        except (ValueError, RuntimeError, OSError) as error:  # not a TFLite flatbuffer, or an unreadable metadata file
            raise PredictError(f"--tflite={path}: cannot load the model ({_first_line(error)}). Give a .tflite file "
                               "written by python -m tfvideo.export --format=tflite, with its .tflite.json beside "
                               "it.") from None
        self.spec = ModelSpec.of_metadata(self.model.metadata, f"--tflite={path}", self.model.image_size,
                                          self.model.channels)

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        try:
            return self.model(context, num_samples, horizon=horizon, dt=dt, seed=seed, actions=actions)
        except (ValueError, RuntimeError) as error:  # LiteRT reports allocation failures as RuntimeError
            raise PredictError(f"{self.spec.source}: {_first_line(error)}") from None


def open_runtime(*, workdir: str | None = None, step: int | None = None, saved_model: str | None = None,
                 tflite: str | None = None, precision: str = "float32") -> Runtime:
    """The runtime of exactly one of `workdir` (with `step` and the sampling `precision`), `saved_model` and
    `tflite`."""
    given = [name for name, value in (("--workdir", workdir), ("--saved_model", saved_model), ("--tflite", tflite))
             if value]
    if len(given) != 1:
        got = f"got {' and '.join(given)}" if given else "got none"
        raise PredictError(f"Give exactly one model: --workdir=RUN (a trained run), --saved_model=DIR or "
                           f"--tflite=FILE (exports of python -m tfvideo.export); {got}.")
    if step is not None and not workdir:
        raise PredictError("--step picks a checkpoint of --workdir; an export holds one model.")
    if precision != "float32" and not workdir:
        raise PredictError(f"--precision={precision} applies to a --workdir's checkpoint: an export keeps the "
                           "precision it was exported with. Drop --precision.")
    if workdir:
        return TrainedRun(workdir, step, precision)
    if saved_model:
        return SavedModelRuntime(saved_model)
    return TFLiteRuntime(tflite)


def saved_model_dir(path: str) -> str:
    """`path` when it holds saved_model.pb, else its newest version folder that does (TF Serving's layout
    <export_dir>/<model_name>/<version>/)."""
    if os.path.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        return path
    versions = [v for v in saved_model_lib.existing_versions(path)
                if os.path.isfile(os.path.join(path, str(v), SAVED_MODEL_FILE))]
    if not versions:
        raise PredictError(f"--saved_model={path}: no {SAVED_MODEL_FILE} in it nor in a version folder below it. "
                           "Give <export_dir>/<model_name> or <export_dir>/<model_name>/<version> as written by "
                           "python -m tfvideo.export.")
    return os.path.join(path, str(versions[-1]))


def _read_metadata(path: str, flag: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            metadata = json.load(handle)
    except FileNotFoundError:
        raise PredictError(f"{flag}: no tfvideo metadata at {path}; export the run with python -m tfvideo.export, "
                           "which writes it.") from None
    except (OSError, ValueError) as error:
        raise PredictError(f"{flag}: cannot read the export metadata {path} ({error}); export the run "
                           "again.") from None
    if not isinstance(metadata, dict):
        raise PredictError(f"{flag}: the export metadata {path} is not a JSON object; export the run again.")
    return metadata


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
