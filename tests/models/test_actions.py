"""Action conditioning (tfvideo.models.actions): the actions change the futures and the loss, the same seed and
actions give the same futures, the normalisation statistics are the model's, and bad actions give one clear error."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import PER_MODEL, tiny_config
from tfvideo.models import InvalidInputError, build_model
from tfvideo.models import actions as actions_lib

A = 3  # action size: differs from every other tiny size
CONTEXT, HORIZON = 5, 2  # tiny_config's conditioning frames; two predicted frames keep the tests fast


def action_model(name: str, **model):
    base = {"feature_aligner": False} if name == "hafsvg" else {}  # the aligner is slow
    config = tiny_config(variant=name, model={**base, "action_conditioned": True, "action_size": A, **model})
    return build_model(config)


@pytest.fixture(scope="module", params=sorted(PER_MODEL))
def model(request):
    return action_model(request.param)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    context = rng.uniform(size=(2, CONTEXT, 64, 64, 1)).astype(np.float32)
    actions = rng.normal(size=(2, CONTEXT - 1 + HORIZON, A)).astype(np.float32)
    return context, actions


def test_same_seed_same_actions_same_futures_and_other_actions_other_futures(model):
    context, actions = inputs()
    model.action_normalizer.set_statistics(np.zeros(A), np.full(A, 0.1))  # small std: actions weigh in
    first = model.generate(context, 2, HORIZON, seed=7, actions=actions).numpy()
    again = model.generate(context, 2, HORIZON, seed=7, actions=actions).numpy()
    other = actions.copy()
    other[:, -1] += 3.0  # only the last predicted frame's action
    changed = model.generate(context, 2, HORIZON, seed=7, actions=other).numpy()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[:, :, 0], changed[:, :, 0])  # frame 1 does not read the last action
    assert not np.array_equal(first[:, :, 1], changed[:, :, 1])  # untrained decoders: small but real changes


def test_trailing_actions_are_ignored(model):
    context, actions = inputs()
    longer = np.concatenate([actions, np.full((2, 3, A), 50.0, np.float32)], axis=1)
    np.testing.assert_array_equal(model.generate(context, 1, HORIZON, seed=3, actions=actions).numpy(),
                                  model.generate(context, 1, HORIZON, seed=3, actions=longer).numpy())


def test_normalisation_statistics_are_applied(model):
    """The dynamics read (a - mean) / std of the model's statistics, each video's actions for its S rows."""
    _, actions = inputs(1)
    mean, std = np.array([1.0, -2.0, 0.5]), np.array([2.0, 0.5, 3.0])
    model.action_normalizer.set_statistics(mean, std)
    read = model.model_actions(actions, num_samples=4).numpy()
    np.testing.assert_allclose(read, np.repeat((actions - mean) / std, 4, axis=0), rtol=1e-6)


def test_loss_reads_the_actions(model):
    videos = tf.random.stateless_uniform([2, 6, 64, 64, 1], seed=[1, 2])
    actions = tf.random.stateless_normal([2, 6, A], seed=[3, 4])
    model.action_normalizer.set_statistics(np.zeros(A), np.full(A, 0.1))
    loss = lambda a: float(model.compute_loss_terms({"frames": videos, "actions": a})["loss"])
    tf.random.set_seed(0)
    assert loss(actions) != loss(actions * 2.0)


@pytest.mark.parametrize("bad, message", [
    (None, "is action-conditioned: give actions"),
    ("short", "must have shape"),
    ("batch", "must have shape"),
    ("size", "must have shape"),
    ("rank", "must have shape"),
    ("nan", "NaN or Inf"),
    ("text", "float array"),
])
def test_bad_actions_give_one_error(model, bad, message):
    context, actions = inputs()
    given = {None: None, "short": actions[:, :-1], "batch": actions[:1], "size": actions[..., :2],
             "rank": actions[0], "nan": np.where(np.arange(A) == 1, np.nan, actions), "text": [["a"]]}[bad]
    with pytest.raises(InvalidInputError, match=message):
        model.generate(context, 1, HORIZON, seed=0, actions=given)


def test_actions_given_to_a_model_without_them_are_refused():
    model = build_model(tiny_config(variant="svg"))
    context, actions = inputs()
    assert model.action_normalizer is None
    with pytest.raises(InvalidInputError, match="not action-conditioned"):
        model.generate(context, 1, HORIZON, seed=0, actions=actions)


def test_statistics_are_saved_with_the_weights(tmp_path):
    model = action_model("svg")
    model.action_normalizer.set_statistics([1.0, 2.0, 3.0], [4.0, 5.0, 0.0])
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    other = action_model("svg")
    other.load_weights(path)
    assert other.action_normalizer.statistics() == {"mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 1.0]}  # 0: not scaled


def test_compute_statistics_of_a_stream():
    actions = np.arange(2 * 3 * 4 * A, dtype=np.float32).reshape(2 * 3, 4, A)
    actions[..., 2] = 7.0  # constant dimension: centred, not scaled
    stream = tf.data.Dataset.from_tensor_slices({"frames": np.zeros((6, 4, 1)), "actions": actions}).batch(3)
    stats = actions_lib.compute_statistics(stream, num_batches=1)  # the first batch only
    first = actions[:3].reshape(-1, A)
    np.testing.assert_allclose(stats["mean"], first.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats["std"], [*first.std(0)[:2], 1.0], rtol=1e-6)
