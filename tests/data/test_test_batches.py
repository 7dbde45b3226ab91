"""The streamed test set (`DataSource.test_batches`) is the fixed test set, in order, whatever the batching."""

import numpy as np
import pytest

from tests.support.configs import tiny_config
from tfvideo.data import mnist_digits, registry


@pytest.fixture(scope="module")
def source():
    return registry.get_data_source(tiny_config().data)


def test_batches_concatenate_to_the_test_set(source):
    full = source.test_videos(7)
    batches = list(source.test_batches(3, num_videos=7))
    assert [len(b) for b in batches] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(batches), full)


def test_batches_resume_mid_set(source):
    full = source.test_videos(7)
    np.testing.assert_array_equal(np.concatenate(list(source.test_batches(2, start=4, num_videos=7))), full[4:])
    # One video per held-out digit in the tiny (1-digit) config.
    assert source.num_test_videos == len(mnist_digits.load_digits("test").images)


def test_default_batches_slice_test_videos():
    videos = np.arange(5 * 2, dtype=np.float32).reshape(5, 2, 1, 1, 1)
    source = registry.DataSource(train_stream=None, test_videos=lambda n=None: videos[:n], description="toy",
                                 num_test_videos=5)
    batches = list(source.test_batches(2, start=1))
    assert [len(b) for b in batches] == [2, 2]
    np.testing.assert_array_equal(np.concatenate(batches), videos[1:])
