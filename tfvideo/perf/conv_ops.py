"""Keras convolution layers whose kernel gradient can be one matrix product: same math, faster on some CPUs.

oneDNN's bfloat16 weight-gradient convolutions are slow on CPUs with AVX-512 BF16 but no AMX for small feature
maps: the DCGAN encoder's 8x8 -> 4x4 convolution (256 -> 512 channels, batch 240 frames) takes about 4 times
longer than the same FLOPs as a matrix product (measured in the A/B runs of tfvideo/benchmarks/models_lib.py).
`Conv2D` and `Conv2DTranspose` below are Keras' layers (same variables, forward op and input gradient) whose
kernel gradient can instead be computed as im2col + one GEMM:

    dW[kh, kw, c_in, c_out] = patches(x)^T @ dy      patches(x): [N * out_h * out_w, kh * kw * c_in]

Layers that are one matrix product whatever their form, a Conv2D whose kernel covers its whole input map (the
encoders' 4x4 'VALID' heads) and a Conv2DTranspose from a 1x1 map (the DCGAN decoders' stem), compute it as a MatMul
in training, forward and backward (oneDNN runs their convolution forms at 11-29 GFLOP/s, the MatMul near the GEMM
rate). Inference passes (`edge_forward`) keep a convolution: its result for a frame does not depend on how many frames
share the call, which a GEMM's blocking does not promise (a 2,000-row and a 4,000-row MatMul rounded the same frame
differently under oneDNN's AVX2 kernels), so every road (Python, evaluate, SavedModel) samples the same futures
exactly; and int8 LiteRT files quantize it with the other convolutions.

`kernel_grad` selects it per layer: "native" (Keras' own op and gradient; the default, the graph is unchanged)
or "gemm". `set_kernel_grad(model, mode)` sets every such layer of a model; mode "auto" picks "gemm" where it
was measured faster: layers computing in 16 bits (mixed precision) whose output map has at most
`AUTO_MAX_POSITIONS` positions, when no GPU is visible.
"""

from __future__ import annotations

import contextlib
import threading

import keras
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.perf import flops

KERNEL_GRADS = config_lib.KERNEL_GRADS
AUTO_MAX_POSITIONS = 64  # output maps up to 8x8: the 16 -> 8, 8 -> 4 and 4 -> 1 convolutions of the DCGAN nets


def kernel_gradient(inputs, out_backprop, kernel_size, strides, padding: str):
    """Kernel gradient of `conv2d(inputs, W, strides, padding)` as one GEMM (same result as TF's
    Conv2DBackpropFilter up to rounding).

    inputs [N, H, W, C_in], out_backprop [N, h, w, C_out] -> [kh, kw, C_in, C_out].
    """
    kh, kw = kernel_size
    c_in, c_out = inputs.shape[-1], out_backprop.shape[-1]
    blocked = (kh, kw) == (4, 4) and tuple(strides) == (2, 2) and padding == "SAME" and _even(inputs)
    if padding == "VALID" and tuple(inputs.shape[1:3]) == (kh, kw):  # one output position: x is the patch
        cols = tf.reshape(inputs, [-1, kh * kw * c_in])
    elif blocked:
        cols = _space_to_depth_patches(inputs)
    else:
        cols = tf.image.extract_patches(inputs, sizes=[1, kh, kw, 1], strides=[1, *strides, 1], rates=[1, 1, 1, 1],
                                        padding=padding)
        cols = tf.reshape(cols, [-1, kh * kw * c_in])
    grad = tf.matmul(cols, tf.reshape(out_backprop, [-1, c_out]), transpose_a=True)  # [kh * kw * C_in, C_out]
    if blocked:  # feature order (p, q, a, b, c) -> kernel row 2p + a, column 2q + b
        grad = tf.transpose(tf.reshape(grad, [2, 2, 2, 2, c_in, c_out]), [0, 2, 1, 3, 4, 5])
    return tf.reshape(grad, [kh, kw, c_in, c_out])


def _even(x) -> bool:
    return x.shape[1] is not None and x.shape[2] is not None and x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0


