"""The one noise generator of sampling: standard-normal tensors hashed from an int32 seed.

`model.generate(seed=s)`, the exported SavedModel's `predict(seed=s)` and the LiteRT file all draw the noise
that `sample_futures` consumes with `seeded_noise`, so the same seed gives the same futures in every runtime.
(Training draws its own noise with keras.random and the model's seed generators.)

Each element is an int32 counter hash (lowbias32, logical shifts through uint32) of (seed, stream,
coordinates), turned into a normal by the Box-Muller transform. It needs only TFLite builtin ops (XOR, MUL,
ADD, RIGHT_SHIFT, CAST, LOG, SQRT, COS), unlike stateless random ops, and gives the same numbers in
TensorFlow, TF Serving and LiteRT. An element is hashed from its coordinates (e.g. z[row, step, unit]), not
from its flat index, so a longer horizon or a smaller dt keeps the same z for the frames both share, and with
one video more samples keep the first samples.

`draw_seed(seed, i)` is the one rule for the seed of the i-th of several calls from one user seed (evaluate's
test video i, predict's sample batch i, training validation's and int8 calibration's batch i): `seed` itself for
i = 0, else an int32 hashed from (seed, i) by numpy's SeedSequence. Unlike `seed + i`, the streams of two seeds do
not overlap (seed s, draw 1 is not seed s + 1, draw 0), and every draw's seed is an int32 whatever `seed`.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


SEED_RULE = "draw i of seed s is sampled with seed s for i = 0, else an int32 hashed from (s, i) (noise.draw_seed)"


def draw_seed(seed: int, index: int) -> int:
    """The int32 seed of draw `index` (>= 0) from the int32 `seed`: `seed` for index 0, else an int32 hashed from
    (seed, index) (see the module docstring). A Python int; a pure function of (seed, index)."""
    if index == 0:
        return int(seed)
    return _int32(int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)]).generate_state(1)[0]))


def _int32(value: int) -> int:
    """A Python int as the int32 with the same low 32 bits (for hash constants >= 2**31)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


_MUL_1 = _int32(0x7FEB352D)
_MUL_2 = _int32(0x846CA68B)
_GOLDEN = 0x9E3779B9
_UNIFORM_SALTS = (_int32(0x68E31DA4), _int32(0xB5297A4D))


def _shift_right_logical(x: tf.Tensor, bits: int) -> tf.Tensor:
    """int32 >>> bits (zeros shifted in), through uint32: TFLite RIGHT_SHIFT on int32 is arithmetic."""
    shifted = tf.bitwise.right_shift(tf.cast(x, tf.uint32), tf.constant(bits, tf.uint32))
    return tf.cast(shifted, tf.int32)


def hash_int32(x: tf.Tensor) -> tf.Tensor:
    """lowbias32 integer hash (a bijection of the 32-bit integers), int32 -> int32, wrapping arithmetic."""
    x = tf.bitwise.bitwise_xor(x, _shift_right_logical(x, 16))
    x = x * tf.constant(_MUL_1, tf.int32)
    x = tf.bitwise.bitwise_xor(x, _shift_right_logical(x, 15))
    x = x * tf.constant(_MUL_2, tf.int32)
    return tf.bitwise.bitwise_xor(x, _shift_right_logical(x, 16))


def _unit_interval(bits: tf.Tensor) -> tf.Tensor:
    """int32 hash -> float32 uniform in (0, 1): the top 24 bits, centred in their bin (never 0 or 1)."""
    return (tf.cast(_shift_right_logical(bits, 8), tf.float32) + 0.5) * (1.0 / (1 << 24))


def hashed_normal(shape, seed, stream: int = 0, offsets=None) -> tf.Tensor:
    """Standard-normal float32 noise of `shape` (int32 [rank], rank known statically) from an int32 seed.

    Element (i_0, ..., i_{r-1}) is a pure function of (seed, stream, i_0, ..., i_{r-1}), so any prefix
    along any axis is the same whatever the size of the others. `stream` separates the noise tensors of one
    call (their index in sorted order). Box-Muller: sqrt(-2 ln u1) cos(2 pi u2), |values| < 5.9.
    `offsets` (int32 [rank], default zeros) shifts the coordinates: the block of a larger tensor that starts
    there (a streaming sampler draws one step at a time with it).
    """
    shape = tf.convert_to_tensor(shape, tf.int32)
    rank = shape.shape[0]
    if rank is None:
        raise ValueError(f"hashed_normal needs a shape of static rank; got {shape}.")
    stream_key = _int32(_GOLDEN * (stream + 1))
    h = hash_int32(hash_int32(tf.cast(seed, tf.int32) + tf.constant(stream_key, tf.int32)))
    for axis in range(rank):
        coords = tf.range(shape[axis]) if offsets is None else tf.range(shape[axis]) + offsets[axis]
        coords = tf.reshape(coords, [-1 if a == axis else 1 for a in range(rank)])
        h = hash_int32(h + coords)
    h = tf.broadcast_to(h, shape)
    u1 = _unit_interval(hash_int32(tf.bitwise.bitwise_xor(h, tf.constant(_UNIFORM_SALTS[0], tf.int32))))
    u2 = _unit_interval(hash_int32(tf.bitwise.bitwise_xor(h, tf.constant(_UNIFORM_SALTS[1], tf.int32))))
    return tf.sqrt(2.0 * _minus_log(u1)) * tf.cos((2.0 * math.pi) * u2)


def _minus_log(u: tf.Tensor) -> tf.Tensor:
    """-ln(u) for u in (0, 1), accurate near 1, where sqrt(-2 ln u) magnifies LOG's rounding: TFLite's LOG
    differs from TensorFlow's by ~1e-7, which would move Box-Muller outputs by up to 3e-5 when -ln(u) ~ 1e-7.
    Near 1 it uses the series d + d^2/2 + d^3/3 + d^4/4 in d = 1 - u (exact there), plain MUL/ADD ops."""
    d = 1.0 - u
    series = d + d * d * (0.5 + d * (1.0 / 3.0 + d * 0.25))
    return tf.where(d < 1.0 / 64.0, series, -tf.math.log(u))


def seeded_noise(shapes: dict[str, tf.Tensor], seed) -> dict[str, tf.Tensor]:
    """{name: standard-normal float32 tensor of shapes[name]} from an int32 scalar seed; the tensors are
    independent streams, numbered by their names' sorted order."""
    return {name: hashed_normal(shapes[name], seed, stream=index) for index, name in enumerate(sorted(shapes))}


def seeded_noise_block(names, name: str, shape, seed, offsets) -> tf.Tensor:
    """The block of `seeded_noise(shapes, seed)[name]` (for `shapes` with the keys `names`) of `shape` that starts
    at `offsets` (int32 [rank]), computed alone."""
    return hashed_normal(shape, seed, stream=sorted(names).index(name), offsets=offsets)
