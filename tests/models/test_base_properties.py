"""Property-based tests (hypothesis) of `VideoPredictor.generate`: random shapes, dtypes, values, sample counts,
horizons, dt and seeds. Valid inputs give frames [B, S, F, H, W, C] in [0, 1]; an invalid argument gives
InvalidInputError naming it -- never another exception."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.configs import tiny_config
from tfvideo.models import InvalidInputError, build_model

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IMAGE = (64, 64, 1)
MIN_FRAMES = tiny_config().model.inference_frames  # SRVP's minimum context length


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    model = build_model(tiny_config())
    assert model.min_context_frames() == MIN_FRAMES
    return model


# ------------------------------------------------------------------------------------------------ valid values

valid_shapes = st.tuples(st.integers(1, 2), st.integers(MIN_FRAMES, MIN_FRAMES + 2)).map(lambda bt: (*bt, *IMAGE))
float_dtypes = st.sampled_from([np.float16, np.float32, np.float64])


class Frames:
    """An array [shape] of one value with a few pixels set to others: cheap at 64x64, and short to print."""

    def __init__(self, shape, dtype, fill, pixels):
        self.shape, self.dtype, self.fill, self.pixels = shape, dtype, fill, pixels

    def array(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            array = np.full(self.shape, self.fill, dtype=self.dtype)
            for index, value in self.pixels:
                array.flat[index] = value
        return array

    def __repr__(self):
        return f"Frames({self.shape}, {np.dtype(self.dtype).name}, fill={self.fill!r}, pixels={self.pixels})"


@st.composite
def frames(draw, shape=valid_shapes, dtype=float_dtypes, low=0.0, high=1.0):
    shape, dtype = draw(shape), draw(dtype)
    values = st.floats(low, high) if low is not None else st.floats(allow_nan=True, allow_infinity=True)
    size = int(np.prod(shape))
    pixels = draw(st.lists(st.tuples(st.integers(0, size - 1), values), max_size=3)) if size else []
    return Frames(shape, dtype, draw(values), pixels)


def _bad_values(spec: Frames) -> bool:
    array = spec.array()
    return not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1)


def counts(high):
    return st.one_of(st.integers(1, high), st.integers(1, high).map(np.int32), st.integers(1, high).map(np.int64))


valid_dts = st.sampled_from([None, 1, 1.0, 0.5, 0.25, np.float32(0.5), np.float64(0.25)])
valid_seeds = st.one_of(st.none(), st.integers(-2**31, 2**31 - 1), st.integers(-2**31, 2**31 - 1).map(np.int64),
                        st.integers(0, 2**31 - 1).map(np.uint64))

# ------------------------------------------------------------------------------------------------ bad values



def _near_one_over_k(x: float) -> bool:
    """x is 1/k for a whole k, or close to it (valid, or too near the tolerance to call)."""
    return x > 0 and np.isfinite(1 / x) and abs(1 / x - round(1 / x)) < 1e-3


junk = st.sampled_from([None, "3", b"\x00", [1, "a"], {"x": 1}, object(), 1 + 2j, [[1.0], [1.0, 2.0]]])
bad_contexts = st.one_of(
    frames(shape=st.lists(st.integers(0, 3), max_size=6).filter(lambda s: len(s) != 5).map(tuple)),  # rank
    frames(shape=st.tuples(st.integers(1, 2), st.integers(2, 3), st.integers(1, 65), st.integers(1, 65),
                           st.integers(1, 4)).filter(lambda s: s[2:] != IMAGE)),  # frame size
    frames(shape=st.tuples(st.integers(0, 2), st.integers(0, MIN_FRAMES)).filter(
        lambda bt: bt[0] == 0 or bt[1] < MIN_FRAMES).map(lambda bt: (*bt, *IMAGE))),  # too few videos / frames
    frames(low=None).filter(_bad_values),  # values
    frames(dtype=st.sampled_from([np.uint8, np.int32, np.int64, np.bool_, np.complex64])),  # dtype
    valid_shapes.map(lambda s: Frames(s, np.str_, "0.5", [])),
    junk,
)
bad_counts = st.one_of(st.integers(max_value=0), st.integers(2**31, 2**80), st.floats(allow_nan=True),
                       st.booleans(), st.integers(1, 3).map(float), st.integers(1, 3).map(np.float32), junk)
bad_dts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not _near_one_over_k(x)),
    st.floats(min_value=0, max_value=1e-3, exclude_min=True, exclude_max=True),  # k > 1000 (or overflows)
    st.sampled_from([0.0, -0.5, 2.0, 5e-324, 1e-300, 1e-7, float("nan"), float("inf"), -float("inf"), "0.5", True,
                     [0.5], 1j, np.float32(0.3)]))
bad_seeds = st.one_of(st.integers(2**31, 2**70), st.integers(max_value=-2**31 - 1),
                      st.integers(2**31, 2**64 - 1).map(np.uint64), st.floats(allow_nan=True), st.booleans(),
                      st.text(max_size=3),
                      st.lists(st.integers(), max_size=3),
                      st.sampled_from([np.float64(2.0), object(), np.array([1, 2, 3]), 1j]))

ARGUMENTS = ("context", "num_samples", "horizon", "dt", "seed")
BAD = {"context": bad_contexts, "num_samples": bad_counts, "horizon": bad_counts, "dt": bad_dts, "seed": bad_seeds}


@st.composite
def calls(draw, bad=None):
    """Keyword arguments of `generate`, all valid except `bad` (an argument name, or None)."""
    kwargs = dict(context=draw(frames()), num_samples=draw(counts(2)), horizon=draw(counts(3)), dt=draw(valid_dts),
                  seed=draw(valid_seeds), include_intermediate=draw(st.booleans()))
    if bad is not None:
        kwargs[bad] = draw(BAD[bad])
    return kwargs


def _call(model, kwargs):
    context = kwargs["context"]
    return model.generate(**{**kwargs, "context": context.array() if isinstance(context, Frames) else context})


@SETTINGS
@given(kwargs=calls())
def test_valid_inputs_give_frames_in_the_unit_interval(model, kwargs):
    out = np.asarray(_call(model, kwargs))
    k = round(1 / (kwargs["dt"] or 1.0))
    frames_out = int(kwargs["horizon"]) * (k if kwargs["include_intermediate"] else 1)
    assert out.shape == (kwargs["context"].shape[0], int(kwargs["num_samples"]), frames_out, *IMAGE)
    assert out.dtype == np.float32 and np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ARGUMENTS)
def test_an_invalid_argument_raises_invalid_input_error_naming_it(model, name):
    @SETTINGS
    @given(kwargs=calls(bad=name))
    def check(kwargs):
        with pytest.raises(InvalidInputError) as error:
            _call(model, kwargs)
        assert str(error.value).startswith(name) or f"{name}=" in str(error.value), str(error.value)

    check()


def test_same_int_seed_same_futures_whatever_its_integer_type(model):
    context = np.full((1, MIN_FRAMES, *IMAGE), 0.5, np.float32)
    a = model.generate(context, 2, 2, seed=7).numpy()
    for seed in (np.int64(7), np.uint64(7), np.int32(7)):
        np.testing.assert_array_equal(model.generate(context, 2, 2, seed=seed).numpy(), a)
