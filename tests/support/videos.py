"""Synthetic test inputs: context videos, moving squares and blobs for the models, clip files for predict."""

from __future__ import annotations

import os

import numpy as np

IMAGE = (64, 64, 1)  # the tiny models' frames


def _squares(count: int, length: int, seed: int, noise: float, positions: tuple[int, int], size: int) -> np.ndarray:
    """float32 [count, length, 64, 64, 1]: uniform noise in [0, noise) with a white size x size square per frame
    at a random corner in [positions[0], positions[1])."""
    rng = np.random.default_rng(seed)
    frames = rng.uniform(0.0, noise, size=(count, length, *IMAGE)).astype(np.float32)
    for b in range(count):
        for t in range(length):
            y, x = rng.integers(*positions, size=2)
            frames[b, t, y:y + size, x:x + size] = 1.0
    return frames


def contexts(batch: int, length: int, seed: int = 0) -> np.ndarray:
    """Random context videos float32 [batch, length, 64, 64, 1] in [0, 1] (a blob over noise, so encodings
    differ between videos)."""
    return _squares(batch, length, seed, noise=0.3, positions=(8, 48), size=12)


def blob_videos(count: int, length: int, seed: int = 0) -> np.ndarray:
    """float32 [count, length, 64, 64, 1]: a bright square moving over dim noise (encodings differ per video)."""
    return _squares(count, length, seed, noise=0.2, positions=(4, 44), size=16)


def moving_square_videos(batch: int, frames: int):
    """tf.float32 [batch, frames, 64, 64, 1]: bright 12x12 squares moving 5 px per frame on black, structure a
    model can learn quickly."""
    import tensorflow as tf
    out = np.zeros([batch, frames, *IMAGE], np.float32)
    for b in range(batch):
        for t in range(frames):
            top, left = 10 + 5 * t, 8 + 20 * b + 3 * t
            out[b, t, top:top + 12, left:left + 12] = 1.0
    return tf.constant(out)


def clip_frames(num_frames: int = 9, height: int = 48, width: int = 80, seed: int = 0) -> np.ndarray:
    """uint8 RGB [T, 48, 80, 3]: a bright square moving over a coloured, noisy background (not square, so that
    the centre crop and resize matter; coloured, so that the grayscale conversion does)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 90, size=(num_frames, height, width, 3), dtype=np.uint8)
    frames[..., 2] //= 3
    for t in range(num_frames):
        frames[t, 8 + 2 * t:20 + 2 * t, 20 + 3 * t:32 + 3 * t] = 255
    return frames


def write_clips(directory) -> dict[str, str]:
    """The same clip as {"mp4", "gif", "frames" (a folder of PNGs), "npy" (uint8 [T, H, W, 3])}: paths."""
    from tfvideo.data import fake_data
    frames = clip_frames()
    directory = str(directory)
    np.save(os.path.join(directory, "clip.npy"), frames)
    return {"mp4": fake_data.write_video(os.path.join(directory, "clip.mp4"), frames),
            "gif": fake_data.write_video(os.path.join(directory, "clip.gif"), frames),
            "frames": fake_data.write_frame_folder(os.path.join(directory, "frames"), frames),
            "npy": os.path.join(directory, "clip.npy")}
