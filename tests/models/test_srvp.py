import keras
import numpy as np
import pytest
import tensorflow as tf

from tfvideo.models import InvalidInputError, build_model
from tfvideo.models import distributions as dist_lib
from tfvideo.models import srvp
from tests.support.configs import NUM_SAMPLES as S, tiny_config

CONFIG = tiny_config()
B, T, C = CONFIG.train.batch_size, CONFIG.data.seq_len, CONFIG.data.channels
P, N = CONFIG.data.conditioning_frames, CONFIG.data.test_horizon  # context frames, future frames
K = CONFIG.model.inference_frames  # the shortest context
E, NY, NZ = CONFIG.model.encoding_size, CONFIG.model.latent_size, CONFIG.model.noise_size


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return build_model(tiny_config())


@pytest.fixture(scope="module")
def videos():
    return tf.random.stateless_uniform([B, T, 64, 64, C], seed=[1, 2])


def test_distribution_shapes(model, videos):
    enc = model.encode(videos)["encoding"]
    assert enc.shape == (B, T, E)
    q_y = model.infer_initial_state(enc)
    assert q_y.batch_shape == [B, NY] and q_y.event_shape == []
    assert model.posterior_params(enc).shape == (B, T, 2 * NZ)
    prior = model.prior_distribution(tf.zeros([B, NY]))
    assert prior.batch_shape == [B, NZ]
    inferred = model.infer(videos[:, :P])
    assert inferred["posterior"].shape == (B, P - 1, 2 * NZ)
    assert inferred["content"].shape == (B, CONFIG.model.inference_hidden_size)


def test_loss_terms_are_finite_and_add_up(model, videos):
    terms = {k: float(v) for k, v in model.compute_loss_terms(videos, training=True).items()}
    assert set(terms) == {"loss", "nll", "kl_y", "kl_z", "l2_residual"}
    assert all(np.isfinite(v) for v in terms.values())
    cfg = model.model_config
    expected = terms["nll"] + cfg.beta_y * terms["kl_y"] + cfg.beta_z * terms["kl_z"] + cfg.l2_residual * \
        terms["l2_residual"]
    assert terms["loss"] == pytest.approx(expected, rel=1e-5)
    assert terms["kl_y"] > 0 and terms["kl_z"] > 0 and terms["l2_residual"] > 0


def test_content_is_permutation_invariant(model, videos):
    enc = model.encode(videos)["encoding"]
    w = model.infer_content(enc[:, :3])
    np.testing.assert_allclose(w, model.infer_content(tf.gather(enc, [2, 0, 1], axis=1)), atol=1e-6)


def test_half_step_doubles_the_frames_and_keeps_integer_frames(model, videos):
    plain = model.generate(videos[:, :P], num_samples=S, horizon=N, dt=0.5, seed=3)
    dense = model.generate(videos[:, :P], num_samples=S, horizon=N, dt=0.5, seed=3, include_intermediate=True)
    assert plain.shape == (B, S, N, 64, 64, C)
    assert dense.shape == (B, S, 2 * N, 64, 64, C)
    np.testing.assert_allclose(dense[:, :, 1::2], plain, atol=1e-6)
    coarse = model.generate(videos[:, :P], num_samples=S, horizon=N, dt=1.0, seed=3)
    assert not np.allclose(coarse, plain)  # a finer Euler grid is a different integration


def test_the_context_is_integrated_at_the_training_dt_whatever_the_requested_dt(model, videos):
    """As the SRVP code: the state y at the last context frame comes from the training dt (here 1), the requested
    dt = 1/k only applies to the predicted frames. With the same seed, the first future step is y + f(y, z) for
    k = 1 and y + f(y, z) / 2 for k = 2's first half step, from the SAME y and z: 2 * half - full = y."""
    context = videos[:, :P]
    inferred = model.infer(context)
    noise = model.draw_noise(B, S, P, P - 1 + N, seed=7)
    full = model.sample_states(inferred, S, N, 1, noise).numpy()
    fine = model.sample_states(inferred, S, N, 2, noise, include_intermediate=True).numpy()
    tile = lambda t: tf.repeat(t, S, axis=0)
    y1 = dist_lib.sample_with_noise(dist_lib.tfd.Normal(tile(inferred["y1"].loc), tile(inferred["y1"].scale)),
                                    noise["y1"])
    y_last = model.context_state(y1, P - 1, tile(inferred["posterior"]), noise["z"]).numpy()
    np.testing.assert_allclose(2.0 * fine[:, 0] - full[:, 0], y_last, atol=2e-5)
    assert not np.allclose(fine[:, 1], full[:, 0], atol=1e-4)  # two half steps are another integration


