"""Property-based tests (hypothesis) of the serving signature's input checks.

- In graph: the validating `predict` tf.function (as in the SavedModel) fed random float32 contexts (any size,
  NaN/Inf/out-of-range values) and random int32/float32 scalars returns frames [B, S, horizon * k, H, W, C] in
  [0, 1] or fails with InvalidArgumentError naming the bad input -- never another error.
- On the host: `check_inputs` (what TFLite hosts run) given anything returns the interpreter's arrays or raises
  ValueError naming the bad input, and agrees with the in-graph checks on every input the signature accepts.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.support.configs import tiny_config
from tfvideo.export import checks, signatures
from tfvideo.models import build_model

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IMAGE = (64, 64, 1)
MIN_FRAMES = tiny_config(variant="srvp_bounded").model.inference_frames  # SRVP's shortest context
INT32 = (-2**31, 2**31 - 1)
NAMES = ("context", "num_samples", "horizon", "dt", "seed")


@pytest.fixture(scope="module")
def predict():
    keras.utils.set_random_seed(0)
    model = build_model(tiny_config(variant="srvp_bounded"))
    assert model.min_context_frames() == MIN_FRAMES
    return signatures.predict_endpoint(model).tf_function()


def valid_dt(dt: float, tolerance: float = 1e-6) -> bool:
    """The documented contract: dt = 1/k for a whole k in 1..1000 (to within 1e-6)."""
    if not math.isfinite(dt) or not 1e-3 * (1 - 10 * tolerance) <= dt <= 1 + 10 * tolerance:
        return False
    return abs(1 / round(1 / dt) - dt) <= tolerance


def clearly_bad_dt(dt: float) -> bool:
    """Not within 10x the tolerance of a valid dt: there the float32 graph and the float64 host may differ."""
    return not valid_dt(dt, tolerance=1e-5)


class Frames:
    """A float32 array [shape] of one value with a few pixels set to others: cheap at 64x64, short to print."""

    def __init__(self, shape, fill, pixels):
        self.shape, self.fill, self.pixels = shape, fill, pixels

    def array(self) -> np.ndarray:
        array = np.full(self.shape, self.fill, np.float32)
        for index, value in self.pixels:
            array.flat[index] = value
        return array

    def valid(self) -> bool:
        array = self.array()
        return (len(self.shape) == 5 and self.shape[2:] == IMAGE and self.shape[0] >= 1
                and self.shape[1] >= MIN_FRAMES and bool(np.isfinite(array).all() and array.min() >= 0
                                                        and array.max() <= 1))

    def __repr__(self):
        return f"Frames({self.shape}, fill={self.fill!r}, pixels={self.pixels})"


float32s = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def frames(draw, valid: bool):
    if valid:
        shape = (draw(st.integers(1, 2)), draw(st.integers(MIN_FRAMES, MIN_FRAMES + 2)), *IMAGE)
        values = st.floats(0, 1, width=32)
    else:
        image = st.one_of(st.just(IMAGE), st.tuples(st.integers(0, 65), st.integers(0, 65), st.integers(0, 3)))
        shape = (draw(st.integers(0, 2)), draw(st.integers(0, 4)), *draw(image))
        values = st.one_of(st.floats(0, 1, width=32), float32s)
    size = int(np.prod(shape))
    pixels = draw(st.lists(st.tuples(st.integers(0, size - 1), values), max_size=3)) if size else []
    return Frames(shape, draw(values), pixels)


@st.composite
def signature_inputs(draw):
    """Inputs of the signature's dtypes: each is valid or (often) not, independently."""
    return dict(
        context=draw(st.one_of(frames(valid=True), frames(valid=False))),
        num_samples=draw(st.one_of(st.integers(1, 2), st.integers(INT32[0], 0))),
        dt=draw(st.one_of(st.sampled_from([1.0, 0.5, 0.25]), float32s.filter(clearly_bad_dt),
                          st.sampled_from([0.0, -0.0, 1e-3 * 0.999, 2.0, 1e-45, -1.0, 0.3, 1 / 1001]))),
        horizon=draw(st.one_of(st.integers(1, 3), st.integers(INT32[0], 0))),
        seed=draw(st.integers(*INT32)))


def bad_names(inputs) -> set[str]:
    bad = set()
    if not inputs["context"].valid():
        bad.add("context")
    for name in ("num_samples", "horizon"):
        if inputs[name] < 1:
            bad.add(name)
    if not valid_dt(float(np.float32(inputs["dt"]))):
        bad.add("dt")
    return bad


def call(predict, inputs):
    return predict(tf.constant(inputs["context"].array()), tf.constant(inputs["num_samples"], tf.int32),
                   tf.constant(inputs["horizon"], tf.int32), tf.constant(inputs["dt"], tf.float32),
                   tf.constant(inputs["seed"], tf.int32))["frames"].numpy()


def host_check(inputs, **overrides):
    values = {**inputs, "context": inputs["context"].array(), "dt": float(np.float32(inputs["dt"])), **overrides}
    return checks.check_inputs(**values, image_size=IMAGE[0], channels=IMAGE[2], min_context_frames=MIN_FRAMES)


