"""Tests for tfvideo.data.folder: the user's own videos (mp4/avi/gif/frame folders), corrupt files, splits."""

from __future__ import annotations

import os

from absl import logging as absl_logging
import numpy as np
import pytest

from tests.support.configs import tiny_data_config
from tfvideo import config as config_lib
from tfvideo.data import fake_data, folder, registry
from tfvideo.data.errors import DatasetUnavailableError

NUM_FRAMES = 9
TAGS = {"mp4": 40, "avi": 80, "gif": 120, "frames": 160}


def _cfg(data_dir, **overrides):
    data = dict(dataset="folder", data_dir=None if data_dir is None else str(data_dir), image_size=16, channels=3, seq_len=5,
                conditioning_frames=3, test_horizon=4)
    return tiny_data_config(**{**data, **overrides})


@pytest.fixture()
def videos(tmp_path):
    """DIR/train/ and DIR/test/ with one video of each kind and a corrupt file in train/."""
    fake_data.write_folder_videos(str(tmp_path / "train"), num_frames=NUM_FRAMES, height=24, width=40)
    fake_data.write_video(str(tmp_path / "test" / "held_out.mp4"),
                          fake_data.moving_square(NUM_FRAMES, 24, 40, 3, tag=200))
    return tmp_path


@pytest.fixture()
def warnings(monkeypatch):
    messages = []
    monkeypatch.setattr(absl_logging, "warning", lambda msg, *args: messages.append(msg % args))
    return messages


def _level(batch):
    """Background level (0-255) of each video of a float batch [B, T, H, W, C] (bottom-right pixel, frame 0)."""
    return np.rint(batch[:, 0, -1, -1, 0] * 255)


def test_all_kinds_decoded_corrupt_skipped_with_warning(videos, warnings):
    source = registry.get_data_source(_cfg(videos))
    assert any("broken.mp4" in m for m in warnings)  # named
    assert any("1 of 5 train file(s) skipped" in m for m in warnings)  # counted at the end
    assert "1 unreadable file(s) skipped" in source.description
    levels = np.concatenate([_level(b.numpy()) for b in source.train_stream(4, seed=0).take(6)])
    assert set(np.abs(levels[:, None] - list(TAGS.values())).argmin(axis=1)) == {0, 1, 2, 3}  # every kind used
    assert np.all(np.abs(levels[:, None] - list(TAGS.values())).min(axis=1) <= 8)
    batch = next(iter(source.train_stream(4))).numpy()
    assert batch.shape == (4, 5, 16, 16, 3) and 0.0 <= batch.min() and batch.max() <= 1.0
    test = source.test_videos()
    assert source.num_test_videos == 1 and test.shape == (1, 7, 16, 16, 3)
    assert abs(_level(test)[0] - 200) <= 8  # the test/ video, first 7 frames


def test_cache_is_reused_and_repeats_the_warnings(videos, warnings):
    first = registry.get_data_source(_cfg(videos)).test_videos()
    warnings.clear()
    os.remove(os.path.join(videos, "train", "clip_avi.avi"))  # the cache key changes: decoded again
    source = registry.get_data_source(_cfg(videos))
    assert any("broken.mp4" in m for m in warnings)
    np.testing.assert_array_equal(source.test_videos(), first)
    caches = os.listdir(os.path.join(videos, folder.CACHE_DIR))
    assert sum(name.startswith("train-") for name in caches) == 2 and sum(n.startswith("test-") for n in caches) == 1
    warnings.clear()
    registry.get_data_source(_cfg(videos))  # served from the cache: the skipped file is still reported
    assert any("(cached)" in m and "broken.mp4" in m for m in warnings)


def test_hash_split_is_reproducible_and_always_has_a_test_video():
    paths = [f"dir{i // 10}/video{i}.mp4" for i in range(200)]
    splits = folder.assign_splits(paths)
    assert splits == folder.assign_splits(list(paths))
    assert 5 <= len(splits["test"]) <= 40 and set(splits["train"]) | set(splits["test"]) == set(paths)
    assert all(folder.path_hash(p) < folder.TEST_FRACTION for p in splits["test"])
    assert folder.assign_splits(["a.mp4", "b.mp4"])["test"]  # fallback: the smallest hash
    explicit = folder.assign_splits(["test/a.mp4", "train/b.mp4", "Train/c.gif"])
    assert explicit == {"train": ["train/b.mp4", "Train/c.gif"], "test": ["test/a.mp4"]}


def test_find_videos_lists_files_and_frame_folders(tmp_path):
    paths = fake_data.write_folder_videos(str(tmp_path / "x"), num_frames=3)
    (tmp_path / ".hidden").mkdir()
    fake_data.write_video(str(tmp_path / ".hidden" / "skip.mp4"), fake_data.moving_square(3, 8, 8, 3))
    found = folder.find_videos(str(tmp_path))
    assert found == sorted(os.path.relpath(p, tmp_path).replace(os.sep, "/") for p in paths.values())


def test_errors_are_messages(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="--data_dir=DIR"):
        registry.get_data_source(_cfg(None))
    with pytest.raises(DatasetUnavailableError, match="is not a folder"):
        registry.get_data_source(_cfg(tmp_path / "absent"))
    with pytest.raises(DatasetUnavailableError, match="found 0 video"):
        registry.get_data_source(_cfg(tmp_path))
    fake_data.write_corrupt_file(str(tmp_path / "train" / "a.mp4"))
    fake_data.write_corrupt_file(str(tmp_path / "test" / "b.avi"))
    with pytest.raises(DatasetUnavailableError, match="no readable video"):
        registry.get_data_source(_cfg(tmp_path))


def test_too_short_videos_explained(videos):
    with pytest.raises(DatasetUnavailableError, match="--seq_len=12"):
        registry.get_data_source(_cfg(videos, seq_len=12, conditioning_frames=3))
