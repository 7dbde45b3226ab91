"""Work and the machine's limit: convolution FLOPs of a call, and the float32 GEMM rate of this machine.

Convolutions are more than 97% of every model's FLOPs (tfvideo.perf.precision), so a figure's rate is reported
as convolution GFLOP/s against the rate of one large float32 matrix product through TensorFlow, measured in the
same run (`gemm_rate`): the machine's practical limit for float32 work.

- `count_conv_flops(fn)`: runs `fn` eagerly (tf.functions included) and adds up the multiply-adds x 2 of every
  `tfvideo.perf.conv_ops` convolution it calls: 2 * kh * kw * C_in * C_out per output position of a convolution,
  per input position of a transposed one. Forward passes only: a training step costs about 3 times its forward
  convolutions (forward, input gradient, kernel gradient).
- `gemm_rate(size)`: GFLOP/s of a [size, size] x [size, size] float32 matmul, best of a few.
"""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import tensorflow as tf

_STATE = threading.local()
BACKWARD_FACTOR = 3  # forward + input gradient + kernel gradient


def record(kernel_shape, positions) -> None:
    """Adds a convolution's FLOPs (kernel [kh, kw, a, b], `positions` = batch * map positions) when counting."""
    if getattr(_STATE, "flops", None) is None or positions is None:
        return
    kh, kw, a, b = (int(d) for d in kernel_shape)
    _STATE.flops += 2 * kh * kw * a * b * int(positions)


def batch_positions(shape) -> int | None:
    """N * H * W of a static [N, H, W, C] shape, None when a dimension is unknown."""
    dims = list(shape)[:3]
    return None if any(d is None for d in dims) else int(np.prod(dims))


@contextlib.contextmanager
def _counting():
    _STATE.flops = 0
    try:
        yield
    finally:
        _STATE.flops = None


def count_conv_flops(fn) -> int:
    """Convolution FLOPs of one call of `fn()` (run eagerly, so every shape is known)."""
    eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        with _counting():
            fn()
            return int(_STATE.flops)
    finally:
        tf.config.run_functions_eagerly(eager)


def gemm_rate(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one float32 [size, size] matrix product through TensorFlow on this machine (best of `repeats`)."""
    a = tf.random.stateless_normal([size, size], seed=[0, 1])
    b = tf.random.stateless_normal([size, size], seed=[0, 2])
    product = tf.function(lambda: tf.matmul(a, b))
    product().numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best / 1e9
