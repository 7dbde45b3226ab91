"""TFLite export (builtin ops only: LiteRT has no Flex delegate) and a small LiteRT runner.

The TFLite file has the signature `serving_default`, with the inputs and output of the SavedModel's
(`context` float32 [B, T, H, W, C], `num_samples`, `horizon`, `dt`, `seed`, and `actions` [B, >= T - 1 + horizon,
A] for an action-conditioned model -> `frames`; the frame size is fixed in its input shape, [-1, -1, H, W, C])
and, for a model that streams, `stream_start` and `stream_next` (`signatures.stream_endpoints`). A fixed-shape
file (`static_shape`) bakes the request in instead. TFLite drops Assert ops, so the file does not validate its
inputs: `TFLiteModel` checks them on the host first (`checks.check_inputs`), with the limits written in
the metadata file beside the model (`<file>.tflite.json`).

Conversion route: the predict endpoint is written with `keras.export.ExportArchive` to a temporary SavedModel
and converted with `TFLiteConverter.from_saved_model`. Converting the tf.function directly
(`from_concrete_functions(..., trackable_obj=model)`) keeps the weights read inside while loops as
READ_VARIABLE ops without values ("variable != nullptr" at run time), and freezing it by hand first
(`convert_variables_to_constants_v2`) loses the while loops' shape invariants.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfvideo import validation
from tfvideo.export import checks, signatures
from tfvideo.export import quantization
from tfvideo.export import static_shape as static_shape_lib
from tfvideo.export.errors import ExportError
from tfvideo.perf import conv_ops
from tfvideo.utils import files

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
SIGNATURE = signatures.SERVING_DEFAULT


def variant_name(quantize: str, static_shape: static_shape_lib.StaticShape | None = None) -> str:
    """File-name tag of a variant: float32 (no quantization), float16, dynamic (dynamic-range int8 weights), int8
    (full-integer), with the baked shape's tag for a fixed-shape file (e.g. float32_1x10x10)."""
    name = {"none": "float32", "float16": "float16", "dynamic": "dynamic", "int8": "int8"}[quantize]
    return name if static_shape is None else f"{name}_{static_shape.tag}"


def tflite_endpoints(model, static_shape: static_shape_lib.StaticShape | None = None) -> list[signatures.Endpoint]:
    """The signatures of a TFLite file: `serving_default` (predict, without in-graph checks) and, when the model
    streams, `stream_start` and `stream_next`; of fixed shapes with `static_shape`."""
    if static_shape is not None:
        return static_shape_lib.endpoints(model, static_shape)
    predict = signatures.predict_endpoint(model, validate=False, static_frames=True)
    return [dataclasses.replace(predict, name=SIGNATURE),
            *signatures.stream_endpoints(model, validate=False, static_frames=True)]


def convert(model, quantize: str = "none", static_shape: static_shape_lib.StaticShape | None = None,
            representative=None) -> bytes:
    """The TFLite flatbuffer of `tflite_endpoints(model, static_shape)`, TFLITE_BUILTINS only.

    quantize="int8" needs `representative` (`calibration.representative_dataset`): full-integer quantization of
    the convolutions, the rest in float (`tfvideo.export.quantization`).
    """
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}; got {quantize!r}.")
    endpoints = tflite_endpoints(model, static_shape)
    with tempfile.TemporaryDirectory(prefix="tfvideo_tflite_") as tmp:
        with conv_ops.edge_forward():  # transposed convolutions in ops XNNPACK runs fast (same math)
            archive = keras.export.ExportArchive()
            for endpoint in endpoints:
                archive.add_endpoint(endpoint.name, endpoint.fn, endpoint.input_signature)
            archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[e.name for e in endpoints])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quantize == "int8":
            return quantization.convert_int8(converter, representative)
        try:
            return converter.convert()
        except Exception as error:  # ConverterError lists the ops that need Flex
            raise ExportError(f"TFLite conversion with builtin ops only failed: {error}") from None


