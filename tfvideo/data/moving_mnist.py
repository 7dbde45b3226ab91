"""Stochastic (and deterministic) Moving MNIST, generated on the fly as in the SRVP reference code.

Dynamics of one digit (frame F x F, digit 28 x 28, positions = top-left corner (row, col)):

- Start position uniform integer in [0, F - 28] per axis; speed (dx, dy) integers uniform in
  [-max_speed, max_speed].
- Each frame the digit moves by (dx, dy). The move is exact: when it would cross a wall, it is cut at the
  wall (the collision point of the straight move) and the remaining fraction of the frame's move continues
  with the new speed. A digit never leaves the frame and always leaves a wall it bounced on (unless its
  new speed towards it is 0, see below).
- Stochastic mode: at each bounce, both dx and dy are redrawn uniformly in [-max_speed, max_speed], then the
  component of the bouncing axis is signed to point away from the wall (a redrawn 0 stays 0: the digit then
  slides along / rests at that wall until its next bounce). Deterministic mode: only that sign flips.
- Positions are kept exact (floats: after a stochastic bounce the remaining fraction of the move makes them
  fractional) and rounded to integers when drawn, as in the SRVP code. Exact halves (common: a bounce at
  mid-move) round half to even, like Python's round() on exact values; float noise (~1e-13) is removed
  first so it cannot break such ties at random (SRVP's own float arithmetic does; that is the only
  difference from it: its exact positions, speeds and RNG draws were checked to match ours to 1e-13).

Frames: digits (scaled to [0, 1]) are summed and clipped to [0, 1]; videos are float32
[seq_len, F, F, 1].

RNG usage (what makes streams reproducible): `trajectory` draws the start position (2 integers), then the
speed (2 integers), then dx and dy at each bounce. `video` draws the digit indices (if not given), then one
trajectory per digit in order. Training element i of a stream with seed s uses
`np.random.default_rng([s, i])`; test video i uses `np.random.default_rng([seed, i])` with digit groups from
`heldout_digit_groups`.
"""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

from tfvideo.data import exit_guard

DIGIT_SIZE = 28
MAX_DIGITS = 3
_EPS = 1e-8  # position tolerance (pixels) when testing whether a move crosses a wall


