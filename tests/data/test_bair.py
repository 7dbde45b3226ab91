"""Tests for tfvideo.data.bair: TFDS bair_robot_pushing_small under tfds.testing.mock_data, and on a tiny
prepared copy (the real builder writing generated examples) for order, resumption, views and actions."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.support.configs import tiny_data_config
from tfvideo import config as config_lib
from tfvideo.data import bair, fake_data, registry, splits
from tfvideo.data.errors import DatasetUnavailableError

NUM_TRAIN, NUM_TEST = 10, 4


def _cfg(data_dir, **overrides):
    data = dict(dataset="bair", data_dir=str(data_dir), channels=3, seq_len=5, conditioning_frames=2,
                test_horizon=4)
    return tiny_data_config(**{**data, **overrides})


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("bair")
    fake_data.prepare_fake_tfds(bair.NAME, str(data_dir), {"train": NUM_TRAIN, "test": NUM_TEST})
    return str(data_dir)


def test_mock_data_shapes_and_ranges(tmp_path):
    builder = bair.builder(str(tmp_path))
    os.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)  # metadata only: the dataset counts as prepared
    with tfds.testing.mock_data(num_examples=3, data_dir=str(tmp_path)):
        source = registry.get_data_source(_cfg(tmp_path))
        batch = next(iter(source.train_stream(2, seed=1))).numpy()
        test = source.test_videos()
        with_actions = next(iter(bair.train_dataset(bair.builder(str(tmp_path)), view="image_main", batch_size=2,
                                                    seq_len=4, with_actions=True)))
    assert batch.shape == (2, 5, 64, 64, 3) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0 and batch.std() > 0.1  # mock frames are random noise
    assert source.num_test_videos == 3 and test.shape == (3, 6, 64, 64, 3)
    assert with_actions["frames"].shape == (2, 4, 64, 64, 3) and with_actions["actions"].shape == (2, 4, 4)


def _decode(frames, actions):
    """Checks frames against the generated videos; returns (video, start) per window."""
    out = []
    for window, acts in zip(frames, actions):
        start, video = int(acts[0, 0]), int(acts[0, 1])
        np.testing.assert_array_equal(acts[:, 0], np.arange(start, start + len(acts)))  # aligned, in order
        truth = fake_data.moving_square(30, 64, 64, 3, tag=video % 200)[start:start + len(window)]
        np.testing.assert_allclose(window * 255, truth, atol=1e-3)  # PNG is lossless: the exact frames
        out.append((video, start))
    return out


def _elements(data_dir, start_index, num_batches, batch_size=3, seed=1):
    dataset = bair.train_dataset(bair.builder(data_dir), view="image_aux1", batch_size=batch_size, seq_len=5,
                                 seed=seed, start_index=start_index, with_actions=True, block_size=4)
    return [e for b in dataset.take(num_batches).as_numpy_iterator() for e in _decode(b["frames"], b["actions"])]


def test_epochs_are_permutations_and_resume_is_exact(prepared):
    elements = _elements(prepared, 0, 10)  # 30 elements = 3 epochs of 10 videos
    for epoch in range(3):
        assert sorted(v for v, _ in elements[10 * epoch:10 * epoch + 10]) == list(range(NUM_TRAIN))
    assert elements[:10] != elements[10:20]  # reshuffled each epoch
    assert all(0 <= start <= 25 for _, start in elements)
    assert _elements(prepared, 6, 8) == elements[6:30]  # resumption mid-epoch: the same elements
    assert _elements(prepared, 0, 10, seed=2) != elements


def test_source_test_set_in_order_and_views(prepared):
    source = registry.get_data_source(_cfg(prepared))
    test = source.test_videos()
    assert source.num_test_videos == NUM_TEST and test.shape == (NUM_TEST, 6, 64, 64, 3)
    np.testing.assert_array_equal(test, registry.get_data_source(_cfg(prepared)).test_videos())
    np.testing.assert_array_equal(np.concatenate(list(source.test_batches(3, start=1))), test[1:])
    main = registry.get_data_source(_cfg(prepared, bair_view="image_main")).test_videos(2)
    np.testing.assert_allclose(main, 1.0 - test[:2], atol=1e-6)  # the fake main view is the negative
    small = registry.get_data_source(_cfg(prepared, image_size=32))
    assert next(iter(small.train_stream(2))).shape == (2, 5, 32, 32, 3)


def test_config_and_missing_data_errors(prepared, tmp_path):
    with pytest.raises(config_lib.ConfigError, match="--channels=3"):
        registry.get_data_source(_cfg(prepared, channels=1))
    with pytest.raises(config_lib.ConfigError, match="30 frames"):
        registry.get_data_source(_cfg(prepared, seq_len=31))
    with pytest.raises(config_lib.ConfigError, match="bair_view"):
        _cfg(prepared, bair_view="image_aux2")
    with pytest.raises(DatasetUnavailableError) as info:
        registry.get_data_source(_cfg(tmp_path))
    for needle in (bair.URL, "tfvideo.data.prepare --dataset=bair", "--data_dir=DIR", str(tmp_path)):
        assert needle in str(info.value)


def test_held_out_videos_never_train_and_are_the_validation_clips(prepared):
    source = registry.get_data_source(_cfg(prepared, validation_fraction=0.5))
    squares = {video: fake_data.moving_square(30, 64, 64, 3, tag=video) for video in range(NUM_TRAIN)}
    windows = [w for batch in source.train_stream(4, seed=1).take(5).as_numpy_iterator() for w in batch]
    trained = {_owner(window, squares, range(26)) for window in windows}
    assert len(trained) == 5  # the 5 kept videos, over two epochs
    clips = source.validation_videos()
    assert source.num_validation_videos == 5 and clips.shape == (5, 6, 64, 64, 3)
    held_out = {_owner(clip, squares, [0]) for clip in clips}  # the first frames of each held-out video
    assert held_out == set(range(NUM_TRAIN)) - trained
    with_actions = source.validation_videos(3, with_actions=True)  # for action-conditioned models
    np.testing.assert_array_equal(with_actions["frames"], clips[:3])
    assert with_actions["actions"].shape == (3, 6, 4) and with_actions["actions"].dtype == np.float32
    assert not np.array_equal(with_actions["actions"][0], with_actions["actions"][1])
    everything = registry.get_data_source(_cfg(prepared, validation_fraction=0.0))
    assert everything.num_validation_videos == 0 and "10 of 10 train videos" in everything.description


def _owner(window, squares, starts) -> int:
    """The generated video whose frames from one of `starts` the window [T, 64, 64, 3] holds."""
    found = [video for video, frames in squares.items() for start in starts
             if np.allclose(window * 255, frames[start:start + len(window)], atol=1e-3)]
    assert len(set(found)) == 1, found
    return found[0]
