"""Action blobs: a synthetic dataset whose motion is a known function of the action, to check that an
action-conditioned model follows its actions.

A bright Gaussian blob on black, 64x64 grayscale. Each frame t has an action a_t = (ax, ay) drawn uniformly in
[-1, 1]^2, and the blob moves by STEP * a_t pixels from frame t to t + 1 (a_t moves x_t to x_{t+1}, the index
convention of `tfvideo.models.actions`), stopping at the walls. So the displacement between two frames is the
action times STEP, away from the walls: a model that reads its actions must move the blob that way.

`displacement_correlation` measures it on a model's futures: the Pearson correlation between the displacement of
the predicted blob's centroid and the action, over every predicted step and both axes.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

SIZE = 64
ACTION_SIZE = 2
STEP = 4.0  # pixels per unit of action
RADIUS = 4.0  # blob standard deviation, pixels
MARGIN = 8.0  # the blob centre stays this far from the borders


def blob_videos(rng: np.random.Generator, batch: int, length: int) -> dict[str, np.ndarray]:
    """{"frames": float32 [batch, length, 64, 64, 1] in [0, 1], "actions": float32 [batch, length, 2]}."""
    actions = rng.uniform(-1.0, 1.0, size=(batch, length, ACTION_SIZE)).astype(np.float32)
    positions = np.empty((batch, length, 2), np.float64)
    positions[:, 0] = rng.uniform(MARGIN + 8, SIZE - MARGIN - 8, size=(batch, 2))
    for t in range(1, length):
        positions[:, t] = np.clip(positions[:, t - 1] + STEP * actions[:, t - 1], MARGIN, SIZE - MARGIN)
    return {"frames": render(positions), "actions": actions}


def render(positions: np.ndarray) -> np.ndarray:
    """float32 frames [..., 64, 64, 1] of blobs centred at positions [..., 2] = (x, y) in pixels."""
    grid = np.arange(SIZE, dtype=np.float64)
    dx = (grid - positions[..., 0, None]) ** 2  # [..., W]
    dy = (grid - positions[..., 1, None]) ** 2  # [..., H]
    frames = np.exp(-(dy[..., :, None] + dx[..., None, :]) / (2 * RADIUS ** 2))
    return frames[..., None].astype(np.float32)


def train_stream(batch_size: int, length: int, seed: int = 0) -> tf.data.Dataset:
    """Endless {"frames", "actions"} batches of `blob_videos`, reproducible from `seed`."""
    def generate():
        rng = np.random.default_rng(seed)
        while True:
            yield blob_videos(rng, batch_size, length)

    spec = {"frames": tf.TensorSpec([batch_size, length, SIZE, SIZE, 1], tf.float32),
            "actions": tf.TensorSpec([batch_size, length, ACTION_SIZE], tf.float32)}
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


def centroids(frames: np.ndarray) -> np.ndarray:
    """Intensity centroids (x, y) [..., 2] of frames [..., H, W, 1] (values below the frame's median ignored)."""
    frames = np.asarray(frames, np.float64)[..., 0]
    weights = np.maximum(frames - np.median(frames, axis=(-2, -1), keepdims=True), 0.0) + 1e-12
    total = weights.sum(axis=(-2, -1))
    grid = np.arange(frames.shape[-1], dtype=np.float64)
    x = (weights.sum(axis=-2) * grid).sum(-1) / total
    y = (weights.sum(axis=-1) * grid).sum(-1) / total
    return np.stack([x, y], axis=-1)


def displacement_correlation(model, num_videos: int = 32, context: int = 2, horizon: int = 4,
                             seed: int = 1) -> float:
    """Pearson correlation between the predicted blob's per-frame displacement and STEP * action (both axes,
    every predicted step, one sample per video) on `num_videos` fresh videos with their own actions."""
    videos = blob_videos(np.random.default_rng(seed), num_videos, context + horizon)
    futures = model.generate(videos["frames"][:, :context], num_samples=1, horizon=horizon, seed=seed,
                             actions=videos["actions"]).numpy()[:, 0]
    path = centroids(np.concatenate([videos["frames"][:, context - 1:context], futures], axis=1))
    moved = np.diff(path, axis=1)  # [N, horizon, 2]
    asked = STEP * videos["actions"][:, context - 1:context - 1 + horizon]
    return float(np.corrcoef(moved.reshape(-1), asked.reshape(-1))[0, 1])
