"""Model-test helpers: config-rebuilt attributes, squared error, weight perturbation, SVG-LP / HAF-SVG reference
loops written one frame at a time like the original code."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def plain_settings(layer) -> dict:
    """A layer's (or model's) public int / float / str / bool attributes: what its config must rebuild (a field
    missing from get_config comes back as the constructor's default, which equal configs would not show)."""
    return {k: v for k, v in vars(layer).items()
            if not k.startswith("_") and k not in ("built", "compiled") and isinstance(v, (int, float, str))}


def squared_error(model, terms: dict, num_frames: int) -> float:
    """A positive multiple of the reconstruction's squared error sum_t ||x^_t - x_t||^2 (batch mean), from the loss
    terms of `num_frames`-frame videos: SRVP's Gaussian "nll" minus its constant (times 2 obs_scale^2), SVG-LP's
    and HAF-SVG's "reconstruction" (a sum over frames of per-frame means)."""
    if "nll" in terms:
        sigma = model.model_config.obs_scale
        pixels = num_frames * model.image_size ** 2 * model.channels
        return 2 * sigma ** 2 * (float(terms["nll"]) - pixels * (np.log(sigma) + 0.5 * np.log(2 * np.pi)))
    return float(terms["reconstruction"])


def perturb_weights(model, scale=0.1, seed=0):
    """Adds N(0, scale^2) to every trainable weight: at initialisation the tiny encoder maps every frame to nearly
    the same code, which would make posterior and prior equal and the comparisons of KL terms vacuous."""
    for index, weight in enumerate(model.trainable_weights):
        weight.assign_add(tf.random.stateless_normal(weight.shape, seed=[seed, index]) * scale)
    return model


def grouped_step(layer, h, states, eps=None, z=None):
    """One step of a (grouped) Gaussian LSTM written out: group j reads [h, z^1..z^{j-1}] (HAF-SVG eq. 4; G = 1
    is SVG's gaussian_lstm) and samples z^j = mu_j + exp(logvar_j / 2) * eps_j, unless z is given.
    states: one [h, c] per group. Returns (mu, logvar, z, new states), numpy [N, G d]."""
    d = layer.group_size
    mus, logvars, zs, new_states = [], [], [], []
    for j, group in enumerate(layer.groups):
        params, state = group.step(tf.concat([h, *[tf.constant(x, tf.float32) for x in zs]], -1), states[j])
        mu, logvar = np.split(params.numpy(), 2, axis=-1)
        zs.append(z[:, j * d:(j + 1) * d] if z is not None else mu + np.exp(0.5 * logvar) * eps[:, j * d:(j + 1) * d])
        mus.append(mu), logvars.append(logvar), new_states.append(state)
    return np.concatenate(mus, -1), np.concatenate(logvars, -1), np.concatenate(zs, -1), new_states


def zero_states(layer, rows):
    return [group.zero_state(rows) for group in layer.groups]


def reference_loss(model, videos, z_noise, first=1):
    """The original `train(x)`: teacher forcing, skips of the last observed frame min(i - 1, P - 1) (not the
    original's P - 2), nn.MSELoss() (mean) per frame summed over time, KL summed over dims / batch size.
    With groups, the prior's groups condition on the posterior's samples. Only frames i >= first enter the
    sums (HAF-SVG's eq. 1: first = P). Returns (mse, kld) floats."""
    batch, length = videos.shape[:2]
    enc = lambda frame: model.encoder(frame, training=False)
    post, prior = zero_states(model.posterior, batch), zero_states(model.prior, batch)
    pred = model.predictor.zero_state(batch)
    mse = kld = 0.0
    for i in range(1, length):
        out = enc(videos[:, i - 1])
        h = out["encoding"]
        if i <= model.conditioning_frames:
            skip = out["skips"]
        mu, logvar, z, post = grouped_step(model.posterior, enc(videos[:, i])["encoding"], post, eps=z_noise[:, i - 1])
        mu_p, logvar_p, _, prior = grouped_step(model.prior, h, prior, z=z)
        g, pred = model.predictor.step(tf.concat([h, tf.constant(z, tf.float32)], -1), pred)
        x_pred = model.decoder(g, skip)
        if i < first:
            continue
        mse += np.mean((x_pred.numpy() - videos[:, i].numpy()) ** 2)
        kl = (0.5 * (logvar_p - logvar) + (np.exp(logvar) + (mu - mu_p) ** 2) / (2 * np.exp(logvar_p)) - 0.5)
        kld += kl.sum() / batch
    return mse, kld


def reference_generation(model, context, num_samples, horizon, z_noise):
    """The original generation loop, one frame at a time: posterior samples and prior steps through the context,
    then prior samples, decoded with the last context frame's skips and re-encoded.
    Returns numpy [B, num_samples, horizon, H, W, C]."""
    num_context = context.shape[1]
    x = np.repeat(context.numpy(), num_samples, axis=0)
    rows = x.shape[0]
    enc = lambda frame: model.encoder(frame, training=False)
    post, prior = zero_states(model.posterior, rows), zero_states(model.prior, rows)
    pred = model.predictor.zero_state(rows)
    x_in, frames = x[:, 0], []
    for i in range(1, num_context + horizon):
        out = enc(x_in)
        h = out["encoding"]
        if i <= num_context:
            skip = out["skips"]
        if i < num_context:
            _, _, z, post = grouped_step(model.posterior, enc(x[:, i])["encoding"], post, eps=z_noise[:, i - 1])
            _, _, _, prior = grouped_step(model.prior, h, prior, z=z)
            _, pred = model.predictor.step(tf.concat([h, tf.constant(z, tf.float32)], -1), pred)
            x_in = x[:, i]
        else:
            _, _, z, prior = grouped_step(model.prior, h, prior, eps=z_noise[:, i - 1])
            g, pred = model.predictor.step(tf.concat([h, tf.constant(z, tf.float32)], -1), pred)
            x_in = model.decoder(g, skip)
            frames.append(x_in.numpy())
    return np.stack(frames, 1).reshape(context.shape[0], num_samples, horizon, *x.shape[2:])
