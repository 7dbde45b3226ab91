"""SVG-LP: loss and generation against step-by-step references written like the original code, the
contract (shapes, seeds, noise, dt), training, checkpoints and the training loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.training import train_lib
from tfvideo.models import InvalidInputError, build_model
from conftest import tiny_config
from test_srvp import moving_square_videos

B, T, C = 2, 5, 1  # tiny_config: 3 conditioning frames, sequences of 5
P = 3
SVG_TINY = dict(model="svg", skip_connections=True, rnn_size=8, beta_z=1e-4)


def perturb_weights(model, scale=0.3, seed=0):
    """Adds N(0, scale^2) to every trainable weight: at initialisation the tiny encoder maps every frame to nearly
    the same code, which would make posterior and prior equal and the comparisons of KL terms vacuous."""
    for index, weight in enumerate(model.trainable_weights):
        weight.assign_add(tf.random.stateless_normal(weight.shape, seed=[seed, index]) * scale)
    return model


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return perturb_weights(build_model(tiny_config(model=SVG_TINY)))


@pytest.fixture(scope="module")
def videos():
    return tf.random.stateless_uniform([B, T, 64, 64, C], seed=[1, 2])


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


def reference_loss(model, videos, z_noise):
    """The original `train(x)`: teacher forcing, skips of the last observed frame min(i - 1, P - 1) (not the
    original's P - 2), nn.MSELoss() (mean) per frame summed over time, KL summed over dims / batch size.
    With groups, the prior's groups condition on the posterior's samples."""
    batch, length = videos.shape[:2]
    enc = lambda frame: model.encoder(frame, training=False)
    post, prior = zero_states(model.posterior, batch), zero_states(model.prior, batch)
    pred = model.predictor.zero_state(batch)
    mse = kld = 0.0
    for i in range(1, length):
        out = enc(videos[:, i - 1])
        h = out["encoding"]
        if i <= P:
            skip = out["skips"]
        mu, logvar, z, post = grouped_step(model.posterior, enc(videos[:, i])["encoding"], post, eps=z_noise[:, i - 1])
        mu_p, logvar_p, _, prior = grouped_step(model.prior, h, prior, z=z)
        g, pred = model.predictor.step(tf.concat([h, tf.constant(z, tf.float32)], -1), pred)
        x_pred = model.decoder(g, skip)
        mse += np.mean((x_pred.numpy() - videos[:, i].numpy()) ** 2)
        kl = (0.5 * (logvar_p - logvar) + (np.exp(logvar) + (mu - mu_p) ** 2) / (2 * np.exp(logvar_p)) - 0.5)
        kld += kl.sum() / batch
    return mse, kld


def reference_generation(model, context, num_samples, horizon, z_noise):
    """The original generation loop, one frame at a time: posterior samples and prior steps through the context,
    then prior samples, decoded with the last context frame's skips and re-encoded."""
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


def test_loss_matches_the_original_training_loop(model, videos):
    noise = tf.random.stateless_normal([B, T - 1, 4], seed=[5, 6])
    terms = {k: float(v) for k, v in model.elbo_terms(videos, noise, training=False).items()}
    mse, kld = reference_loss(model, videos, noise.numpy())
    assert kld > 0.1 and mse > 0.01
    assert terms["reconstruction"] == pytest.approx(mse, rel=1e-5)
    assert terms["kl_z"] == pytest.approx(kld, rel=1e-4)
    assert terms["loss"] == pytest.approx(mse + 1e-4 * kld, rel=1e-5)


def test_generation_matches_the_original_sampling_loop(model, videos):
    context, horizon, samples = videos[:, :P], 3, 2
    noise = model.draw_noise(B, samples, P, P - 1 + horizon, seed=4)
    out = model.sample_futures(context, samples, horizon, 1, noise)
    expected = reference_generation(model, context, samples, horizon, noise["z"].numpy())
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_skips_of_the_last_observed_frame():
    svg = build_model(tiny_config(model=SVG_TINY), initialize=False)
    np.testing.assert_array_equal(svg.skip_frame_indices(6), [0, 1, 2, 2, 2])  # P = 3: frame 2, not 1


def test_loss_terms_are_finite_and_positive(model, videos):
    terms = {k: float(v) for k, v in model.compute_loss_terms(videos, training=True).items()}
    assert set(terms) == {"loss", "reconstruction", "kl_z"}
    assert all(np.isfinite(v) for v in terms.values()) and terms["kl_z"] > 0 and terms["reconstruction"] > 0


def test_generate_shapes_seeds_and_noise(model, videos):
    context = videos[:, :P]
    a = model.generate(context, num_samples=3, horizon=4, seed=7)
    assert a.shape == (B, 3, 4, 64, 64, C)
    assert float(tf.reduce_min(a)) >= 0 and float(tf.reduce_max(a)) <= 1
    np.testing.assert_array_equal(a, model.generate(context, num_samples=3, horizon=4, seed=7))
    assert not np.allclose(a, model.generate(context, num_samples=3, horizon=4, seed=8))
    assert not np.allclose(a[:, 0], a[:, 1])  # different futures within one call


def test_future_frame_uses_its_own_noise_entry(model, videos):
    noise = model.draw_noise(B, 2, P, P - 1 + 4, seed=11)
    a = model.sample_futures(videos[:, :P], 2, 4, 1, noise)
    changed = {"z": tf.concat([noise["z"][:, :P], noise["z"][:, P:] + 1.0], axis=1)}  # from the 2nd future step
    b = model.sample_futures(videos[:, :P], 2, 4, 1, changed)
    np.testing.assert_allclose(a[:, :, 0], b[:, :, 0], atol=1e-6)
    assert not np.allclose(a[:, :, 1:], b[:, :, 1:])
    context_noise = {"z": tf.concat([noise["z"][:, :1] + 1.0, noise["z"][:, 1:]], axis=1)}  # posterior sample
    assert not np.allclose(a, model.sample_futures(videos[:, :P], 2, 4, 1, context_noise))


def test_one_trace_serves_any_context_length_and_horizon(model, videos):
    spec = dict(context=tf.TensorSpec([None, None, 64, 64, C]), num_samples=tf.TensorSpec([], tf.int32),
                horizon=tf.TensorSpec([], tf.int32), noise={"z": tf.TensorSpec([None, None, 4])})
    fn = tf.function(lambda context, num_samples, horizon, noise: model.sample_futures(
        context, num_samples, horizon, 1, noise), input_signature=list(spec.values()))
    for length, horizon in ((1, 2), (4, 3)):
        noise = model.draw_noise(B, 2, length, length - 1 + horizon, seed=1)
        out = fn(videos[:, :length], tf.constant(2), tf.constant(horizon), noise)
        np.testing.assert_allclose(out, model.sample_futures(videos[:, :length], 2, horizon, 1, noise), atol=1e-5)
    assert len(fn._list_all_concrete_functions()) == 1


def test_dt_other_than_one_is_refused_naming_the_model(model, videos):
    with pytest.raises(InvalidInputError, match="model 'svg' is a discrete-time model"):
        model.generate(videos[:, :P], num_samples=1, horizon=2, dt=0.5)
    with pytest.raises(config_lib.ConfigError, match="--model=svg is a discrete-time model"):
        tiny_config(model=dict(SVG_TINY, dt=0.5))


@pytest.mark.parametrize("option, message", [
    (dict(num_groups=2), r"--num_groups=2 is not used by --model=svg \(it is a field of --model=hafsvg\)"),
    (dict(feature_aligner=True), "--feature_aligner is not used by --model=svg"),
])
def test_hafsvg_options_are_refused_for_svg(option, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        tiny_config(model=dict(SVG_TINY, **option))


@pytest.mark.slow
def test_training_lowers_the_loss_on_a_fixed_batch():
    keras.utils.set_random_seed(1)
    svg = build_model(tiny_config(model=SVG_TINY))
    svg.compile(optimizer=keras.optimizers.Adam(3e-3))
    step = tf.function(svg.train_step)
    batch = moving_square_videos()
    noise = tf.random.stateless_normal([B, T - 1, 4], seed=[1, 1])
    evaluate = lambda: {k: float(v) for k, v in svg.elbo_terms(batch, noise).items()}
    before = evaluate()
    for _ in range(150):
        step(batch)
    after = evaluate()
    assert np.isfinite(after["loss"])
    assert after["reconstruction"] < 0.5 * before["reconstruction"], (before, after)
    assert after["loss"] < before["loss"]


def test_keras_config_round_trip(model):
    again = type(model).from_config(model.get_config())
    assert again.model_config == model.model_config and again.conditioning_frames == P


def test_checkpoint_round_trip_restores_every_weight(model, videos, tmp_path):
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(99)
    other = build_model(tiny_config(model=dict(SVG_TINY)))
    assert len(other.weights) == len(model.weights)
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.weights, other.weights))
    tf.train.Checkpoint(model=other).restore(path).assert_consumed()
    for mine, theirs in zip(model.weights, other.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    noise = model.draw_noise(B, 2, P, P - 1 + 3, seed=5)
    np.testing.assert_array_equal(other.sample_futures(videos[:, :P], 2, 3, 1, noise),
                                  model.sample_futures(videos[:, :P], 2, 3, 1, noise))


@pytest.mark.slow
def test_train_lib_trains_svg(tmp_path):
    result = train_lib.train(tiny_config(str(tmp_path / "run"), model=SVG_TINY))
    assert result.step == 6 and result.gif_path is not None
    assert set(result.metrics) == {"loss", "reconstruction", "kl_z"}
    assert all(np.isfinite(v) for v in result.metrics.values())
