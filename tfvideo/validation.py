"""The rules on user-given values that every entry point shares, each written once (pure Python and numpy).

- `steps_per_frame`: dt -> k for dt = 1/k, 1 <= k <= MAX_STEPS_PER_FRAME (to within DT_TOLERANCE).
- `frame_steps`: the same, and k = 1 for a discrete-time model (`discrete_time_message` words the rule, for the
  in-graph check too).
- `positive_int`: counts (num_samples, horizon, sizes, steps).
- `int32_seed`: sampling seeds.
- `finite_number`: real hyperparameters (finite, within bounds).

The configuration, `VideoPredictor.generate`, the exported signatures (whose in-graph twin of the dt rule is
`tfvideo.export.checks.graph_steps_per_frame`), the TFLite host checks and the evaluation all call them. Each takes
the name the caller gives the value (a flag `--dt` or an argument `dt`), which starts every message, and the
exception class the caller raises (a ValueError subclass such as ConfigError or InvalidInputError).

This module imports no TensorFlow: the CLIs read their configuration before TensorFlow is loaded.
"""

from __future__ import annotations

import numbers

import numpy as np

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_STEPS_PER_FRAME = 1000  # dt >= 1/1000: bounds the work of one call (and keeps k an int32)
DT_TOLERANCE = 1e-6  # |dt - 1/k| accepted as dt = 1/k


def positive_int(value, name: str, *, error: type[ValueError] = ValueError, maximum: int | None = INT32_MAX) -> int:
    """`value` as a Python int when it is a whole number (int or numpy integer, not a bool) from 1 to `maximum`
    (None: no upper bound; the default keeps it an int32, as counts passed to TensorFlow must be)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1 \
            or (maximum is not None and value > maximum):
        bound = {None: "", INT32_MAX: " (and < 2**31, an int32)", INT64_MAX: " (and < 2**63, an int64)"}.get(
            maximum, f" and <= {maximum}")
        raise error(f"{name} must be a whole number >= 1{bound}; got {value!r}.")
    return int(value)


def steps_per_frame(dt, name: str = "dt", *, error: type[ValueError] = ValueError, precision=np.float64) -> int:
    """k for an Euler step dt = 1/k, k a whole number from 1 to MAX_STEPS_PER_FRAME, |dt - 1/k| <= DT_TOLERANCE.

    `dt` is a real number (int, float, numpy scalar or 0-d array); anything else, or a dt not of that form,
    raises `error` naming `name`. `precision` is the float type of the arithmetic: np.float64 (Python's) for
    the config and `generate`; np.float32 for the TFLite host, where it repeats the exported signature's
    in-graph check (`tfvideo.export.checks.graph_steps_per_frame`) operation for operation, so the host
    accepts exactly the dt the graph accepts and gets the k the graph computes.
    """
    value = _real_scalar(dt)
    if value is None:
        raise error(f"{name} must be a number of the form 1/k (1, 0.5, 0.25, ..., 1/{MAX_STEPS_PER_FRAME}); "
                    f"got {dt!r}.")
    with np.errstate(all="ignore"):
        x, one = precision(value), precision(1.0)
        if precision(0.0) < x < precision(1.0 / MAX_STEPS_PER_FRAME):
            raise error(f"{name}={dt!r} is too small: {name} must be of the form 1/k with at most "
                        f"{MAX_STEPS_PER_FRAME} Euler steps per frame (k <= {MAX_STEPS_PER_FRAME}).")
        in_range = bool(precision(1.0 / MAX_STEPS_PER_FRAME) <= x <= one)  # False for NaN
        k = np.round(one / x) if in_range else precision(0.0)
        if not (in_range and abs(one / k - x) <= precision(DT_TOLERANCE)):
            hint = f" Use for example {1.0 / float(k):g}." if in_range else ""
            raise error(f"{name} must be of the form 1/k for a whole number k from 1 to {MAX_STEPS_PER_FRAME} (1, "
                        f"0.5, 0.25, ...) so that Euler steps land on every frame; got {dt!r}.{hint}")
    return int(k)


def frame_steps(dt, name: str = "dt", *, continuous_time: bool, who: str = "this model",
                error: type[ValueError] = ValueError, precision=np.float64) -> int:
    """`steps_per_frame(dt)` for a model that has continuous time; a discrete-time model (`continuous_time` False)
    steps once per frame and takes dt = 1 only: `error` with `discrete_time_message` otherwise. `who` names the
    model in the message (e.g. "--model=svg", "the model of RUN")."""
    k = steps_per_frame(dt, name, error=error, precision=precision)
    if k != 1 and not continuous_time:
        raise error(f"{discrete_time_message(name, who)} {dt!r}.")
    return k


def discrete_time_message(name: str, who: str) -> str:
    """The one wording of the discrete-time rule, ending where the value given follows (e.g. "... got 0.5.")."""
    return (f"{name}: {who} is a discrete-time model (one step per frame, no frames in between), so it takes "
            f"{name}=1 only. Use {name}=1; got")


def finite_number(value, name: str, *, error: type[ValueError] = ValueError, above: float | None = None,
                  minimum: float | None = None, maximum: float | None = None) -> float:
    """`value` as a float when it is a finite real number (not a bool) with value > `above`, >= `minimum` and
    <= `maximum` (each bound checked when given); NaN and +-inf never pass."""
    number = _real_scalar(value)
    bounds = [f"> {above:g}" if above is not None else "", f">= {minimum:g}" if minimum is not None else "",
              f"<= {maximum:g}" if maximum is not None else ""]
    if number is None or not np.isfinite(number) or (above is not None and not number > above) \
            or (minimum is not None and not number >= minimum) or (maximum is not None and not number <= maximum):
        wanted = " and ".join(b for b in bounds if b)
        raise error(f"{name} must be a finite number{' ' + wanted if wanted else ''}; got {value!r}.")
    return number


def _real_scalar(value) -> float | None:
    """`value` as a float (inf if too large for one) when it is a real number, else None."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        return float("inf") if value > 0 else float("-inf")


def int32_seed(value, name: str = "seed", *, error: type[ValueError] = ValueError) -> int:
    """`value` as a Python int when it is a whole number in int32 range (the seed input of the signatures).

    Seeds outside int32 are rejected rather than reduced, so that every seed `generate` accepts gives the
    futures the exported signatures give for it.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or not INT32_MIN <= int(value) <= INT32_MAX:
        raise error(f"{name} must be an int32 (a whole number from -2**31 to 2**31 - 1); got {value!r}.")
    return int(value)
