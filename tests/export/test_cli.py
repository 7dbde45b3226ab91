"""`python -m tfvideo.export` through main (in process) and as a module, and the benchmark command."""

import io
import os
import subprocess
import sys

import pytest

from tests.support.cli import REPO, run_cli
from tfvideo.export import __main__ as cli


def test_cli_exported_the_trained_run(saved_model_export):
    export = saved_model_export  # written by cli.main
    assert export["code"] == 0
    assert ("Exported saved_model (version 1, " in export["stdout"]
            and f"to {export['path']}; signatures: serving_default, predict, latents, decode, content_swap, "
               "stream_start, stream_next."
            in export["stdout"])


@pytest.mark.parametrize("argv,message", [
    (["--export_dir=/tmp/x"], "--workdir must name the training run"),
    (["--workdir={missing}", "--export_dir=/tmp/x"], "not a tfvideo training run"),
    (["--workdir={run}", "--export_dir=/tmp/x", "--quantize=float16"], "--quantize applies to --format=tflite only"),
    (["--workdir={run}", "--export_dir={out}", "--version=1"], "already exists; exported versions are never"),
])
def test_cli_errors_exit_2_with_a_message(trained_run, saved_model_export, tmp_path, capsys, argv, message):
    export = saved_model_export
    values = dict(missing=str(tmp_path / "missing"), run=trained_run, out=export["export_dir"])
    assert run_cli(cli, [a.format(**values) for a in argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfvideo.export", f"--workdir={tmp_path / 'missing'}",
                             f"--export_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=300,
                            cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: Cannot read the run in --workdir=" in result.stderr
