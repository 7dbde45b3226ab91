"""What `tfvideo.predict` writes, chosen by the output's extension, checked before any work and written
atomically (`tfvideo.utils.files`).

- .gif / .mp4: an animation (`video_io.prediction_frames`): a frame counter above a grid of panels, the context
  (green border), one panel per sample (the context, then that future with a red border) and with
  --uncertainty the per-pixel spread of the samples (purple border).
- .png: a contact sheet (`figures.frame_grid`): a row of context frames, a row per sample and with
  --uncertainty a row of spreads, every k-th predicted frame (k chosen for at most SHEET_COLUMNS columns,
  always ending on the last one).
- .npy: the raw float32 futures [S, F, H, W, C] in [0, 1] (F = horizon * k), without the context.

Uncertainty: the standard deviation across the samples of each pixel at each time, averaged over channels,
times 2 (a value in [0, 1] has a deviation of at most 0.5), so a panel reads the same in every output.
"""

from __future__ import annotations

import os

import numpy as np

from tfvideo.evaluation import figures
from tfvideo.prediction.errors import PredictError
from tfvideo.prediction.predict_lib import Plan, Prediction
from tfvideo.utils import files, memory, video_io

FORMATS = {".gif": "gif", ".mp4": "mp4", ".png": "png", ".npy": "npy"}
SHEET_COLUMNS = 10
GIF_SCALE = 2  # each pixel drawn 2x2 in GIFs and MP4s
MAX_STD = 0.5  # the largest standard deviation of values in [0, 1]


def output_kind(path: str) -> str:
    """"gif", "mp4", "png" or "npy" from the extension of `path`; PredictError for any other."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        what = f"{extension} files" if extension else "a file without an extension"
        raise PredictError(f"--output={path}: cannot write {what}; name a .gif or .mp4 (animated grid), .png (contact "
                           "sheet) or .npy (raw frames [S, F, H, W, C]).")
    return FORMATS[extension]


def check_output(path: str, *, overwrite: bool = False, uncertainty: bool = False) -> str:
    """The kind of output `path` asks for, once it is known to be writable (`files.check_output_path`): call it
    before loading anything, so that no sampling is lost to an output that cannot be written."""
    kind = output_kind(path or "")
    if uncertainty and kind == "npy":
        raise PredictError("--uncertainty draws a panel in .gif, .mp4 and .png outputs; an .npy holds the raw futures "
                           "[S, F, H, W, C] (their spread is frames.std(axis=0)). Drop --uncertainty or write an "
                           "image.")
    try:
        files.check_output_path(path, overwrite=overwrite, flag="--output")
    except files.OutputPathError as error:
        raise PredictError(str(error)) from None
    return kind


def check_request(kind: str, plan: Plan, *, uncertainty: bool = False) -> None:
    """Refuses what `kind` cannot show of `plan`: an uncertainty of fewer than two samples, and an animation
    larger than the memory allows."""
    request = plan.request
    if uncertainty and request.num_samples < 2:
        raise PredictError(f"--uncertainty shows the spread of the samples: it needs --num_samples >= 2; got "
                           f"{request.num_samples}.")
    if kind in ("gif", "mp4"):
        panels = 1 + request.num_samples + uncertainty
        cell = (plan.spec.image_size + 4) * GIF_SCALE
        frames = request.context_frames + plan.num_frames
        needed = frames * panels * cell * cell * 3 * 2  # uint8 RGB frames, and the encoder's copy
        problem = memory.memory_problem(needed, memory.available_bytes(), f"A {kind.upper()} of {panels} panels "
                                        f"and {frames} frames", "ask for fewer --num_samples, or write an .npy")
        if problem:
            raise PredictError(problem)


def uncertainty_map(frames: np.ndarray) -> np.ndarray:
    """frames [S, F, H, W, C] -> [F, H, W] in [0, 1]: the per-pixel standard deviation across the S samples,
    averaged over channels, divided by MAX_STD."""
    return np.clip(frames.std(axis=0).mean(axis=-1) / MAX_STD, 0.0, 1.0)


def write_prediction(path: str, kind: str, prediction: Prediction, *, uncertainty: bool = False,
                     fps: float = 4.0, label: str = "") -> str:
    """Writes `prediction` as `kind` (see the module docstring) at `path` atomically; returns `path`."""
    spread = uncertainty_map(prediction.frames) if uncertainty else None
    if kind == "npy":
        return files.atomic_write(path, lambda tmp: _save_npy(tmp, prediction.frames))
    if kind == "png":
        return contact_sheet(path, prediction, spread, label)
    frames = video_io.prediction_frames(prediction.context, prediction.frames, spread,
                                        prediction.plan.steps_per_frame)
    if kind == "gif":
        return video_io.write_gif(path, frames, fps=fps, scale=GIF_SCALE)
    return video_io.write_mp4(path, frames, fps=fps, scale=GIF_SCALE)


def _save_npy(tmp: str, frames: np.ndarray) -> None:
    with open(tmp, "wb") as handle:  # a handle: np.save would add ".npy" to the temporary name
        np.save(handle, frames)


def sheet_indices(num_frames: int, columns: int = SHEET_COLUMNS) -> list[int]:
    """Every k-th of `num_frames` frames, k the smallest step that keeps at most `columns`, ending on the last."""
    step = -(-num_frames // columns)
    return list(range(num_frames - 1, -1, -step))[::-1]


def contact_sheet(path: str, prediction: Prediction, spread: np.ndarray | None, label: str = "") -> str:
    """PNG: the context row, one row per sample and the spread row, every k-th predicted frame."""
    plan = prediction.plan
    shown = sheet_indices(plan.num_frames)
    context = prediction.context[sheet_indices(len(prediction.context))]
    rows = [{"frames": list(context), "kinds": "context", "label": "context"}]
    rows += [{"frames": list(sample[shown]), "kinds": "prediction", "label": f"sample {s + 1}"}
             for s, sample in enumerate(prediction.frames)]
    if spread is not None:
        rows.append({"frames": list(video_io.heat_rgb(spread[shown])), "kinds": "uncertainty",
                     "label": "uncertainty"})
    k = plan.steps_per_frame
    every = shown[1] - shown[0] if len(shown) > 1 else 1
    title = (f"{label}: " if label else "") + "context (green) | futures (red) at t + " \
        + ", ".join(f"{(i + 1) / k:g}" for i in shown) + ("" if every == 1 else f" (one predicted frame in {every})")
    return figures.frame_grid(rows, path, title=title)
