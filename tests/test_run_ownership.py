"""One live owner per output, through the CLIs: a training per workdir, an evaluation per output folder, an
export per TFLite file or SavedModel version. Another live owner (a real process) -> exit 2 with one `error:` line
naming it, and the target untouched; two trainings started together on one workdir -> one trains, the other is
refused."""

import importlib
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.cli import REPO, run_cli
from tests.support.configs import TINY_FLAGS
from tests.support.files import digest
from tests.support.locks import start_holder, stop


def _refused(module: str, args: list[str], target, capsys) -> str:
    before = digest(str(target))
    code = run_cli(importlib.import_module(module), args)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert len([line for line in err.splitlines() if line.startswith("error: ")]) == 1, err
    assert digest(str(target)) == before
    return err


def test_a_training_refuses_a_workdir_a_live_training_owns(trained_run, tmp_path, capsys):
    workdir = tmp_path / "run"
    shutil.copytree(trained_run, workdir, ignore=shutil.ignore_patterns("eval"))
    holder = start_holder("folder", workdir, "training")
    try:
        err = _refused("tfvideo.train", [*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=9"], workdir, capsys)
        assert f"--workdir='{workdir}' is in use by a live training: pid {holder.pid} on " in err
    finally:
        stop(holder)


def test_an_evaluation_refuses_an_output_folder_a_live_evaluation_owns(trained_run, tmp_path, capsys):
    output = tmp_path / "eval"
    holder = start_holder("folder", output, "evaluation")
    try:
        err = _refused("tfvideo.evaluate", [f"--workdir={trained_run}", "--num_videos=2",
                                            "--num_samples=2", f"--output_dir={output}", "--nofigures"], output, capsys)
        assert f"--output_dir='{output}' is in use by a live evaluation: pid {holder.pid}" in err
    finally:
        stop(holder)


@pytest.mark.parametrize("args, target", [
    (["--format=tflite"], "srvp_float32.tflite"),
    (["--format=saved_model", "--version=7"], "srvp/7"),
], ids=["tflite", "saved_model"])
def test_an_export_refuses_a_file_or_version_a_live_export_writes(args, target, trained_run, tmp_path, capsys):
    export_dir = tmp_path / "exports"
    holder = start_holder("file", export_dir / target, "export")
    try:
        err = _refused("tfvideo.export.__main__", [f"--workdir={trained_run}",
                                                   f"--export_dir={export_dir}", *args], export_dir, capsys)
        assert f"is in use by a live export: pid {holder.pid}" in err
        assert not os.path.exists(export_dir / target)
    finally:
        stop(holder)


@pytest.mark.slow
def test_two_trainings_started_together_on_one_workdir_one_is_refused(tmp_path):
    """The issue's case: the same flags, one with another latent size, at the same moment."""
    workdir = tmp_path / "run"
    base = [sys.executable, "-m", "tfvideo.train", *TINY_FLAGS, f"--workdir={workdir}", "--checkpoint_every=1"]
    env = {**os.environ, "PYTHONPATH": REPO}
    processes = [subprocess.Popen([*base, *extra], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for extra in (["--train_steps=4"], ["--train_steps=3", "--latent_size=4"])]
    results = [(p.wait(timeout=600), *p.communicate()) for p in processes]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    (winner,) = [i for i, (code, _, _) in enumerate(results) if code == 0]
    loser_err = results[1 - winner][2]
    assert "is in use by a live training: pid" in loser_err and "Traceback" not in loser_err
    steps = sorted(int(name.split("-")[1].split(".")[0]) for name in os.listdir(workdir / "checkpoints")
                   if name.startswith("ckpt-") and name.endswith(".index"))
    assert steps[-1] == (4 if winner == 0 else 3)
    assert ('"latent_size": 4' in (workdir / "config.json").read_text()) == (winner == 1)
