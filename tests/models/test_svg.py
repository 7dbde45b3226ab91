"""SVG-LP: loss and generation against step-by-step references written like the original code, the noise
layout, dt, the options it refuses and the training loop (the contract shared with SRVP and HAF-SVG is in
test_contract.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.training import train_lib
from tfvideo.models import InvalidInputError, build_model
from tests.support.configs import NUM_SAMPLES as S, tiny_config
from tests.support.models import perturb_weights, reference_generation, reference_loss

CONFIG = tiny_config(variant="svg")
B, T, C = CONFIG.train.batch_size, CONFIG.data.seq_len, CONFIG.data.channels
P, N = CONFIG.data.conditioning_frames, CONFIG.data.test_horizon  # context frames, future frames
Z = CONFIG.model.noise_size  # SVG-LP's z: one group


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return perturb_weights(build_model(tiny_config(variant="svg")))


@pytest.fixture(scope="module")
def videos():
    return tf.random.stateless_uniform([B, T, 64, 64, C], seed=[1, 2])


def test_loss_matches_the_original_training_loop(model, videos):
    noise = tf.random.stateless_normal([B, T - 1, Z], seed=[5, 6])
    terms = {k: float(v) for k, v in model.elbo_terms(videos, noise, training=False).items()}
    mse, kld = reference_loss(model, videos, noise.numpy())
    assert kld > 0.1 and mse > 0.01
    assert terms["reconstruction"] == pytest.approx(mse, rel=1e-5)
    assert terms["kl_z"] == pytest.approx(kld, rel=1e-4)
    assert terms["loss"] == pytest.approx(mse + 1e-4 * kld, rel=1e-5)


def test_generation_matches_the_original_sampling_loop(model, videos):
    context, horizon, samples = videos[:, :P], N, S
    noise = model.draw_noise(B, samples, P, P - 1 + horizon, seed=4)
    out = model.sample_futures(context, samples, horizon, 1, noise)
    expected = reference_generation(model, context, samples, horizon, noise["z"].numpy())
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_skips_of_the_last_observed_frame():
    svg = build_model(tiny_config(variant="svg"), initialize=False)
    # Frames 1..P+2 decode with the skips of frames 0..P-1, then of the last conditioning frame P - 1 (not P - 2).
    np.testing.assert_array_equal(svg.skip_frame_indices(P + 3), [*range(P), P - 1, P - 1])


def test_loss_terms_are_finite_and_positive(model, videos):
    terms = {k: float(v) for k, v in model.compute_loss_terms(videos, training=True).items()}
    assert set(terms) == {"loss", "reconstruction", "kl_z"}
    assert all(np.isfinite(v) for v in terms.values()) and terms["kl_z"] > 0 and terms["reconstruction"] > 0


def test_future_frame_uses_its_own_noise_entry(model, videos):
    noise = model.draw_noise(B, S, P, P - 1 + N, seed=11)
    a = model.sample_futures(videos[:, :P], S, N, 1, noise)
    changed = {"z": tf.concat([noise["z"][:, :P], noise["z"][:, P:] + 1.0], axis=1)}  # from the 2nd future step
    b = model.sample_futures(videos[:, :P], S, N, 1, changed)
    np.testing.assert_allclose(a[:, :, 0], b[:, :, 0], atol=1e-6)
    assert not np.allclose(a[:, :, 1:], b[:, :, 1:])
    context_noise = {"z": tf.concat([noise["z"][:, :1] + 1.0, noise["z"][:, 1:]], axis=1)}  # posterior sample
    assert not np.allclose(a, model.sample_futures(videos[:, :P], S, N, 1, context_noise))


def test_one_trace_serves_any_context_length_and_horizon(model, videos):
    spec = dict(context=tf.TensorSpec([None, None, 64, 64, C]), num_samples=tf.TensorSpec([], tf.int32),
                horizon=tf.TensorSpec([], tf.int32), noise={"z": tf.TensorSpec([None, None, Z])})
    fn = tf.function(lambda context, num_samples, horizon, noise: model.sample_futures(
        context, num_samples, horizon, 1, noise), input_signature=list(spec.values()))
    for length, horizon in ((1, 2), (P, N)):
        noise = model.draw_noise(B, S, length, length - 1 + horizon, seed=1)
        out = fn(videos[:, :length], tf.constant(S), tf.constant(horizon), noise)
        np.testing.assert_allclose(out, model.sample_futures(videos[:, :length], S, horizon, 1, noise), atol=1e-5)
    assert len(fn._list_all_concrete_functions()) == 1


def test_dt_other_than_one_is_refused_naming_the_model(model, videos):
    with pytest.raises(InvalidInputError, match="model 'svg' is a discrete-time model"):
        model.generate(videos[:, :P], num_samples=1, horizon=2, dt=0.5)
    with pytest.raises(config_lib.ConfigError, match="--model=svg is a discrete-time model"):
        tiny_config(variant="svg", model=dict(dt=0.5))


@pytest.mark.parametrize("option, message", [
    (dict(num_groups=2), r"--num_groups=2 is not used by --model=svg \(it is a field of --model=hafsvg\)"),
    (dict(feature_aligner=True), "--feature_aligner is not used by --model=svg"),
])
def test_hafsvg_options_are_refused_for_svg(option, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        tiny_config(variant="svg", model=dict(**option))


@pytest.mark.slow
def test_train_lib_trains_svg(tmp_path):
    result = train_lib.train(tiny_config(str(tmp_path / "run"), variant="svg"))
    assert result.step == CONFIG.train.train_steps and result.gif_path is not None
    assert set(result.metrics) == {"loss", "reconstruction", "kl_z"}
    assert all(np.isfinite(v) for v in result.metrics.values())
