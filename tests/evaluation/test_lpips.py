"""LPIPS (AlexNet-lin) on tiny random weight files: loading, names, the math against numpy, and clear errors."""

import numpy as np
import pytest

from tests.support.weights import lpips_weights, write_npz
from tfvideo.evaluation import lpips


def _frames(shape, seed):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def _numpy_layer1_distance(weights, x, y):
    """LPIPS restricted to ReLU 1, computed independently: pad 2, 11x11 stride-4 convolution in OIHW layout."""
    def features(frames):
        rgb = np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames
        scaled = ((2 * rgb - 1) - lpips.SHIFT) / lpips.SCALE
        padded = np.pad(scaled, [(0, 0), (2, 2), (2, 2), (0, 0)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, (11, 11), axis=(1, 2))[:, ::4, ::4]
        # windows [N, H', W', C, 11, 11]; kernel [O, C, 11, 11]
        out = np.einsum("nhwcij,ocij->nhwo", windows, weights["features.0.weight"]) + weights["features.0.bias"]
        out = np.maximum(out, 0)
        return out / (np.sqrt((out ** 2).sum(-1, keepdims=True)) + 1e-10)
    diff = (features(x) - features(y)) ** 2
    return (diff * weights["lin0.model.1.weight"].reshape(-1)).sum(-1).mean(axis=(1, 2))


def test_identical_frames_give_zero_and_different_frames_a_positive_symmetric_distance(tmp_path):
    metric = lpips.LPIPS.from_files(write_npz(tmp_path / "w.npz", lpips_weights()))
    x, y = _frames((2, 3, 64, 64, 1), 0), _frames((2, 3, 64, 64, 1), 1)
    same = metric(x, x).numpy()
    assert same.shape == (2, 3) and np.allclose(same, 0.0, atol=1e-7)
    d_xy, d_yx = metric(x, y).numpy(), metric(y, x).numpy()
    assert np.all(d_xy > 1e-3)
    np.testing.assert_allclose(d_xy, d_yx, rtol=1e-5)


def test_distance_matches_an_independent_numpy_computation_of_the_first_layer(tmp_path):
    weights = lpips_weights(seed=2)
    for i in range(1, 5):  # switch off the heads of layers 2-5
        weights[lpips.LIN_KEYS[i]] = np.zeros_like(weights[lpips.LIN_KEYS[i]])
    metric = lpips.LPIPS(weights)
    x, y = _frames((3, 48, 52, 1), 3), _frames((3, 48, 52, 1), 4)
    np.testing.assert_allclose(metric(x, y).numpy(), _numpy_layer1_distance(weights, x, y), rtol=1e-4)
    rgb_x, rgb_y = _frames((2, 48, 52, 3), 5), _frames((2, 48, 52, 3), 6)
    np.testing.assert_allclose(metric(rgb_x, rgb_y).numpy(), _numpy_layer1_distance(weights, rgb_x, rgb_y),
                               rtol=1e-4)


def test_weights_split_over_two_files_and_lpips_own_names_are_accepted(tmp_path):
    weights = lpips_weights(seed=1)
    backbone = {k: v for k, v in weights.items() if k.startswith("features.")}
    heads = {k: v for k, v in weights.items() if k.startswith("lin")}
    slices = {"features.0": "net.slice1.0", "features.3": "net.slice2.3", "features.6": "net.slice3.6",
              "features.8": "net.slice4.8", "features.10": "net.slice5.10"}
    renamed = {slices[k.rsplit(".", 1)[0]] + "." + k.rsplit(".", 1)[1]: v for k, v in backbone.items()}
    split = lpips.LPIPS.from_files(f"{write_npz(tmp_path / 'alexnet.npz', renamed)},"
                                   f"{write_npz(tmp_path / 'heads.npz', heads)}")
    whole = lpips.LPIPS(weights)
    x, y = _frames((2, 64, 64, 1), 7), _frames((2, 64, 64, 1), 8)
    np.testing.assert_allclose(split(x, y).numpy(), whole(x, y).numpy(), rtol=1e-6)
    assert split.digest == whole.digest and len(whole.digest) == 64


def test_missing_files_and_weights_say_what_to_download(tmp_path):
    with pytest.raises(lpips.WeightsMissingError, match="alexnet-owt-7be5be79.pth"):
        lpips.LPIPS.from_files(str(tmp_path / "nope.pth"))
    with pytest.raises(lpips.WeightsMissingError, match="No LPIPS weight files"):
        lpips.LPIPS.from_files("")
    heads_only = {k: v for k, v in lpips_weights().items() if k.startswith("lin")}
    with pytest.raises(lpips.WeightsMissingError, match=r"(?s)lack features\.0\.weight.*v0\.1/alex\.pth"):
        lpips.LPIPS.from_files(write_npz(tmp_path / "heads.npz", heads_only))


def test_wrong_shapes_are_refused(tmp_path):
    weights = lpips_weights()
    weights["lin2.model.1.weight"] = np.ones((1, 9, 1, 1), np.float32)
    with pytest.raises(ValueError, match="lin2.model.1.weight"):
        lpips.LPIPS(weights)
