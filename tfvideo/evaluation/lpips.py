"""LPIPS (Zhang et al., 2018), AlexNet-lin v0.1, in TensorFlow, from weight files the user provides.

    d(x, y) = sum_l mean_{h,w} sum_c w_lc (n_l(x) - n_l(y))^2_{hwc}

with n_l the AlexNet activations after ReLU l = 1..5, unit-normalised over channels (eps 1e-10), and w_l the
non-negative v0.1 linear heads. Inputs are frames in [0, 1], mapped to [-1, 1], grayscale repeated to RGB,
then shifted and scaled per channel as the LPIPS code does.

Weights: nothing is downloaded. `LPIPS.from_files("alexnet.pth,alex.pth")` merges the state dicts of the given
files (read by `tfvideo.evaluation.torch_weights`: PyTorch .pth/.pt without torch, or .npz). It needs the AlexNet
convolutions `features.{0,3,6,8,10}.{weight,bias}` (torchvision names; LPIPS' own `net.sliceN.K.*` names are
accepted too) and the heads `lin{0..4}.model.1.weight`. See `DOWNLOAD_HELP`.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import tensorflow as tf

from tfvideo.evaluation import torch_weights

# (name, stride, padding) of AlexNet's five convolutions; kernel sizes and widths come from the weights.
CONVS = (("features.0", 4, 2), ("features.3", 1, 2), ("features.6", 1, 1), ("features.8", 1, 1),
         ("features.10", 1, 1))
POOL_BEFORE = (1, 2)  # 3x3 stride-2 max pooling before the 2nd and 3rd convolutions
SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
SCALE = np.array([0.458, 0.448, 0.450], np.float32)
NORM_EPS = 1e-10
LIN_KEYS = tuple(f"lin{i}.model.1.weight" for i in range(len(CONVS)))
DOWNLOAD_HELP = (
    "LPIPS (AlexNet-lin v0.1) needs two weight files, given together as --lpips_weights=BACKBONE,HEADS:\n"
    "  1. AlexNet ImageNet weights from torchvision: https://download.pytorch.org/models/alexnet-owt-7be5be79.pth\n"
    "  2. The LPIPS v0.1 linear heads 'alex.pth': lpips/weights/v0.1/alex.pth in the `lpips` package "
    "(pip download lpips --no-deps; unzip the wheel) or https://github.com/richzhang/PerceptualSimilarity "
    "(lpips/weights/v0.1/alex.pth).\n"
    "PyTorch files are read without torch; .npz files with the same array names work too.")


class WeightsMissingError(FileNotFoundError):
    """A metric's weight file was not given or is missing; the message says what to download."""


def _canonical(name: str) -> str:
    name = name[len("module."):] if name.startswith("module.") else name
    return re.sub(r"^net\.slice\d+\.(\d+)\.", r"features.\1.", name)


def load_weights(paths) -> dict[str, np.ndarray]:
    """Merged state dicts of `paths` (a list, or one comma-separated string), names made canonical."""
    if isinstance(paths, str):
        paths = [p for p in paths.split(",") if p]
    if not paths:
        raise WeightsMissingError("No LPIPS weight files given.\n" + DOWNLOAD_HELP)
    merged = {}
    for path in paths:
        try:
            merged.update({_canonical(k): v for k, v in torch_weights.load_state_dict(path).items()})
        except FileNotFoundError:
            raise WeightsMissingError(f"LPIPS weight file {path!r} does not exist.\n{DOWNLOAD_HELP}") from None
    return merged


def weights_digest(weights: dict[str, np.ndarray]) -> str:
    """sha256 over the sorted names and float32 bytes of the weights LPIPS uses (recorded with results)."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(weights[name], np.float32).tobytes())
    return digest.hexdigest()


class LPIPS:
    """LPIPS distance between frames; `__call__(x, y)` with frames [..., H, W, C] in [0, 1] -> [...]."""

    def __init__(self, weights: dict[str, np.ndarray]):
        needed = [f"{name}.{part}" for name, _, _ in CONVS for part in ("weight", "bias")] + list(LIN_KEYS)
        missing = [key for key in needed if key not in weights]
        if missing:
            raise WeightsMissingError(f"The LPIPS weight files lack {', '.join(missing[:6])}"
                                      f"{f' (and {len(missing) - 6} more)' if len(missing) > 6 else ''}.\n"
                                      f"{DOWNLOAD_HELP}")
        self.used = {key: np.asarray(weights[key], np.float32) for key in needed}
        self.kernels, self.biases, self.heads = [], [], []
        channels = 3
        for (name, _, _), lin in zip(CONVS, LIN_KEYS):
            kernel, head = self.used[f"{name}.weight"], self.used[lin]
            if kernel.ndim != 4 or kernel.shape[1] != channels or head.shape != (1, kernel.shape[0], 1, 1):
                raise ValueError(f"LPIPS weights: {name}.weight has shape {kernel.shape} and {lin} {head.shape}; "
                                 f"expected [out, {channels}, k, k] and [1, out, 1, 1] (AlexNet-lin).")
            self.kernels.append(tf.constant(kernel.transpose(2, 3, 1, 0)))  # OIHW -> HWIO
            self.biases.append(tf.constant(self.used[f"{name}.bias"]))
            self.heads.append(tf.constant(head.reshape(-1)))
            channels = kernel.shape[0]
        self.digest = weights_digest(self.used)

    @classmethod
    def from_files(cls, paths) -> "LPIPS":
        return cls(load_weights(paths))

    def features(self, images: tf.Tensor) -> list[tf.Tensor]:
        """AlexNet ReLU 1-5 activations of images [N, H, W, 3] already scaled for the network."""
        out, x = [], images
        for index, ((_, stride, pad), kernel, bias) in enumerate(zip(CONVS, self.kernels, self.biases)):
            if index in POOL_BEFORE:
                x = tf.nn.max_pool2d(x, ksize=3, strides=2, padding="VALID")
            x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=stride, padding="VALID") + bias)
            out.append(x)
        return out

    def _prepare(self, frames: tf.Tensor) -> tf.Tensor:
        frames = tf.cast(frames, tf.float32)
        if frames.shape[-1] == 1:
            frames = tf.repeat(frames, 3, axis=-1)
        elif frames.shape[-1] != 3:
            raise ValueError(f"LPIPS takes grayscale or RGB frames; got {frames.shape[-1]} channels.")
        return ((2.0 * frames - 1.0) - SHIFT) / SCALE

    def __call__(self, x, y) -> tf.Tensor:
        """LPIPS of frames x, y [..., H, W, C] (C = 1 or 3, values in [0, 1]) -> [...]; 0 for x == y."""
        x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
        lead = tf.shape(x)[:-3]
        flat = lambda t: tf.reshape(self._prepare(t), tf.concat([[-1], tf.shape(t)[-3:-1], [3]], axis=0))
        batch = tf.concat([flat(x), flat(y)], axis=0)
        total = 0.0
        for feats, head in zip(self.features(batch), self.heads):
            normed = feats / (tf.sqrt(tf.reduce_sum(feats * feats, axis=-1, keepdims=True)) + NORM_EPS)
            fx, fy = tf.split(normed, 2, axis=0)
            total += tf.reduce_mean(tf.reduce_sum(tf.square(fx - fy) * head, axis=-1), axis=[1, 2])
        return tf.reshape(total, lead)
