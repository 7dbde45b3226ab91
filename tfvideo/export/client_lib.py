"""Helpers of the client scripts in `export/` (LiteRT runner, REST body, gRPC client): reading context
frames, checking a request and its outputs before the work, building requests, writing sampled futures.
numpy only, except `predict_request` (tensorflow-serving-api and TensorFlow's TensorProto).

The scripts share `tfvideo.predict`'s input and output code: contexts are read by `tfvideo.data.clips` (video
files, GIFs, frame folders, .npy) through the run's preprocessing, output paths are checked by
`files.check_output_path` before any sampling and written atomically, and numbers by `tfvideo.validation`.
Every problem raises ClientError (a ValueError) with one line naming the flag and the fix.

Action-conditioned exports (docs/actions.md) take an `actions` input: `request_actions` reads --actions with
`predict --actions`'s reader (`tfvideo.prediction.actions_file`: .npy or .csv [T, A], raw, row 0 at the first
context frame) and refuses it for an export without actions, or its absence for one with them; the REST and
gRPC scripts learn which from the server's model metadata (`takes_actions`).
"""

from __future__ import annotations

import json

import numpy as np

from tfvideo import validation
from tfvideo.data import clips
from tfvideo.models import requests
from tfvideo.utils import files, memory, video_io

PREDICT_INPUTS = ("context", "num_samples", "horizon", "dt", "seed")
ACTIONS = "actions"  # the predict input of action-conditioned exports


class ClientError(ValueError):
    """A client script cannot do what it was asked; the message names the flag and the fix."""


def preprocessing(image_size: int, channels: int, metadata: dict | None = None) -> clips.Preprocessing:
    """The frame rule of the served model: from the export's metadata ("config" holds the run's data section)
    when the client has it, else the folder rule at `image_size` and `channels` (checked: a size from 1 to
    4096, 1 or 3 channels)."""
    validation.positive_int(image_size, "--image_size", error=ClientError, maximum=4096)
    if channels not in (1, 3):
        raise ClientError(f"--channels must be 1 (grayscale) or 3 (RGB); got {channels!r}.")
    data = (metadata or {}).get("config", {}).get("data", {})
    return clips.Preprocessing.of_data_config({**data, "image_size": image_size, "channels": channels})


def read_context(path: str, rule: clips.Preprocessing, num_frames: int | None = None) -> np.ndarray:
    """Context videos float32 [B, T, H, W, C] in [0, 1] (`clips.read_clips`: a video file, GIF, frame folder or
    .npy of [T, H, W, C] / [B, T, H, W, C]); the first `num_frames` frames, or all with None."""
    try:
        return clips.read_clips(path, rule, num_frames=num_frames, flag="--context")
    except clips.ClipError as error:
        raise ClientError(str(error)) from None


def check_outputs(gif: str | None = None, npy: str | None = None, *, overwrite: bool = False) -> None:
    """Before any work: --output must be a writable .gif and --save_npy a writable .npy (neither replacing a
    file without --overwrite)."""
    for path, flag, extension in ((gif, "--output", ".gif"), (npy, "--save_npy", ".npy")):
        if path is None:
            continue
        if not path.lower().endswith(extension):
            raise ClientError(f"{flag}={path}: this script writes a {extension} file here; name one (python -m "
                              "tfvideo.predict also writes .mp4 and .png).")
        try:
            files.check_output_path(path, overwrite=overwrite, flag=flag)
        except files.OutputPathError as error:
            raise ClientError(str(error)) from None


def check_request(context: np.ndarray, num_samples, horizon, dt, seed, *, dt_supported: bool = True) -> int:
    """The request's numbers by the rules of the exported signature (`tfvideo.validation`; dt in float32), and
    its frames [B, S, horizon * k, H, W, C] against the memory; returns k of dt = 1/k."""
    k = requests.check(num_samples, horizon, dt, continuous_time=dt_supported, flags=True, error=ClientError,
                       precision=np.float32).steps_per_frame
    validation.int32_seed(seed, "--seed", error=ClientError)
    batch, _, height, width, channels = context.shape
    needed = 2 * memory.sampling_bytes(batch, num_samples, horizon * k, height, channels)  # the answer, and the GIF
    problem = memory.memory_problem(needed, memory.available_bytes(), f"{batch} x {num_samples} futures of "
                                    f"{horizon * k} frames", "ask for fewer --num_samples, a shorter --horizon or a "
                                    "larger --dt")
    if problem:
        raise ClientError(problem)
    return k


