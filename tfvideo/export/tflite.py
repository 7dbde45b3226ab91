"""TFLite export (builtin ops only: LiteRT has no Flex delegate) and a small LiteRT runner.

The TFLite file has one signature, `serving_default`, with the inputs and output of the SavedModel's
(`context` float32 [B, T, H, W, C], `num_samples`, `dt`, `horizon`, `seed` -> `frames`); the frame size is
fixed in its input shape ([-1, -1, H, W, C]). TFLite drops Assert ops, so the file does not validate its
inputs: `TFLiteModel` checks them on the host first (`checks.check_inputs`), with the limits written in
the metadata file beside the model (`<file>.tflite.json`).

Conversion route: the predict endpoint is written with `keras.export.ExportArchive` to a temporary SavedModel
and converted with `TFLiteConverter.from_saved_model`. Converting the tf.function directly
(`from_concrete_functions(..., trackable_obj=model)`) keeps the weights read inside while loops as
READ_VARIABLE ops without values ("variable != nullptr" at run time), and freezing it by hand first
(`convert_variables_to_constants_v2`) loses the while loops' shape invariants.
"""

from __future__ import annotations

import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfvideo.export import checks, signatures
from tfvideo.export.errors import ExportError
from tfvideo.utils import files

QUANTIZATIONS = ("none", "float16", "dynamic")
SIGNATURE = "serving_default"


def variant_name(quantize: str) -> str:
    """File-name tag of a variant: float32 (no quantization), float16, dynamic (dynamic-range int8 weights)."""
    return {"none": "float32", "float16": "float16", "dynamic": "dynamic"}[quantize]


def convert(model, quantize: str = "none") -> bytes:
    """The TFLite flatbuffer of `model`'s predict function, TFLITE_BUILTINS only."""
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}; got {quantize!r}.")
    endpoint = signatures.predict_endpoint(model, validate=False, static_frames=True)
    with tempfile.TemporaryDirectory(prefix="tfvideo_tflite_") as tmp:
        archive = keras.export.ExportArchive()
        archive.add_endpoint(SIGNATURE, endpoint.fn, endpoint.input_signature)
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        try:
            return converter.convert()
        except Exception as error:  # ConverterError lists the ops that need Flex
            raise ExportError(f"TFLite conversion with builtin ops only failed: {error}") from None


def export_tflite(model, path: str, quantize: str = "none", metadata: dict | None = None,
                  overwrite: bool = False) -> str:
    """Writes `path` (.tflite) and its metadata `path + ".json"`; refuses to replace files unless `overwrite`."""
    meta_path = metadata_path(path)
    if not overwrite:
        for existing in (path, meta_path):
            if os.path.exists(existing):
                raise ExportError(f"{existing} already exists; pass --overwrite to replace it, or choose another "
                                  "--export_dir or --model_name.")
    data = convert(model, quantize)
    endpoint = signatures.predict_endpoint(model, validate=False, static_frames=True)
    meta = dict(metadata or {})
    meta.update(quantize=quantize, signature=SIGNATURE,
                inputs={s.name: {"dtype": s.dtype.name, "shape": [d if d is not None else -1 for d in s.shape]}
                        for s in endpoint.input_signature},
                outputs=endpoint.outputs, validates_inputs=False)
    files.atomic_write(meta_path, json.dumps(meta, indent=2, sort_keys=True))
    files.atomic_write(path, data)
    return path


def metadata_path(path: str) -> str:
    return path + ".json"


class TFLiteModel:
    """A .tflite export in the LiteRT interpreter (`ai_edge_litert`), with host-side input checks.

    `model(context, num_samples, dt, horizon, seed)` -> frames [B, S, horizon * k, H, W, C]. The interpreter
    resizes its dynamic inputs on every call, so one instance serves any batch size, context length, sample
    count, dt and horizon.
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
        self.metadata = {}
        if os.path.exists(metadata_path(path)):
            with open(metadata_path(path)) as handle:
                self.metadata = json.load(handle)
        shape = self.runner.get_input_details()["context"]["shape_signature"]
        self.image_size, self.channels = int(shape[2]), int(shape[4])
        self.min_context_frames = int(self.metadata.get("min_context_frames", 1))
        self.dt_supported = bool(self.metadata.get("dt_supported", True))

    def __call__(self, context, num_samples: int = 1, dt: float = 1.0, horizon: int = 10, seed: int = 0
                 ) -> np.ndarray:
        if self.check:
            inputs = checks.check_inputs(context, num_samples, dt, horizon, seed, image_size=self.image_size,
                                             channels=self.channels, min_context_frames=self.min_context_frames,
                                             dt_supported=self.dt_supported)
        else:
            inputs = {"context": np.asarray(context, np.float32), "num_samples": np.int32(num_samples),
                      "dt": np.float32(dt), "horizon": np.int32(horizon), "seed": np.int32(seed)}
        return self.runner(**inputs)[signatures.FRAMES]
