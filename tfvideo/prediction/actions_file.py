"""`predict --actions=FILE`: the actions of an action-conditioned model, read from .npy or .csv.

The file holds raw actions [T, A], one row per frame (a .csv: comma-separated numbers, no header; lines starting
with # are skipped), row 0 at the first context frame, row t moving frame t to t + 1 (`tfvideo.models.actions`):
at least Tc - 1 + horizon rows; later rows are ignored. A model without actions refuses the flag, an
action-conditioned one requires it, before anything is read or sampled.
"""

from __future__ import annotations

import numpy as np

from tfvideo.models import actions as actions_lib
from tfvideo.prediction.errors import PredictError

EXTENSIONS = actions_lib.FILE_EXTENSIONS


def check_given(spec, path: str | None) -> None:
    """PredictError when --actions is missing for an action-conditioned model, given to one without actions, or
    not a .npy / .csv file name."""
    if spec.action_size and not path:
        raise PredictError(f"The model of {spec.source} is action-conditioned: give its actions with "
                           f"--actions=FILE.npy|.csv ([T, {spec.action_size}], one row per frame from the first "
                           "context frame).")
    if path and not spec.action_size:
        raise PredictError(f"--actions: the model of {spec.source} is not action-conditioned (trained without "
                           "--action_conditioned); drop --actions.")
    if path and not path.lower().endswith(EXTENSIONS):
        raise PredictError(f"--actions={path}: give a .npy or .csv file of actions [T, {spec.action_size}].")


def read_actions(path: str | None, action_size: int | None, needed: int) -> np.ndarray | None:
    """float32 actions [>= needed, A] of `path` (None for a model without actions, action_size 0; action_size None:
    any A, for a client that does not know the model's); PredictError naming the file and the problem."""
    if action_size == 0:
        return None
    return actions_lib.read_actions_file(path, action_size, needed, error=PredictError)
