import numpy as np
import tensorflow as tf

from tfvideo.models import distributions as dist_lib


def test_normal_from_params_shapes_and_scale():
    params = tf.random.normal([2, 3, 8], seed=1)
    dist = dist_lib.normal_from_params(params)
    assert dist.batch_shape == [2, 3, 4] and dist.event_shape == []
    np.testing.assert_allclose(dist.loc, params[..., :4])
    np.testing.assert_allclose(dist.scale, np.log1p(np.exp(params[..., 4:].numpy())) + 1e-8, rtol=1e-6)


def test_kl_matches_closed_form():
    rng = np.random.default_rng(0)
    mq, mp = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    sq, sp = rng.uniform(0.2, 2, (3, 5)), rng.uniform(0.2, 2, (3, 5))
    q = dist_lib.tfd.Normal(mq.astype(np.float32), sq.astype(np.float32))
    p = dist_lib.tfd.Normal(mp.astype(np.float32), sp.astype(np.float32))
    expected = (np.log(sp / sq) + (sq ** 2 + (mq - mp) ** 2) / (2 * sp ** 2) - 0.5).sum(-1)
    np.testing.assert_allclose(dist_lib.kl_summed(q, p), expected, rtol=1e-5)
    std = dist_lib.standard_normal_like(q)
    np.testing.assert_allclose(dist_lib.kl_summed(q, std),
                               (-np.log(sq) + (sq ** 2 + mq ** 2) / 2 - 0.5).sum(-1), rtol=1e-5)


def test_sample_with_noise_is_loc_plus_scale_noise():
    dist = dist_lib.tfd.Normal([[1.0, -2.0]], [[0.5, 3.0]])
    np.testing.assert_allclose(dist_lib.sample_with_noise(dist, tf.constant([[2.0, -1.0]])), [[2.0, -5.0]])


def test_gaussian_nll_closed_form():
    mean = np.full((2, 3, 4), 0.25, np.float32)
    target = np.zeros((2, 3, 4), np.float32)
    target[1] = 1.0
    scale = 0.5
    per_pixel = lambda d: 0.5 * (d / scale) ** 2 + np.log(scale) + 0.5 * np.log(2 * np.pi)
    expected = [12 * per_pixel(0.25), 12 * per_pixel(0.75)]
    np.testing.assert_allclose(dist_lib.gaussian_nll(tf.constant(mean), target, scale), expected, rtol=1e-5)
