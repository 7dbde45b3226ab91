"""The one place where network outputs become distributions.

Every prior and posterior of every model is a diagonal `tfd.Normal` built by `normal_from_params`,
so sampling, `log_prob` and the KL terms all use the same parameterisation:

    params = [loc, raw]  (last axis, 2 * d)
    scale  = softplus(raw) + 1e-8           (as in the SRVP reference code)

SVG-LP and HAF-SVG use SVG's own parameterisation instead, through `normal_from_mean_logvar`:
params = [mean, log variance], scale = exp(logvar / 2).

Sampling goes through `sample_with_noise(dist, eps) = loc + scale * eps` so that callers control the
noise (`keras.random.normal` in Python, an explicit input or an in-graph hash in exported models).
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

MIN_SCALE = 1e-8


def normal_from_params(params: tf.Tensor) -> tfd.Normal:
    """Splits `params` [..., 2d] into a Normal with batch shape [..., d] (event shape [])."""
    loc, raw_scale = tf.split(params, 2, axis=-1)
    return tfd.Normal(loc=loc, scale=tf.nn.softplus(raw_scale) + MIN_SCALE)


def normal_from_mean_logvar(params: tf.Tensor) -> tfd.Normal:
    """Splits `params` [..., 2d] = [mean, log variance] into a Normal with scale exp(logvar / 2) (SVG-LP)."""
    loc, logvar = tf.split(params, 2, axis=-1)
    return tfd.Normal(loc=loc, scale=tf.exp(0.5 * logvar))


def standard_normal_like(dist: tfd.Normal) -> tfd.Normal:
    """N(0, I) with the batch shape [..., d] of `dist`."""
    zeros = tf.zeros_like(dist.loc)
    return tfd.Normal(loc=zeros, scale=tf.ones_like(zeros))


def sample_with_noise(dist: tfd.Normal, noise: tf.Tensor) -> tf.Tensor:
    """Reparameterised sample loc + scale * noise; `noise` [..., d] ~ N(0, I) matches the batch shape."""
    return dist.loc + dist.scale * tf.cast(noise, dist.loc.dtype)


def kl_summed(q: tfd.Normal, p: tfd.Normal) -> tf.Tensor:
    """Analytic KL(q || p) summed over the last axis: [..., d] -> [...]."""
    return tf.reduce_sum(tfd.kl_divergence(q, p), axis=-1)


def gaussian_nll(mean: tf.Tensor, target: tf.Tensor, scale: float) -> tf.Tensor:
    """-log N(target | mean, scale^2) summed over all axes but the first: [B, ...] -> [B]."""
    dist = tfd.Normal(loc=mean, scale=tf.cast(scale, mean.dtype))
    log_prob = dist.log_prob(tf.cast(target, mean.dtype))
    return -tf.reduce_sum(tf.reshape(log_prob, [tf.shape(log_prob)[0], -1]), axis=1)
