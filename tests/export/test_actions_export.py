"""Exports of an action-conditioned model: the SavedModel's `predict` takes `actions` (checked in the graph), the
TFLite files (dynamic and fixed-shape) take them with host checks, and all give the Python model's futures."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tests.support.runs import sharpen
from tests.support.videos import contexts
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import static_shape as static_shape_lib
from tfvideo.export import tflite as tflite_lib
from tfvideo.models import build_model

A = 3
CONTEXT, SAMPLES, HORIZON, DT = 3, 2, 2, 0.5


@pytest.fixture(scope="module")
def model():
    config = tiny_config(variant="srvp_bounded", model={"action_conditioned": True, "action_size": A, "dt": 0.5})
    model = build_model(config)
    model.action_normalizer.set_statistics([0.5, -1.0, 2.0], [0.1, 0.2, 0.3])  # small std: actions weigh in
    sharpen(model, {"frames": contexts(8, 5, seed=3), "actions": actions(8, 0, length=5)}, 30)
    return model


def metadata(model):
    return {"image_size": 64, "channels": 1, "min_context_frames": model.min_context_frames(), "dt_supported": True,
            "action_size": A}


def actions(batch, seed=0, length=CONTEXT - 1 + HORIZON):
    return np.random.default_rng(seed).normal(size=(batch, length, A)).astype(np.float32)


def expected(model, context, acts, seed=4):
    return model.generate(context, SAMPLES, HORIZON, DT, seed=seed, include_intermediate=True, actions=acts).numpy()


@pytest.fixture(scope="module")
def served(model, tmp_path_factory):
    path, _ = saved_model_lib.export_saved_model(model, str(tmp_path_factory.mktemp("sm")), "srvp",
                                                 metadata=metadata(model))
    return path, tf.saved_model.load(path).signatures["serving_default"]


def call(signature, context, acts, seed=4, horizon=HORIZON):
    return signature(context=tf.constant(context), num_samples=tf.constant(SAMPLES), dt=tf.constant(DT),
                     horizon=tf.constant(horizon), seed=tf.constant(seed), actions=tf.constant(acts))["frames"].numpy()


def test_saved_model_predict_takes_actions_and_matches_python(model, served):
    path, signature = served
    with open(os.path.join(path, saved_model_lib.METADATA_FILE)) as handle:
        endpoints = json.load(handle)["endpoints"]
    assert set(endpoints) == {"predict", "serving_default", "stream_start", "stream_next", "latents", "decode",
                              "content_swap"}
    assert "actions" in endpoints["latents"]["inputs"] and "actions" in endpoints["content_swap"]["inputs"]
    assert "actions" not in endpoints["decode"]["inputs"]  # decoding reads no dynamics
    assert endpoints["predict"]["inputs"]["actions"]["shape"] == [-1, -1, -1]
    context = contexts(2, CONTEXT, seed=1)
    first, other = actions(2, 0), actions(2, 1)
    np.testing.assert_allclose(call(signature, context, first), expected(model, context, first), atol=1e-5)
    assert np.abs(call(signature, context, first) - call(signature, context, other)).max() > 1e-4


def test_saved_model_stream_takes_the_next_action_and_gives_predicts_frames(model, served):
    loaded = tf.saved_model.load(served[0])
    context, acts = contexts(2, CONTEXT, seed=6), actions(2, 7)
    state = loaded.signatures["stream_start"](context=tf.constant(context), num_samples=tf.constant(SAMPLES),
                                              dt=tf.constant(DT), seed=tf.constant(4),
                                              actions=tf.constant(acts[:, :CONTEXT - 1]))
    frames, k = [], round(1 / DT)
    for step in range(HORIZON * k):  # frame j's k calls each get the action of the step into it
        out = loaded.signatures["stream_next"](**state, action=tf.constant(acts[:, CONTEXT - 1 + step // k]))
        frames.append(out.pop("frame").numpy())
        state = out
    np.testing.assert_allclose(np.stack(frames, axis=2), expected(model, context, acts), atol=1e-5)


def test_latents_decode_and_content_swap_take_the_actions_predict_takes(model, served):
    """decode(context, latents(context, ..., actions).states) and content_swap(x, x, ..., actions) give predict's
    frames for the same seed and actions; the latents follow the actions."""
    loaded = tf.saved_model.load(served[0])
    context, first, other = contexts(2, CONTEXT, seed=8), actions(2, 2), actions(2, 3)
    sampling = dict(num_samples=tf.constant(SAMPLES), dt=tf.constant(DT), horizon=tf.constant(HORIZON),
                    seed=tf.constant(4))
    latents = lambda acts: loaded.signatures["latents"](context=tf.constant(context), actions=tf.constant(acts),
                                                        **sampling)["states"]
    decoded = loaded.signatures["decode"](context=tf.constant(context), states=latents(first))["frames"].numpy()
    want = expected(model, context, first)
    np.testing.assert_allclose(decoded, want, atol=1e-5)
    assert np.abs(latents(first).numpy() - latents(other).numpy()).max() > 1e-4
    swapped = loaded.signatures["content_swap"](content_context=tf.constant(context),
                                                dynamics_context=tf.constant(context), actions=tf.constant(first),
                                                **sampling)["frames"].numpy()
    np.testing.assert_allclose(swapped, want, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="actions and dynamics_context must have the same batch"):
        loaded.signatures["content_swap"](content_context=tf.constant(context), dynamics_context=tf.constant(context),
                                          actions=tf.constant(first[:1]), **sampling)


@pytest.mark.parametrize("acts, message", [
    (actions(2, length=CONTEXT - 2 + HORIZON), "actions must be float32"),
    (actions(2)[..., :2], "actions must be float32"),
    (actions(1), "actions and context must have the same batch size"),
    (np.full((2, CONTEXT - 1 + HORIZON, A), np.nan, np.float32), "NaN or Inf"),
])
def test_saved_model_refuses_bad_actions_naming_them(served, acts, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        call(served[1], contexts(2, CONTEXT), acts)


def test_saved_model_of_a_model_without_actions_has_no_actions_input(tmp_path):
    plain = build_model(tiny_config(variant="srvp_bounded"))
    path, _ = saved_model_lib.export_saved_model(plain, str(tmp_path), "srvp", extra_endpoints=False)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    assert "actions" not in signature.structured_input_signature[1]


@pytest.mark.slow
def test_tflite_dynamic_and_fixed_shape_match_python(model, tmp_path):
    context, acts = contexts(1, CONTEXT, seed=2), actions(1, 3)
    want = expected(model, context, acts, seed=9)
    dynamic = tflite_lib.export_tflite(model, str(tmp_path / "dynamic.tflite"), metadata=metadata(model))
    runner = tflite_lib.TFLiteModel(dynamic)
    np.testing.assert_allclose(runner(context, SAMPLES, HORIZON, DT, 9, actions=acts), want, atol=1e-4)
    with pytest.raises(ValueError, match="NaN or Inf"):
        runner(context, SAMPLES, HORIZON, DT, 9, actions=np.full_like(acts, np.inf))
    with pytest.raises(ValueError, match="is action-conditioned: give actions"):
        runner(context, SAMPLES, HORIZON, DT, 9)
    streamed = np.stack(list(runner.stream(context, SAMPLES, HORIZON, DT, 9, actions=acts)), axis=2)
    np.testing.assert_allclose(streamed, want, atol=1e-4)

    shape = static_shape_lib.StaticShape(1, SAMPLES, HORIZON, CONTEXT, DT)
    fixed = tflite_lib.export_tflite(model, str(tmp_path / "fixed.tflite"), metadata=metadata(model),
                                     static_shape=shape)
    longer = np.concatenate([acts, actions(1, 5, length=4)], axis=1)  # trailing actions are not read
    fixed_runner = tflite_lib.TFLiteModel(fixed)
    np.testing.assert_allclose(fixed_runner(context, seed=9, actions=longer), want, atol=1e-4)
    np.testing.assert_allclose(np.stack(list(fixed_runner.stream(context, seed=9, actions=longer)), axis=2), want,
                               atol=1e-4)


def test_svg_saved_model_takes_actions_and_matches_python(tmp_path):
    """SVG-LP (and so HAF-SVG): the same `actions` input, the same futures as `generate`."""
    config = tiny_config(model={"model": "svg", "rnn_size": 8, "action_conditioned": True, "action_size": A})
    svg = build_model(config)
    svg.action_normalizer.set_statistics([0.5, -1.0, 2.0], [0.1, 0.2, 0.3])
    sharpen(svg, {"frames": contexts(8, 5, seed=3), "actions": actions(8, 0, length=5)}, 30)
    path, _ = saved_model_lib.export_saved_model(svg, str(tmp_path), "svg", metadata=metadata(svg))
    signature = tf.saved_model.load(path).signatures["serving_default"]
    context, first, other = contexts(2, CONTEXT, seed=1), actions(2, 0), actions(2, 1)
    served = signature(context=tf.constant(context), num_samples=tf.constant(SAMPLES), dt=tf.constant(1.0),
                       horizon=tf.constant(HORIZON), seed=tf.constant(4), actions=tf.constant(first))["frames"].numpy()
    want = svg.generate(context, SAMPLES, HORIZON, seed=4, actions=first).numpy()
    np.testing.assert_allclose(served, want, atol=1e-5)
    assert np.abs(want - svg.generate(context, SAMPLES, HORIZON, seed=4, actions=other).numpy()).max() > 1e-4
