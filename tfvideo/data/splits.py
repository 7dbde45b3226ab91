"""The validation hold-out of the training items, one rule for every dataset (as SRVP's `VideoDataset.get_fold`).

The items are what a dataset's training split is made of, listed in the order the original code lists them:
SM-MNIST's training digits (MNIST order), KTH's training videos (action by action, by name within an action),
Human3.6M's training videos (by name), BAIR's training videos (in prepared order). `np.random.RandomState(seed)`
shuffles their positions 0 .. V - 1 (a list, as the original), the first int((1 - fraction) * V) are kept for
training (at least one) and the rest are held out for validation. With fraction 0.05 and seed 42 this is the
original's 95% / 5% split of the same list.

The datasets that call it: smmnist, kth, human36m, bair (`--validation_fraction`); their data sources train on
the kept items only and give fixed validation clips drawn from the held-out ones (`DataSource.validation_videos`).
"""

from __future__ import annotations

import numpy as np

VALIDATION_SEED = 42  # the original's fixed seed of the fold selection
VALIDATION_FRACTION = 0.05  # the original's 5% hold-out
NUM_VALIDATION_CLIPS = 1000  # fixed validation clips a data source draws from its held-out items (a pool)


def holdout_split(num_items: int, fraction: float = VALIDATION_FRACTION,
                  seed: int = VALIDATION_SEED) -> dict[str, np.ndarray]:
    """Which of `num_items` items train and which are held out (see the module docstring).

    Args:
      num_items: V >= 0 items, indexed in the original's listing order.
      fraction: share held out, in [0, 1).

    Returns:
      {"train": int64 [K], "validation": int64 [V - K]}: increasing item indices, K = max(int((1 - fraction) * V),
      min(V, 1)).
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"The validation fraction must be in [0, 1); got {fraction!r}.")
    positions = list(range(int(num_items)))
    np.random.RandomState(seed).shuffle(positions)
    num_train = max(int((1 - fraction) * len(positions)), min(len(positions), 1))
    return {"train": np.sort(np.asarray(positions[:num_train], np.int64)),
            "validation": np.sort(np.asarray(positions[num_train:], np.int64))}


def split_listed(order: np.ndarray, fraction: float = VALIDATION_FRACTION,
                 seed: int = VALIDATION_SEED) -> dict[str, np.ndarray]:
    """`holdout_split` of items stored in another order than the original lists them.

    Args:
      order: int [V], the stored indices in the original's listing order (order[p] is the p-th listed item).

    Returns:
      {"train": int64 [K], "validation": int64 [V - K]}: increasing stored indices.
    """
    order = np.asarray(order, np.int64)
    split = holdout_split(len(order), fraction, seed)
    return {name: np.sort(order[positions]) for name, positions in split.items()}
