"""The one noise generator of sampling (`tfvideo.models.noise`) and how `generate` uses it: hashed standard
normals, a pure function of (seed, stream, coordinates); a longer horizon or more samples keep the earlier
draws; seeds are int32s, None draws one from the model's seed generator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import PER_MODEL, tiny_config
from tests.support.models import perturb_weights
from tfvideo.models import InvalidInputError, build_model
from tfvideo.models import noise

IMAGE = (64, 64, 1)
P = tiny_config().data.conditioning_frames  # context frames


def test_hash_is_a_bijection_on_a_sample_and_mixes_bits():
    x = tf.range(-50_000, 50_000, dtype=tf.int32)
    h = noise.hash_int32(x).numpy()
    assert len(np.unique(h)) == len(h)
    bits = (h[:, None] >> np.arange(32)) & 1  # each output bit is set about half of the time
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.01)


def test_hashed_normal_is_standard_normal_and_seeded():
    a = noise.hashed_normal([200, 50, 10], 3).numpy()
    assert a.shape == (200, 50, 10) and np.all(np.isfinite(a))
    assert abs(a.mean()) < 0.01 and abs(a.std() - 1.0) < 0.01
    quantiles = np.quantile(a, [0.025, 0.5, 0.975])
    np.testing.assert_allclose(quantiles, [-1.96, 0.0, 1.96], atol=0.03)
    flat = a.reshape(-1)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.01  # neighbours uncorrelated
    np.testing.assert_array_equal(a, noise.hashed_normal([200, 50, 10], 3).numpy())
    other = noise.hashed_normal([200, 50, 10], 4).numpy()
    assert abs(np.corrcoef(flat, other.reshape(-1))[0, 1]) < 0.01
    stream = noise.hashed_normal([200, 50, 10], 3, stream=1).numpy()
    assert abs(np.corrcoef(flat, stream.reshape(-1))[0, 1]) < 0.01


def test_hashed_normal_depends_on_coordinates_not_on_the_shape():
    big = noise.hashed_normal([6, 9, 4], 11).numpy()
    small = noise.hashed_normal([2, 5, 4], 11).numpy()
    np.testing.assert_array_equal(big[:2, :5], small)
    assert np.abs(big[:2, :5, 0] - big[:2, :5, 1]).max() > 0.1  # the last coordinate counts too


def test_seeded_noise_gives_each_name_its_own_stream():
    shapes = {"z": tf.constant([3, 4, 2]), "y1": tf.constant([3, 2])}
    out = noise.seeded_noise(shapes, tf.constant(5))
    assert out["z"].shape == (3, 4, 2) and out["y1"].shape == (3, 2)
    np.testing.assert_array_equal(out["y1"], noise.hashed_normal([3, 2], 5, stream=0))  # sorted: y1, z
    np.testing.assert_array_equal(out["z"], noise.hashed_normal([3, 4, 2], 5, stream=1))


# ------------------------------------------------------------------------------------------------ generate


# Scale of the weight perturbation that makes z move each model's frames visibly.
SCALES = {"srvp": 0.03, "svg": 0.1, "hafsvg": 0.1}


@pytest.fixture(scope="module", params=sorted(PER_MODEL))
def model(request):
    """A tiny model whose weights are perturbed: at initialisation its frames hardly depend on z (~1e-6)."""
    keras.utils.set_random_seed(0)
    return perturb_weights(build_model(tiny_config(variant=request.param)), SCALES[request.param])


def _context(batch, length=P, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(batch, length, *IMAGE)).astype(np.float32)


def test_generate_draws_the_noise_of_draw_noise(model):
    """generate(seed=s) = sample_futures fed with draw_noise(seed=s) (the hashed generator)."""
    context = _context(2)
    noise_dict = model.draw_noise(2, 3, P, P - 1 + 2, seed=-4)
    expected = model.sample_futures(tf.constant(context), 3, 2, 1, noise_dict).numpy()
    np.testing.assert_allclose(model.generate(context, 3, 2, seed=-4).numpy(), expected, atol=1e-5)


def test_longer_horizon_and_more_samples_keep_the_earlier_draws(model):
    context = _context(1)
    short = model.generate(context, num_samples=2, horizon=2, seed=9).numpy()
    longer = model.generate(context, num_samples=3, horizon=4, seed=9).numpy()
    np.testing.assert_allclose(longer[:, :2, :2], short, atol=1e-5)
    assert np.abs(longer[:, 2] - longer[:, 0]).max() > 1e-3  # the new sample is another future


def test_no_seed_draws_an_int32_seed_from_the_seed_generator(model):
    context = _context(1)
    state = model.noise_seed.state.numpy()
    drawn = model.generate(context, 2, 2).numpy()
    model.noise_seed.state.assign(state)
    seed = int(model.sampling_seed(None))
    np.testing.assert_array_equal(model.generate(context, 2, 2, seed=seed).numpy(), drawn)
    assert not np.array_equal(model.generate(context, 2, 2).numpy(), drawn)  # the generator moved on


@pytest.mark.parametrize("seed", [2**31, -2**31 - 1, 2**64, np.uint64(2**63)])
def test_seeds_outside_int32_are_rejected_naming_the_seed(seed):
    model = build_model(tiny_config())
    with pytest.raises(InvalidInputError, match=r"^seed must be an int32"):
        model.generate(_context(1), 1, 1, seed=seed)
    for edge in (2**31 - 1, -2**31):  # the int32 range itself is accepted
        assert model.generate(_context(1), 1, 1, seed=edge).shape == (1, 1, 1, *IMAGE)
