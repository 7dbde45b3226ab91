"""The converters' shared checks and writer: tensors and variables matched in both directions, PyTorch layouts,
and a run folder written whole or not at all."""

import json
import os

import keras
import numpy as np
import pytest

from tfvideo.conversion import common
from tfvideo.training import checkpointing


def _dense_pair():
    """Two Dense layers (3 -> 4 -> 2) in a model, and a PyTorch-style state dict for them."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    rng = np.random.default_rng(0)
    tensors = {"net.0.weight": rng.normal(size=(4, 3)), "net.0.bias": rng.normal(size=4),
               "net.1.1.weight": rng.normal(size=(2, 4)), "net.1.1.bias": rng.normal(size=2)}
    return model, {k: v.astype(np.float32) for k, v in tensors.items()}


def test_layers_are_mapped_in_order_with_pytorch_layouts():
    model, tensors = _dense_pair()
    common.assign_all(model, tensors, common.map_in_order(model.layers, tensors, "net"), "f.pt")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    hidden = x @ tensors["net.0.weight"].T + tensors["net.0.bias"]
    np.testing.assert_allclose(model(x), hidden @ tensors["net.1.1.weight"].T + tensors["net.1.1.bias"], rtol=1e-5)


def test_conv_kernels_take_keras_layouts():
    weight = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # torch Conv2d [out, in, kh, kw]
    assert common.conv_kernel(weight).shape == (4, 5, 3, 2)
    assert common.conv_kernel(weight)[1, 2, 0, 1] == weight[1, 0, 1, 2]


@pytest.mark.parametrize("change,message", [
    ("extra", "1 tensor.*does not use, e.g. other.weight"),
    ("missing", "no tensor 'net.1.1.bias'"),
    ("shape", "net.0.weight of f.pt has shape"),
])
def test_mismatches_are_refused_before_anything_is_assigned(change, message):
    model, tensors = _dense_pair()
    before = [np.array(v) for v in model.weights]
    if change == "extra":
        tensors["other.weight"] = np.zeros((1, 2), np.float32)
    elif change == "missing":
        del tensors["net.1.1.bias"]
    else:
        tensors["net.0.weight"] = np.zeros((4, 5), np.float32)
    with pytest.raises(common.ConversionError, match=message):
        common.assign_all(model, tensors, common.map_in_order(model.layers, tensors, "net"), "f.pt")
    for old, variable in zip(before, model.weights):
        np.testing.assert_array_equal(old, variable)


def test_a_variable_without_a_source_is_refused():
    model, tensors = _dense_pair()
    mapped = common.map_in_order(model.layers, tensors, "net")[:-1] + [common.Mapped(None, None, ("net.1.1.bias",))]
    with pytest.raises(common.ConversionError, match="1 tfvideo variable.*get no value"):
        common.assign_all(model, tensors, mapped, "f.pt")


def test_modules_of_another_kind_are_refused():
    model, tensors = _dense_pair()
    tensors["net.1.1.running_mean"] = np.zeros(2, np.float32)
    with pytest.raises(common.ConversionError, match="not the layers of tfvideo's network"):
        common.map_in_order(model.layers, tensors, "net")


def test_existing_runs_and_files_are_not_overwritten(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    (tmp_path / "file").write_text("x")
    with pytest.raises(common.ConversionError, match="already holds files"):
        common.check_workdir(str(tmp_path / "run"))
    with pytest.raises(common.ConversionError, match="is a file"):
        common.check_workdir(str(tmp_path / "file"))
    (tmp_path / "empty").mkdir()
    assert common.check_workdir(str(tmp_path / "empty")) == str(tmp_path / "empty")


def test_the_run_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from tests.support.configs import tiny_config
    from tfvideo.models import build_model
    workdir = tmp_path / "runs" / "new" / "converted"
    config = tiny_config(str(workdir))
    model = build_model(config)

    def fail(self, step):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpointing.RunCheckpoint, "save", fail)
    (tmp_path / "runs").mkdir()
    with pytest.raises(common.ConversionError, match="No space left"):
        common.write_run(config, model, {"converter": "test"})
    assert os.listdir(tmp_path / "runs") == []  # neither the temporary folder nor the folder made for it
    monkeypatch.undo()
    assert common.write_run(config, model, {"converter": "test"}) == str(workdir)
    assert sorted(os.listdir(workdir)) == ["checkpoints", "config.json", "converted_from.json"]
    assert json.loads((workdir / "converted_from.json").read_text()) == {"converter": "test"}
    assert os.listdir(tmp_path / "runs" / "new") == ["converted"]