def takes_actions(metadata, signature_name: str, server: str) -> bool:
    """Whether `signature_name` has an `actions` input, from TF Serving's model metadata as a dict (REST
    `GET .../metadata`, or GetModelMetadata's SignatureDefMap with proto field names):
    {"metadata": {"signature_def": {"signature_def": {name: {"inputs": {...}, ...}}}}}."""
    try:
        served = metadata["metadata"]["signature_def"]["signature_def"]
    except (KeyError, TypeError):
        served = None
    if not isinstance(served, dict):
        raise ClientError(f"the server at {server} returned no signature metadata: is it tensorflow_model_server "
                          "serving a tfvideo export?")
    if signature_name not in served:
        raise ClientError(f"--signature_name={signature_name}: the server at {server} serves no such signature "
                          f"(it has {', '.join(sorted(served)) or 'none'}).")
    inputs = served[signature_name].get("inputs", {}) if isinstance(served[signature_name], dict) else {}
    return ACTIONS in inputs


def request_actions(path: str | None, takes: bool, context: np.ndarray, horizon: int, where: str,
                    action_size: int | None = None) -> np.ndarray | None:
    """float32 actions [B, >= T - 1 + horizon, A] of --actions ([T, A], the same for each of the B contexts
    [B, T, ...]), None for an export without actions; ClientError when --actions is missing for an
    action-conditioned export (`takes`), given to one without actions, or a bad file. `action_size` A when the
    client knows it (TFLite metadata), else the file's."""
    from tfvideo.models import actions as actions_lib

    if takes and not path:
        raise ClientError(f"{where} is action-conditioned: give its actions with --actions=FILE.npy|.csv ([T, A] "
                          "raw, one row per frame from the first context frame, >= context frames - 1 + horizon "
                          "rows).")
    if path and not takes:
        raise ClientError(f"--actions: {where} takes no actions (trained without --action_conditioned); drop "
                          "--actions.")
    if not path:
        return None
    if not path.lower().endswith(actions_lib.FILE_EXTENSIONS):
        raise ClientError(f"--actions={path}: give a .npy or .csv file of actions [T, A].")
    actions = actions_lib.read_actions_file(path, action_size, context.shape[1] - 1 + horizon, error=ClientError)
    return np.repeat(actions[None], len(context), axis=0)


def write_outputs(context: np.ndarray, frames: np.ndarray, gif: str | None = None, npy: str | None = None,
                  fps: float = 4.0) -> list[str]:
    """Writes the GIF (`write_samples_gif`) and the .npy of `frames` atomically; returns the paths written."""
    written = []
    try:
        if gif:
            written.append(write_samples_gif(gif, context, frames, fps=fps))
        if npy:
            written.append(files.atomic_write(npy, lambda tmp: _save_npy(tmp, frames)))
    except OSError as error:  # the folder changed since check_outputs
        raise ClientError(f"cannot write {error.filename or 'the output'} ({error.strerror or error}).") from None
    return written


def _save_npy(tmp: str, frames: np.ndarray) -> None:
    with open(tmp, "wb") as handle:  # a handle: np.save would add ".npy" to the temporary name
        np.save(handle, frames)


def write_samples_gif(path: str, context: np.ndarray, frames: np.ndarray, fps: float = 4.0) -> str:
    """GIF of context (green) then sampled futures (red): rows are videos, columns samples."""
    return video_io.write_gif(path, video_io.comparison_frames(context, None, frames), fps=fps)


def rest_body(context: np.ndarray, num_samples: int, horizon: int, dt: float, seed: int,
              signature_name: str = "serving_default", actions: np.ndarray | None = None) -> dict:
    """TF Serving REST predict body in the columnar form: scalar inputs have no batch dimension, so the row
    form (`instances`) cannot carry them. `actions` [B, >= T - 1 + horizon, A] for an action-conditioned export."""
    inputs = {"context": np.asarray(context, np.float32).tolist(), "num_samples": int(num_samples),
              "horizon": int(horizon), "dt": float(dt), "seed": int(seed)}
    if actions is not None:
        inputs[ACTIONS] = np.asarray(actions, np.float32).tolist()
    return {"signature_name": signature_name, "inputs": inputs}


def rest_body_json(*args, **kwargs) -> str:
    return json.dumps(rest_body(*args, **kwargs), separators=(",", ":"))


def predict_request(model_name: str, context: np.ndarray, num_samples: int, horizon: int, dt: float, seed: int,
                    signature_name: str = "serving_default", version: int | None = None,
                    actions: np.ndarray | None = None):
    """A tensorflow_serving.apis.predict_pb2.PredictRequest for the predict signature (with `actions`
    [B, >= T - 1 + horizon, A] for an action-conditioned export)."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    values = {"context": np.asarray(context, np.float32), "num_samples": np.int32(num_samples),
              "horizon": np.int32(horizon), "dt": np.float32(dt), "seed": np.int32(seed)}
    if actions is not None:
        values[ACTIONS] = np.asarray(actions, np.float32)
    for name, value in values.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request