def _space_to_depth_patches(x):
    """Patches of a 4x4 stride-2 'SAME' convolution, [N * H/2 * W/2, 16 C], via pad + space_to_depth.

    Output (i, j) reads padded rows 2i..2i+3 = 2x2 blocks (i + p, j + q), p, q in {0, 1}; feature order
    (p, q, a, b, c) with kernel row 2p + a and column 2q + b (reordered by `kernel_gradient`).
    """
    c = x.shape[-1]
    h, w = x.shape[1] // 2, x.shape[2] // 2
    blocks = tf.nn.space_to_depth(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 2)  # [N, h + 1, w + 1, 4C]
    cols = tf.concat([blocks[:, p:p + h, q:q + w] for p in (0, 1) for q in (0, 1)], axis=-1)
    return tf.reshape(cols, [-1, 16 * c])


def _positions(shape):
    """height * width of a [N, H, W, C] shape, None when unknown."""
    return None if shape[1] is None or shape[2] is None else int(shape[1]) * int(shape[2])


def _gemm_supported(layer) -> bool:
    return (layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)
            and getattr(layer, "groups", 1) == 1 and layer.rank == 2)


def _whole_map_conv(layer, input_shape) -> bool:
    """A Conv2D whose single output position reads the whole input map ('VALID', kernel = map size: the encoders'
    heads): one matrix product [N, kh * kw * C_in] @ [kh * kw * C_in, C_out]."""
    return (_gemm_supported(layer) and layer.padding == "valid"
            and tuple(input_shape[1:3]) == tuple(layer.kernel_size))


def _one_position_transpose(layer, input_shape) -> bool:
    """A Conv2DTranspose from a 1x1 map, 'VALID', stride 1 (the DCGAN decoders' stem): one matrix product."""
    return (_gemm_supported(layer) and layer.padding == "valid" and tuple(input_shape[1:3]) == (1, 1)
            and tuple(layer.strides) == (1, 1) and layer.output_padding is None)


@keras.saving.register_keras_serializable(package="tfvideo")
class Conv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D with an optional GEMM kernel gradient (`kernel_grad`, see the module docstring)."""

    def __init__(self, *args, kernel_grad: str = "native", **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_grad = kernel_grad

    def convolution_op(self, inputs, kernel):
        output_shape = self.compute_output_shape(inputs.shape)
        self.gemm_positions = _positions(output_shape)  # output map size
        flops.record(kernel.shape, flops.batch_positions(output_shape))
        if _whole_map_conv(self, inputs.shape) and not getattr(_EDGE, "active", False):  # training passes
            return whole_map_product(inputs, kernel)
        if self.kernel_grad != "gemm" or not _gemm_supported(self):
            return super().convolution_op(inputs, kernel)
        strides, padding = tuple(self.strides), self.padding.upper()
        kernel_size = tuple(self.kernel_size)

        @tf.custom_gradient
        def conv(x, w):
            def grad(dy):
                dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=w, out_backprop=dy,
                                                    strides=[1, *strides, 1], padding=padding)
                return dx, kernel_gradient(x, dy, kernel_size, strides, padding)
            return tf.nn.conv2d(x, w, [1, *strides, 1], padding), grad

        return conv(tf.convert_to_tensor(inputs), tf.identity(keras.ops.convert_to_tensor(kernel)))  # read outside

    def get_config(self):
        return {**super().get_config(), "kernel_grad": self.kernel_grad}


@keras.saving.register_keras_serializable(package="tfvideo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose with an optional GEMM kernel gradient (see the module docstring)."""

    def __init__(self, *args, kernel_grad: str = "native", **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_grad = kernel_grad

    def call(self, inputs):
        self.gemm_positions = _positions(inputs.shape)  # the input map: the output of the convolution it inverts
        flops.record(self.kernel.shape, flops.batch_positions(inputs.shape))
        edge = getattr(_EDGE, "active", False)
        if (edge or _one_position_transpose(self, inputs.shape)) and self.output_padding is None:
            x, kernel = tf.convert_to_tensor(inputs), keras.ops.convert_to_tensor(self.kernel)
            outputs = (edge_conv_transpose(x, kernel, tuple(self.strides), self.padding.upper()) if edge
                       else one_position_product(x, kernel))
            if outputs is not None:
                if self.use_bias:
                    outputs = outputs + keras.ops.cast(self.bias, outputs.dtype)
                return self.activation(outputs) if self.activation is not None else outputs
        if self.kernel_grad != "gemm" or not _gemm_supported(self) or self.output_padding is not None:
            return super().call(inputs)
        strides, padding = tuple(self.strides), self.padding.upper()
        kernel_size = tuple(self.kernel_size)

        @tf.custom_gradient
        def conv_transpose(x, w):
            y = keras.ops.conv_transpose(x, w, strides=list(strides), padding=self.padding)

            def grad(dy):
                dx = tf.nn.conv2d(dy, w, [1, *strides, 1], padding)
                # conv_transpose(x, W) is the input gradient of conv2d(., W): its kernel gradient swaps roles.
                return dx, kernel_gradient(dy, x, kernel_size, strides, padding)
            return y, grad

        kernel = tf.identity(keras.ops.convert_to_tensor(self.kernel))  # read outside the custom gradient
        outputs = conv_transpose(tf.convert_to_tensor(inputs), kernel)
        if self.use_bias:
            outputs = outputs + keras.ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self):
        return {**super().get_config(), "kernel_grad": self.kernel_grad}


