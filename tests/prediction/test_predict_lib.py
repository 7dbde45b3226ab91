"""tfvideo.prediction.predict_lib: requests checked against the model, futures sampled in batches."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from tfvideo import validation
from tfvideo.data import clips
from tfvideo.models import noise
from tfvideo.prediction import predict_lib
from tfvideo.prediction.errors import PredictError
from tfvideo.runtimes import ModelSpec, Runtime

SPEC = ModelSpec(source="--workdir=fake (step 1)", image_size=16, channels=1, min_context_frames=3,
                 dt_supported=True, training_dt=1.0, conditioning_frames=4, test_horizon=6,
                 preprocessing=clips.Preprocessing(16, 1))


class FakeRuntime(Runtime):
    """Futures [1, S, horizon * k, 16, 16, 1] whose every pixel encodes (seed, sample index within the call,
    frame), so that tests can tell which call made which future."""

    spec = SPEC

    def __init__(self):
        self.calls = []

    def _sample(self, context, num_samples, horizon, dt, seed):
        self.calls.append({"context": context, "num_samples": num_samples, "horizon": horizon, "dt": dt,
                           "seed": seed})
        frames = round(horizon / dt)
        index = np.arange(num_samples)[:, None] * 100 + np.arange(frames)[None, :]
        values = (index + (seed % 997) * 10_000) / 1e7
        return np.broadcast_to(values[None, :, :, None, None, None], (1, num_samples, frames, 16, 16, 1))


def _clip(tmp_path, num_frames=8):
    frames = np.random.default_rng(1).uniform(size=(num_frames, 16, 16, 1)).astype(np.float32)
    np.save(tmp_path / "clip.npy", frames)
    return str(tmp_path / "clip.npy"), frames


def test_plan_takes_the_runs_defaults():
    plan = predict_lib.plan(SPEC, predict_lib.Request(input="x.npy"))
    request = plan.request
    assert (request.context_frames, request.horizon, request.dt, request.num_samples) == (4, 6, 1.0, 8)
    assert plan.steps_per_frame == 1 and plan.frames_shape == (8, 6, 16, 16, 1) and plan.batches == ((8, 0),)
    plan = predict_lib.plan(SPEC, predict_lib.Request(input="x.npy", dt=0.25, horizon=3, context_frames=3))
    assert plan.steps_per_frame == 4 and plan.num_frames == 12 and plan.request.context_frames == 3


def test_batches_cover_every_sample_with_distinct_seeds():
    plan = predict_lib.plan(SPEC, predict_lib.Request(input="x", num_samples=5, batch_samples=2, seed=-7))
    assert [count for count, _ in plan.batches] == [2, 2, 1]
    seeds = [seed for _, seed in plan.batches]
    assert seeds[0] == -7 and len(set(seeds)) == 3
    assert all(validation.INT32_MIN <= s <= validation.INT32_MAX for s in seeds)
    assert seeds == [noise.draw_seed(-7, j) for j in range(3)]  # the one rule of the seeds of several draws


@pytest.mark.parametrize("changes,message", [
    (dict(num_samples=0), "--num_samples must be a whole number >= 1"),
    (dict(batch_samples=-1), "--batch_samples must be a whole number >= 1"),
    (dict(horizon=0), "--horizon must be a whole number >= 1"),
    (dict(seed=2**31), "--seed must be an int32"),
    (dict(dt=0.3), "--dt must be of the form 1/k"),
    (dict(dt=0.0), "--dt must be of the form 1/k"),
    (dict(context_frames=2), "--context_frames=2: the model of --workdir=fake \\(step 1\\) needs at least 3"),
    (dict(start_frame=-1), "--start_frame must be a whole number >= 0"),
    (dict(num_samples=2**31 - 1, horizon=2**20), "2147483647 futures of 1048576 frames of 16x16x1 needs at least"),
])
def test_plan_refuses_bad_requests_naming_the_flag(changes, message):
    with pytest.raises(PredictError, match=message):
        predict_lib.plan(SPEC, predict_lib.Request(input="x", **changes))


def test_a_discrete_time_model_takes_dt_1_only_and_unknown_context_needs_the_flag():
    import dataclasses
    discrete = dataclasses.replace(SPEC, dt_supported=False, conditioning_frames=None)
    with pytest.raises(PredictError, match=r"--dt: the model of .* is a discrete-time model \(one step per frame, "
                                           r"no frames in between\), so it takes --dt=1 only. Use --dt=1; got 0.5."):
        predict_lib.plan(discrete, predict_lib.Request(input="x", dt=0.5, context_frames=3))
    with pytest.raises(PredictError, match="give --context_frames"):
        predict_lib.plan(discrete, predict_lib.Request(input="x"))
    assert predict_lib.plan(discrete, predict_lib.Request(input="x", context_frames=3)).request.dt == 1.0


def test_predict_reads_the_window_and_assembles_the_batches_in_order(tmp_path):
    path, frames = _clip(tmp_path)
    runtime = FakeRuntime()
    plan = predict_lib.plan(SPEC, predict_lib.Request(input=path, num_samples=5, batch_samples=2, horizon=2,
                                                      dt=0.5, seed=11, start_frame=2, context_frames=3))
    stream = io.StringIO()
    prediction = predict_lib.predict(runtime, plan, stream=stream)
    np.testing.assert_array_equal(prediction.context, frames[2:5])
    assert prediction.frames.shape == (5, 4, 16, 16, 1)
    assert [c["num_samples"] for c in runtime.calls] == [2, 2, 1]
    assert [c["seed"] for c in runtime.calls] == [s for _, s in plan.batches]
    assert all(c["horizon"] == 2 and c["dt"] == 0.5 and c["context"].shape == (1, 3, 16, 16, 1)
               for c in runtime.calls)
    expected = np.concatenate([FakeRuntime()._sample(None, n, 2, 0.5, s)[0] for n, s in plan.batches])
    expected = expected.astype(np.float32)
    np.testing.assert_array_equal(prediction.frames, expected)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("sample 2/5 (40%)") and lines[-1].startswith("sample 5/5 (100%)")


def test_one_batch_prints_no_progress_and_a_wrong_shape_is_an_error(tmp_path):
    path, _ = _clip(tmp_path)
    stream = io.StringIO()
    plan = predict_lib.plan(SPEC, predict_lib.Request(input=path, num_samples=2))
    predict_lib.predict(FakeRuntime(), plan, stream=stream)
    assert stream.getvalue() == ""

    class Wrong(FakeRuntime):
        def _sample(self, context, num_samples, horizon, dt, seed):
            return super()._sample(context, num_samples, horizon, dt, seed)[:, :, :-1]

    with pytest.raises(PredictError, match="returned frames of shape \\(1, 2, 5, 16, 16, 1\\); expected"):
        predict_lib.predict(Wrong(), plan)


def test_a_clip_too_short_for_the_context_is_a_predict_error(tmp_path):
    path, _ = _clip(tmp_path, num_frames=5)
    plan = predict_lib.plan(SPEC, predict_lib.Request(input=path, start_frame=2))
    with pytest.raises(PredictError, match="has 5 frame\\(s\\); 4 context frame\\(s\\) from frame 2 need 6"):
        predict_lib.predict(FakeRuntime(), plan)


FIXED = dataclasses.replace(SPEC, source="--tflite=f.tflite", static_shape={
    "batch": 1, "num_samples": 3, "horizon": 5, "context_frames": 4, "dt": 0.5})


def test_a_fixed_shape_file_takes_its_baked_request_by_default():
    request = predict_lib.plan(FIXED, predict_lib.Request(input="x.npy")).request
    assert (request.num_samples, request.horizon, request.dt, request.batch_samples) == (3, 5, 0.5, 3)
    same = predict_lib.plan(FIXED, predict_lib.Request(input="x", num_samples=3, horizon=5, dt=0.5)).request
    assert same == dataclasses.replace(request, input="x")


@pytest.mark.parametrize("changes, asked", [({"num_samples": 8}, "--num_samples=8"), ({"horizon": 6}, "--horizon=6"),
                                            ({"dt": 1.0}, "--dt=1")], ids=["num_samples", "horizon", "dt"])
def test_a_fixed_shape_file_refuses_another_request_naming_both(changes, asked):
    with pytest.raises(PredictError, match=rf"--tflite=f.tflite is a fixed-shape file: it answers batch=1, "
                                           rf"num_samples=3, horizon=5, dt=0.5 only, and this request asks {asked}\."):
        predict_lib.plan(FIXED, predict_lib.Request(input="x", **changes))


def test_run_tflite_sends_a_fixed_shape_files_own_request_unless_asked():
    import argparse
    from tests.support.cli import load_script
    script = load_script("run_tflite")
    fixed, dynamic = argparse.Namespace(static_shape=FIXED.static_shape), argparse.Namespace(static_shape=None)
    plain = argparse.Namespace(num_samples=None, dt=None, horizon=None)
    assert script._request(fixed, plain) == {"num_samples": 3, "dt": 0.5, "horizon": 5}
    assert script._request(dynamic, plain) == {"num_samples": 3, "dt": 1.0, "horizon": 10}
    asked = argparse.Namespace(num_samples=2, dt=None, horizon=7)
    assert script._request(fixed, asked) == {"num_samples": 2, "dt": 0.5, "horizon": 7}  # the file then refuses it
