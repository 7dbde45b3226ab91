"""`python -m tfvideo.evaluate` through main (in process) on a tiny trained run, and as a module."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.cli import REPO, run_cli
from tests.support.configs import TINY_DATA
from tests.support.runs import TRAINED_STEP
from tfvideo import evaluate


def test_main_evaluates_writes_results_and_figures_then_resumes(trained_run, tmp_path, capsys):
    workdir = trained_run
    out = tmp_path / "eval"
    argv = [f"--workdir={workdir}", "--num_videos=3", "--num_samples=2", f"--output_dir={out}", "--figure_videos=2"]
    assert run_cli(evaluate, argv) == 0
    stdout = capsys.readouterr().out
    assert "| run | PSNR | SSIM | videos | samples | context + horizon | dt |" in stdout
    assert "video 3/3 (100%)" in stdout and "ETA" in stdout
    names = set(os.listdir(out))
    assert {"results.json", "results.md", "spec.json", "videos", "curves.png", "samples_000000.png",
            "samples_000001.gif", "analyses"} <= names
    assert sorted(os.listdir(out / "analyses")) == sorted(
        f"{n}.{e}" for n in ("content_swap", "frame_rate", "interpolation") for e in ("gif", "png"))
    results = json.loads((out / "results.json").read_text())
    assert results["num_videos"] == 3 and results["protocol"]["num_samples"] == 2
    assert results["protocol"]["conditioning_frames"] == TINY_DATA["conditioning_frames"]  # the run's config
    assert results["protocol"]["horizon"] == TINY_DATA["test_horizon"]
    assert (out / "results.md").read_text() in stdout
    before = (out / "results.json").read_text()
    assert run_cli(evaluate, argv + ["--nofigures"]) == 0
    assert "Resuming: 3 of 3 videos already evaluated" in capsys.readouterr().out
    assert (out / "results.json").read_text() == before


def test_compare_draws_one_curve_per_run_and_one_table_row_each(trained_run, tmp_path, capsys):
    workdir = trained_run
    baseline_dir = tmp_path / "baseline"
    assert run_cli(evaluate, [f"--workdir={workdir}", "--baseline=last_frame", "--num_videos=3",
                              f"--output_dir={baseline_dir}", "--nofigures"]) == 0
    capsys.readouterr()
    compare_dir = tmp_path / "compare"
    assert run_cli(evaluate, [f"--compare={workdir},{baseline_dir / 'results.json'}", "--num_videos=3",
                              "--num_samples=2", f"--output_dir={compare_dir}", "--nofigures"]) == 0
    table = (compare_dir / "compare.md").read_text()
    assert table.count("\n| ") == 2 and f"(step {TRAINED_STEP})" in table and "(baseline:last_frame)" in table
    assert os.path.getsize(compare_dir / "compare.png") > 5000
    name = f"step{TRAINED_STEP}_n2_c{TINY_DATA['conditioning_frames']}_h{TINY_DATA['test_horizon']}_dt1_seed0"
    assert os.path.isfile(os.path.join(workdir, "eval", name, "results.json"))


@pytest.mark.parametrize("argv,message", [
    ([], "--workdir must name the training run to evaluate"),
    (["--workdir={missing}"], "not a tfvideo training run"),
    (["--workdir={run}", "--num_videos=2", "--fvd_weights={missing}/i3d.pt"], "rgb_imagenet.pt"),
    (["--workdir={run}", "--horizon=0"], "--horizon must be a whole number >= 1"),
])
def test_bad_input_exits_2_with_a_message(trained_run, tmp_path, capsys, argv, message):
    values = dict(missing=str(tmp_path / "missing"), run=trained_run)
    assert run_cli(evaluate, [a.format(**values) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_flags_shared_with_other_clis_use_this_clis_defaults_unless_given():
    from absl import flags
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["prog"])
    try:
        assert evaluate.CLI.value("batch_size") == 16 and evaluate.CLI.value("conditioning_frames") is None
        assert evaluate.CLI.value("dt") is None and evaluate.CLI.value("num_samples") is None  # predict: 8
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfvideo.evaluate", f"--workdir={tmp_path / 'missing'}"],
                            capture_output=True, text=True, timeout=300, cwd=REPO,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: Cannot read the run in --workdir=" in result.stderr


def test_any_model_is_evaluated_and_only_srvp_gets_the_analyses(tmp_path, capsys):
    from tests.support.configs import tiny_config
    from tfvideo.training import checkpointing
    from tfvideo.models import build_model
    workdir = str(tmp_path / "svg_run")
    config = tiny_config(workdir, model={"model": "svg", "rnn_size": 6, "predictor_layers": 1})
    checkpointing.prepare_workdir(config)
    checkpointing.RunCheckpoint(workdir, build_model(config)).save(1)
    out = tmp_path / "eval"
    assert run_cli(evaluate, [f"--workdir={workdir}", "--num_videos=2", "--num_samples=2", f"--output_dir={out}",
                              "--figure_videos=2"]) == 0
    assert "| svg_run (step 1) |" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["model"] == "svg"
    assert os.path.isfile(out / "samples_000001.png") and not os.path.exists(out / "analyses")


@pytest.mark.slow
def test_checkpoint_best_evaluates_the_best_validation_weights_in_their_own_folder(tmp_path, capsys):
    from tests.support.configs import tiny_config
    from tfvideo.models import build_model
    from tfvideo.training import checkpointing, validation
    workdir = str(tmp_path / "run")
    config = tiny_config(workdir)
    checkpointing.prepare_workdir(config)
    model = build_model(config)
    common = [f"--workdir={workdir}", "--num_videos=2", "--num_samples=2", "--nofigures"]
    assert run_cli(evaluate, [*common, "--checkpoint=best"]) == 2
    assert "error: No best checkpoint in" in capsys.readouterr().err
    validation.BestCheckpoint(workdir, model).offer(9.5, 2)
    checkpointing.RunCheckpoint(workdir, model).save(4)
    assert run_cli(evaluate, common) == 0 and run_cli(evaluate, [*common, "--checkpoint=best"]) == 0
    final, best = (json.loads(open(os.path.join(workdir, "eval", name, "results.json")).read())
                   for name in ("step4_n2_c5_h7_dt1_seed0", "beststep2_n2_c5_h7_dt1_seed0"))
    assert (final["checkpoint_step"], final["checkpoint_choice"]) == (4, "final")
    assert (best["checkpoint_step"], best["checkpoint_choice"]) == (2, "best")
    assert "best_checkpoint" in best["checkpoint"] and best["command"].endswith("--checkpoint=best")
    assert run_cli(evaluate, [*common, "--checkpoint=best", "--baseline=black"]) == 2
    assert "--checkpoint=best picks the run's weights" in capsys.readouterr().err


def test_zeroed_groups_ablation_of_a_hafsvg_run_is_labelled(hafsvg_run, capsys):
    workdir = hafsvg_run
    assert run_cli(evaluate, [f"--workdir={workdir}", "--num_videos=2", "--num_samples=2", "--zeroed_groups=2",
                              "--nofigures"]) == 0
    assert "| hafsvg_run (step 1, z^2 zeroed) |" in capsys.readouterr().out
    name = f"step1_n2_c{TINY_DATA['conditioning_frames']}_h{TINY_DATA['test_horizon']}_dt1_seed0_zeroed2"
    results = json.loads(open(os.path.join(workdir, "eval", name, "results.json")).read())
    assert results["zeroed_groups"] == [2] and "--zeroed_groups=2" in results["command"]
    assert any("HAF-SVG's ablation" in note for note in results["comparability"]["notes"])


@pytest.mark.parametrize("run,groups,message", [
    ("srvp", "1", "error: --zeroed_groups is HAF-SVG's ablation of its groups of z; this run's model is SRVP"),
    ("hafsvg", "3", "error: --zeroed_groups: zeroed_groups [3] out of range"),
    ("hafsvg", "two", "error: --zeroed_groups takes group numbers separated by commas (e.g. 2,3); got 'two'")])
def test_zeroed_groups_are_refused_in_one_error_line(trained_run, hafsvg_run, capsys, run, groups, message):
    workdir = trained_run if run == "srvp" else hafsvg_run
    assert run_cli(evaluate, [f"--workdir={workdir}", "--num_videos=2", f"--zeroed_groups={groups}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
