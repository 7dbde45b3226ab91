"""Metrics against closed forms and tf.image: PSNR, SSIM, best-of-N, the 95% interval, the Fréchet distance."""

import numpy as np
import pytest
import tensorflow as tf

from tfvideo.evaluation import metrics


def _pair(shape, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    a = rng.uniform(size=shape).astype(np.float32)
    b = np.clip(a + rng.normal(0.0, noise, size=shape), 0.0, 1.0).astype(np.float32)
    return a, b


def test_psnr_of_known_images():
    a = np.zeros((2, 12, 13, 1), np.float32)
    b = np.full((2, 12, 13, 1), 0.1, np.float32)  # MSE 0.01 -> 20 dB
    b[1] = 0.5  # MSE 0.25 -> 10 log10(4) = 6.0206 dB
    np.testing.assert_allclose(metrics.psnr(a, b).numpy(), [20.0, 10 * np.log10(4.0)], rtol=1e-5)


def test_psnr_of_gray_frames_matches_tf_image_on_any_leading_dims_and_is_finite_for_identical_frames():
    a, b = _pair((2, 3, 4, 14, 15, 1))
    ours = metrics.psnr(a, b).numpy()
    assert ours.shape == (2, 3, 4)
    np.testing.assert_allclose(ours, tf.image.psnr(a, b, max_val=1.0).numpy(), rtol=1e-5)
    assert metrics.psnr(a, a).numpy().max() == pytest.approx(100.0)  # MSE floored at 1e-10


def test_psnr_of_rgb_frames_is_the_mean_of_the_per_channel_psnrs():
    """The SRVP code's RGB PSNR: per channel (MSE over H, W), then the mean over channels. With unequal channel
    errors (MSE 0.01, 0.04, 0.0025 -> 20, 13.98, 26.02 dB) it differs from one PSNR over all channels (18.0 dB)."""
    target = np.zeros((2, 12, 13, 3), np.float32)
    pred = np.broadcast_to(np.array([0.1, 0.2, 0.05], np.float32), target.shape).copy()
    pred[1, ..., 0] = 0.5  # second frame: channel 0 MSE 0.25 -> 6.02 dB
    per_channel = -10.0 * np.log10(np.mean((pred - target) ** 2, axis=(1, 2)))  # [2, 3]
    ours = metrics.psnr(pred, target).numpy()
    np.testing.assert_allclose(ours, per_channel.mean(axis=-1), rtol=1e-5)
    assert ours[0] == pytest.approx((20.0 + 10 * np.log10(25.0) + 10 * np.log10(400.0)) / 3, rel=1e-5)
    pooled = tf.image.psnr(pred, target, max_val=1.0).numpy()
    assert np.all(ours > pooled + 0.5)


def test_ssim_matches_tf_image_ssim():
    a, b = _pair((2, 3, 16, 17, 2))
    ours = metrics.ssim(a, b).numpy()
    expected = tf.image.ssim(a, b, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03).numpy()
    assert ours.shape == (2, 3)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert np.all(ours < 0.99) and np.all(ours > 0.3)


def _ssim_float64(x, y):
    """The textbook SSIM of frames [N, H, W, C] in float64 numpy (direct 2-D window, E[x^2] - mu^2 variances)."""
    window = np.outer(metrics.gaussian_window(), metrics.gaussian_window()).astype(np.float64)
    size = window.shape[0]
    x, y = x.astype(np.float64), y.astype(np.float64)
    h, w = x.shape[1] - size + 1, x.shape[2] - size + 1
    mean = lambda t: np.array([[np.einsum("nijc,ij->nc", t[:, i:i + size, j:j + size], window) for j in range(w)]
                               for i in range(h)]).transpose(2, 0, 1, 3)  # [N, h, w, C]
    mu_x, mu_y = mean(x), mean(y)
    var_x, var_y, cov = mean(x * x) - mu_x ** 2, mean(y * y) - mu_y ** 2, mean(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    ssim_map = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean(axis=(1, 2, 3))


def test_ssim_matches_the_textbook_formula_in_float64():
    a, b = _pair((3, 13, 15, 2), seed=1, noise=0.3)
    np.testing.assert_allclose(metrics.ssim(a, b).numpy(), _ssim_float64(a, b), atol=2e-6)


def test_ssim_hand_computed_constant_frames():
    # Constant frames: variances and covariance are 0, so SSIM = (2ab + c1) / (a^2 + b^2 + c1).
    a, b, c1 = 0.2, 0.6, (0.01) ** 2
    x = np.full((1, 12, 14, 1), a, np.float32)
    y = np.full((1, 12, 14, 1), b, np.float32)
    np.testing.assert_allclose(metrics.ssim(x, y).numpy(), [(2 * a * b + c1) / (a * a + b * b + c1)], rtol=1e-6)
    assert metrics.ssim(x, x).numpy()[0] == 1.0


@pytest.mark.parametrize("shape", [(1, 12, 14, 1), (5, 16, 13, 3), (37, 64, 64, 1)])
def test_ssim_of_identical_frames_is_exactly_one_for_any_batch_and_kernel_order(shape):
    """SSIM(x, x) = 1 by construction (the differences x - y are exactly 0), not within a tolerance that
    depends on the CPU's matrix-product kernels."""
    frames, _ = _pair(shape, seed=2)
    np.testing.assert_array_equal(metrics.ssim(frames, frames).numpy(), np.ones(shape[0], np.float32))
    np.testing.assert_array_equal(metrics.ssim(frames[None], frames[None]).numpy(), np.ones((1, shape[0])))


def test_ssim_gaussian_window_is_the_11_tap_sigma_1_5_gaussian():
    window = metrics.gaussian_window()
    assert window.shape == (11,) and window.sum() == pytest.approx(1.0)
    assert window[5] / window[6] == pytest.approx(np.exp(1 / (2 * 1.5 ** 2)), rel=1e-5)


def test_ssim_rejects_frames_smaller_than_the_window():
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(np.zeros((1, 10, 12, 1), np.float32), np.zeros((1, 10, 12, 1), np.float32))


def test_best_of_samples_picks_by_mean_over_frames_per_video():
    values = np.array([[[1.0, 9.0, 1.0], [4.0, 4.0, 4.0], [3.0, 0.0, 0.0]],   # means 3.67, 4, 1
                       [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [2.0, 2.0, 2.0]]])  # means 0, 5, 2
    best = metrics.best_of_samples(values, "max")
    np.testing.assert_array_equal(best["index"].numpy(), [1, 1])
    np.testing.assert_allclose(best["curve"].numpy(), [[4, 4, 4], [5, 5, 5]])
    worst = metrics.best_of_samples(values, "min")
    np.testing.assert_array_equal(worst["index"].numpy(), [2, 0])  # single frames (9 or 0) do not decide
    np.testing.assert_allclose(worst["mean"].numpy(), [1.0, 0.0])
    with pytest.raises(ValueError, match="'max' or 'min'"):
        metrics.best_of_samples(values, "best")


def test_mean_and_interval_is_1_96_std_over_sqrt_n():
    values = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [5.0, 50.0]])
    out = metrics.mean_and_interval(values)
    std = np.sqrt(((values - values.mean(0)) ** 2).sum(0) / 3)  # ddof=1
    np.testing.assert_allclose(out["mean"], [3.0, 30.0])
    np.testing.assert_allclose(out["ci95"], 1.96 * std / 2.0)
    assert out["n"] == 4
    assert metrics.mean_and_interval([[7.0, 8.0]])["ci95"].tolist() == [0.0, 0.0]


def test_frechet_distance_of_identical_statistics_is_zero_and_matches_closed_forms():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(50, 6))
    stats = metrics.gaussian_statistics(features)
    assert metrics.frechet_distance(stats["mean"], stats["cov"], stats["mean"], stats["cov"]) == pytest.approx(
        0.0, abs=1e-8)
    # Diagonal covariances: ||mu1 - mu2||^2 + sum (s1 + s2 - 2 sqrt(s1 s2)).
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = 5.0 + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)
    # General covariances: the trace of the matrix square root, as scipy computes it.
    import scipy.linalg
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    c1, c2 = a @ a.T + 0.1 * np.eye(4), b @ b.T
    reference = np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2)))
    assert metrics.frechet_distance(np.zeros(4), c1, np.zeros(4), c2) == pytest.approx(reference, rel=1e-6)
