"""The contract every tfvideo model keeps, tested once for SRVP, SVG-LP and HAF-SVG: config round trip,
checkpoint round trip (strict), the loss falls on a fixed batch, generate's shapes and seeding, `compile` +
`fit`, the `.keras` round trip and the SavedModel reload. Model-specific behaviour lives in test_<model>.py."""

import dataclasses
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import NUM_SAMPLES, PER_MODEL, tiny_config
from tests.support.models import perturb_weights, plain_settings, squared_error
from tests.support.videos import moving_square_videos
from tfvideo import config as config_lib
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.models import build_model
from tfvideo.training import checkpointing, train_lib

STEPS, LEARNING_RATE = 80, 1e-3  # Adam on one batch: every model's reconstruction error falls to ~1/4 or less


@dataclasses.dataclass
class Case:
    name: str
    config: config_lib.Config
    model: object  # an initialised VideoPredictor with perturbed weights (outputs that depend on its inputs)
    videos: tf.Tensor  # [B, T, 64, 64, 1] random frames, B = batch_size, T = seq_len

    @property
    def context(self) -> tf.Tensor:
        return self.videos[:, :self.config.data.conditioning_frames]


def new_model(name: str, seed: int):
    keras.utils.set_random_seed(seed)
    return perturb_weights(build_model(tiny_config(variant=name)), seed=seed)


@pytest.fixture(scope="module", params=PER_MODEL)
def case(request) -> Case:
    config = tiny_config(variant=request.param)
    shape = [config.train.batch_size, config.data.seq_len, 64, 64, config.data.channels]
    return Case(request.param, config, new_model(request.param, 0), tf.random.stateless_uniform(shape, seed=[1, 2]))


def assert_same_variables(a, b):
    """Same number of variables, each with the same shape and values (paths differ by Keras' name counters)."""
    assert len(a) == len(b)
    for mine, theirs in zip(a, b):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)


# ------------------------------------------------------------------------------------------------ configuration


def test_config_round_trip(case):
    assert config_lib.Config.from_json(case.config.to_json()) == case.config
    again = type(case.model).from_config(case.model.get_config())
    assert type(again) is type(case.model)
    assert again.model_config == case.config.model
    assert again.get_config() == case.model.get_config()
    assert plain_settings(again) == plain_settings(case.model)


# ------------------------------------------------------------------------------------------------ training


def fit(model, dataset):
    """model.compile(Adam); model.fit(dataset) -> each step's logs (running means of the terms, and "skipped": 1
    for a step the guarded step skipped, with non-finite or overflowing gradients)."""
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    steps = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(dict(logs)))
    model.fit(dataset, verbose=0, shuffle=False, callbacks=[record])
    return steps


def assert_every_step_ran(model, steps, count):
    """`count` steps ran; the optimizer applied all but the (few) skipped ones; the logged terms are finite."""
    skipped = sum(float(step["skipped"]) for step in steps)
    assert len(steps) == count and int(model.optimizer.iterations.numpy()) == count - skipped
    assert skipped <= count / 4, skipped
    assert set(model.loss_term_names) <= set(steps[-1]) and all(np.isfinite(v) for v in steps[-1].values())


@pytest.fixture(scope="module")
def fitted(case):
    """A new model of the case after compile(Adam) and fit on a tf.data dataset of 2 batches of tiny videos:
    {"model", "steps": each step's logs, "weights": its trainable weights before fit}."""
    model = new_model(case.name, 2)
    weights = [w.numpy() for w in model.trainable_weights]
    videos = tf.concat([case.videos, case.videos[::-1]], axis=0)
    steps = fit(model, tf.data.Dataset.from_tensor_slices(videos).batch(case.config.train.batch_size))
    return {"model": model, "steps": steps, "weights": weights}


def test_compile_and_fit_train_every_weight(fitted):
    model = fitted["model"]
    assert_every_step_ran(model, fitted["steps"], 2)
    moved = [not np.array_equal(a, w.numpy()) for a, w in zip(fitted["weights"], model.trainable_weights)]
    assert all(moved), [w.path for w, m in zip(model.trainable_weights, moved) if not m]


