"""FVD's I3D on tiny random weights (loading and plumbing) and the Fréchet distance of its features."""

import numpy as np
import pytest

from tests.support.weights import i3d_weights, write_npz
from tfvideo.evaluation import fvd, metrics


def _videos(batch, length=9, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(size=(batch, length, 20, 24, channels)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_i3d(tmp_path_factory):
    path = write_npz(tmp_path_factory.mktemp("i3d") / "i3d.npz", i3d_weights())
    return fvd.I3D.from_file(path, resolution=32)


def test_features_are_per_video_logits_independent_of_the_batch(tiny_i3d):
    videos = _videos(3)
    features = tiny_i3d(videos).numpy()
    assert features.shape == (3, 6) and np.all(np.isfinite(features))
    np.testing.assert_allclose(tiny_i3d(videos[1:2]).numpy(), features[1:2], rtol=1e-5, atol=1e-6)
    assert not np.allclose(features[0], features[1])


def test_preprocessing_resizes_repeats_gray_and_scales_to_minus_one_one(tiny_i3d):
    videos = np.zeros((1, 2, 5, 7, 1), np.float32)
    videos[0, 1] = 1.0
    out = tiny_i3d.preprocess(videos).numpy()
    assert out.shape == (1, 2, 32, 32, 3)
    np.testing.assert_allclose(out[0, 0], -1.0)
    np.testing.assert_allclose(out[0, 1], 1.0, atol=1e-6)


def test_frames_are_quantised_to_uint8_levels_before_i3d(tiny_i3d):
    """As the SRVP code (`x.mul(255).byte()`): floor(255 x), so a float video and its uint8 rendering score alike,
    and a change below one uint8 level changes nothing."""
    videos = _videos(2)
    as_uint8 = np.floor(videos * 255.0) / 255.0
    np.testing.assert_array_equal(tiny_i3d.preprocess(videos).numpy(), tiny_i3d.preprocess(as_uint8).numpy())
    np.testing.assert_array_equal(tiny_i3d(videos).numpy(), tiny_i3d(np.minimum(videos + 0.1 / 255.0, as_uint8
                                                                                 + 0.999 / 255.0)).numpy())
    levels = fvd.to_uint8_levels(np.array([0.0, 0.5, 1.0, 1.2, -0.1, 254.9 / 255.0], np.float32)).numpy()
    np.testing.assert_array_equal(levels, [0.0, 127.0, 255.0, 255.0, 0.0, 254.0])


def test_fvd_of_identical_sets_is_zero_and_grows_with_a_shift(tiny_i3d):
    real = tiny_i3d(_videos(6, seed=1)).numpy()
    fake = tiny_i3d(np.clip(_videos(6, seed=1) * 0.3, 0, 1)).numpy()
    stats = metrics.gaussian_statistics(real)
    assert metrics.frechet_distance(stats["mean"], stats["cov"], stats["mean"], stats["cov"]) == pytest.approx(
        0.0, abs=1e-6)
    other = metrics.gaussian_statistics(fake)
    assert metrics.frechet_distance(stats["mean"], stats["cov"], other["mean"], other["cov"]) > 1e-3


def test_missing_or_incomplete_weights_say_what_to_download(tmp_path):
    with pytest.raises(fvd.WeightsMissingError, match="rgb_imagenet.pt"):
        fvd.I3D.from_file(str(tmp_path / "i3d.pt"))
    with pytest.raises(fvd.WeightsMissingError, match="No FVD weight file"):
        fvd.I3D.from_file(None)
    weights = i3d_weights()
    del weights["Mixed_4c.b1b.bn.running_var"]
    with pytest.raises(fvd.WeightsMissingError, match="lacks Mixed_4c.b1b.bn.running_var"):
        fvd.I3D(weights)


def test_unit_names_cover_the_inception_i3d_trunk():
    names = fvd.unit_names()
    assert len(names) == 3 + 9 * 6  # three stem convolutions, nine Inception modules of six units
    assert names[:4] == ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "Mixed_3b.b0"]
    assert names[-1] == "Mixed_5c.b3b"
