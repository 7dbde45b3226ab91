"""Writing videos for people to look at: animated GIF panels (context | ground truth | samples)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tfvideo.utils import files

CONTEXT_BORDER = (40, 170, 60)  # green: observed frames
PREDICTION_BORDER = (200, 40, 40)  # red: predicted frames
GROUND_TRUTH_BORDER = (60, 90, 200)  # blue: the true future


def to_uint8_rgb(frames: np.ndarray) -> np.ndarray:
    """[..., H, W, C] floats in [0, 1] with C in {1, 3} -> uint8 [..., H, W, 3]."""
    frames = np.clip(np.asarray(frames, np.float32), 0.0, 1.0)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    if frames.shape[-1] != 3:
        raise ValueError(f"Frames must have 1 or 3 channels to be shown; got shape {frames.shape}.")
    return np.round(frames * 255).astype(np.uint8)


def _bordered(frame: np.ndarray, color, width: int = 2) -> np.ndarray:
    out = np.empty((frame.shape[0] + 2 * width, frame.shape[1] + 2 * width, 3), np.uint8)
    out[...] = color
    out[width:-width, width:-width] = frame
    return out


def comparison_frames(context: np.ndarray, ground_truth: np.ndarray | None, samples: np.ndarray) -> np.ndarray:
    """Animation frames of a grid: one row per video, columns ground truth | sample 1 | ... | sample S.

    Args:
      context: [B, Tc, H, W, C] observed frames, shown (green border) in every column first.
      ground_truth: [B, N, H, W, C] true future (blue border) or None (column left out).
      samples: [B, S, N, H, W, C] predicted futures (red border).

    Returns:
      uint8 [Tc + N, rows * (H + 4), cols * (W + 4), 3].
    """
    context, samples = to_uint8_rgb(context), to_uint8_rgb(samples)
    truth = None if ground_truth is None else to_uint8_rgb(ground_truth)
    num_context, num_future = context.shape[1], samples.shape[2]
    if truth is not None and truth.shape[1] != num_future:
        raise ValueError(f"ground_truth has {truth.shape[1]} frames but samples have {num_future}.")
    out = []
    for t in range(num_context + num_future):
        rows = []
        for b in range(context.shape[0]):
            if t < num_context:
                cells = [_bordered(context[b, t], CONTEXT_BORDER)] * (samples.shape[1] + (truth is not None))
            else:
                cells = [] if truth is None else [_bordered(truth[b, t - num_context], GROUND_TRUTH_BORDER)]
                cells += [_bordered(samples[b, s, t - num_context], PREDICTION_BORDER)
                          for s in range(samples.shape[1])]
            rows.append(np.concatenate(cells, axis=1))
        out.append(np.concatenate(rows, axis=0))
    return np.stack(out)


def encode_gif(frames: np.ndarray, fps: float = 4.0, scale: int = 2) -> bytes:
    """uint8 [T, H, W, 3] -> GIF bytes that loop forever, each pixel scaled up `scale` times."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"encode_gif needs uint8 [T, H, W, 3]; got {frames.dtype} {frames.shape}.")
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    images = [Image.fromarray(f) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps),
                   loop=0)
    return buffer.getvalue()


def write_gif(path: str, frames: np.ndarray, fps: float = 4.0, scale: int = 2) -> str:
    """Writes uint8 [T, H, W, 3] frames as a GIF at `path` atomically (temp file, then rename); returns path."""
    return files.atomic_write(path, encode_gif(frames, fps=fps, scale=scale))


def read_gif(path: str) -> np.ndarray:
    """Reads a GIF back as uint8 [T, H, W, 3] (used by tests and users checking outputs)."""
    with Image.open(path) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
    return np.stack(frames)
