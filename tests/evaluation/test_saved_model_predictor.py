"""`python -m tfvideo.evaluate --saved_model=DIR`: a SavedModel export scored through the runtime layer with the
model's protocol; a float32 export scores what the checkpoint scores, and its results name it."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.support.cli import run_cli
from tests.support.configs import TINY_DATA
from tests.support.runs import TRAINED_STEP
from tfvideo.evaluation import eval_lib

OPTIONS = dict(num_samples=3, num_videos=2, horizon=4, seed=5, batch_size=2)


@pytest.fixture
def paths(trained_run, saved_model_export):
    return trained_run, saved_model_export


def test_a_float32_saved_model_scores_what_the_checkpoint_scores_and_is_named(paths, tmp_path):
    workdir, export = paths
    model = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, output_dir=str(tmp_path / "model")))
    served = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, saved_model=export["base"]))
    assert served["predictor"] == "saved_model:srvp_v1" and served["checkpoint_step"] is None
    for name in ("psnr", "ssim"):  # the same futures: the same scores
        assert served["metrics"][name]["per_step"]["mean"] == model["metrics"][name]["per_step"]["mean"]
    folder = os.path.join(workdir, "eval", f"srvp_v1_n3_c{TINY_DATA['conditioning_frames']}_h4_dt1_seed5")
    with open(os.path.join(folder, eval_lib.RESULTS_FILE)) as handle:
        written = json.load(handle)
    assert written["predictor"] == "saved_model:srvp_v1" and written["checkpoint"].endswith(f"ckpt-{TRAINED_STEP}")
    with open(os.path.join(folder, eval_lib.SPEC_FILE)) as handle:
        assert json.load(handle)["saved_model"] == os.path.abspath(export["path"])
    assert f"--saved_model={export['base']}" in served["command"]
    other = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**{**OPTIONS, "seed": 6}, saved_model=export["path"],
                                                             output_dir=str(tmp_path / "other")))
    assert other["metrics"]["psnr"]["mean"] != served["metrics"]["psnr"]["mean"]  # not equal by accident


def _evaluate_cli(argv, capsys) -> tuple[int, str]:
    from tfvideo import evaluate
    code = run_cli(evaluate, [*argv, "--num_videos=1", "--num_samples=2", "--horizon=3", "--nofigures"])
    return code, capsys.readouterr().err


def _one_error(code, err, *parts):
    assert code == 2 and "Traceback" not in err, err
    assert len([line for line in err.splitlines() if line.startswith("error: ")]) == 1, err
    assert all(part in err for part in parts), err


def test_a_saved_model_without_the_signature_or_metadata_or_of_another_run_is_refused(paths, tmp_path, capsys):
    import tensorflow as tf
    workdir, export = paths
    bare = tmp_path / "bare" / "1"
    tf.saved_model.save(tf.Module(), str(bare))  # a SavedModel with no signature at all
    code, err = _evaluate_cli([f"--workdir={workdir}", f"--saved_model={bare}"], capsys)
    _one_error(code, err, f"--saved_model={bare}: no tfvideo metadata")
    os.makedirs(bare / "assets.extra")
    shutil.copy(os.path.join(export["path"], "assets.extra", "tfvideo_export.json"), bare / "assets.extra")
    code, err = _evaluate_cli([f"--workdir={workdir}", f"--saved_model={tmp_path / 'bare'}"], capsys)
    _one_error(code, err, f"--saved_model={bare} has no 'serving_default' signature")
    other = tmp_path / "other"
    os.makedirs(other)
    with open(os.path.join(workdir, "config.json")) as handle:
        config = json.load(handle)
    config["train"]["seed"] = 7
    (other / "config.json").write_text(json.dumps(config))
    code, err = _evaluate_cli([f"--workdir={other}", f"--saved_model={export['base']}"], capsys)
    _one_error(code, err, "was exported from another run", "--allow_other_run")
    code, err = _evaluate_cli([f"--workdir={other}", f"--saved_model={export['base']}", "--allow_other_run",
                               f"--output_dir={tmp_path / 'out'}"], capsys)
    assert code == 0, err
    with open(tmp_path / "out" / eval_lib.RESULTS_FILE) as handle:
        results = json.load(handle)
    assert results["exported_from"]["workdir"] == os.path.abspath(workdir)
    assert any("The --saved_model was exported from another run" in n for n in results["comparability"]["notes"])
    assert np.isfinite(results["metrics"]["psnr"]["mean"])


def test_a_request_the_export_cannot_answer_is_refused_before_the_output_folder(paths, tmp_path, capsys):
    """The one request check (`models.requests.check`) runs on the export's recorded facts before anything is
    written: too few context frames for the model's inference."""
    workdir, export = paths
    out = tmp_path / "out"
    code, err = _evaluate_cli([f"--workdir={workdir}", f"--saved_model={export['base']}", "--conditioning_frames=2",
                               f"--output_dir={out}"], capsys)
    _one_error(code, err, "--conditioning_frames=2", "needs at least 3 context frames")
    assert not out.exists()
