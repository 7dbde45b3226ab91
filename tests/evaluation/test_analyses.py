"""SRVP analyses: frame rates, content swap and y_1 interpolation on a tiny (sharpened) model."""

import os

import numpy as np
import pytest

from tests.support.configs import tiny_config
from tests.support.runs import sharpen
from tests.support.videos import blob_videos
from tfvideo.evaluation import analyses
from tfvideo.models import build_model


@pytest.fixture(scope="module")
def model():
    srvp = build_model(tiny_config(variant="srvp_bounded"))
    sharpen(srvp, blob_videos(8, 5, seed=3), 150)
    return srvp


def _videos(count, length=7, seed=0):
    return blob_videos(count, length, seed=seed + 100)


def test_content_swap_of_a_video_with_itself_is_generate(model):
    context = _videos(2)[:, :3]
    swapped = analyses.content_swap(model, context, context, horizon=4, seed=5)
    generated = model.generate(context, num_samples=1, horizon=4, seed=5).numpy()[:, 0]
    assert swapped.shape == (2, 4, 64, 64, 1)
    np.testing.assert_allclose(swapped, generated, atol=1e-5)


def test_content_swap_takes_appearance_from_one_video_and_motion_from_the_other(model):
    a, b = _videos(1, seed=1)[:, :3], _videos(1, seed=2)[:, :3]
    ab = analyses.content_swap(model, a, b, horizon=4, seed=0)
    assert np.abs(ab - analyses.content_swap(model, b, b, horizon=4, seed=0)).max() > 1e-3  # content matters
    assert np.abs(ab - analyses.content_swap(model, a, a, horizon=4, seed=0)).max() > 1e-3  # dynamics matter


def test_interpolation_rows_go_from_one_initial_state_to_the_other(model):
    videos = _videos(3, seed=3)
    a, b, c = videos[0, :3], videos[1, :3], videos[2, :3]
    ab = analyses.interpolate_initial_states(model, a, b, length=5, steps=4)
    ac = analyses.interpolate_initial_states(model, a, c, length=5, steps=4)
    assert ab.shape == (4, 5, 64, 64, 1)
    np.testing.assert_allclose(ab[0], ac[0], atol=1e-6)  # a = 0: y_1 of the first video only
    assert np.abs(ab[-1] - ac[-1]).max() > 1e-3
    change = [np.abs(ab[i + 1] - ab[i]).mean() for i in range(3)]
    assert min(change) > 0
    same = analyses.interpolate_initial_states(model, a, a, length=5, steps=3)
    np.testing.assert_allclose(same[0], same[2], atol=1e-6)


def test_frame_rates_give_k_frames_per_step_aligned_on_the_finest_rate(model):
    context = _videos(1)[0, :3]
    generated = analyses.frame_rates(model, context, horizon=3, seed=1)
    assert {k: v.shape[0] for k, v in generated.items()} == {1: 3, 2: 6, 4: 12}
    rows = analyses.frame_rate_rows(_videos(1)[0, 3:6], generated, max_frames=2)
    assert [r["label"] for r in rows] == ["ground truth", "dt = 1", "dt = 1/2", "dt = 1/4"]
    assert all(len(r["frames"]) == 8 for r in rows)
    assert [f is not None for f in rows[1]["frames"]] == [False, False, False, True] * 2
    assert rows[2]["kinds"][1] == "intermediate" and rows[2]["kinds"][3] == "prediction"
    assert rows[3]["kinds"][:4] == ["intermediate"] * 3 + ["prediction"]
    np.testing.assert_array_equal(rows[3]["frames"][5], generated[4][5])


def test_write_srvp_analyses_writes_every_figure(model, tmp_path):
    paths = analyses.write_srvp_analyses(model, _videos(2), num_context=3, output_dir=str(tmp_path), max_frames=3)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == sorted(f"{n}.{e}" for n in ("frame_rate", "content_swap", "interpolation") for e in ("png", "gif"))
    assert all(os.path.getsize(p) > 1000 for p in paths)
