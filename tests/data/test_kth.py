"""Tests for tfvideo.data.kth: our TFDS builder on tiny fake official zips, and the --dataset=kth source."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.conftest import tiny_config
from tfvideo import config as config_lib
from tfvideo.data import fake_data, kth, registry, tfds_store
from tfvideo.data.errors import DatasetUnavailableError

PERSONS = (1, 20, 21, 25)
ACTIONS = ("boxing", "walking")
NUM_FRAMES = 9


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("kth")
    fake_data.write_kth_zips(str(root / "manual"), persons=PERSONS, actions=ACTIONS, scenarios=(1, 3),
                             num_frames=NUM_FRAMES)
    builder = kth.Kth(data_dir=str(root / "data"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(root / "manual")))
    return builder


def _data_config(builder, **overrides):
    data = dict(dataset="kth", data_dir=os.path.dirname(os.path.dirname(builder.data_dir)), seq_len=5,
                conditioning_frames=3, test_horizon=4)
    return tiny_config(data={**data, **overrides}).data


def test_builder_splits_by_person(prepared):
    for split, persons in (("train", {1, 20}), ("test", {21, 25})):
        examples = list(tfds.as_numpy(prepared.as_dataset(split=split)))
        assert len(examples) == len(persons) * len(ACTIONS) * 2
        assert {int(ex["person"]) for ex in examples} == persons
        for ex in examples:
            assert ex["video"].shape == (NUM_FRAMES, 64, 64, 1) and ex["video"].dtype == np.uint8
            name = ex["name"].decode()
            assert name == f"person{int(ex['person']):02d}_{kth.ACTIONS[ex['action']]}_d{ex['scenario']}"
            # Background level 10 * person survives grayscale conversion, resize and MJPG compression.
            assert abs(np.median(ex["video"]) - 10 * int(ex["person"])) <= 3


def test_parse_name():
    assert kth.parse_name("/x/person07_handwaving_d4_uncomp.avi") == (7, "handwaving", 4)
    assert kth.parse_name("person07_dancing_d4_uncomp.avi") is None and kth.parse_name("readme.txt") is None


def test_source_shapes_ranges_membership_and_determinism(prepared):
    cfg = _data_config(prepared)
    source = registry.get_data_source(cfg)
    batch = next(iter(source.train_stream(3, seed=0))).numpy()
    assert batch.shape == (3, 5, 64, 64, 1) and 0.0 <= batch.min() and batch.max() <= 1.0
    test = source.test_videos()
    assert source.num_test_videos == kth.NUM_TEST_CLIPS and test.shape == (kth.NUM_TEST_CLIPS, 7, 64, 64, 1)
    np.testing.assert_array_equal(test, registry.get_data_source(cfg).test_videos())  # fixed test set
    np.testing.assert_array_equal(source.test_videos(9, start=4), test[4:9])
    train_store = tfds_store.cached_store(prepared, "train", image_size=64, group_key="person")
    test_store = tfds_store.cached_store(prepared, "test", image_size=64, group_key="person")
    assert set(train_store.groups) == {1, 20} and set(test_store.groups) == {21, 25}
    # Test clips come from test persons only: their background levels are 210 or 250, training ones 10 or 200.
    levels = np.median(test[:50].reshape(50, -1), axis=1) * 255
    assert np.all(np.abs(levels[:, None] - [210, 250]).min(axis=1) <= 4)
    levels = np.median(batch.reshape(3, -1), axis=1) * 255
    assert np.all(np.abs(levels[:, None] - [10, 200]).min(axis=1) <= 4)


def test_shrunk_frames_and_config_errors(prepared):
    source = registry.get_data_source(_data_config(prepared, image_size=32))
    assert next(iter(source.train_stream(2))).shape == (2, 5, 32, 32, 1)
    with pytest.raises(config_lib.ConfigError, match="--channels=1"):
        registry.get_data_source(_data_config(prepared, channels=3))
    with pytest.raises(config_lib.ConfigError, match="--image_size=64"):
        registry.get_data_source(_data_config(prepared, image_size=96))
    with pytest.raises(DatasetUnavailableError, match="--seq_len=12"):
        registry.get_data_source(_data_config(prepared, seq_len=12))


def test_missing_dataset_fails_fast_with_instructions(tmp_path):
    start = time.time()
    with pytest.raises(DatasetUnavailableError) as info:
        registry.get_data_source(tiny_config(data=dict(dataset="kth", data_dir=str(tmp_path))).data)
    assert time.time() - start < 20  # no scanning or downloading before failing (generous bound for CI)
    message = str(info.value)
    for needle in ("boxing", kth.URL, "tfvideo.data.prepare --dataset=kth", "--data_dir=DIR", str(tmp_path)):
        assert needle in message
