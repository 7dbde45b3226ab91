"""int8 calibration of an action-conditioned model: the training clips' actions go with their contexts, and the
int8 file converts and runs with actions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.configs import tiny_config
from tests.support.videos import contexts
from tfvideo.data import bair, fake_data
from tfvideo.export import calibration
from tfvideo.export import tflite as tflite_lib
from tfvideo.models import build_model

A, CONTEXT, HORIZON = 4, 3, 2


def _config(data_dir="unused"):
    return tiny_config(variant="srvp_bounded", model={"action_conditioned": True, "action_size": A},
                       data={"dataset": "bair", "data_dir": data_dir, "channels": 3, "seq_len": 5,
                             "conditioning_frames": CONTEXT, "test_horizon": HORIZON})


def test_training_contexts_carry_the_clips_actions(tmp_path):
    fake_data.prepare_fake_tfds(bair.NAME, str(tmp_path), {"train": 6, "test": 2})
    got = calibration.training_contexts(_config(str(tmp_path)), 5, CONTEXT)
    assert got["frames"].shape == (5, CONTEXT, 64, 64, 3) and got["actions"].shape == (5, 5, A)
    assert np.ptp(got["actions"]) > 0  # the data's actions, not a filler


@pytest.fixture(scope="module")
def int8_path(tmp_path_factory):
    model = build_model(_config())
    model.action_normalizer.set_statistics([0.5, -1.0, 2.0, 0.0], [0.1, 0.2, 0.3, 1.0])
    rng = np.random.default_rng(0)
    calibration_set = {"frames": contexts(6, CONTEXT, seed=2).repeat(3, axis=-1),
                       "actions": rng.normal(size=(6, 3, A)).astype(np.float32)}  # shorter than requests: repeated
    path = str(tmp_path_factory.mktemp("int8") / "srvp_int8.tflite")
    representative = calibration.representative_dataset(model, calibration_set, None, HORIZON, 1.0)
    tflite_lib.export_tflite(model, path, quantize="int8", representative=representative,
                             metadata={"image_size": 64, "channels": 3, "action_size": A,
                                       "min_context_frames": model.min_context_frames(), "dt_supported": True})
    return path


@pytest.mark.slow
def test_int8_export_of_an_action_conditioned_model_runs_with_actions(int8_path):
    runtime = tflite_lib.TFLiteModel(int8_path)
    context = contexts(2, CONTEXT, seed=5).repeat(3, axis=-1)
    acts = np.random.default_rng(1).normal(size=(2, CONTEXT - 1 + HORIZON, A)).astype(np.float32)
    frames = runtime(context, 2, HORIZON, 1.0, seed=3, actions=acts)
    assert frames.shape == (2, 2, HORIZON, 64, 64, 3) and np.isfinite(frames).all()
    assert 0.0 <= frames.min() and frames.max() <= 1.0
    with pytest.raises(Exception, match="action"):
        runtime(context, 2, HORIZON, 1.0, seed=3)