def _check_int(name: str, value, minimum: int, maximum: int | None = None, expected: str = "") -> int:
    """Returns `value` as int or raises ValueError naming the argument, the value and what is expected."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and value >= minimum and (maximum is None or value <= maximum)
    if not ok:
        bounds = f"in [{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be an integer {bounds}{expected}; got {value!r}.")
    return int(value)


def _check_digits(digits) -> np.ndarray:
    """Validates MNIST digits: uint8 [N, 28, 28] with N >= 1."""
    if not isinstance(digits, np.ndarray):
        raise ValueError(f"digits must be a numpy array of uint8 [N, 28, 28]; got {type(digits).__name__}.")
    if digits.dtype != np.uint8 or digits.ndim != 3 or digits.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE) \
            or len(digits) < 1:
        raise ValueError(f"digits must be a non-empty uint8 array [N, {DIGIT_SIZE}, {DIGIT_SIZE}] "
                         f"(e.g. DigitSet.images); got dtype {digits.dtype} and shape {digits.shape}.")
    return digits


def round_positions(positions: np.ndarray) -> np.ndarray:
    """Rounds exact positions (any shape) to int64 pixels, half to even, ignoring float noise below 1e-9."""
    return np.rint(np.round(positions, 9)).astype(np.int64)


class MovingMnistGenerator:
    """Generates Moving MNIST videos from a set of digits (see the module docstring for the dynamics)."""

    def __init__(self, digits: np.ndarray, num_digits: int = 2, frame_size: int = 64,
                 max_speed: int = 4, deterministic: bool = False):
        """Args:
          digits: uint8 [N, 28, 28] digit images (0..255).
          num_digits: digits per video, 1..3.
          frame_size: frame height and width F, >= 28.
          max_speed: maximum |dx|, |dy| in pixels per frame, >= 0.
          deterministic: deterministic bounces (sign flip) instead of stochastic ones (speed redraw).
        """
        self.digits = _check_digits(digits)
        self.num_digits = _check_int("num_digits", num_digits, 1, MAX_DIGITS)
        self.frame_size = _check_int("frame_size", frame_size, DIGIT_SIZE, expected=" (the digit size)")
        self.max_speed = _check_int("max_speed", max_speed, 0)
        self.deterministic = bool(deterministic)
        self.limit = self.frame_size - DIGIT_SIZE  # largest allowed top-left coordinate
        self._digits01 = digits.astype(np.float32) / np.float32(255.0)
        self._offsets = np.arange(DIGIT_SIZE)

    def trajectory(self, rng: np.random.Generator, seq_len: int) -> np.ndarray:
        """Samples the trajectory of one digit.

        Returns:
          int64 [seq_len, 2]: top-left (row, col) of the digit at each frame, in [0, frame_size - 28].
        """
        positions, _ = self.trajectory_with_speeds(rng, seq_len)
        return round_positions(positions)

    def trajectory_with_speeds(self, rng: np.random.Generator, seq_len: int):
        """Samples a trajectory with its exact (unrounded) positions and speeds.

        Returns:
          (positions, speeds): float64 [seq_len, 2] exact top-left (row, col) and int64 [seq_len, 2] speed
          (d_row, d_col) in effect when leaving each frame's position.
        """
        seq_len = _check_int("seq_len", seq_len, 1)
        start = rng.integers(0, self.limit + 1, size=2)
        speed = rng.integers(-self.max_speed, self.max_speed + 1, size=2)
        return self.simulate(start, speed, rng, seq_len)

    def simulate(self, start, speed, rng: np.random.Generator, seq_len: int):
        """Runs the dynamics from a given start position [2] and speed [2] (same outputs as above).

        `rng` is only used for the stochastic speed redraws (it may be None in deterministic mode).
        """
        pos = [float(start[0]), float(start[1])]
        vel = [int(speed[0]), int(speed[1])]
        positions = np.empty((seq_len, 2), dtype=np.float64)
        speeds = np.empty((seq_len, 2), dtype=np.int64)
        for t in range(seq_len):
            positions[t] = pos
            speeds[t] = vel
            if t + 1 < seq_len:
                pos, vel = self._step(pos, vel, rng)
        return positions, speeds

    def _step(self, pos: list, vel: list, rng: np.random.Generator):
        """Moves one frame: straight segments between exact bounces. Returns the new (pos, vel)."""
        if self.limit == 0:  # frame_size == 28: the digit fills the frame and cannot move
            return [0.0, 0.0], vel
        remaining = 1.0
        while True:
            end = [pos[a] + vel[a] * remaining for a in (0, 1)]
            out = [end[a] < -_EPS or end[a] > self.limit + _EPS for a in (0, 1)]
            if not (out[0] or out[1]):
                return end, vel
            # Fraction of the remaining move after which each crossing axis reaches its wall.
            times = [self._time_to_wall(pos[a], vel[a]) if out[a] else np.inf for a in (0, 1)]
            t_hit = min(times)
            hits = [out[a] and times[a] <= t_hit + 1e-12 for a in (0, 1)]
            at_low = [vel[a] < 0 for a in (0, 1)]  # which wall each axis was heading to
            pos = [pos[a] + vel[a] * t_hit for a in (0, 1)]
            remaining -= t_hit
            if not self.deterministic:
                vel = [int(rng.integers(-self.max_speed, self.max_speed + 1)) for _ in (0, 1)]
            for a in (0, 1):
                if hits[a]:  # snap exactly onto the wall, then point away from it
                    pos[a] = 0.0 if at_low[a] else float(self.limit)
                    vel[a] = abs(vel[a]) if at_low[a] else -abs(vel[a])

    def _time_to_wall(self, x: float, v: int) -> float:
        """Time (in frames, >= 0) until coordinate x moving at speed v != 0 reaches the wall ahead."""
        wall = 0.0 if v < 0 else float(self.limit)
        return max(0.0, (wall - x) / v)

    def video(self, rng: np.random.Generator, seq_len: int, digit_indices=None) -> np.ndarray:
        """Generates one video.

        Args:
          rng: source of randomness.
          seq_len: number of frames, >= 1.
          digit_indices: optional int [num_digits] indices into `digits`; drawn uniformly if None.

        Returns:
          float32 [seq_len, frame_size, frame_size, 1] in [0, 1].
        """
        seq_len = _check_int("seq_len", seq_len, 1)
        if digit_indices is None:
            digit_indices = rng.integers(0, len(self.digits), size=self.num_digits)
        digit_indices = np.asarray(digit_indices)
        if digit_indices.shape != (self.num_digits,) or not np.issubdtype(digit_indices.dtype, np.integer) \
                or digit_indices.min() < 0 or digit_indices.max() >= len(self.digits):
            raise ValueError(f"digit_indices must be {self.num_digits} indices in [0, {len(self.digits)}); "
                             f"got {digit_indices.tolist()}.")
        frames = np.zeros((seq_len, self.frame_size, self.frame_size), dtype=np.float32)
        time_index = np.arange(seq_len)[:, None, None]
        for index in digit_indices:
            top_left = self.trajectory(rng, seq_len)  # [T, 2]
            rows = (top_left[:, 0, None] + self._offsets)[:, :, None]  # [T, 28, 1]
            cols = (top_left[:, 1, None] + self._offsets)[:, None, :]  # [T, 1, 28]
            frames[time_index, rows, cols] += self._digits01[index]
        np.minimum(frames, 1.0, out=frames)
        return frames[..., None]


_EXIT_GUARD = exit_guard.ExitGuard()


def make_train_dataset(digits: np.ndarray, *, batch_size: int, seq_len: int, num_digits: int = 2,
                       frame_size: int = 64, deterministic: bool = False, seed: int = 0,
                       num_parallel_calls: int | None = None, start_index: int = 0) -> tf.data.Dataset:
    """Endless, reproducible stream of training batches generated on the fly.

    Element i (counted from the start of the stream, i >= start_index) is
    `MovingMnistGenerator(...).video(np.random.default_rng([seed, i]), seq_len)`, so the stream depends only
    on the arguments, not on parallelism; a stream with start_index = s * batch_size yields the batches
    s, s + 1, ... of the stream that starts at 0 (resumption).

    Args:
      digits: uint8 [N, 28, 28] training digits.
      batch_size: videos per batch, >= 1.
      seq_len: frames per video, >= 1.
      num_digits, frame_size, deterministic: see `MovingMnistGenerator`.
      seed: stream seed, >= 0.
      num_parallel_calls: batches generated in parallel (None: tf.data.AUTOTUNE).
      start_index: index of the first element of the stream, >= 0.

    Returns:
      tf.data.Dataset of float32 [batch_size, seq_len, frame_size, frame_size, 1] in [0, 1].
    """
    batch_size = _check_int("batch_size", batch_size, 1)
    seq_len = _check_int("seq_len", seq_len, 1)
    seed = _check_int("seed", seed, 0)
    start_index = _check_int("start_index", start_index, 0)
    if num_parallel_calls is not None:
        num_parallel_calls = _check_int("num_parallel_calls", num_parallel_calls, 1, expected=" or None")
    generator = MovingMnistGenerator(digits, num_digits=num_digits, frame_size=frame_size,
                                     deterministic=deterministic)
    _EXIT_GUARD.register()
    dataset = tf.data.Dataset.range(start_index, np.iinfo(np.int64).max)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(_batch_maker(generator, seed, seq_len, batch_size),
                          num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _batch_maker(generator: MovingMnistGenerator, seed: int, seq_len: int, batch_size: int):
    """tf.data map function: int64 element indices [B] -> float32 videos [B, T, F, F, 1] (static shape)."""
    shape = [batch_size, seq_len, generator.frame_size, generator.frame_size, 1]

    def make_batch(indices: np.ndarray) -> np.ndarray:
        return np.stack([generator.video(np.random.default_rng([seed, int(i)]), seq_len) for i in indices])

    def guarded_make_batch(indices: np.ndarray) -> np.ndarray:
        return _EXIT_GUARD.run(make_batch, lambda: np.full(shape, np.nan, np.float32), indices)

    def generate(indices: tf.Tensor) -> tf.Tensor:
        videos = tf.numpy_function(guarded_make_batch, [indices], tf.float32, stateful=False, name="moving_mnist")
        return tf.ensure_shape(videos, shape)

    return generate


def heldout_digit_groups(num_available: int, *, num_digits: int = 2, seed: int = 42,
                         num_videos: int | None = None) -> np.ndarray:
    """Disjoint groups of digit indices for the test set: a seeded permutation of range(num_available), chunked.

    Returns:
      int64 [N, num_digits] with N = num_available // num_digits (or num_videos if given, <= that); no index
      appears twice.
    """
    num_digits = _check_int("num_digits", num_digits, 1, MAX_DIGITS)
    seed = _check_int("seed", seed, 0)
    max_videos = _check_int("num_available", num_available, num_digits,
                            expected=" (at least num_digits digits)") // num_digits
    if num_videos is not None:
        num_videos = _check_int("num_videos", num_videos, 1, max_videos,
                                expected=f" (len(digits) // num_digits = {max_videos})")
    num_videos = max_videos if num_videos is None else num_videos
    permutation = np.random.default_rng(seed).permutation(num_available)
    return permutation[:num_videos * num_digits].reshape(num_videos, num_digits).astype(np.int64)


def make_test_set(digits: np.ndarray, *, seq_len: int, num_digits: int = 2, frame_size: int = 64,
                  deterministic: bool = False, seed: int = 42, num_videos: int | None = None,
                  start: int = 0) -> np.ndarray:
    """Fixed test set: one video per disjoint group of held-out digits (`heldout_digit_groups`).

    Video i uses the digits `heldout_digit_groups(len(digits), ...)[i]` and `np.random.default_rng([seed, i])`,
    so the first k videos do not depend on num_videos and the same arguments give a bitwise-identical array.
    Memory: N * seq_len * frame_size**2 * 4 bytes (e.g. 500 videos of 100 64x64 frames: 819 MB).

    `start` skips the first videos (returns videos start..N-1, the same as `make_test_set(...)[start:]`).

    Returns:
      float32 [N - start, seq_len, frame_size, frame_size, 1] in [0, 1], N = len(digits) // num_digits or
      num_videos.
    """
    generator = MovingMnistGenerator(digits, num_digits=num_digits, frame_size=frame_size,
                                     deterministic=deterministic)
    seq_len = _check_int("seq_len", seq_len, 1)
    groups = heldout_digit_groups(len(generator.digits), num_digits=num_digits, seed=seed, num_videos=num_videos)
    start = _check_int("start", start, 0, len(groups))
    videos = np.empty((len(groups) - start, seq_len, frame_size, frame_size, 1), dtype=np.float32)
    for i in range(start, len(groups)):
        videos[i - start] = generator.video(np.random.default_rng([seed, i]), seq_len, digit_indices=groups[i])
    return videos
