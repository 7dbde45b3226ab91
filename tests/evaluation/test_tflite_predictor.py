"""`python -m tfvideo.evaluate --tflite=FILE`: a TFLite export scored with the model's protocol (best-of-N on the
run's test set, seed + i per video); a float32 file scores what the checkpoint scores."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export"))
from export_testlib import run_cli, tflite_export, trained_run  # noqa: E402
from tfvideo.evaluation import eval_lib  # noqa: E402

OPTIONS = dict(num_samples=3, num_videos=2, horizon=4, seed=5, batch_size=2)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return trained_run(tmp_path_factory), tflite_export(tmp_path_factory, "none")


def test_float32_file_scores_what_the_checkpoint_scores(paths, tmp_path):
    workdir, path = paths
    model = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, output_dir=str(tmp_path / "model")))
    tflite = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, tflite=path,
                                                              output_dir=str(tmp_path / "tflite")))
    assert tflite["predictor"] == "tflite:srvp_float32" and model["predictor"] == "model"
    for name in ("psnr", "ssim"):
        np.testing.assert_allclose(tflite["metrics"][name]["per_step"]["mean"],
                                   model["metrics"][name]["per_step"]["mean"], rtol=1e-4)
    with open(tmp_path / "tflite" / eval_lib.RESULTS_FILE) as handle:
        assert json.load(handle)["predictor"] == "tflite:srvp_float32"
    assert f"--tflite={path}" in tflite["command"]
    # Another seed gives other futures: the scores above are not equal by accident.
    other = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**{**OPTIONS, "seed": 6}, tflite=path,
                                                             output_dir=str(tmp_path / "other")))
    assert other["metrics"]["psnr"]["mean"] != tflite["metrics"]["psnr"]["mean"]


def test_cli_refuses_a_fixed_shape_file_of_another_request(paths, tmp_path_factory, tmp_path, capsys):
    from tfvideo import evaluate
    from tfvideo.export import __main__ as export_cli
    workdir, _ = paths
    export_dir = str(tmp_path_factory.mktemp("fixed_eval"))
    assert run_cli(export_cli, [f"--workdir={workdir}", "--format=tflite", f"--export_dir={export_dir}",
                                "--static_shape=1,2,4"]) == 0
    fixed = os.path.join(export_dir, "srvp_float32_1x2x4.tflite")
    argv = [f"--workdir={workdir}", f"--tflite={fixed}", "--num_videos=1", "--horizon=4", "--nofigures",
            f"--output_dir={tmp_path / 'out'}"]
    assert run_cli(evaluate, argv + ["--num_samples=3"]) == 2
    assert "got num_samples=3 where it needs num_samples=2" in capsys.readouterr().err
    assert run_cli(evaluate, argv + ["--num_samples=2"]) == 0
    with open(tmp_path / "out" / eval_lib.RESULTS_FILE) as handle:
        assert json.load(handle)["predictor"] == "tflite:srvp_float32_1x2x4"
    assert run_cli(evaluate, [f"--workdir={workdir}", f"--tflite={tmp_path / 'missing.tflite'}", "--nofigures"]) == 2
    assert "No TFLite file at" in capsys.readouterr().err