def resolve_kernel_grad(layer, mode: str) -> str:
    """"native" or "gemm" for `layer` under `mode` (auto: see the module docstring)."""
    if mode not in KERNEL_GRADS:
        raise ValueError(f"Unknown kernel_grad {mode!r}; expected one of: {', '.join(KERNEL_GRADS)}.")
    if mode != "auto":
        return mode
    sixteen_bit = layer.compute_dtype in ("bfloat16", "float16")
    positions = getattr(layer, "gemm_positions", None)  # recorded by the layer's first call
    small = positions is not None and positions <= AUTO_MAX_POSITIONS
    return "gemm" if sixteen_bit and small and not tf.config.list_logical_devices("GPU") else "native"


def set_kernel_grad(model: keras.layers.Layer, mode: str) -> dict[str, int]:
    """Sets `kernel_grad` on every Conv2D / Conv2DTranspose of this module inside `model`.

    The model must have been built (called once), so that the output size of each layer is known for "auto".
    Returns {"gemm": n, "native": m} layer counts. Set it before tracing the training step.
    """
    counts = {"gemm": 0, "native": 0}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, (Conv2D, Conv2DTranspose)):
            layer.kernel_grad = resolve_kernel_grad(layer, mode)
            counts[layer.kernel_grad] += 1
    return counts


# --------------------------------------------------------------------------------------- edge forward pass

_EDGE = threading.local()
SUBPIXEL_MAX_CHANNELS = 4
# Kernel row of a 4x4 stride-2 'SAME' transposed convolution for output phase r and input row u - 1 + d (d = 0, 1,
# 2) of the equivalent 3x3 convolution; None: no tap.
_SUBPIXEL_TAPS = {0: (3, 1, None), 1: (None, 2, 0)}


@contextlib.contextmanager
def edge_forward(active: bool = True):
    """Within this context (when `active`), `Conv2DTranspose` computes its forward pass with the rewrites of
    `edge_conv_transpose`: same math, float rounding aside. Every inference pass of the networks runs in it
    (`networks._apply` with training=False: sampling, evaluation, serving and TFLite exports alike), because
    LiteRT's XNNPACK and TensorFlow's CPU kernels both run the rewritten ops faster; training keeps Keras' own op
    and its (optionally GEMM) kernel gradient, and the whole-map layers' MatMuls (module docstring)."""
    previous = getattr(_EDGE, "active", False)
    _EDGE.active = previous or bool(active)
    try:
        yield
    finally:
        _EDGE.active = previous


