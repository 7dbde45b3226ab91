"""`predict --actions=FILE`: .npy and .csv actions reach the runtime aligned with the context, and a missing,
unneeded, malformed or short file is one PredictError naming it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tfvideo.data import clips
from tfvideo.prediction import actions_file, predict_lib
from tfvideo.prediction.errors import PredictError
from tfvideo.runtimes import ModelSpec, Runtime

A, CONTEXT, HORIZON = 3, 4, 2
SPEC = ModelSpec(source="--workdir=fake (step 1)", image_size=16, channels=1, min_context_frames=2,
                 dt_supported=True, training_dt=1.0, conditioning_frames=CONTEXT, test_horizon=HORIZON,
                 preprocessing=clips.Preprocessing(16, 1), action_size=A)


class Recorder(Runtime):
    spec = SPEC

    def __init__(self):
        self.actions = []

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        self.actions.append(actions)
        return np.zeros((1, num_samples, horizon, 16, 16, 1), np.float32)


def _files(tmp_path, rows=CONTEXT - 1 + HORIZON):
    values = np.arange(rows * A, dtype=np.float32).reshape(rows, A) / 7
    np.save(tmp_path / "a.npy", values)
    np.savetxt(tmp_path / "a.csv", values, delimiter=",", header="dx,dy,dz")  # '# dx,dy,dz' is skipped
    clip = np.random.default_rng(0).uniform(size=(6, 16, 16, 1)).astype(np.float32)
    np.save(tmp_path / "clip.npy", clip)
    return values, str(tmp_path / "clip.npy")


@pytest.mark.parametrize("ext", ["npy", "csv"])
def test_file_actions_reach_the_runtime(tmp_path, ext):
    values, clip = _files(tmp_path)
    runtime = Recorder()
    request = predict_lib.Request(input=clip, num_samples=3, batch_samples=2, actions=str(tmp_path / f"a.{ext}"))
    predict_lib.predict(runtime, predict_lib.plan(SPEC, request))
    assert len(runtime.actions) == 2  # two sample batches, the same actions
    for given in runtime.actions:
        np.testing.assert_allclose(given, values[None], rtol=1e-6)


@pytest.mark.parametrize("spec, path, message", [
    (SPEC, None, "is action-conditioned: give its actions with --actions"),
    (dataclasses.replace(SPEC, action_size=0), "a.npy", "is not action-conditioned"),
    (SPEC, "a.txt", "give a .npy or .csv file"),
])
def test_flag_is_checked_against_the_model(spec, path, message):
    with pytest.raises(PredictError, match=message):
        predict_lib.plan(spec, predict_lib.Request(input="clip.npy", actions=path))


@pytest.mark.parametrize("make, message", [
    (lambda d: np.save(d / "x.npy", np.zeros((9, A + 1))), r"must have shape \[B=1"),
    (lambda d: np.save(d / "x.npy", np.zeros((CONTEXT - 2 + HORIZON, A))), r"must have shape \[B=1"),
    (lambda d: np.save(d / "x.npy", np.zeros((9,))), r"must hold numbers \[T, 3\]"),
    (lambda d: np.save(d / "x.npy", np.full((9, A), np.nan)), "NaN or Inf"),
    (lambda d: (d / "x.csv").write_text("1,2,x\n"), "not an array of numbers"),
    (lambda d: None, "cannot read it"),
])
def test_bad_files_give_one_error_naming_them(tmp_path, make, message):
    make(tmp_path)
    path = str(tmp_path / ("x.csv" if "not an array" in message else "x.npy"))
    with pytest.raises(PredictError, match=message) as raised:
        actions_file.read_actions(path, A, CONTEXT - 1 + HORIZON)
    assert "x." in str(raised.value) or "must hold" in str(raised.value)