def test_advance_matches_explicit_euler_steps(model):
    y, z = tf.random.normal([B, NY], seed=4), tf.random.normal([B, NZ], seed=5)
    out = model.advance(y, z, 4, record_substeps=True)
    manual = y
    for _ in range(4):
        manual = manual + 0.25 * model.transition(tf.concat([manual, z], -1))
    np.testing.assert_allclose(out["y"], manual, atol=1e-5)
    np.testing.assert_allclose(out["substeps"][:, -1], manual, atol=1e-5)
    dynamic = model.advance(y, z, tf.constant(4), record_substeps=True)
    np.testing.assert_allclose(dynamic["substeps"], out["substeps"], atol=1e-5)


def test_euclidean_norm_matches_numpy_and_has_gradient_zero_at_zero():
    x = tf.constant([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0], [1e-3, 2e-3, -2e-3]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        norm = srvp.euclidean_norm(x)
    grad = tape.gradient(norm, x).numpy()
    np.testing.assert_allclose(norm, np.linalg.norm(x.numpy(), axis=-1), rtol=1e-6)
    np.testing.assert_array_equal(grad[1], np.zeros(3))
    np.testing.assert_allclose(grad[[0, 2]], x.numpy()[[0, 2]] / np.linalg.norm(x.numpy()[[0, 2]], axis=-1,
                                                                                 keepdims=True), rtol=1e-5)


def test_a_zero_increment_keeps_every_gradient_finite(videos):
    """With f = 0 (every ReLU of the dynamics off) each ||y_{s+dt} - y_s|| is exactly 0: the loss and all
    gradients stay finite (tf.norm gives NaN there, which used to skip random clean training steps)."""
    keras.utils.set_random_seed(1)
    model = build_model(tiny_config())
    model.initialize(T)
    last = model.transition.dense_layers[-1]
    for variable in last.trainable_variables:
        variable.assign(tf.zeros_like(variable))
    with tf.GradientTape() as tape:
        terms = model.compute_loss_terms(videos, training=True)
    grads = tape.gradient(terms["loss"], model.trainable_variables)
    assert float(terms["l2_residual"]) == 0.0
    bad = [v.path for v, g in zip(model.trainable_variables, grads) if g is not None and not np.isfinite(g).all()]
    assert not bad, bad
    assert np.abs(_grad_of(grads, model, "q_z/kernel")).sum() > 0


def _grad_of(grads, model, suffix):
    """The gradient of the trainable variable whose path ends with `suffix`."""
    (grad,) = [g for v, g in zip(model.trainable_variables, grads) if v.path.endswith(suffix)]
    return grad.numpy()


def test_generate_uses_the_noise_it_is_given(model, videos):
    context = videos[:, :P]
    noise = model.draw_noise(B, S, P, P - 1 + N, seed=11)
    a = model.sample_futures(context, S, N, 1, noise)
    np.testing.assert_allclose(a, model.sample_futures(context, S, N, 1, noise), atol=1e-6)
    noise["z"] = tf.concat([noise["z"][:, :P], noise["z"][:, P:] + 1.0], axis=1)
    b = model.sample_futures(context, S, N, 1, noise)
    np.testing.assert_allclose(a[:, :, 0], b[:, :, 0], atol=1e-6)  # the first future step uses z index P - 1
    assert not np.allclose(a[:, :, 1:], b[:, :, 1:])


@pytest.mark.parametrize("kwargs, message", [
    (dict(context=np.zeros([3, 64, 64, 1], np.float32)), "rank 5"),
    (dict(context=np.zeros([1, 3, 32, 32, 1], np.float32)), r"\(64, 64, 1\)"),
    (dict(context=np.full([1, P, 64, 64, 1], 2.0, np.float32)), r"\[0, 1\]"),
    (dict(context=np.zeros([1, 3, 64, 64, 1], np.uint8)), "integer dtype"),
    (dict(context=np.zeros([1, 1, 64, 64, 1], np.float32)),
     f"context length T=1: model 'srvp' needs at least {K} context frames"),
    (dict(num_samples=0), "num_samples"),
    (dict(horizon=-1), "horizon"),
    (dict(dt=0.3), "1/k"),
])
def test_generate_rejects_bad_inputs(model, kwargs, message):
    args = dict(context=np.zeros([1, P, 64, 64, 1], np.float32), num_samples=1, horizon=2)
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=message):
        model.generate(**args)


@pytest.mark.parametrize("overrides", [
    dict(dynamics="mlp"), dict(dynamics="gru"), dict(use_content=False), dict(stochastic=False),
    dict(architecture="vgg", skip_connections=True), dict(dt=0.5)])
