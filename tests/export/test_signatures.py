"""The serving functions in process: predict's contract (the futures of `model.generate` for the same seed),
SRVP's extra endpoints, and the in-graph and host-side input checks."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tests.support.runs import sharpen
from tests.support.videos import contexts
from tfvideo import validation


from tfvideo.export import checks, signatures
from tfvideo.models import build_model, serving

TINY = tiny_config(variant="srvp_bounded").model
K = TINY.inference_frames  # SRVP's shortest context


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    model = build_model(tiny_config(variant="srvp_bounded"))
    sharpen(model)
    return model


@pytest.fixture(scope="module")
def functions(model):
    """name -> tf.function of every endpoint, as exported in the SavedModel (validating)."""
    return {e.name: e.tf_function() for e in signatures.endpoints(model)}


def predict(functions, context, num_samples=2, dt=1.0, horizon=3, seed=0):
    return functions["predict"](tf.constant(context), tf.constant(num_samples), tf.constant(horizon),
                                tf.constant(dt, tf.float32), tf.constant(seed))["frames"].numpy()


# ------------------------------------------------------------------------------------------------ predict


@pytest.mark.parametrize("batch,num_samples,dt,horizon", [(1, 1, 1.0, 1), (2, 3, 0.5, 2), (3, 2, 1 / 3, 3)])
def test_predict_shapes_range_and_generate_path(model, functions, batch, num_samples, dt, horizon):
    context = contexts(batch, 3)
    frames = predict(functions, context, num_samples, dt, horizon, seed=5)
    k = round(1 / dt)
    assert frames.shape == (batch, num_samples, horizon * k, 64, 64, 1)
    assert np.all((frames >= 0) & (frames <= 1))
    # The futures model.generate gives for this seed.
    reference = model.generate(context, num_samples, horizon, dt, seed=5, include_intermediate=True).numpy()
    np.testing.assert_allclose(frames, reference, atol=1e-6)


def test_same_seed_same_futures_other_seed_other_futures(functions):
    context = contexts(2, 3)
    a = predict(functions, context, seed=1)
    np.testing.assert_array_equal(a, predict(functions, context, seed=1))
    b = predict(functions, context, seed=2)
    assert np.abs(a - b).max() > 1e-3
    samples = predict(functions, context, num_samples=3, seed=1)  # the samples of one call differ too
    assert np.abs(samples[:, 0] - samples[:, 1]).max() > 1e-3


def test_latent_trajectories_depend_on_the_seed(functions):
    context = contexts(1, 3)
    args = [tf.constant(context), tf.constant(4), tf.constant(5), tf.constant(1.0)]
    a = functions["latents"](*args, tf.constant(1))["states"].numpy()
    b = functions["latents"](*args, tf.constant(2))["states"].numpy()
    assert np.abs(a - b).mean() > 0.05  # visibly different futures in latent space


def test_longer_horizon_extends_the_same_futures(functions):
    context = contexts(1, 3)
    short = predict(functions, context, num_samples=2, horizon=2, seed=9)
    long = predict(functions, context, num_samples=2, horizon=4, seed=9)
    np.testing.assert_allclose(long[:, :, :2], short, atol=1e-5)


def test_context_length_is_dynamic(functions):
    frames = predict(functions, contexts(1, 5), horizon=2)
    assert frames.shape == (1, 2, 2, 64, 64, 1)


# ------------------------------------------------------------------------------------------------ SRVP extras


def test_latents_decode_to_predicts_frames(functions):
    context = contexts(2, 3)
    args = [tf.constant(context), tf.constant(3), tf.constant(2), tf.constant(0.5), tf.constant(4)]
    latents = functions["latents"](*args)
    assert latents["states"].shape == (2, 3, 4, TINY.latent_size)  # [B, S, horizon * k, ny]
    assert latents["y1_mean"].shape == (2, TINY.latent_size)
    assert latents["content"].shape == (2, TINY.inference_hidden_size)
    assert np.all(latents["y1_scale"].numpy() > 0)
    decoded = functions["decode"](tf.constant(context), latents["states"])["frames"].numpy()
    np.testing.assert_allclose(decoded, functions["predict"](*args)["frames"].numpy(), atol=1e-6)


def test_content_swap(functions):
    a, b = 1.0 - contexts(2, 3, seed=1), contexts(2, 3, seed=2)  # bright and dark videos: other contents
    scalars = [tf.constant(2), tf.constant(3), tf.constant(1.0), tf.constant(7)]
    same = functions["content_swap"](tf.constant(b), tf.constant(b), *scalars)["frames"].numpy()
    np.testing.assert_allclose(same, functions["predict"](tf.constant(b), *scalars)["frames"].numpy(), atol=1e-6)
    swapped = functions["content_swap"](tf.constant(a), tf.constant(b), *scalars)["frames"].numpy()
    # b's latent trajectory for this seed, decoded with a's content: exactly the swap.
    states_b = functions["latents"](tf.constant(b), *scalars)["states"]
    np.testing.assert_allclose(swapped, functions["decode"](tf.constant(a), states_b)["frames"].numpy(), atol=1e-7)
    content = [functions["latents"](tf.constant(x), *scalars)["content"].numpy() for x in (a, b)]
    assert np.abs(content[0] - content[1]).max() > 1e-4
    # The tiny untrained networks make w and its effect small (frames move by ~1e-5), but far above the
    # float32 rounding of frames near 0.5 (6e-8) that the equalities above allow.
    assert np.abs(swapped - same).max() > 1e-6
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        functions["content_swap"](tf.constant(a[:1]), tf.constant(b), *scalars)


def test_models_without_content_or_skips_have_no_content_swap():
    model = build_model(tiny_config(variant="srvp_bounded").replace(model={"use_content": False}))
    names = [e.name for e in signatures.endpoints(model)]
    assert names == ["predict", "latents", "decode", "stream_start", "stream_next"]


STATE_INPUTS = [f"state_{name}" for name in ("y", "z", "step", "steps_per_frame", "first_step", "seed", "num_samples",
                                             "content")]  # in srvp_streaming.state_spec's order
STATE = sorted(STATE_INPUTS)


def test_endpoint_names_inputs_and_outputs(model):
    found = {e.name: ([s.name for s in e.input_signature], sorted(e.outputs)) for e in signatures.endpoints(model)}
    sampling = ["num_samples", "horizon", "dt", "seed"]  # the order of generate's arguments
    assert found == {
        "predict": (["context", *sampling], ["frames"]),
        "latents": (["context", *sampling], ["content", "states", "y1_mean", "y1_scale"]),
        "decode": (["context", "states"], ["frames"]),
        "content_swap": (["content_context", "dynamics_context", *sampling], ["frames"]),
        "stream_start": (["context", "num_samples", "dt", "seed"], STATE),
        "stream_next": (STATE_INPUTS, sorted(["frame", *STATE]))}
    assert [e.name for e in signatures.endpoints(model, extras=False)] == ["predict"]


def test_a_model_declares_its_own_endpoints_with_validated_inputs(model, monkeypatch):
    """`extra_serving_functions` is the hook: the export adds the signature and checks each input by its kind."""
    seen = {}

    def echo(context, horizon, steps_per_frame, seed, states):
        seen["context"] = tuple(context.shape[2:])  # static frame size
        total = tf.reduce_sum(states, axis=[1, 2, 3]) + tf.cast(horizon * 100 + steps_per_frame * 10 + seed, tf.float32)
        return {"total": total, "frames": context[:, None, :1]}

    function = serving.ServingFunction(
        "echo", echo, (serving.CONTEXT, serving.ServingInput("horizon", "count"), serving.ServingInput("dt", "dt"),
                       serving.ServingInput("seed", "seed"),
                       serving.ServingInput("states", "states", same_batch_as="context", size=3)),
        "Echoes its inputs.", {"total": "float32 [B]", "frames": "float32 [B, 1, 1, H, W, C]"})
    monkeypatch.setattr(model, "extra_serving_functions", lambda: [function])
    endpoint = {e.name: e for e in signatures.endpoints(model)}["echo"]
    assert endpoint.name == "echo" and endpoint.outputs == function.outputs
    assert [(s.name, s.dtype, s.shape.as_list()) for s in endpoint.input_signature] == [
        ("context", tf.float32, [None] * 5), ("horizon", tf.int32, []), ("dt", tf.float32, []), ("seed", tf.int32, []),
        ("states", tf.float32, [None, None, None, 3])]
    fn = endpoint.tf_function()
    context, states = tf.constant(contexts(2, 3)), tf.ones([2, 1, 2, 3])

    def call(horizon=4, dt=0.25, states=states, context=context):
        return fn(context, tf.constant(horizon), tf.constant(dt), tf.constant(-7), states)

    out = call()
    np.testing.assert_allclose(out["total"], [6 + 400 + 40 - 7] * 2)
    assert seen["context"] == (64, 64, 1) and out["frames"].shape == (2, 1, 1, 64, 64, 1)
    for kwargs, message in [(dict(horizon=0), "horizon must be a whole number >= 1"),
                            (dict(dt=0.3), "dt must be of the form 1/k"),
                            (dict(states=tf.ones([3, 1, 2, 3])), "states and context must have the same batch size"),
                            (dict(context=tf.constant(contexts(2, 1))), f"context needs at least {K} frames")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            call(**kwargs)


# ------------------------------------------------------------------------------------------------ validation


def _inputs(**overrides):
    values = dict(context=contexts(1, 3), num_samples=2, dt=1.0, horizon=2, seed=0)
    values.update(overrides)
    return values


BAD_INPUTS = [
    (dict(num_samples=0), "num_samples must be a whole number >= 1"),
    (dict(num_samples=-3), "num_samples must be a whole number >= 1"),
    (dict(horizon=0), "horizon must be a whole number >= 1"),
    (dict(dt=0.3), "dt must be of the form 1/k"),
    (dict(dt=0.0), "dt must be of the form 1/k"),
    (dict(dt=-0.5), "dt must be of the form 1/k"),
    (dict(dt=2.0), "dt must be of the form 1/k"),
    (dict(dt=float("nan")), "dt must be of the form 1/k"),
    (dict(dt=1e-12), "dt must be of the form 1/k"),  # k would overflow int32
    (dict(context=np.zeros((1, 3, 32, 32, 1), np.float32)), r"context must be float32 frames .*got shape"),
    (dict(context=np.zeros((1, 3, 64, 64, 3), np.float32)), r"context must be float32 frames .*got shape"),
    (dict(context=np.zeros((1, 1, 64, 64, 1), np.float32)), f"context needs at least {K} frames"),
    (dict(context=np.zeros((0, 3, 64, 64, 1), np.float32)), "context needs at least one video"),
    (dict(context=np.full((1, 3, 64, 64, 1), 255.0, np.float32)), r"context values must be finite and lie in \[0, 1\]"),
    (dict(context=np.full((1, 3, 64, 64, 1), -0.1, np.float32)), r"context values must be finite and lie in \[0, 1\]"),
    (dict(context=np.full((1, 3, 64, 64, 1), np.nan, np.float32)), r"context values must be finite"),
]


@pytest.mark.parametrize("overrides,message", BAD_INPUTS)
def test_bad_inputs_fail_in_graph_naming_the_input(functions, overrides, message):
    values = _inputs(**overrides)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        predict(functions, **values)


@pytest.mark.parametrize("overrides,message", BAD_INPUTS + [(dict(seed=2**31), "seed must be an int32"),
                                                            (dict(num_samples=1.5), "num_samples must be")])
def test_host_checks_name_the_input(overrides, message):
    values = _inputs(**overrides)
    with pytest.raises(ValueError, match=message):
        checks.check_inputs(**values, image_size=64, channels=1, min_context_frames=K)


def test_host_checks_return_the_tflite_inputs():
    out = checks.check_inputs(**_inputs(dt=0.25), image_size=64, channels=1, min_context_frames=K)
    assert out["num_samples"].dtype == np.int32 and out["dt"] == np.float32(0.25)
    assert out["context"].dtype == np.float32


def test_discrete_time_models_only_accept_dt_1():
    model = build_model(tiny_config(variant="srvp_bounded").replace(model={"dynamics": "mlp"}))
    fn = signatures.predict_endpoint(model).tf_function()
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            validation.discrete_time_message("dt", "this srvp model"))):
        predict({"predict": fn}, contexts(1, 3), dt=0.5)
    assert predict({"predict": fn}, contexts(1, 3), dt=1.0).shape == (1, 2, 3, 64, 64, 1)
