"""Figures: files written, non-empty, and with the right pixels (curve colors, framed cells, GIF content)."""

import os

import numpy as np
import pytest
from PIL import Image

from tfvideo.evaluation import figures
from tfvideo.utils import video_io


def _results(name, offset, metrics=("psnr", "ssim")):
    steps = [4, 5, 6, 7]
    out = {"workdir": f"/runs/{name}", "predictor": "model", "checkpoint_step": 10, "num_videos": 8,
           "protocol": {"time_steps": steps, "num_samples": 5, "conditioning_frames": 3, "horizon": 4, "dt": 1.0},
           "metrics": {}}
    for m in metrics:
        mean = [offset + 1.0 - 0.1 * t for t in range(4)]
        out["metrics"][m] = {"mean": float(np.mean(mean)), "ci95": 0.05,
                             "per_step": {"mean": mean, "ci95": [0.05] * 4}}
    return out


def _rgb(color_hex):
    return np.array([int(color_hex[i:i + 2], 16) for i in (1, 3, 5)])


def _pixels_near(path, color, tolerance=6):
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(image - np.asarray(color)).max(-1) <= tolerance).sum())


def test_curves_have_one_color_per_run(tmp_path):
    single = figures.plot_curves([_results("a", 0.0)], str(tmp_path / "one.png"), ["a"])
    both = figures.plot_curves([_results("a", 0.0), _results("b", 0.5)], str(tmp_path / "two.png"), ["a", "b"])
    assert os.path.getsize(single) > 5000 and os.path.getsize(both) > 5000
    first, second = _rgb(figures.CURVE_COLORS[0]), _rgb(figures.CURVE_COLORS[1])
    assert _pixels_near(single, first) > 200  # two subplots of 2.5 px wide lines (and the legend)
    assert _pixels_near(single, second) == 0
    assert _pixels_near(both, first) > 200 and _pixels_near(both, second) > 200
    assert not [n for n in os.listdir(tmp_path) if ".tmp" in n]


def test_curves_need_a_per_step_metric(tmp_path):
    with pytest.raises(ValueError, match="no per-step metric"):
        figures.plot_curves([_results("a", 0.0, metrics=())], str(tmp_path / "x.png"), ["a"])
    with pytest.raises(ValueError, match="1 labels for 2 results"):
        figures.plot_curves([_results("a", 0.0), _results("b", 0.5)], str(tmp_path / "x.png"), ["a"])


def test_compose_rows_frames_each_cell_in_its_kind_color_and_blanks_missing_ones():
    frame = np.zeros((5, 6, 1), np.float32)
    frame[1, 2] = 1.0
    image = figures.compose_rows([{"frames": [frame, frame], "kinds": ["context", "prediction"]},
                                  {"frames": [None, frame], "kinds": "truth"}])
    assert image.shape == (2 * 9, 2 * 10, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == video_io.CONTEXT_BORDER and tuple(image[0, 10]) == video_io.PREDICTION_BORDER
    assert tuple(image[9, 10]) == video_io.GROUND_TRUTH_BORDER
    assert tuple(image[2 + 1, 10 + 2 + 2]) == (255, 255, 255)  # the lit pixel of the prediction cell
    assert tuple(image[2, 2]) == (0, 0, 0)
    assert np.all(image[9:18, 0:10] == 255)  # blank cell


def _video(seed, length, value):
    rng = np.random.default_rng(seed)
    frames = np.zeros((length, 64, 64, 1), np.float32)
    for t in range(length):
        y, x = rng.integers(0, 50, size=2)
        frames[t, y:y + 14, x:x + 14] = value
    return frames


def test_sample_figures_show_context_truth_best_and_random_samples(tmp_path):
    context, truth = _video(0, 3, 1.0), _video(1, 4, 1.0)
    samples = np.stack([_video(2 + s, 4, 0.2 + 0.2 * s) for s in range(4)])  # sample s has brightness 0.2(1+s)
    paths = figures.write_sample_figures([{"index": 7, "context": context, "truth": truth, "samples": samples,
                                           "best": 2}], str(tmp_path), random_count=2)
    assert [os.path.basename(p) for p in paths] == ["samples_000007.png", "samples_000007.gif"]
    assert all(os.path.getsize(p) > 1000 for p in paths)
    for color in (video_io.CONTEXT_BORDER, video_io.GROUND_TRUTH_BORDER, video_io.PREDICTION_BORDER):
        assert _pixels_near(paths[0], color) > 100
    gif = video_io.read_gif(paths[1])
    cell = 2 * (64 + 4)  # GIF cells: 2 px borders, scaled up twice
    assert gif.shape == (3 + 4, cell, 4 * cell, 3)  # columns: truth | best | 2 random samples
    last = gif[-1]
    inner = lambda column: last[4:cell - 4, column * cell + 4:(column + 1) * cell - 4]
    assert abs(int(inner(1).max()) - round(0.6 * 255)) <= 3  # best = sample 2
    assert abs(int(inner(2).max()) - round(0.2 * 255)) <= 3 and abs(int(inner(3).max()) - round(0.4 * 255)) <= 3
    assert inner(0).max() >= 250  # ground truth
