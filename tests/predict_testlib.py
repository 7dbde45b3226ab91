"""Shared artefacts of the prediction tests (tests/prediction/, tests/test_predict.py): the tiny trained run and
its exports of tests/export/export_testlib.py (the same memoised objects, so a test session trains and exports
once), clips written in every input format, and the CLI run in process.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "export"))
import export_testlib  # noqa: E402  (tests/export is on the path while its own tests run: one module, one cache)
from export_testlib import saved_model_export, tflite_export, trained_run  # noqa: E402,F401
from runs_testlib import run_cli  # noqa: E402

REPO = export_testlib.REPO
CONTEXT_FRAMES = 5  # the tiny run's --conditioning_frames
HORIZON = 7  # its --test_horizon
IMAGE = export_testlib.IMAGE  # (64, 64, 1)


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


def run_predict(argv: list[str]) -> dict:
    """`python -m tfvideo.predict` in process: {"code", "out", "err"}."""
    from tfvideo import predict
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(predict, argv, prog="tfvideo.predict")
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}
