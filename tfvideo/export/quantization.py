"""Full-integer int8 TFLite (`--quantize=int8`): int8 convolutions, float latent dynamics, or an error.

Post-training quantization calibrated on a representative set (`tfvideo.export.calibration`): the converter
records the float ranges of every tensor on it (`_experimental_calibrate_only`), then the MLIR quantizer writes
int8 kernels (per-channel weights, int8 activations) for the ops in `INT8_OPS` only, every other op being
denylisted (`float_ops()`):

- CONV_2D, TRANSPOSE_CONV, LEAKY_RELU, RESHAPE (the frame encoder and decoder, almost all of the compute): int8.
- Everything else stays float32: the latent networks (FULLY_CONNECTED of q(y_1), content, the q(z) LSTM, p(z | y)
  and f, with their gates, TANH, LOGISTIC), the reparameterised samples (loc + scale * noise, EXP of log-scales),
  the Euler steps y + dt f(y, z), and the seeded noise (int32 hashing, then LOG, SQRT, COS of uniforms). Their
  tensors are a few dozen numbers per row; in int8 their rounding would be carried along the whole latent
  trajectory, and the Box-Muller transform would no longer give normal noise.

The converter's own fallback would keep an op in float silently; `convert_int8` instead checks the result and
raises ExportError when no convolution got an int8 kernel, naming the converter's failure when there is one.
The quantizer entry point (`tensorflow.lite.python.convert.mlir_quantize`) is the one
`tf.lite.experimental.QuantizationDebugger` uses for its denylists.
"""

from __future__ import annotations

import collections

import tensorflow as tf
from tensorflow.lite.python import convert as tflite_convert
from tensorflow.lite.python import schema_py_generated as tflite_schema

from tfvideo.export.errors import ExportError

# The convolutions, which must get int8 kernels (else the conversion fails), with the index of their activation
# input; and the other ops allowed in int8.
INT8_OPS = {"CONV_2D": 0, "TRANSPOSE_CONV": 2}
INT8_ALLOWED = (*INT8_OPS, "LEAKY_RELU", "RESHAPE")


def float_ops() -> list[str]:
    """Every TFLite builtin op name but INT8_ALLOWED: the quantizer's denylist."""
    return [name for name in dir(tflite_schema.BuiltinOperator) if name.isupper() and name not in INT8_ALLOWED]


def convert_int8(converter: tf.lite.TFLiteConverter, representative, denylist: list[str] | None = None) -> bytes:
    """int8 flatbuffer of `converter`'s model calibrated on `representative` (a generator function of
    (signature name, {input: array}) pairs), the ops of `denylist` (default: `float_ops()`) kept in float32;
    ExportError when it cannot be done."""
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
                                            denylisted_ops=float_ops() if denylist is None else denylist)
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