@pytest.mark.slow
def test_fit_lowers_the_loss_on_a_fixed_batch(case):
    """STEPS Adam steps of fit on one batch of moving squares lower its loss and halve the reconstruction's
    squared error, both evaluated with the same noise before and after."""
    keras.utils.set_random_seed(1)
    model = build_model(case.config)
    batch = moving_square_videos(case.config.train.batch_size, case.config.data.seq_len)
    seeds = checkpointing.seed_generator_states(model)
    start = [s.numpy() for s in seeds]

    def evaluate():
        for variable, value in zip(seeds, start):
            variable.assign(value)
        terms = {k: float(v) for k, v in model.compute_loss_terms(batch, training=False).items()}
        return {**terms, "squared_error": squared_error(model, terms, case.config.data.seq_len)}

    before = evaluate()
    assert_every_step_ran(model, fit(model, tf.data.Dataset.from_tensors(batch).repeat(STEPS)), STEPS)
    after = evaluate()
    assert np.isfinite(after["loss"]) and after["loss"] < before["loss"], (before, after)
    assert after["squared_error"] < 0.5 * before["squared_error"], (before, after)


def test_checkpoint_round_trip_is_strict_and_restores_every_variable(case, fitted, tmp_path):
    """RunCheckpoint restores with strict=True (every value in the checkpoint used, every variable matched):
    weights, batch-norm statistics, seed-generator states and the optimizer state of a fitted model."""
    model = fitted["model"]
    checkpointing.RunCheckpoint(str(tmp_path), model, model.optimizer).save(2)
    other = new_model(case.name, 99)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    other.compile(optimizer=optimizer)
    optimizer.build(other.trainable_variables)
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.weights, other.weights))
    assert checkpointing.RunCheckpoint(str(tmp_path), other, optimizer).restore_latest(strict=True) == 2
    assert_same_variables(model.weights + checkpointing.seed_generator_states(model),
                          other.weights + checkpointing.seed_generator_states(other))
    assert_same_variables(model.optimizer.variables, optimizer.variables)
    np.testing.assert_array_equal(other.generate(case.context, NUM_SAMPLES, 2, seed=5),
                                  model.generate(case.context, NUM_SAMPLES, 2, seed=5))


# ------------------------------------------------------------------------------------------------ sampling


def test_generate_shapes_and_seeding(case):
    """[B, S, N, H, W, C] frames in [0, 1]; the same seed gives the same futures, another seed and the samples
    of one call differ, and without a seed every call draws new futures."""
    model, context, horizon = case.model, case.context, case.config.data.test_horizon
    a = model.generate(context, NUM_SAMPLES, horizon, seed=7).numpy()
    assert a.shape == (case.config.train.batch_size, NUM_SAMPLES, horizon, 64, 64, case.config.data.channels)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(model.generate(context, NUM_SAMPLES, horizon, seed=7), a)
    assert not np.allclose(model.generate(context, NUM_SAMPLES, horizon, seed=8), a)
    assert not np.allclose(a[:, 0], a[:, 1])
    assert not np.allclose(model.generate(context, NUM_SAMPLES, horizon), model.generate(context, NUM_SAMPLES,
                                                                                          horizon))


# ------------------------------------------------------------------------------------------------ saving


def test_keras_file_round_trip(case, fitted, tmp_path):
    """model.save("m.keras") then keras.models.load_model of a fitted model: same class and config, every weight
    and optimizer variable equal, and the same futures for a seed."""
    model = fitted["model"]
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    assert plain_settings(loaded) == plain_settings(model)
    assert_same_variables(model.weights, loaded.weights)
    assert_same_variables(model.optimizer.variables, loaded.optimizer.variables)
    np.testing.assert_array_equal(loaded.generate(case.context, NUM_SAMPLES, 2, seed=4),
                                  model.generate(case.context, NUM_SAMPLES, 2, seed=4))


def test_saved_model_reload_gives_generate_s_futures(case, tmp_path):
    """The SavedModel's predict signature, reloaded, gives the futures `generate` gives for the same seed."""
    path, _ = saved_model_lib.export_saved_model(case.model, str(tmp_path), case.name, extra_endpoints=False)
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    predict = tf.saved_model.load(path).signatures["serving_default"]
    horizon = 2
    for seed in (3, 4):
        got = predict(context=case.context, num_samples=tf.constant(NUM_SAMPLES), dt=tf.constant(1.0),
                      horizon=tf.constant(horizon), seed=tf.constant(seed))["frames"].numpy()
        expected = case.model.generate(case.context, NUM_SAMPLES, horizon, seed=seed).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
