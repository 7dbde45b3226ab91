"""Strict restore of a training run for export: every model variable matched both ways, clear errors."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfvideo.training import checkpointing
from tfvideo.export import ExportError, lib


@pytest.fixture(scope="module")
def workdir(trained_run):
    return trained_run


def test_restores_every_model_weight_of_the_newest_checkpoint(restored_run, workdir):
    trained = restored_run
    assert trained.step == 7 and trained.checkpoint.endswith("ckpt-7")
    reader = tf.train.load_checkpoint(trained.checkpoint)
    stored = {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
              if key != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    # Every trainable and batch-norm variable of the model equals one stored tensor (seed-generator states are
    # not in checkpoints).
    model_vars = [v for v in trained.model.variables if "seed_generator" not in v.path]
    assert len(model_vars) > 20
    for variable in model_vars:
        value = variable.numpy()
        assert any(v.shape == value.shape and np.array_equal(v, value) for v in stored.values()), variable.path


def _copy_run(workdir, tmp_path, **model_changes):
    """A copy of the run whose config.json describes another model (as if edited by hand)."""
    copy = str(tmp_path / "copy")
    shutil.copytree(workdir, copy)
    path = os.path.join(copy, checkpointing.CONFIG_FILE)
    with open(path) as handle:
        config = json.load(handle)
    config["model"].update(model_changes)
    with open(path, "w") as handle:
        json.dump(config, handle)
    return copy


def test_checkpoint_with_variables_the_model_lacks_is_refused(workdir, tmp_path):
    copy = _copy_run(workdir, tmp_path, use_content=False)
    with pytest.raises(ExportError, match=r"stores \d+ model variable\(s\) that the rebuilt model lacks, e\.g\. "
                                          r"content/"):
        lib.load_trained_model(copy)


def test_model_with_variables_the_checkpoint_lacks_is_refused(workdir, tmp_path):
    copy = _copy_run(workdir, tmp_path, inference_layers=3)  # one more Dense layer in q(y_1)
    with pytest.raises(ExportError, match=r"no value for 2 variable\(s\) of the rebuilt model, e\.g\. "
                                          r"initial_state_posterior/dense_2/_kernel, "
                                          r"initial_state_posterior/dense_2/bias"):
        lib.load_trained_model(copy)


def test_shape_mismatch_is_refused(workdir, tmp_path):
    copy = _copy_run(workdir, tmp_path, inference_hidden_size=9)
    with pytest.raises(ExportError, match="does not match"):
        lib.load_trained_model(copy)


def test_run_without_checkpoint_or_config(tmp_path, workdir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ExportError, match="not a tfvideo training run"):
        lib.load_trained_model(str(empty))
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    shutil.copy(os.path.join(workdir, checkpointing.CONFIG_FILE), untrained)
    with pytest.raises(ExportError, match="No checkpoint in .*train the run first"):
        lib.load_trained_model(str(untrained))


def test_export_argument_errors(workdir, tmp_path):
    with pytest.raises(ExportError, match="--format must be one of"):
        lib.export(workdir, str(tmp_path), format="onnx")
    with pytest.raises(ExportError, match="--quantize applies to --format=tflite only"):
        lib.export(workdir, str(tmp_path), format="saved_model", quantize="float16")
    with pytest.raises(ExportError, match="--quantize must be one of"):
        lib.export(workdir, str(tmp_path), format="tflite", quantize="int4")