def whole_map_product(x, kernel):
    """conv2d(x [N, kh, kw, C_in], kernel [kh, kw, C_in, C_out]) 'VALID' (one output position) as one MatMul:
    [N, kh * kw * C_in] @ [kh * kw * C_in, C_out] reshaped to [N, 1, 1, C_out] (the encoders' heads in training)."""
    kh, kw, c_in, c_out = kernel.shape
    return tf.reshape(tf.matmul(tf.reshape(x, [-1, kh * kw * c_in]), tf.reshape(kernel, [-1, c_out])),
                      [-1, 1, 1, c_out])


def one_position_product(x, kernel):
    """conv_transpose(x [N, 1, 1, C_in], kernel [kh, kw, C_out, C_in]) 'VALID', stride 1, as one MatMul:
    [N, C_in] @ [C_in, kh * kw * C_out] reshaped to [N, kh, kw, C_out] (the decoders' stem in training)."""
    kh, kw, c_out, c_in = kernel.shape
    weights = tf.reshape(tf.transpose(kernel, [3, 0, 1, 2]), [c_in, kh * kw * c_out])
    return tf.reshape(tf.matmul(tf.reshape(x, [-1, c_in]), weights), [-1, kh, kw, c_out])


def edge_conv_transpose(x, kernel, strides, padding: str):
    """conv_transpose(x [N, H, W, C_in], kernel [kh, kw, C_out, C_in]) without TRANSPOSE_CONV, or None when no
    rewrite applies:

    - a 1x1 input map, 'VALID': one matrix product, a 1x1 convolution C_in -> kh * kw * C_out reshaped to
      [N, kh, kw, C_out] (the DCGAN decoders' stem; XNNPACK's TRANSPOSE_CONV took 12x longer on it, quickstart
      decoder, 2,000 frames; with TensorFlow, oneDNN capped at AVX2, the SM-MNIST decoder decodes 2,000 frames
      about 12% faster with it; a convolution rather than a MatMul so that int8 files quantize it with the others,
      and so that a frame's result does not depend on how many frames share the call);
    - kernel 4, stride 2, 'SAME', C_out <= SUBPIXEL_MAX_CHANNELS (the DCGAN decoders' frame layer): sub-pixel
      convolution, a 3x3 'SAME' convolution to 4 * C_out channels (one group per output phase, zero taps where the
      phase reads no input) then depth_to_space(2): output (2u + r, 2v + s) reads input rows u - 1 + d with kernel
      row `_SUBPIXEL_TAPS[r][d]`. It does 9/4 of the multiplications; XNNPACK is still faster so when C_out is a
      frame's channels (1.8x for 1 channel), not for the wider blocks (0.6-0.8x), which keep TRANSPOSE_CONV.
    """
    kh, kw, c_out, c_in = kernel.shape
    if padding == "VALID" and tuple(x.shape[1:3]) == (1, 1) and tuple(strides) == (1, 1):
        weights = tf.reshape(tf.transpose(kernel, [3, 0, 1, 2]), [1, 1, c_in, kh * kw * c_out])
        return tf.reshape(tf.nn.conv2d(x, weights, 1, "VALID"), [-1, kh, kw, c_out])
    if (kh, kw) != (4, 4) or tuple(strides) != (2, 2) or padding != "SAME" or c_out > SUBPIXEL_MAX_CHANNELS:
        return None
    zeros = tf.zeros([c_out, c_in], kernel.dtype)
    tap = lambda a, b: zeros if a is None or b is None else kernel[a, b]  # [C_out, C_in]
    rows = []
    for d in range(3):
        cols = []
        for e in range(3):
            phases = [tap(_SUBPIXEL_TAPS[r][d], _SUBPIXEL_TAPS[s][e]) for r in (0, 1) for s in (0, 1)]
            cols.append(tf.transpose(tf.concat(phases, axis=0)))  # [C_in, 4 C_out], channel (r, s, o)
        rows.append(tf.stack(cols))
    subpixel = tf.stack(rows)  # [3, 3, C_in, 4 C_out]
    return tf.nn.depth_to_space(tf.nn.conv2d(x, subpixel, 1, "SAME"), 2)
