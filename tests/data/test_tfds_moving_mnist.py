"""Tests for tfvideo.data.tfds_moving_mnist: deterministic training videos, TFDS moving_mnist test set."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.support.configs import tiny_config
from tfvideo import config as config_lib
from tfvideo.data import fake_data, registry, tfds_moving_mnist
from tfvideo.data.errors import DatasetUnavailableError


def _cfg(data_dir, **overrides):
    data = dict(dataset="moving_mnist", data_dir=str(data_dir), num_digits=2, deterministic=True)
    return tiny_config(data={**data, **overrides}).data


def test_mock_data_test_set_and_deterministic_training(tmp_path):
    builder = tfds.builder(tfds_moving_mnist.NAME, data_dir=str(tmp_path))
    os.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)
    with tfds.testing.mock_data(num_examples=4, data_dir=str(tmp_path)):
        source = registry.get_data_source(_cfg(tmp_path))
        test = source.test_videos()
        batches = list(source.test_batches(3))
    cfg = _cfg(tmp_path)
    clip = cfg.conditioning_frames + cfg.test_horizon  # test clips: context + horizon frames
    assert source.num_test_videos == 4 and test.shape == (4, clip, 64, 64, 1) and test.dtype == np.float32
    assert 0.0 <= test.min() and test.max() <= 1.0 and test.std() > 0.1
    np.testing.assert_array_equal(np.concatenate(batches), test)
    train = next(iter(source.train_stream(2, seed=0))).numpy()
    assert train.shape == (2, cfg.seq_len, 64, 64, 1) and "deterministic" in source.description


def test_prepared_test_set_in_order(tmp_path):
    builder = fake_data.prepare_fake_tfds(tfds_moving_mnist.NAME, str(tmp_path), {"test": 5})
    source = registry.get_data_source(_cfg(tmp_path))
    test = source.test_videos(5, start=1)  # videos 1..4 (num_videos is the end, as for smmnist)
    # TFDS's prepared order (it shuffles by key when writing); background level = generation index.
    order = [int(ex["image_sequence"][0, -1, -1, 0]) for ex in tfds.as_numpy(builder.as_dataset(split="test"))]
    assert sorted(order) == list(range(5))
    clip = _cfg(tmp_path).conditioning_frames + _cfg(tmp_path).test_horizon
    expected = np.stack([fake_data.moving_square(20, 64, 64, 1, tag=i)[:clip] for i in order[1:]])
    np.testing.assert_allclose(test * 255, expected, atol=1e-3)


def test_config_and_missing_data_errors(tmp_path):
    with pytest.raises(config_lib.ConfigError, match="20 frames"):
        registry.get_data_source(_cfg(tmp_path, test_horizon=18))
    with pytest.raises(config_lib.ConfigError, match="--num_digits=2"):
        registry.get_data_source(_cfg(tmp_path, num_digits=1))
    with pytest.raises(DatasetUnavailableError, match="mnist_test_seq.npy") as info:
        registry.get_data_source(_cfg(tmp_path))
    assert "--dataset=moving_mnist --data_dir=DIR" in str(info.value)
