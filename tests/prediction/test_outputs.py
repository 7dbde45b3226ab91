"""tfvideo.prediction.outputs: the output kinds, checked before the work, written atomically."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tfvideo.data import clips, video_files
from tfvideo.prediction import outputs, predict_lib
from tfvideo.prediction.errors import PredictError
from tfvideo.runtimes import ModelSpec
from tfvideo.utils import memory, video_io

H, W = 16, 16
SPEC = ModelSpec(source="test", image_size=H, channels=1, min_context_frames=1, dt_supported=True, training_dt=1.0,
                 conditioning_frames=3, test_horizon=4, preprocessing=clips.Preprocessing(H, 1))


def _prediction(num_samples=3, horizon=4, dt=1.0):
    """Context 3 frames of value 0.25 + t / 10; sample s: values s / 4 (so the spread is known)."""
    plan = predict_lib.plan(SPEC, predict_lib.Request(input="x", num_samples=num_samples, horizon=horizon, dt=dt))
    context = np.stack([np.full([H, W, 1], 0.25 + t / 10, np.float32) for t in range(3)])
    frames = np.stack([np.full(plan.frames_shape[1:], s / 4, np.float32) for s in range(num_samples)])
    return predict_lib.Prediction(plan, context, frames, 0.0)


def test_the_extension_picks_the_kind():
    assert [outputs.output_kind(p) for p in ("a.gif", "b.MP4", "c.png", "d.npy")] == ["gif", "mp4", "png", "npy"]
    with pytest.raises(PredictError, match="cannot write .avi files; name a .gif or .mp4"):
        outputs.output_kind("x.avi")
    with pytest.raises(PredictError, match="cannot write a file without an extension"):
        outputs.output_kind("futures")


def test_check_output_refuses_before_any_work(tmp_path):
    existing = tmp_path / "old.gif"
    existing.write_bytes(b"GIF89a")
    with pytest.raises(PredictError, match="already exists: pass --overwrite"):
        outputs.check_output(str(existing))
    assert outputs.check_output(str(existing), overwrite=True) == "gif"
    with pytest.raises(PredictError, match="--uncertainty draws a panel in .gif, .mp4 and .png"):
        outputs.check_output(str(tmp_path / "f.npy"), uncertainty=True)
    with pytest.raises(PredictError, match="is a file, not a folder"):
        outputs.check_output(str(existing / "f.png"))
    assert outputs.check_output(str(tmp_path / "new" / "f.mp4")) == "mp4" and not os.path.exists(tmp_path / "new")


def test_check_request_needs_two_samples_for_the_spread_and_bounds_animations(monkeypatch):
    with pytest.raises(PredictError, match="needs --num_samples >= 2; got 1"):
        outputs.check_request("png", _prediction(num_samples=1).plan, uncertainty=True)
    plan = _prediction().plan
    outputs.check_request("gif", plan, uncertainty=True)
    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000)  # 3 x 4 frames take 12 KB, a GIF 270 KB
    with pytest.raises(PredictError, match="A GIF of 4 panels and 7 frames needs at least 0.256 MiB"):
        outputs.check_request("gif", plan)
    outputs.check_request("npy", plan)


def test_uncertainty_is_the_spread_over_samples_scaled_to_one():
    frames = np.zeros([2, 3, 2, 2, 3], np.float32)
    frames[1] = 1.0  # two samples 0 and 1: standard deviation 0.5, the largest possible
    frames[:, 1] = 0.5  # identical at t = 1
    np.testing.assert_allclose(outputs.uncertainty_map(frames), [np.ones([2, 2]), np.zeros([2, 2]), np.ones([2, 2])])


def test_npy_holds_the_raw_futures(tmp_path):
    prediction = _prediction(dt=0.5)
    path = outputs.write_prediction(str(tmp_path / "f.npy"), "npy", prediction)
    np.testing.assert_array_equal(np.load(path), prediction.frames)
    assert np.load(path).shape == (3, 8, H, W, 1) and os.listdir(tmp_path) == ["f.npy"]


@pytest.mark.parametrize("kind", ["gif", "mp4"])
def test_animations_show_the_context_then_the_futures(kind, tmp_path):
    prediction = _prediction()
    path = outputs.write_prediction(str(tmp_path / f"f.{kind}"), kind, prediction, uncertainty=True, fps=5)
    frames = video_io.read_gif(path) if kind == "gif" else video_files.read_video(path, channels=3)
    expected = video_io.prediction_frames(prediction.context, prediction.frames,
                                          outputs.uncertainty_map(prediction.frames))
    assert frames.shape == (3 + 4, *[2 * n for n in expected.shape[1:3]], 3)
    tolerance = 0 if kind == "gif" else 12  # the MP4 is lossy
    assert np.abs(frames[:, ::2, ::2].astype(int) - expected).mean() <= tolerance


def test_png_is_a_contact_sheet_of_every_kth_frame(tmp_path):
    assert outputs.sheet_indices(20) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    assert outputs.sheet_indices(7) == [0, 1, 2, 3, 4, 5, 6] and outputs.sheet_indices(25) == [0, 3, 6, 9, 12, 15,
                                                                                               18, 21, 24]
    path = outputs.write_prediction(str(tmp_path / "f.png"), "png", _prediction(), uncertainty=True, label="clip")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 4 * (W + 4) and image.size[1] > 5 * (H + 4)
    assert os.listdir(tmp_path) == ["f.png"]
