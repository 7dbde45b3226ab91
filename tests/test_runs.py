"""Reading a run back: its config, and its model from the newest checkpoint or a given step, strictly."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.support.configs import tiny_config
from tests.support.markers import needs_bfloat16

from tfvideo import runs
from tfvideo.models import build_model
from tfvideo.training import checkpointing, train_lib


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A workdir with checkpoints at steps 3 and 6 (with optimizer state, as training writes them); every
    trainable weight is 1 larger at step 6. Returns (workdir, {step: first trainable weight})."""
    workdir = str(tmp_path_factory.mktemp("runs") / "run")
    config = tiny_config(workdir)
    checkpointing.prepare_workdir(config)
    model = build_model(config)
    optimizer = train_lib.make_optimizer(config.train)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    state = checkpointing.RunCheckpoint(workdir, model, optimizer)
    weights = {3: model.trainable_variables[0].numpy()}
    state.save(3)
    for variable in model.trainable_variables:
        variable.assign(variable + 1.0)
    weights[6] = model.trainable_variables[0].numpy()
    state.save(6)
    return workdir, weights


def test_loads_the_newest_checkpoint_or_the_given_step(run):
    workdir, weights = run
    newest = runs.load_trained_model(workdir)
    assert newest.step == 6 and newest.checkpoint.endswith("ckpt-6")
    assert newest.config == runs.load_config(workdir)
    np.testing.assert_array_equal(newest.model.trainable_variables[0].numpy(), weights[6])
    older = runs.load_trained_model(workdir, step=3)
    assert older.step == 3 and older.checkpoint.endswith("ckpt-3")
    np.testing.assert_array_equal(older.model.trainable_variables[0].numpy(), weights[3])


@needs_bfloat16
def test_a_reduced_sampling_precision_keeps_the_weights_and_samples_close_to_float32(run):
    import keras
    import tensorflow as tf
    full = runs.load_trained_model(run[0], step=3)
    half = runs.load_trained_model(run[0], step=3, precision="mixed_bfloat16")
    assert (full.precision, half.precision) == ("float32", "mixed_bfloat16")
    convs = [layer for layer in half.model._flatten_layers() if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs)
    np.testing.assert_array_equal(half.model.trainable_variables[0].numpy(), run[1][3])
    context = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[3, 4])
    futures = [trained.model.generate(context, 2, 3, seed=1).numpy() for trained in (full, half)]
    np.testing.assert_allclose(futures[0], futures[1], atol=0.03)
    assert not np.array_equal(futures[0], futures[1])


def test_an_unknown_sampling_precision_is_a_run_error(run):
    with pytest.raises(runs.RunError, match="--precision=half: Unknown precision 'half'"):
        runs.load_trained_model(run[0], precision="half")


def test_a_missing_step_names_the_steps_there_are(run):
    with pytest.raises(runs.RunError, match=r"No checkpoint of step 4 in .*checkpoints \(steps there: 6, 3\)"):
        runs.load_trained_model(run[0], step=4)


def test_a_directory_without_a_run_or_without_checkpoints(run, tmp_path):
    with pytest.raises(runs.RunError, match="Cannot read the run in --workdir=.*not a tfvideo training run"):
        runs.load_trained_model(str(tmp_path))
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    shutil.copy(os.path.join(run[0], checkpointing.CONFIG_FILE), untrained)
    with pytest.raises(runs.RunError, match="No checkpoint in .*train the run first"):
        runs.load_trained_model(str(untrained))


def test_an_unreadable_config_is_a_run_error(tmp_path):
    (tmp_path / checkpointing.CONFIG_FILE).write_text("{not json")
    with pytest.raises(runs.RunError, match="Cannot read the run in --workdir="):
        runs.load_config(str(tmp_path))


def test_a_checkpoint_of_another_model_is_refused_naming_the_variables(run, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(run[0], copy)
    path = os.path.join(copy, checkpointing.CONFIG_FILE)
    config = json.loads(open(path).read())
    config["model"]["inference_layers"] = 3  # one more Dense layer in q(y_1)
    with open(path, "w") as handle:
        json.dump(config, handle)
    for step in (None, 3):
        with pytest.raises(runs.RunError, match=r"no value for 2 variable\(s\) of the rebuilt model, e\.g\. "
                                                r"initial_state_posterior/dense_2/"):
            runs.load_trained_model(copy, step=step)


@pytest.mark.parametrize("text, message", [
    ("[]", "a config is a JSON object with the sections model, data and train; got a list []"),
    ("null", "got null"),
    ('{"data": "smmnist"}', "section 'data' must be a JSON object of fields; got a string 'smmnist'"),
    ('{"train": {"batch_size": 2.5}}', "field train.batch_size must be a whole number; got a number 2.5"),
    ('{"model": {"stochastic": "yes"}}', "field model.stochastic must be a boolean; got a string 'yes'"),
    ('{"train": {"batch_size": 0}}', "--batch_size must be a whole number >= 1"),
], ids=["list", "null", "section", "float_int", "string_bool", "out_of_range"])
def test_a_config_json_of_the_wrong_shape_is_a_run_error_naming_file_and_field(text, message, tmp_path):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(runs.RunError, match="config.json is not a tfvideo config") as raised:
        runs.load_trained_model(str(tmp_path))
    assert message in str(raised.value) and str(tmp_path / "config.json") in str(raised.value)
