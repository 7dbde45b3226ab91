"""The `DataSource` of a dataset held in two `FrameStore`s (train, test): KTH, Human3.6M and folders of videos."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.data import frame_store, splits
from tfvideo.data.errors import DatasetUnavailableError
from tfvideo.data.registry import DataSource


def make_store_source(train: frame_store.FrameStore, test: frame_store.FrameStore, cfg: config_lib.DataConfig,
                      *, test_clips: np.ndarray, description: str, what: str, stride: int = 1,
                      train_videos: np.ndarray | None = None,
                      validation_videos: np.ndarray | None = None, comparability_notes=()) -> DataSource:
    """Training windows of `cfg.seq_len` frames from `train`; test set = `test_clips` [K, 2] of `test`.

    stride: windows and test clips take one stored frame in `stride` (Human3.6M: 8); `test_clips` must have
      been drawn with the same stride.
    train_videos: the indices of the `train` videos that windows come from (all when None).
    validation_videos: the indices of the `train` videos held out for validation; the source's validation clips
      are `splits.NUM_VALIDATION_CLIPS` clips of the test length drawn from them with seed
      `splits.VALIDATION_SEED` (none when None).
    comparability_notes: the source's `comparability_notes` (why results cannot go next to the papers').

    Raises DatasetUnavailableError (naming `what`, the dataset) when no training video is long enough or
    there is no test clip.
    """
    test_len = cfg.conditioning_frames + cfg.test_horizon
    _check_frames(train, cfg, what, "training")
    _check_frames(test, cfg, what, "test")
    if not len(frame_store.eligible_videos(train, cfg.seq_len, stride, train_videos)):
        raise DatasetUnavailableError(
            f"{what}: no training video has the {frame_store.span_text(cfg.seq_len, stride)} of "
            f"--seq_len={cfg.seq_len} (longest: {int(train.lengths.max(initial=0))}); lower --seq_len or add "
            "longer videos.")
    if not len(test_clips):
        raise DatasetUnavailableError(
            f"{what}: no test video has the {frame_store.span_text(test_len, stride)} of --conditioning_frames "
            f"+ --test_horizon = {test_len} (longest: {int(test.lengths.max(initial=0))}); lower them or add "
            "longer test videos.")
    num_test = len(test_clips)

    def train_stream(batch_size: int, seed: int = 0, start_index: int = 0) -> tf.data.Dataset:
        return frame_store.window_stream(train, batch_size=batch_size, seq_len=cfg.seq_len, seed=seed,
                                         start_index=start_index, stride=stride, videos=train_videos)

    def test_videos(num_videos: int | None = None, start: int = 0) -> np.ndarray:
        end = num_test if num_videos is None else min(int(num_videos), num_test)
        return frame_store.clips_to_videos(test, test_clips[start:end], test_len, stride)

    def test_batches(batch_size: int, start: int = 0, num_videos: int | None = None) -> Iterator[np.ndarray]:
        if batch_size < 1 or start < 0:
            raise ValueError(f"batch_size must be >= 1 and start >= 0; got {batch_size}, {start}.")
        end = num_test if num_videos is None else min(int(num_videos), num_test)
        for first in range(start, end, batch_size):
            yield test_videos(min(first + batch_size, end), start=first)

    validation_clips = np.zeros((0, 2), np.int64) if validation_videos is None or not len(validation_videos) else \
        frame_store.random_clips(train, test_len, splits.NUM_VALIDATION_CLIPS, splits.VALIDATION_SEED, stride=stride,
                                 videos=validation_videos)

    def validation(num_videos: int | None = None) -> np.ndarray:
        return frame_store.clips_to_videos(train, validation_clips[:num_videos], test_len, stride)

    return DataSource(train_stream=train_stream, test_videos=test_videos, description=description,
                      num_test_videos=num_test, test_batches=test_batches, validation_videos=validation,
                      num_validation_videos=len(validation_clips), comparability_notes=tuple(comparability_notes))


def _check_frames(store: frame_store.FrameStore, cfg: config_lib.DataConfig, what: str, split: str) -> None:
    if not store.num_videos:
        raise DatasetUnavailableError(f"{what}: the {split} split holds no readable video.")
    height, width, channels = store.frame_shape
    if (height, width, channels) != (cfg.image_size, cfg.image_size, cfg.channels):
        raise config_lib.ConfigError(
            f"{what} {split} frames are {height}x{width}x{channels} but the config asks for "
            f"--image_size={cfg.image_size} --channels={cfg.channels}.")
