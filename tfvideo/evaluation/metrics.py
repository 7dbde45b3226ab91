"""Frame and distribution metrics of the video prediction protocol, in TensorFlow (and numpy for statistics).

- `psnr(pred, target)`: 10 log10(max_val^2 / MSE) per frame and channel, MSE over (H, W), then the mean over
  channels, as the SRVP code scores RGB frames (on one channel it equals `tf.image.psnr`); the MSE is floored at
  `MSE_FLOOR` so that identical frames give a finite 100 dB instead of inf. One PSNR over the MSE of all channels
  is never higher, and lower by several dB when the channels' errors differ.
- `ssim(pred, target)`: SSIM with an 11x11 Gaussian window (sigma 1.5), k1 = 0.01, k2 = 0.03, valid padding, the
  map averaged over positions and channels; the same value as `tf.image.ssim(..., filter_size=11,
  filter_sigma=1.5)` (computed with a separable window).
- `best_of_samples(values, mode)`: the protocol's best-of-N, per video and per metric independently.
- `mean_and_interval(values)`: mean +- 1.96 * std / sqrt(n) over videos.
- `frechet_distance(mu1, cov1, mu2, cov2)`: the Fréchet distance between two Gaussians (FVD's final step).

LPIPS and FVD networks live in `lpips.py` and `fvd.py` beside this module; `METRIC_VERSIONS` names what each
metric computes, and the results file records it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MSE_FLOOR = 1e-10  # PSNR <= 100 dB for max_val 1
SSIM_FILTER_SIZE = 11
SSIM_FILTER_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
INTERVAL_Z = 1.96  # 95% normal interval

METRIC_VERSIONS = {
    "psnr": "psnr-v2: 10*log10(1/MSE) per frame and channel on [0, 1] frames, MSE over H, W floored at 1e-10 "
            "(max 100 dB), mean over channels (as the SRVP code)",
    "ssim": "ssim-v1: Gaussian window 11x11 sigma 1.5, k1 0.01, k2 0.03, valid padding, mean over positions "
            "and channels (= tf.image.ssim)",
    "lpips": "lpips-alexnet-lin-v0.1: AlexNet features relu1-5, unit-normalised over channels, v0.1 linear heads, "
             "inputs in [-1, 1], grayscale repeated to 3 channels",
    "fvd": "fvd-i3d-v2: I3D (Kinetics-400, PyTorch port of the weights) logits of conditioning + future frames "
           "quantised to uint8 (floor(255 x), as the SRVP code), resized to 224x224 (bilinear), inputs in [-1, 1]; "
           "real = ground truth, fake = the first random sample",
}
BEST_MODES = {"psnr": "max", "ssim": "max", "lpips": "min"}


def psnr(pred, target, max_val: float = 1.0) -> tf.Tensor:
    """PSNR in dB of frames [..., H, W, C] -> [...] (float32): per channel, then averaged over the C channels."""
    pred, target = tf.cast(pred, tf.float32), tf.cast(target, tf.float32)
    mse = tf.reduce_mean(tf.square(pred - target), axis=[-3, -2])  # [..., C]
    per_channel = 10.0 * (tf.math.log(max_val ** 2 / tf.maximum(mse, MSE_FLOOR)) / tf.math.log(10.0))
    return tf.reduce_mean(per_channel, axis=-1)


def gaussian_window(size: int = SSIM_FILTER_SIZE, sigma: float = SSIM_FILTER_SIGMA) -> np.ndarray:
    """The 1-D normalised Gaussian [size] whose outer product is SSIM's 2-D window."""
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    window = np.exp(-coords ** 2 / (2.0 * sigma ** 2))
    return (window / window.sum()).astype(np.float32)


def _band_matrix(length: int) -> np.ndarray:
    """[length, length - 10]: column j holds the Gaussian window at rows j..j+10 (valid 1-D filtering)."""
    window = gaussian_window()
    out = np.zeros((length, length - len(window) + 1), np.float32)
    for column in range(out.shape[1]):
        out[column:column + len(window), column] = window
    return out


def _local_means(x: tf.Tensor) -> tf.Tensor:
    """Valid Gaussian filtering of x [N, H, W, C] per channel -> [N, H - 10, W - 10, C].

    Separable, as two plain matrix products with banded matrices (2-5x faster on CPU than depthwise
    convolutions with few channels)."""
    height, width, channels = x.shape[1:]
    rows, cols = tf.constant(_band_matrix(height)), tf.constant(_band_matrix(width))
    n = tf.shape(x)[0]
    t = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, width]) @ cols  # [N C H, W']
    t = tf.transpose(tf.reshape(t, [n, channels, height, cols.shape[1]]), [0, 1, 3, 2])  # [N, C, W', H]
    t = tf.reshape(t, [-1, height]) @ rows  # [N C W', H']
    return tf.transpose(tf.reshape(t, [n, channels, cols.shape[1], rows.shape[1]]), [0, 3, 2, 1])


