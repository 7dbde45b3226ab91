"""`python -m tfvideo.evaluate --tflite=FILE`: a TFLite export scored with the model's protocol (best-of-N on the
run's test set, the seed of draw i for video i); a float32 file scores what the checkpoint scores."""

import json
import os

import numpy as np
import pytest

from tests.support.cli import run_cli
from tfvideo.evaluation import eval_lib

OPTIONS = dict(num_samples=3, num_videos=2, horizon=4, seed=5, batch_size=2)


@pytest.fixture(scope="module")
def paths(trained_run, tflite_export):
    return trained_run, tflite_export("none")


def test_float32_file_scores_what_the_checkpoint_scores(paths, tmp_path):
    workdir, path = paths
    model = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, output_dir=str(tmp_path / "model")))
    tflite = eval_lib.evaluate(workdir, eval_lib.EvalOptions(**OPTIONS, tflite=path,
                                                              output_dir=str(tmp_path / "tflite")))
    assert tflite["predictor"] == "tflite:srvp_float32" and model["predictor"] == "model"
    # The two compute the same frames up to float rounding (LiteRT's XNNPACK kernels against TensorFlow's). SSIM
    # is in [-1, 1] and this untrained model's per-step mean can sit near 0, where only an absolute tolerance
    # holds (XNNPACK's AVX2 kernels gave -3.74997e-6 against -3.75183e-6); a wrong seed or frame moves it ~1e-3.
    for name, atol in (("psnr", 0.0), ("ssim", 1e-6)):
        np.testing.assert_allclose(tflite["metrics"][name]["per_step"]["mean"],
                                   model["metrics"][name]["per_step"]["mean"], rtol=1e-4, atol=atol)
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


def _run_copy(workdir: str, target, **train) -> str:
    """A copy of the run's config.json (all a --tflite evaluation reads of the run) with `train` fields changed."""
    os.makedirs(target)
    with open(os.path.join(workdir, "config.json")) as handle:
        config = json.load(handle)
    config["train"].update(train)
    (target / "config.json").write_text(json.dumps(config))
    return str(target)


def _evaluate_cli(argv, capsys) -> tuple[int, str]:
    from tfvideo import evaluate
    code = run_cli(evaluate, [*argv, "--num_videos=1", "--num_samples=2", "--horizon=3", "--nofigures"])
    return code, capsys.readouterr().err


def test_a_file_of_another_run_is_refused_naming_both_or_labelled_when_allowed(paths, tmp_path, capsys):
    workdir, path = paths
    other = _run_copy(workdir, tmp_path / "other", seed=7)
    code, err = _evaluate_cli([f"--workdir={other}", f"--tflite={path}", f"--output_dir={tmp_path / 'out'}"], capsys)
    assert code == 2 and "Traceback" not in err
    step = json.load(open(path + ".json"))["step"]
    assert f"--tflite={path} was exported from another run ({os.path.abspath(workdir)}, step {step}, run " in err
    assert f"than --workdir={other} (run " in err and "train.seed: 7 -> 0" in err and "--allow_other_run" in err
    assert not os.path.exists(tmp_path / "out")
    code, err = _evaluate_cli([f"--workdir={other}", f"--tflite={path}", "--allow_other_run"], capsys)
    assert code == 0, err
    (folder,) = os.listdir(os.path.join(other, "eval"))
    assert folder.endswith("_other_run")
    with open(os.path.join(other, "eval", folder, eval_lib.RESULTS_FILE)) as handle:
        results = json.load(handle)
    assert results["exported_from"]["workdir"] == os.path.abspath(workdir)
    assert results["exported_from"]["step"] == step and "--allow_other_run" in results["command"]
    assert not results["comparability"]["comparable_to_paper"]


def test_a_file_of_the_same_run_resumed_with_other_steps_is_its_own(paths, tmp_path, capsys):
    workdir, path = paths
    resumed = _run_copy(workdir, tmp_path / "resumed", train_steps=50, log_every=5)
    code, err = _evaluate_cli([f"--workdir={resumed}", f"--tflite={path}"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("metadata", [None, "[]", '{"config": null}', '{"config": {"model": {"latent_size": "x"}}}'],
                         ids=["missing", "list", "null_config", "bad_config"])
def test_a_file_of_unknown_origin_is_refused(metadata, paths, tmp_path, capsys):
    workdir, path = paths
    copy = tmp_path / "model.tflite"
    copy.write_bytes(open(path, "rb").read())
    if metadata is not None:
        (tmp_path / "model.tflite.json").write_text(metadata)
    code, err = _evaluate_cli([f"--workdir={workdir}", f"--tflite={copy}", f"--output_dir={tmp_path / 'out'}"],
                              capsys)
    assert code == 2 and "Traceback" not in err, err
    assert len([line for line in err.splitlines() if line.startswith("error: ")]) == 1, err
    assert f"{copy}" in err and any(reason in err for reason in (
        "does not say which run", "unreadable run config", "holds a JSON list, not an object")), err
