"""The shared rules on user-given values (`tfvideo.validation`): dt -> k, counts and seeds, with the caller's name
and exception class; the float32 precision of the dt rule agrees with its in-graph twin of the signatures."""

import numpy as np
import pytest
import tensorflow as tf

from tfvideo import validation
from tfvideo.export import checks


class CustomError(ValueError):
    pass


# ------------------------------------------------------------------------------------------------ dt


@pytest.mark.parametrize("dt, k", [(1, 1), (1.0, 1), (0.5, 2), (0.25, 4), (1 / 3, 3), (np.float32(0.5), 2),
                                   (np.float64(0.125), 8), (np.array(0.25), 4), (1 / 999, 999), (0.001, 1000),
                                   (0.5 + 5e-7, 2)])
@pytest.mark.parametrize("precision", [np.float64, np.float32])
def test_steps_per_frame_accepts_one_over_k(dt, k, precision):
    assert validation.steps_per_frame(dt, precision=precision) == k


@pytest.mark.parametrize("dt, message", [
    (0.3, r"^--dt must be of the form 1/k for a whole number k from 1 to 1000 .*got 0.3. Use for example 0.333333"),
    (0.5 + 2e-6, "^--dt must be of the form 1/k"),
    (0.0, "^--dt must be of the form 1/k"), (-0.5, "^--dt must be of the form 1/k"),
    (2.0, "^--dt must be of the form 1/k"), (float("nan"), "^--dt must be of the form 1/k"),
    (float("inf"), "^--dt must be of the form 1/k"), (10**400, "^--dt must be of the form 1/k"),
    (0.0001, r"^--dt=0.0001 is too small: --dt must be of the form 1/k with at most 1000 Euler steps per frame"),
    (1 / 1001, "^--dt=.* is too small"), (5e-324, "^--dt=5e-324 is too small"),
    ("0.5", "^--dt must be a number"), (True, "^--dt must be a number"), (None, "^--dt must be a number"),
    ([0.5], "^--dt must be a number"), (np.array([0.5]), "^--dt must be a number"), (1j, "^--dt must be a number"),
])
def test_steps_per_frame_rejects_other_values_naming_them(dt, message):
    with pytest.raises(CustomError, match=message):
        validation.steps_per_frame(dt, "--dt", error=CustomError)


def test_float32_precision_is_the_in_graph_check():
    """The host check (float32) accepts exactly the dt the signature's graph accepts, with the same k, also next
    to the tolerance and between 1/k and 1/(k + 1) for k near 1000, where float64 and float32 can disagree."""
    near = [1 / k + d for k in (1, 2, 3, 7, 700, 999, 1000) for d in (-1.2e-6, -1e-6, -9e-7, 0.0, 9e-7, 1e-6, 1.2e-6)]
    between = [(1 / k + 1 / (k + 1)) / 2 + d for k in (700, 850, 998, 999) for d in (-1e-9, 0.0, 1e-9)]
    dts = np.array(near + between + [0.001 - 1e-9, 0.3, 1.0 + 1e-7, 0.0], np.float32)
    accepted = 0
    for dt in dts:
        try:
            k_host = validation.steps_per_frame(dt, precision=np.float32)
        except ValueError:
            k_host = None
        try:
            k_graph = int(_graph_k(tf.constant(dt)))
        except tf.errors.InvalidArgumentError:
            k_graph = None
        assert k_host == k_graph, dt
        accepted += k_host is not None
    assert 10 < accepted < len(dts)  # both outcomes happen


@tf.function
def _graph_k(dt):
    """k of `graph_steps_per_frame`, once its checks passed (InvalidArgumentError otherwise)."""
    k, asserts = checks.graph_steps_per_frame(dt)
    return checks.after(asserts, k)[0]


# ------------------------------------------------------------------------------------------------ counts, seeds


@pytest.mark.parametrize("value", [1, 7, np.int32(3), np.int64(2**31 - 1), np.uint8(1)])
def test_positive_int_accepts_whole_numbers(value):
    assert validation.positive_int(value, "n") == int(value) and type(validation.positive_int(value, "n")) is int


@pytest.mark.parametrize("value, maximum, message", [
    (0, validation.INT32_MAX, r"^n must be a whole number >= 1 \(and < 2\*\*31, an int32\); got 0"),
    (-3, None, "^n must be a whole number >= 1; got -3"),
    (2**31, validation.INT32_MAX, "an int32"), (5, 4, "^n must be a whole number >= 1 and <= 4; got 5"),
    (True, None, "got True"), (1.0, None, "got 1.0"), ("2", None, "got '2'"), (None, None, "got None"),
    (np.float32(2), None, "got"),
])
def test_positive_int_rejects_other_values_with_the_callers_error(value, maximum, message):
    with pytest.raises(CustomError, match=message):
        validation.positive_int(value, "n", error=CustomError, maximum=maximum)


def test_positive_int_without_maximum_takes_any_size():
    assert validation.positive_int(2**40, "n", maximum=None) == 2**40


@pytest.mark.parametrize("seed", [0, -1, 2**31 - 1, -2**31, np.int64(5), np.uint64(7)])
def test_int32_seed_accepts_the_int32_range(seed):
    assert validation.int32_seed(seed) == int(seed)


@pytest.mark.parametrize("seed", [2**31, -2**31 - 1, np.uint64(2**63), 1.0, True, "3", None])
def test_int32_seed_rejects_everything_else(seed):
    with pytest.raises(CustomError, match=r"^--seed must be an int32"):
        validation.int32_seed(seed, "--seed", error=CustomError)
