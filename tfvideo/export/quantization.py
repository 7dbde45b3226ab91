"""Full-integer int8 TFLite (`--quantize=int8`): int8 convolutions, float latent dynamics, or an error.

Post-training quantization calibrated on a representative set (`tfvideo.export.calibration`): the converter
records the float ranges of every tensor on it (`_experimental_calibrate_only`), then the MLIR quantizer writes
int8 kernels (per-channel weights, int8 activations) for every op with one, except the ops in `FLOAT_OPS`:

- CONV_2D, TRANSPOSE_CONV (the frame encoder and decoder, almost all of the compute): int8.
- FULLY_CONNECTED (the latent networks: q(y_1), content, the q(z) LSTM, p(z | y) and the dynamics f): float32.
  Their inputs are a few dozen numbers per row and they run once per Euler step; in int8 the rounding of the
  latent state is carried along the whole trajectory (measured in docs/export.md).
- The seeded noise (int32 hashing, LOG, COS, SQRT) has no int8 form and stays as it is.

The converter's own fallback would keep an op in float silently; `convert_int8` instead checks the result and
raises ExportError when no convolution got an int8 kernel, naming the converter's failure when there is one.
The quantizer entry point (`tensorflow.lite.python.convert.mlir_quantize`) is the one
`tf.lite.experimental.QuantizationDebugger` uses for its denylists.
"""

from __future__ import annotations

import collections

import tensorflow as tf
from tensorflow.lite.python import convert as tflite_convert

from tfvideo.export.errors import ExportError

FLOAT_OPS = ("FULLY_CONNECTED",)
# The ops that must get int8 kernels, else the conversion fails, with the index of their activation input.
INT8_OPS = {"CONV_2D": 0, "TRANSPOSE_CONV": 2}


def convert_int8(converter: tf.lite.TFLiteConverter, representative, float_ops=FLOAT_OPS) -> bytes:
    """int8 flatbuffer of `converter`'s model calibrated on `representative` (a generator function of
    (signature name, {input: array}) pairs), `float_ops` kept in float32; ExportError when it cannot be done."""
    if representative is None:
        raise ExportError("--quantize=int8 needs calibration data: the export draws --calibration_videos training "
                          "videos from the run's dataset.")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    converter._experimental_calibrate_only = True  # pylint: disable=protected-access
    try:
        calibrated = converter.convert()
        data = tflite_convert.mlir_quantize(calibrated, disable_per_channel=False, fully_quantize=False,
                                            denylisted_ops=list(float_ops))
    except Exception as error:  # pylint: disable=broad-except  (converter and quantizer errors have many types)
        raise ExportError(f"int8 quantization failed, no file written: {error}") from None
    counts = int8_op_counts(data)
    missing = [op for op in INT8_OPS if counts.get(op, (0, 0))[0] and not counts[op][1]]
    if not any(counts.get(op, (0, 0))[1] for op in INT8_OPS) or missing:
        raise ExportError(f"int8 quantization left the convolutions in float ({_describe(counts)}); no file written. "
                          "Export float32 or float16 instead.")
    return bytes(data)


def int8_op_counts(data: bytes) -> dict[str, tuple[int, int]]:
    """{op name: (how many, how many with an int8 activation input)} over the ops of a flatbuffer (the activation
    input: INT8_OPS' index, else the first)."""
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_content=data)
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    counts = collections.defaultdict(lambda: [0, 0])
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        entry = counts[op["op_name"]]
        entry[0] += 1
        position = INT8_OPS.get(op["op_name"], 0)
        inputs = list(op["inputs"])
        if len(inputs) > position and tensors.get(inputs[position]) == tf.int8.as_numpy_dtype:
            entry[1] += 1
    return {name: tuple(value) for name, value in counts.items()}


def _describe(counts: dict) -> str:
    return ", ".join(f"{op}: {counts.get(op, (0, 0))[1]} of {counts.get(op, (0, 0))[0]} int8" for op in INT8_OPS)