def export_tflite(model, path: str, quantize: str = "none", metadata: dict | None = None, overwrite: bool = False,
                  static_shape: static_shape_lib.StaticShape | None = None, representative=None) -> str:
    """Writes `path` (.tflite) and its metadata `path + ".json"`; refuses to replace files unless `overwrite`."""
    meta_path = metadata_path(path)
    if not overwrite:
        for existing in (path, meta_path):
            if os.path.exists(existing):
                raise ExportError(f"{existing} already exists; pass --overwrite to replace it, or choose another "
                                  "--export_dir or --model_name.")
    data = convert(model, quantize, static_shape, representative)
    meta = dict(metadata or {})
    meta.update(quantize=quantize, signature=SIGNATURE, validates_inputs=False,
                static_shape=None if static_shape is None else static_shape.to_json(),
                signatures={e.name: {"inputs": {s.name: {"dtype": s.dtype.name, "shape": _shape(s.shape)}
                                                for s in e.input_signature}, "outputs": e.outputs}
                            for e in tflite_endpoints(model, static_shape)})
    meta.update(meta["signatures"][SIGNATURE])  # "inputs" and "outputs" of serving_default at the top level
    files.atomic_write(meta_path, json.dumps(meta, indent=2, sort_keys=True))
    files.atomic_write(path, data)
    return path


def _shape(shape) -> list:
    return [d if d is not None else -1 for d in shape]


def metadata_path(path: str) -> str:
    return path + ".json"


def read_metadata(path: str) -> dict:
    """The metadata next to the .tflite file `path` ({} when there is none); ExportError when it is not a JSON
    object."""
    if not os.path.exists(metadata_path(path)):
        return {}
    try:
        with open(metadata_path(path)) as handle:
            metadata = json.load(handle)
    except (OSError, ValueError) as error:
        raise ExportError(f"Cannot read the metadata {metadata_path(path)} of {path} ({error}); export the file "
                          "again, or remove the metadata file.") from None
    if not isinstance(metadata, dict):
        raise ExportError(f"The metadata {metadata_path(path)} of {path} holds a JSON {type(metadata).__name__}, "
                          "not an object; export the file again, or remove the metadata file.")
    return metadata


