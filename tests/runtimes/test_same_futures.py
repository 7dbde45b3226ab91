"""Same seed, same futures on every road from a trained model: Python (`model.generate`), `evaluate` (its
sampler, from the checkpoint, the SavedModel and the TFLite file), `predict` (the CLI writing .npy, and
`predict_lib` over the exports), the SavedModel and the TFLite file. Several calls from one seed take their seeds
from `noise.draw_seed`: evaluate's test video i, predict's sample batch i.

Exactly equal in float32 TensorFlow (the checkpoint, the SavedModel); LiteRT's kernels round differently: its
futures are within TFLITE_ATOL (measured on the tiny run: at most 2.7e-7 on a 2-core Intel Xeon, AVX-512/AMX;
the bound leaves room for other CPUs' kernels, as tests/runtimes/test_runtimes.py does)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.cli import run_predict
from tests.support.videos import IMAGE
from tfvideo import runtimes
from tfvideo.evaluation import eval_lib
from tfvideo.models import noise
from tfvideo.prediction import predict_lib

SEED, SAMPLES, HORIZON = 11, 2, 4
TFLITE_ATOL = 1e-5


def _evaluate_road(workdir, tmp_path, name, dt=None, **export):
    """Evaluate's sampler: (context [Tc, H, W, C], video index) -> [S, HORIZON, H, W, C]."""
    options = eval_lib.EvalOptions(num_samples=SAMPLES, num_videos=2, horizon=HORIZON, seed=SEED, dt=dt,
                                   output_dir=str(tmp_path / name), **export)
    return eval_lib.prepare(workdir, options)


def _predict_road(runtime, context, dt=1.0) -> np.ndarray:
    """predict_lib's futures [2 * SAMPLES, F, H, W, C] in two batches of SAMPLES: batch i is draw i of SEED."""
    request = predict_lib.Request(input="unused", num_samples=2 * SAMPLES, batch_samples=SAMPLES, horizon=HORIZON,
                                  dt=dt, seed=SEED)
    return predict_lib.predict(runtime, predict_lib.plan(runtime.spec, request), context).frames


def _predict_cli(workdir, context, tmp_path) -> np.ndarray:
    """`python -m tfvideo.predict --input=CONTEXT.npy --output=FUTURES.npy`, two batches of SAMPLES."""
    np.save(tmp_path / "context.npy", context)
    out = run_predict([f"--workdir={workdir}", f"--input={tmp_path / 'context.npy'}",
                                       f"--output={tmp_path / 'futures.npy'}", f"--num_samples={2 * SAMPLES}",
                                       f"--batch_samples={SAMPLES}", f"--horizon={HORIZON}", f"--seed={SEED}",
                                       f"--context_frames={len(context)}"])
    assert out["code"] == 0, out["err"]
    return np.load(tmp_path / "futures.npy")


@pytest.mark.slow
def test_one_seed_gives_the_same_futures_on_every_road(trained_run, saved_model_export, tflite_export, tmp_path):
    workdir, saved_model, tflite = trained_run, saved_model_export["base"], tflite_export()
    evaluated = _evaluate_road(workdir, tmp_path, "model")
    context = next(iter(evaluated.source.test_batches(1)))[0, :evaluated.spec["conditioning_frames"]]
    trained = runtimes.open_runtime(workdir=workdir)
    served, lite = runtimes.open_runtime(saved_model=saved_model), runtimes.open_runtime(tflite=tflite)
    roads = {
        "evaluate": evaluated.predict,
        "evaluate --saved_model": _evaluate_road(workdir, tmp_path, "served", saved_model=saved_model).predict,
    }
    predicted = {"predict CLI": _predict_cli(workdir, context, tmp_path),
                 "predict_lib --saved_model": _predict_road(served, context)}
    lite_roads = {"evaluate --tflite": _evaluate_road(workdir, tmp_path, "lite", tflite=tflite).predict}
    lite_predicted = _predict_road(lite, context)
    for draw in (0, 1):  # video i of evaluate, batch i of predict: the seed of draw i
        seed = noise.draw_seed(SEED, draw)
        python = trained.model.generate(context[None], num_samples=SAMPLES, horizon=HORIZON, seed=seed).numpy()[0]
        assert python.shape == (SAMPLES, HORIZON, *IMAGE) and python.std() > 1e-3
        same = {"TrainedRun": trained.sample(context[None], SAMPLES, HORIZON, 1.0, seed)[0],
                "SavedModel": served.sample(context[None], SAMPLES, HORIZON, 1.0, seed)[0],
                **{name: road(context, draw) for name, road in roads.items()},
                **{name: frames[draw * SAMPLES:(draw + 1) * SAMPLES] for name, frames in predicted.items()}}
        for name, frames in same.items():
            np.testing.assert_array_equal(frames, python, err_msg=f"{name}, draw {draw}")
        close = {"TFLite": lite.sample(context[None], SAMPLES, HORIZON, 1.0, seed)[0],
                 **{name: road(context, draw) for name, road in lite_roads.items()},
                 "predict_lib --tflite": lite_predicted[draw * SAMPLES:(draw + 1) * SAMPLES]}
        for name, frames in close.items():
            difference = float(np.abs(frames - python).max())
            assert difference <= TFLITE_ATOL, f"{name}, draw {draw}: {difference}"
    # Another seed gives other futures: the equalities above are not of constant frames.
    other = trained.sample(context[None], SAMPLES, HORIZON, 1.0, noise.draw_seed(SEED + 1, 0))[0]
    assert np.abs(other - python).max() > 1e-3


@pytest.mark.slow
def test_at_dt_one_half_evaluate_scores_the_frames_at_the_training_rate_on_every_road(trained_run, saved_model_export,
                                                                                     tmp_path):
    """An export returns every Euler step's frame; evaluate keeps the frames at t = 1, 2, ... as the checkpoint's
    `generate` gives them."""
    workdir, saved_model = trained_run, saved_model_export["base"]
    evaluated = _evaluate_road(workdir, tmp_path, "model", dt=0.5)
    context = next(iter(evaluated.source.test_batches(1)))[0, :evaluated.spec["conditioning_frames"]]
    served = _evaluate_road(workdir, tmp_path, "served", dt=0.5, saved_model=saved_model)
    python = evaluated.model.generate(context[None], num_samples=SAMPLES, horizon=HORIZON, dt=0.5,
                                      seed=noise.draw_seed(SEED, 1)).numpy()[0]
    np.testing.assert_array_equal(evaluated.predict(context, 1), python)
    np.testing.assert_array_equal(served.predict(context, 1), python)
