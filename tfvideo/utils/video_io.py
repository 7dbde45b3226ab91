"""Writing videos for people to look at: animated panels (context | ground truth | samples) as GIF or MP4."""

from __future__ import annotations

import io
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tfvideo.utils import files

CONTEXT_BORDER = (40, 170, 60)  # green: observed frames
PREDICTION_BORDER = (200, 40, 40)  # red: predicted frames
GROUND_TRUTH_BORDER = (60, 90, 200)  # blue: the true future
UNCERTAINTY_BORDER = (150, 60, 200)  # purple: per-pixel spread of the samples
BACKGROUND = (255, 255, 255)  # empty grid cells and the counter strip
COUNTER_HEIGHT = 12  # pixels of the frame counter above a grid (before scaling)
MAX_GRID_COLUMNS = 10  # panels per row of `prediction_frames` before it wraps into a square-ish grid


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


def heat_rgb(values: np.ndarray) -> np.ndarray:
    """Values [...] in [0, 1] -> float32 RGB [..., 3] in [0, 1] on a black-red-yellow-white ramp ("hot")."""
    values = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    return np.clip(3.0 * values - np.array([0.0, 1.0, 2.0], np.float32), 0.0, 1.0)


def counter_strip(text: str, width: int, height: int = COUNTER_HEIGHT) -> np.ndarray:
    """uint8 [height, width, 3]: `text` in black on the background, from the left edge."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    ImageDraw.Draw(image).text((2, 0), text, fill=(0, 0, 0), font=ImageFont.load_default())
    return np.asarray(image)


def grid(cells: list[np.ndarray], columns: int) -> np.ndarray:
    """uint8 [rows * h, columns * w, 3] of equal-sized uint8 cells [h, w, 3], row by row, blanks at the end."""
    rows = math.ceil(len(cells) / columns)
    blank = np.full_like(cells[0], BACKGROUND)
    padded = cells + [blank] * (rows * columns - len(cells))
    return np.concatenate([np.concatenate(padded[r * columns:(r + 1) * columns], axis=1) for r in range(rows)])


def prediction_frames(context: np.ndarray, samples: np.ndarray, uncertainty: np.ndarray | None = None,
                      steps_per_frame: int = 1) -> np.ndarray:
    """Animation frames of one clip's sampled futures: a frame counter above a grid of panels.

    Panels, left to right (wrapping after MAX_GRID_COLUMNS into a square-ish grid): the context (green border;
    it keeps its last frame while the futures play), one per sample (the context, then that future in red) and,
    with `uncertainty`, its heat map (purple border; black during the context).

    Args:
      context: [Tc, H, W, C] observed frames in [0, 1], C in {1, 3}.
      samples: [S, F, H, W, C] sampled futures in [0, 1].
      uncertainty: None or [F, H, W] values in [0, 1] (shown with `heat_rgb`).
      steps_per_frame: k of dt = 1/k: the futures hold k frames per training frame; the counter shows the time
        in training frames ("future 2.50/10").

    Returns:
      uint8 [Tc + F, COUNTER_HEIGHT + rows * (H + 4), columns * (W + 4), 3].
    """
    context, futures = to_uint8_rgb(context), to_uint8_rgb(samples)
    heat = None if uncertainty is None else to_uint8_rgb(heat_rgb(uncertainty))
    num_context, num_future = len(context), futures.shape[1]
    panels = 1 + len(futures) + (heat is not None)
    columns = panels if panels <= MAX_GRID_COLUMNS else math.ceil(math.sqrt(panels))
    out = []
    for t in range(num_context + num_future):
        observed = t < num_context
        cells = [_bordered(context[min(t, num_context - 1)], CONTEXT_BORDER)]
        if observed:
            cells += [cells[0]] * len(futures)
        else:
            cells += [_bordered(future[t - num_context], PREDICTION_BORDER) for future in futures]
        if heat is not None:
            cells.append(_bordered(np.zeros_like(context[0]) if observed else heat[t - num_context],
                                   UNCERTAINTY_BORDER))
        image = grid(cells, columns)
        out.append(np.concatenate([counter_strip(_counter_text(t, num_context, num_future, steps_per_frame),
                                                 image.shape[1]), image]))
    return np.stack(out)


def _counter_text(t: int, num_context: int, num_future: int, steps_per_frame: int) -> str:
    if t < num_context:
        return f"context {t + 1}/{num_context}"
    step = t - num_context + 1
    if steps_per_frame == 1:
        return f"future {step}/{num_future}"
    return f"future {step / steps_per_frame:.2f}/{num_future // steps_per_frame}"


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


def write_mp4(path: str, frames: np.ndarray, fps: float = 4.0, scale: int = 2) -> str:
    """Writes uint8 [T, H, W, 3] frames as an MP4 (MPEG-4 Part 2, OpenCV's bundled FFmpeg) at `path` atomically;
    each pixel is scaled up `scale` times and odd sizes are padded to even ones (with the background)."""
    import cv2  # pylint: disable=g-import-not-at-top  (OpenCV loads FFmpeg: only when an MP4 is written)

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_mp4 needs uint8 [T, H, W, 3]; got {frames.dtype} {frames.shape}.")
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    pad = ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0))
    frames = np.pad(frames, pad, constant_values=BACKGROUND[0])

    def write(tmp: str) -> None:
        staged = tmp + ".mp4"  # OpenCV picks the container from the extension
        writer = cv2.VideoWriter(staged, cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames.shape[2], frames.shape[1]))
        try:
            if not writer.isOpened():
                raise OSError(f"OpenCV cannot write an MP4 file at {path}.")
            for frame in frames:
                writer.write(np.ascontiguousarray(frame[..., ::-1]))  # OpenCV takes BGR
            writer.release()
            os.replace(staged, tmp)
        finally:
            writer.release()
            if os.path.exists(staged):
                os.remove(staged)

    return files.atomic_write(path, write)


def read_gif(path: str) -> np.ndarray:
    """Reads a GIF back as uint8 [T, H, W, 3] (used by tests and users checking outputs)."""
    with Image.open(path) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGB")))
    return np.stack(frames)
