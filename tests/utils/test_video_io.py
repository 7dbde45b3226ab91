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