@SETTINGS
@given(inputs=signature_inputs())
def test_in_graph_checks_name_the_bad_input_and_agree_with_the_host_checks(predict, inputs):
    bad = bad_names(inputs)
    event(f"bad inputs: {sorted(bad)}")
    if not bad:
        frames_out = call(predict, inputs)
        k = round(1 / inputs["dt"])
        assert frames_out.shape == (inputs["context"].shape[0], inputs["num_samples"], inputs["horizon"] * k, *IMAGE)
        assert np.isfinite(frames_out).all() and frames_out.min() >= 0 and frames_out.max() <= 1
        host_check(inputs)  # accepts what the graph accepts
        return
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        call(predict, inputs)
    assert any(f"{name} " in error.value.message for name in bad), (bad, error.value.message[:500])
    with pytest.raises(ValueError) as host_error:
        host_check(inputs)
    assert any(str(host_error.value).startswith(name) for name in bad), (bad, str(host_error.value))


@pytest.mark.parametrize("name", ["context", "num_samples", "dt", "horizon"])  # any int32 seed is valid
def test_in_graph_check_of_each_input_alone(predict, name):
    """Exactly one bad input: the error names that one."""
    @SETTINGS
    @given(inputs=signature_inputs())
    def check(inputs):
        good = dict(context=Frames((1, 3, *IMAGE), 0.5, []), num_samples=2, dt=0.5, horizon=2, seed=0)
        inputs = {**good, name: inputs[name]}
        if not bad_names(inputs):
            return
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"assertion failed: \\[{name} "):
            call(predict, inputs)

    check()


# ------------------------------------------------------------------------------------------------ host checks

junk = st.sampled_from([None, "2", b"1", [1, "a"], {"a": 1}, object(), 1j, [[0.5], [0.5, 0.5]], True, False,
                        np.array([1, 2]), np.float32(1.0), float("nan")])
host_values = {
    "context": st.one_of(
        frames(valid=False).filter(lambda f: not f.valid()).map(lambda f: f.array()),
        st.tuples(st.integers(1, 2), st.integers(MIN_FRAMES, MIN_FRAMES + 1)).map(
            lambda bt: np.zeros((*bt, *IMAGE), np.uint8)),
        st.lists(st.integers(0, 3), max_size=7).filter(lambda s: len(s) != 5).map(lambda s: np.zeros(s, np.float32)),
        st.sampled_from([np.full((1, 3, *IMAGE), "0.5"), np.zeros((1, 3, *IMAGE), np.complex64),
                         np.zeros((1, 3, *IMAGE), bool)]),
        junk),
    "num_samples": st.one_of(st.integers(max_value=0), st.integers(2**31, 2**70), st.integers(2**31, 2**63 - 1).map(
        np.int64), st.floats(allow_nan=True), junk),
    "dt": st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(clearly_bad_dt),
                    st.sampled_from([None, "0.5", b"1", True, [0.5], np.array([0.5]), 1j, object()])),
    "seed": st.one_of(st.integers(2**31, 2**80), st.integers(max_value=-2**31 - 1), st.floats(), junk),
}
host_values["horizon"] = host_values["num_samples"]


@pytest.mark.parametrize("name", NAMES)
def test_host_checks_raise_value_error_naming_any_bad_input(name):
    @SETTINGS
    @given(value=host_values[name])
    def check(value):
        good = dict(context=np.full((1, 3, *IMAGE), 0.5, np.float32), num_samples=2, dt=0.5, horizon=2, seed=0)
        with pytest.raises(ValueError) as error:
            checks.check_inputs(**{**good, name: value}, image_size=IMAGE[0], channels=IMAGE[2],
                                    min_context_frames=MIN_FRAMES)
        assert str(error.value).startswith(name), str(error.value)

    check()


JUNK = [None, "2", b"1", [1, "a"], {"a": 1}, object(), 1j, [[0.5], [0.5, 0.5]], True, np.array([1, 2]), float("nan")]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", JUNK, ids=lambda v: type(v).__name__ if type(v) is object else repr(v))
def test_host_checks_reject_values_of_any_type(name, value):
    good = dict(context=np.full((1, 3, *IMAGE), 0.5, np.float32), num_samples=2, dt=0.5, horizon=2, seed=0)
    with pytest.raises(ValueError, match=f"^{name}"):
        checks.check_inputs(**{**good, name: value}, image_size=IMAGE[0], channels=IMAGE[2],
                                min_context_frames=MIN_FRAMES)


@SETTINGS
@given(context=frames(valid=True), num_samples=st.integers(1, 2**31 - 1), horizon=st.integers(1, 2**31 - 1),
       k=st.integers(1, 1000), seed=st.integers(*INT32), integer_type=st.sampled_from([int, np.int32, np.int64]))
def test_host_checks_accept_valid_inputs_as_the_tflite_arrays(context, num_samples, horizon, k, seed, integer_type):
    out = checks.check_inputs(context.array().astype(np.float64), integer_type(num_samples), integer_type(horizon),
                              1 / k, integer_type(seed), image_size=IMAGE[0], channels=IMAGE[2],
                              min_context_frames=MIN_FRAMES)
    assert out["context"].dtype == np.float32 and out["context"].shape == context.shape
    assert (out["num_samples"], out["horizon"], out["seed"]) == (num_samples, horizon, seed)
    assert out["num_samples"].dtype == out["horizon"].dtype == out["seed"].dtype == np.int32
    assert out["dt"].dtype == np.float32 and round(1 / float(out["dt"])) == k
