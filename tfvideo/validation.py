"""The rules on user-given values that every entry point shares, each written once (pure Python and numpy).

The configuration, `VideoPredictor.generate`, the exported signatures (their in-graph twins live in
`tfvideo.export.graph_checks`), the TFLite host checks and the evaluation all call these functions. Each takes
the name the caller gives the value (a flag `--dt` or an argument `dt`), which starts every message, and the
exception class the caller raises (a ValueError subclass such as ConfigError or InvalidInputError).

This module imports no TensorFlow: the CLIs read their configuration before TensorFlow is loaded.
"""

from __future__ import annotations

import numbers

import numpy as np

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def int32_seed(value, name: str = "seed", *, error: type[ValueError] = ValueError) -> int:
    """`value` as a Python int when it is a whole number in int32 range (the seed input of the signatures).

    Seeds outside int32 are rejected rather than reduced, so that every seed `generate` accepts gives the
    futures the exported signatures give for it.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or not INT32_MIN <= int(value) <= INT32_MAX:
        raise error(f"{name} must be an int32 (a whole number from -2**31 to 2**31 - 1); got {value!r}.")
    return int(value)
