"""The data contract every dataset fulfils, and the registry that picks one from a `DataConfig`.

A `DataSource` gives:
- `train_stream(batch_size, seed, start_index)`: an endless `tf.data.Dataset` of float32 batches
  [batch_size, seq_len, H, W, C] in [0, 1]; element `start_index` first, so a resumed run continues the
  same data order.
- `test_videos(num_videos)`: the fixed test set as float32 [N, conditioning_frames + test_horizon, H, W, C].
- `description`: where the data comes from (logged).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib


@dataclasses.dataclass(frozen=True)
class DataSource:
    train_stream: Callable[..., tf.data.Dataset]
    test_videos: Callable[..., np.ndarray]
    description: str


def get_data_source(data_config: config_lib.DataConfig) -> DataSource:
    """The DataSource of `data_config.dataset`; ConfigError for an unknown name."""
    if data_config.dataset == "smmnist":
        return _smmnist_source(data_config)
    raise config_lib.ConfigError(f"Unknown --dataset={data_config.dataset!r}; available: "
                                 f"{', '.join(config_lib.DATASET_NAMES)}.")


def _smmnist_source(cfg: config_lib.DataConfig) -> DataSource:
    from tfvideo.data import mnist_digits, moving_mnist
    if cfg.channels != 1:
        raise config_lib.ConfigError(f"Moving MNIST is grayscale: use --channels=1 (got {cfg.channels}).")
    train_digits = mnist_digits.load_digits("train", cfg.data_dir)
    common = dict(num_digits=cfg.num_digits, frame_size=cfg.image_size, deterministic=cfg.deterministic)

    def train_stream(batch_size: int, seed: int = 0, start_index: int = 0) -> tf.data.Dataset:
        return moving_mnist.make_train_dataset(train_digits.images, batch_size=batch_size, seq_len=cfg.seq_len,
                                               seed=seed, start_index=start_index, **common)

    def test_videos(num_videos: int | None = None) -> np.ndarray:
        test_digits = mnist_digits.load_digits("test", cfg.data_dir)
        return moving_mnist.make_test_set(test_digits.images, seq_len=cfg.conditioning_frames + cfg.test_horizon,
                                          num_videos=num_videos, **common)

    kind = "deterministic" if cfg.deterministic else "stochastic"
    description = (f"{kind} Moving MNIST, {cfg.num_digits} digit(s), {cfg.image_size}x{cfg.image_size}, digits "
                   f"from {train_digits.source}")
    return DataSource(train_stream=train_stream, test_videos=test_videos, description=description)