def test_ablations_train_and_generate(overrides, videos):
    model = build_model(tiny_config(model=overrides))
    terms = model.compute_loss_terms(videos, training=True)
    assert np.isfinite(float(terms["loss"]))
    if overrides.get("stochastic") is False:
        assert float(terms["kl_z"]) == 0.0
        assert "z" not in model.draw_noise(1, 1, 3, 3)
    out = model.generate(videos[:, :P], num_samples=S, horizon=N, seed=0)
    assert out.shape == (B, S, N, 64, 64, C)
    if overrides.get("dynamics") in ("mlp", "gru"):
        with pytest.raises(InvalidInputError, match="discrete-time"):
            model.generate(videos[:, :P], num_samples=1, horizon=2, dt=0.5)


def test_posterior_is_causal(model, videos):
    enc = model.encode(videos)["encoding"]
    changed = tf.concat([enc[:, :3], enc[:, 3:] * 0.5], axis=1)
    a, b = model.posterior_params(enc), model.posterior_params(changed)
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-6)


def test_checkpoint_round_trip_of_a_variant_restores_every_weight(videos, tmp_path):
    """The VGG networks with skips and GRU dynamics (test_contract covers the default SRVP)."""
    overrides = dict(architecture="vgg", skip_connections=True, dynamics="gru")
    keras.utils.set_random_seed(3)
    model = build_model(tiny_config(model=overrides))
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(99)
    other = build_model(tiny_config(model=overrides))
    assert len(other.weights) == len(model.weights)
    tf.train.Checkpoint(model=other).restore(path).assert_consumed()
    for mine, theirs in zip(model.weights, other.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    expected = model.generate(videos[:, :P], num_samples=S, horizon=N, seed=5)
    np.testing.assert_array_equal(other.generate(videos[:, :P], num_samples=S, horizon=N, seed=5), expected)


def test_sample_with_noise_reproduces_tfp_sampling_statistics():
    dist = dist_lib.tfd.Normal(tf.fill([20000], 1.5), tf.fill([20000], 0.5))
    draws = dist_lib.sample_with_noise(dist, tf.random.stateless_normal([20000], seed=[3, 4]))
    assert abs(float(tf.reduce_mean(draws)) - 1.5) < 0.02 and abs(float(tf.math.reduce_std(draws)) - 0.5) < 0.02


def test_sample_states_and_render_compose_sample_futures_row_by_row():
    """Row b*S + s of the states is sample s of video b: its y_1 and z come from video b, and `render` decodes it
    with video b's content and skips."""
    keras.utils.set_random_seed(0)
    model = build_model(tiny_config(model=dict(skip_connections=True)))
    for index, weight in enumerate(model.trainable_weights):  # make y_1, w and the skips matter visibly
        weight.assign_add(tf.random.stateless_normal(weight.shape, seed=[0, index]) * 0.1)
    S, horizon, k = 3, 2, 2
    P, NY = model.min_context_frames() + 1, model.model_config.latent_size  # context frames, latent size
    context = tf.random.stateless_uniform([B, P, 64, 64, C], seed=[3, 4])
    inferred = model.infer(context)
    noise = model.draw_noise(B, S, P, P - 1 + horizon, seed=6)
    states = model.sample_states(inferred, S, horizon, k, noise, include_intermediate=True)
    assert states.shape == (B * S, horizon * k, NY)
    alone = {name: value[S:] for name, value in noise.items()}  # video 1's rows
    np.testing.assert_allclose(model.sample_states(model.infer(context[1:]), S, horizon, k, alone, True), states[S:],
                               rtol=1e-4, atol=1e-4)  # states reach ~30: batch-size-dependent kernels differ ~1e-5
    assert np.abs(states[:S] - states[S:]).max() > 1e-3
    frames = model.render(states, inferred, S)
    assert frames.shape == (B, S, horizon * k, 64, 64, C)
    for b, s in [(0, 1), (1, 2)]:
        skips = [x[b:b + 1] for x in inferred["skips"]]
        own = model.decode(states[b * S + s][None], inferred["content"][b:b + 1], skips)
        np.testing.assert_allclose(frames[b, s], own[0], atol=1e-5)
    np.testing.assert_allclose(frames, model.sample_futures(context, S, horizon, k, noise, include_intermediate=True),
                               atol=1e-5)
    other = model.decode(states[1][None], inferred["content"][1:], [x[1:] for x in inferred["skips"]])
    assert np.abs(frames[0, 1] - other[0]).max() > 1e-3  # the other video's content would show