class TFLiteModel:
    """A .tflite export in the LiteRT interpreter (`ai_edge_litert`), with host-side input checks.

    `model(context, num_samples, horizon, dt, seed, actions=None)` -> frames [B, S, horizon * k, H, W, C]; actions
    [B, >= T - 1 + horizon, A] for (and only for) an action-conditioned model's file (metadata "action_size").
    A dynamic-shape file
    resizes its inputs on every call: one instance serves any batch size, context length, sample count, dt and
    horizon. A fixed-shape file (metadata "static_shape") answers its baked request only (None picks the baked
    num_samples, dt and horizon) and refuses others with a ValueError naming both shapes. Files with streaming
    signatures also give the frames one at a time: `stream(context, num_samples, horizon, dt, seed)`.
    """

    def __init__(self, path: str, num_threads: int | None = None, check: bool = True):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # pragma: no cover - depends on the environment
            raise ExportError("Running TFLite files needs the LiteRT runtime: pip install ai-edge-litert "
                              "(or pip install -e .[export]).") from None
        if not os.path.exists(path):
            raise ExportError(f"No TFLite file at {path!r}.")
        self.path = path
        self.interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        self.check = check
        self.metadata = read_metadata(path)
        shape = self.runner.get_input_details()["context"]["shape_signature"]
        self.image_size, self.channels = int(shape[2]), int(shape[4])
        self.min_context_frames = int(self.metadata.get("min_context_frames", 1))
        self.dt_supported = bool(self.metadata.get("dt_supported", True))
        self.action_size = int(self.metadata.get("action_size", 0))  # 0: the model takes no actions
        self.static_shape = self.metadata.get("static_shape")  # dict of StaticShape fields, or None
        self.streams = signatures.STREAM_START in self.interpreter.get_signature_list()

    def request(self, num_samples=None, horizon=None, dt=None) -> dict:
        """The request's num_samples, horizon and dt; None picks the baked value of a fixed-shape file, else 1, 10
        and 1.0."""
        baked = self.static_shape or {"num_samples": 1, "horizon": 10, "dt": 1.0}
        return {"num_samples": baked["num_samples"] if num_samples is None else num_samples,
                "horizon": baked["horizon"] if horizon is None else horizon, "dt": baked["dt"] if dt is None else dt}

    def inputs(self, context, num_samples=None, horizon=None, dt=None, seed=0, actions=None) -> dict[str, np.ndarray]:
        """The arrays `serving_default` takes, after the host checks (`checks.check_inputs`) and, for a fixed-shape
        file, the shape check (`static_shape.check_request`); ValueError naming the bad input."""
        request = self.request(num_samples, horizon, dt)
        if self.check:
            inputs = checks.check_inputs(context, **request, seed=seed, image_size=self.image_size,
                                         channels=self.channels, min_context_frames=self.min_context_frames,
                                         dt_supported=self.dt_supported, actions=actions,
                                         action_size=self.action_size)
        else:
            inputs = {"context": np.asarray(context, np.float32), "num_samples": np.int32(request["num_samples"]),
                      "dt": np.float32(request["dt"]), "horizon": np.int32(request["horizon"]),
                      "seed": np.int32(seed), **({} if actions is None else {"actions": np.asarray(actions,
                                                                                                     np.float32)})}
        if self.static_shape is not None:
            static_shape_lib.check_request(self.static_shape, np.shape(inputs["context"]), **request)
            fixed = {"context": inputs["context"], "seed": inputs["seed"]}
            if "actions" in inputs:  # exactly the actions the baked request reads
                fixed["actions"] = inputs["actions"][:, :np.shape(inputs["context"])[1] - 1 + request["horizon"]]
            inputs = fixed
        return inputs

    def __call__(self, context, num_samples=None, horizon=None, dt=None, seed: int = 0, actions=None) -> np.ndarray:
        return self.runner(**self.inputs(context, num_samples, horizon, dt, seed, actions))[signatures.FRAMES]

    def stream_start(self, context, num_samples=None, horizon=None, dt=None, seed: int = 0,
                     actions=None) -> dict[str, np.ndarray]:
        """The `stream_start` state (nothing decoded yet); inputs as `__call__`'s (an action-conditioned file's
        actions checked for `horizon`, and its context's T - 1 fed)."""
        if not self.streams:
            raise ExportError(f"{self.path} has no streaming signatures (the model has no streaming_functions).")
        inputs = self.inputs(context, num_samples, horizon, dt, seed, actions)
        inputs.pop("horizon", None)
        if "actions" in inputs:
            inputs["actions"] = inputs["actions"][:, :np.shape(inputs["context"])[1] - 1]
        return self.interpreter.get_signature_runner(signatures.STREAM_START)(**inputs)

    def stream_next(self, state: dict, action=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(the next frame [B, S, H, W, C], the state after it); `action` [B, A] of the frame stepped into for an
        action-conditioned file."""
        extra = {} if action is None else {"action": np.asarray(action, np.float32)}
        out = dict(self.interpreter.get_signature_runner(signatures.STREAM_NEXT)(**state, **extra))
        return out.pop(signatures.FRAME), out

    def stream(self, context, num_samples=None, horizon=None, dt=None, seed: int = 0, actions=None):
        """Yields the horizon * k frames [B, S, H, W, C] of `__call__` one at a time."""
        request = self.request(num_samples, horizon, dt)
        self.inputs(context, **request, seed=seed, actions=actions)  # the checks of the whole request
        state = self.stream_start(context, **request, seed=seed, actions=actions)
        k, first = validation.steps_per_frame(request["dt"]), np.shape(context)[1] - 1
        for step in range(request["horizon"] * k):
            action = None if actions is None else np.asarray(actions)[:, first + step // k]
            frame, state = self.stream_next(state, action)
            yield frame
