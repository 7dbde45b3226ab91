"""tfvideo.runtimes: a workdir, its SavedModel and its TFLite file behind one interface."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from tests.support.configs import TINY_DATA
from tests.support.videos import contexts
from tfvideo import runtimes
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.runtimes import ModelError


@pytest.mark.parametrize("given,message", [
    ({}, "Give exactly one model: .*; got none"),
    ({"workdir": "a", "tflite": "b"}, "got --workdir and --tflite"),
    ({"saved_model": "a", "step": 3}, "--step picks a checkpoint of --workdir"),
    ({"tflite": "a", "precision": "mixed_bfloat16"}, "--precision=mixed_bfloat16 applies to a --workdir's checkpoint"),
])
def test_exactly_one_model(given, message):
    with pytest.raises(ModelError, match=message):
        runtimes.open_runtime(**given)


def test_saved_model_dir_is_the_version_or_the_newest_one_below(tmp_path):
    base = tmp_path / "srvp"
    for version in (1, 2, 10):
        os.makedirs(base / str(version))
        (base / str(version) / "saved_model.pb").write_bytes(b"")
    os.makedirs(base / "11")  # no saved_model.pb: not a version TF Serving would load
    assert runtimes.saved_model_dir(str(base)) == str(base / "10")
    assert runtimes.saved_model_dir(str(base / "2")) == str(base / "2")
    with pytest.raises(ModelError, match="no saved_model.pb in it nor in a version folder"):
        runtimes.saved_model_dir(str(tmp_path))


def test_broken_exports_and_runs_are_named(tmp_path, untrained_workdir):
    version = tmp_path / "srvp" / "1"
    os.makedirs(version)
    (version / "saved_model.pb").write_bytes(b"not a protobuf")
    with pytest.raises(ModelError, match="no tfvideo metadata at .*tfvideo_export.json"):
        runtimes.open_runtime(saved_model=str(tmp_path / "srvp"))
    os.makedirs(version / "assets.extra")
    (version / saved_model_lib.METADATA_FILE).write_text("{broken")
    with pytest.raises(ModelError, match="cannot read the export metadata"):
        runtimes.open_runtime(saved_model=str(version))
    (version / saved_model_lib.METADATA_FILE).write_text(json.dumps({"image_size": 64, "channels": 1}))
    with pytest.raises(ModelError, match="cannot load the SavedModel"):
        runtimes.open_runtime(saved_model=str(version))
    (tmp_path / "bad.tflite").write_bytes(os.urandom(64))
    with pytest.raises(ModelError, match="--tflite=.*bad.tflite: cannot load the model"):
        runtimes.open_runtime(tflite=str(tmp_path / "bad.tflite"))
    with pytest.raises(ModelError, match="No TFLite file at"):
        runtimes.open_runtime(tflite=str(tmp_path / "none.tflite"))
    with pytest.raises(ModelError, match="No checkpoint in .*train the run first"):
        runtimes.open_runtime(workdir=untrained_workdir)
    with pytest.raises(ModelError, match="Cannot read the run in --workdir="):
        runtimes.open_runtime(workdir=str(tmp_path / "nothing"))


@pytest.mark.slow
def test_a_workdir_its_saved_model_and_its_tflite_file_give_the_same_futures(trained_run, saved_model_export,
                                                                             tflite_export, tmp_path):
    """Same spec (geometry, context, dt support, the run's preprocessing) and, for a seed, the same frames: exactly
    from the SavedModel, to float32 rounding from LiteRT (its kernels round differently)."""
    workdir = trained_run
    export = saved_model_export
    tflite = tflite_export()
    trained = runtimes.open_runtime(workdir=workdir)
    served = runtimes.open_runtime(saved_model=export["base"])
    lite = runtimes.open_runtime(tflite=tflite)
    assert trained.spec.source.endswith("(step 7)") and served.spec.source == f"--saved_model={export['path']}"
    for runtime in (served, lite):
        for field in ("image_size", "channels", "min_context_frames", "dt_supported", "training_dt",
                      "conditioning_frames", "test_horizon", "preprocessing"):
            assert getattr(runtime.spec, field) == getattr(trained.spec, field), field
    assert trained.spec.conditioning_frames == TINY_DATA["conditioning_frames"]
    context = contexts(1, 4, seed=5)
    frames = trained.sample(context, 3, 2, 0.5, 21)
    assert frames.shape == (1, 3, 4, 64, 64, 1) and frames.std() > 1e-3  # the futures differ from each other
    np.testing.assert_array_equal(served.sample(context, 3, 2, 0.5, 21), frames)
    np.testing.assert_allclose(lite.sample(context, 3, 2, 0.5, 21), frames, atol=1e-5)
    assert np.abs(trained.sample(context, 3, 2, 0.5, 22) - frames).max() > 1e-3  # another seed, other futures
    copy = shutil.copytree(export["path"], tmp_path / "copy")
    os.remove(copy / saved_model_lib.METADATA_FILE)
    with pytest.raises(ModelError, match="no tfvideo metadata"):
        runtimes.open_runtime(saved_model=str(copy))
