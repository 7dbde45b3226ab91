"""Helpers of the client scripts in `export/` (LiteRT runner, REST body, gRPC client): reading context
frames, building requests, writing sampled futures as GIF. numpy only, except `predict_request`
(tensorflow-serving-api and TensorFlow's TensorProto)."""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image

from tfvideo.utils import video_io

PREDICT_INPUTS = ("context", "num_samples", "dt", "horizon", "seed")


def read_context(path: str, image_size: int, channels: int, num_frames: int | None = None) -> np.ndarray:
    """Context videos float32 [B, T, H, W, C] in [0, 1] from a .npy or a .gif file.

    .npy: [T, H, W, C] or [B, T, H, W, C], float in [0, 1] or uint8 (divided by 255).
    .gif: one video; frames converted to the model's channels (grey or RGB) and resized to its frame size.
    num_frames: keep the first `num_frames` frames (the context); None keeps them all.
    """
    if not os.path.exists(path):
        raise ValueError(f"No context file at {path!r}.")
    if path.lower().endswith(".npy"):
        frames = np.load(path)
        if frames.ndim == 4:
            frames = frames[None]
        if frames.ndim != 5:
            raise ValueError(f"{path}: expected frames [T, H, W, C] or [B, T, H, W, C]; got shape {frames.shape}.")
        frames = frames.astype(np.float32) / 255.0 if frames.dtype == np.uint8 else frames.astype(np.float32)
    elif path.lower().endswith(".gif"):
        rgb = video_io.read_gif(path)  # uint8 [T, H, W, 3]
        mode = "L" if channels == 1 else "RGB"
        resized = [np.asarray(Image.fromarray(frame).convert(mode).resize((image_size, image_size),
                                                                          Image.BILINEAR)) for frame in rgb]
        frames = np.stack(resized).astype(np.float32) / 255.0
        frames = frames[..., None] if channels == 1 else frames
        frames = frames[None]
    else:
        raise ValueError(f"{path}: context files must be .npy or .gif.")
    if num_frames is not None:
        if frames.shape[1] < num_frames:
            raise ValueError(f"{path} has {frames.shape[1]} frames; {num_frames} context frames were asked for.")
        frames = frames[:, :num_frames]
    return frames


def write_samples_gif(path: str, context: np.ndarray, frames: np.ndarray, fps: float = 4.0) -> str:
    """GIF of context (green) then sampled futures (red): rows are videos, columns samples."""
    return video_io.write_gif(path, video_io.comparison_frames(context, None, frames), fps=fps)


def rest_body(context: np.ndarray, num_samples: int, dt: float, horizon: int, seed: int,
              signature_name: str = "serving_default") -> dict:
    """TF Serving REST predict body in the columnar form: scalar inputs have no batch dimension, so the row
    form (`instances`) cannot carry them."""
    return {"signature_name": signature_name,
            "inputs": {"context": np.asarray(context, np.float32).tolist(), "num_samples": int(num_samples),
                       "dt": float(dt), "horizon": int(horizon), "seed": int(seed)}}


def rest_body_json(*args, **kwargs) -> str:
    return json.dumps(rest_body(*args, **kwargs), separators=(",", ":"))


def predict_request(model_name: str, context: np.ndarray, num_samples: int, dt: float, horizon: int, seed: int,
                    signature_name: str = "serving_default", version: int | None = None):
    """A tensorflow_serving.apis.predict_pb2.PredictRequest for the predict signature."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    values = {"context": np.asarray(context, np.float32), "num_samples": np.int32(num_samples),
              "dt": np.float32(dt), "horizon": np.int32(horizon), "seed": np.int32(seed)}
    for name, value in values.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request