def ssim(pred, target, max_val: float = 1.0) -> tf.Tensor:
    """SSIM of frames [..., H, W, C] (H, W >= 11 and C static) -> [...] (float32)."""
    pred, target = tf.cast(pred, tf.float32), tf.cast(target, tf.float32)
    height, width, channels = pred.shape[-3:]
    if None in (height, width, channels):
        raise ValueError(f"ssim needs frames of static size [..., H, W, C]; got {pred.shape}.")
    if min(height, width) < SSIM_FILTER_SIZE:
        raise ValueError(f"ssim needs frames of at least {SSIM_FILTER_SIZE}x{SSIM_FILTER_SIZE} (its Gaussian "
                         f"window); got {height}x{width}.")
    lead = tf.shape(pred)[:-3]
    flat = lambda t: tf.reshape(t, [-1, height, width, channels])
    x, y = flat(pred), flat(target)
    d = x - y
    mu_x, mu_y, mean_xy, mu_d, mean_dd = tf.split(
        _local_means(tf.concat([x, y, x * y, d, d * d], axis=0)), 5, axis=0)
    c1, c2 = (SSIM_K1 * max_val) ** 2, (SSIM_K2 * max_val) ** 2
    # The usual (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1) and (2 cov + c2) / (var_x + var_y + c2), with the
    # denominators written through d = x - y (the window is linear and sums to 1): mu_x^2 + mu_y^2 = 2 mu_x mu_y
    # + mu_d^2 and var_x + var_y = 2 cov + var_d, var_d = E[d^2] - mu_d^2 >= 0. Equal frames give d = 0 exactly,
    # so SSIM(x, x) = 1 exactly whatever the kernels' summation order (no cancellation of E[x^2] - mu_x^2).
    cross = 2.0 * mu_x * mu_y + c1
    luminance = cross / (cross + mu_d * mu_d)
    covariance = 2.0 * (mean_xy - mu_x * mu_y) + c2
    structure = covariance / (covariance + tf.maximum(mean_dd - mu_d * mu_d, 0.0))
    return tf.reshape(tf.reduce_mean(luminance * structure, axis=[1, 2, 3]), lead)


def best_of_samples(values, mode: str) -> dict[str, tf.Tensor]:
    """Best-of-N for one metric: values [..., S, F] (S samples, F predicted frames) -> the sample whose
    mean over frames is best (`mode` "max" or "min").

    Returns {"index": int32 [...] chosen sample, "curve": [..., F] its per-frame values, "mean": [...] their
    mean over frames}.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min'; got {mode!r}.")
    values = tf.convert_to_tensor(values)
    per_sample = tf.reduce_mean(values, axis=-1)
    index = tf.argmax(per_sample, axis=-1) if mode == "max" else tf.argmin(per_sample, axis=-1)
    index = tf.cast(index, tf.int32)
    curve = tf.gather(values, index, axis=-2, batch_dims=index.shape.rank)
    return {"index": index, "curve": curve, "mean": tf.reduce_mean(curve, axis=-1)}


def mean_and_interval(values, axis: int = 0) -> dict[str, np.ndarray]:
    """Mean over videos and the 95% interval half-width 1.96 * std / sqrt(n) along `axis`.

    std is the sample standard deviation (ddof=1); with a single video the interval is 0.
    Returns {"mean", "ci95", "std"} (arrays without `axis`) and "n".
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    if n == 0:
        raise ValueError("mean_and_interval needs at least one value.")
    std = values.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(values.mean(axis=axis))
    return {"mean": values.mean(axis=axis), "ci95": INTERVAL_Z * std / np.sqrt(n), "std": std, "n": n}


def gaussian_statistics(features) -> dict[str, np.ndarray]:
    """Mean [D] and covariance [D, D] (ddof=1) of features [N, D], float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"Feature statistics need [N >= 2, D] features; got shape {features.shape}.")
    return {"mean": features.mean(axis=0), "cov": np.cov(features, rowvar=False)}


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative eigenvalues from rounding -> 0)."""
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2)) for Gaussians of means [D], covariances [D, D].

    tr((cov1 cov2)^(1/2)) is computed as tr((s cov2 s)^(1/2)) with s = cov1^(1/2): a symmetric PSD matrix with
    the same eigenvalues, so no complex parts appear.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (mu1.size, mu1.size):
        raise ValueError(f"frechet_distance: shapes differ: mu {mu1.shape} vs {mu2.shape}, cov {cov1.shape} vs "
                         f"{cov2.shape}.")
    root = _psd_sqrt(cov1)
    eigenvalues = np.linalg.eigvalsh(root @ cov2 @ root)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt)
