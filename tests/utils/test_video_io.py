import os

import numpy as np
import pytest

from tfvideo.utils import video_io


def test_comparison_frames_layout_and_borders():
    context = np.zeros([2, 3, 5, 6, 1], np.float32)
    truth = np.ones([2, 4, 5, 6, 1], np.float32)
    samples = np.full([2, 2, 4, 5, 6, 1], 0.5, np.float32)
    frames = video_io.comparison_frames(context, truth, samples)
    assert frames.shape == (3 + 4, 2 * (5 + 4), 3 * (6 + 4), 3)
    # A context frame: every cell black inside a green border.
    assert tuple(frames[0, 0, 0]) == video_io.CONTEXT_BORDER and frames[0, 2:7, 2:8].max() == 0
    # A future frame: ground truth (white, blue border) then samples (grey, red border).
    assert tuple(frames[3, 0, 0]) == video_io.GROUND_TRUTH_BORDER and frames[3, 2:7, 2:8].min() == 255
    assert tuple(frames[3, 0, 10]) == video_io.PREDICTION_BORDER and np.all(frames[3, 2:7, 12:18] == 128)


def test_gif_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = (rng.uniform(size=(3, 4, 5, 3)) > 0.5).astype(np.uint8) * 255
    path = video_io.write_gif(str(tmp_path / "sub" / "x.gif"), frames, scale=2)
    back = video_io.read_gif(path)
    assert back.shape == (3, 8, 10, 3)
    np.testing.assert_array_equal(back[:, ::2, ::2], frames)


def test_bad_inputs():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        video_io.to_uint8_rgb(np.zeros([2, 2, 2]))
    with pytest.raises(ValueError, match="uint8"):
        video_io.encode_gif(np.zeros([1, 2, 2, 3], np.float32))


def _cell(frames, t, row, column, height, width):
    """The inside (no border) of grid cell (row, column) of animation frame t of `prediction_frames`."""
    top = video_io.COUNTER_HEIGHT + row * (height + 4) + 2
    left = column * (width + 4) + 2
    return frames[t, top:top + height, left:left + width]


def test_prediction_frames_layout_borders_and_counter():
    """Context [3, 5, 16, 1] (value 0.2), 2 samples of 4 frames (sample s, frame f: (s + 1) / 10 + f / 20) and
    the uncertainty panel: 4 panels in one row."""
    h, w = 5, 16
    context = np.full([3, h, w, 1], 0.2, np.float32)
    samples = np.stack([[np.full([h, w, 1], (s + 1) / 10 + f / 20) for f in range(4)] for s in range(2)])
    spread = np.linspace(0, 1, 4)[:, None, None] * np.ones([4, h, w])
    frames = video_io.prediction_frames(context, samples, spread, steps_per_frame=2)
    assert frames.shape == (3 + 4, video_io.COUNTER_HEIGHT + h + 4, 4 * (w + 4), 3)
    grey = lambda value: video_io.to_uint8_rgb(np.full([1], value, np.float32))[0]
    for t in range(3):  # the context in the context panel and in every sample panel; the spread panel is black
        for column in range(3):
            assert np.all(_cell(frames, t, 0, column, h, w) == grey(0.2))
        assert _cell(frames, t, 0, 3, h, w).max() == 0
    for f in range(4):
        t = 3 + f
        assert np.all(_cell(frames, t, 0, 0, h, w) == grey(0.2))  # the last context frame stays
        for s in range(2):
            assert np.all(_cell(frames, t, 0, 1 + s, h, w) == grey((s + 1) / 10 + f / 20))
        np.testing.assert_array_equal(_cell(frames, t, 0, 3, h, w)[0, 0],
                                      video_io.to_uint8_rgb(video_io.heat_rgb(spread[f, 0, 0])))
    top, cell = video_io.COUNTER_HEIGHT, w + 4
    assert tuple(frames[0, top, 0]) == video_io.CONTEXT_BORDER
    assert tuple(frames[0, top, cell]) == video_io.CONTEXT_BORDER
    assert tuple(frames[3, top, cell]) == video_io.PREDICTION_BORDER
    assert tuple(frames[3, top, 3 * cell]) == video_io.UNCERTAINTY_BORDER
    counters = [frames[t, :top].tobytes() for t in range(7)]
    assert len(set(counters)) == 7 and frames[0, :top].min() < 128  # dark text, different on every frame
    assert video_io._counter_text(4, 3, 4, 2) == "future 1.00/2" and video_io._counter_text(0, 3, 4, 1) == \
        "context 1/3"


def test_prediction_frames_wrap_many_panels_into_a_grid():
    frames = video_io.prediction_frames(np.zeros([1, 4, 4, 3]), np.ones([15, 2, 4, 4, 3]))
    assert frames.shape == (3, video_io.COUNTER_HEIGHT + 4 * 8, 4 * 8, 3)  # 16 panels: 4 x 4
    assert np.all(_cell(frames, 2, 3, 3, 4, 4) == 255)  # the last sample, bottom right


def test_heat_rgb_runs_black_red_yellow_white():
    np.testing.assert_allclose(video_io.heat_rgb(np.array([0.0, 1 / 3, 2 / 3, 1.0, 7.0])),
                               [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]], atol=1e-6)


def test_mp4_round_trip(tmp_path):
    """Lossy (MPEG-4 Part 2): the frames come back close, at the scaled and even size."""
    from tfvideo.data import video_files
    frames = np.zeros([6, 9, 7, 3], np.uint8)
    for t in range(6):
        frames[t, 2:6, t:t + 2] = (255, 128, 0)
    path = video_io.write_mp4(str(tmp_path / "out" / "x.mp4"), frames, fps=5, scale=2)
    assert os.listdir(tmp_path / "out") == ["x.mp4"]
    back = video_files.read_video(path, channels=3)
    assert back.shape == (6, 18, 14, 3)
    assert np.abs(back.astype(float) - frames.repeat(2, 1).repeat(2, 2)).mean() < 6
    with pytest.raises(ValueError, match="uint8"):
        video_io.write_mp4(str(tmp_path / "y.mp4"), frames.astype(np.float32))
