"""Tests for tfvideo.data.splits: the original's 95% / 5% fold selection, and the SM-MNIST digits it holds out."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.configs import tiny_data_config
from tfvideo.data import mnist_digits, moving_mnist, registry, splits


def _original_folds(num_items: int) -> tuple[set, set]:
    """SRVP's get_fold('train') / get_fold('val'), as its data/base.py writes them."""
    rng = np.random.RandomState(42)
    rand_ids = list(range(num_items))
    rng.shuffle(rand_ids)
    n_train = int(0.95 * len(rand_ids))
    return set(rand_ids[:n_train]), set(rand_ids[n_train:])


@pytest.mark.parametrize("num_items", [2, 3, 19, 20, 41, 479, 60_000])
def test_holdout_split_is_the_originals_fold_selection(num_items):
    split = splits.holdout_split(num_items)
    train, validation = _original_folds(num_items)
    assert set(split["train"].tolist()) == train and set(split["validation"].tolist()) == validation
    assert split["train"].dtype == np.int64 and np.all(np.diff(split["train"]) > 0)


def test_holdout_split_keeps_one_item_and_refuses_bad_fractions():
    assert splits.holdout_split(1)["train"].tolist() == [0]  # the original would train on none
    assert splits.holdout_split(0)["train"].tolist() == []
    assert splits.holdout_split(7, 0.0)["validation"].tolist() == []
    assert len(splits.holdout_split(10, 0.5)["validation"]) == 5
    for fraction in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"in \[0, 1\)"):
            splits.holdout_split(5, fraction)


def test_split_listed_maps_listing_positions_to_stored_indices():
    order = np.array([4, 0, 3, 1, 2, 5])  # the 1st listed item is stored at 4, ...
    split = splits.split_listed(order, 0.5)
    listed = splits.holdout_split(6, 0.5)
    assert split["train"].tolist() == sorted(order[listed["train"]].tolist())
    assert split["validation"].tolist() == sorted(order[listed["validation"]].tolist())


def test_smmnist_trains_on_the_kept_digits_and_validates_on_the_held_out_ones(monkeypatch):
    cfg = tiny_data_config(dataset="smmnist", validation_fraction=0.2, test_horizon=3)
    digits = mnist_digits.load_digits("train").images
    split = splits.holdout_split(len(digits), 0.2)
    seen = {}
    real_stream = moving_mnist.make_train_dataset

    def capture(images, **kwargs):
        seen["digits"] = images
        return real_stream(images, **kwargs)

    monkeypatch.setattr(moving_mnist, "make_train_dataset", capture)
    source = registry.get_data_source(cfg)
    source.train_stream(2)
    np.testing.assert_array_equal(seen["digits"], digits[split["train"]])
    clips = source.validation_videos(3)
    expected = moving_mnist.make_test_set(digits[split["validation"]], seq_len=cfg.conditioning_frames + 3,
                                          num_videos=3, num_digits=cfg.num_digits, frame_size=cfg.image_size,
                                          seed=splits.VALIDATION_SEED)
    np.testing.assert_array_equal(clips, expected)
    assert source.num_validation_videos == min(len(split["validation"]) // cfg.num_digits, splits.NUM_VALIDATION_CLIPS)
    everything = registry.get_data_source(tiny_data_config(dataset="smmnist", validation_fraction=0.0))
    assert everything.num_validation_videos == 0 and everything.validation_videos is None
