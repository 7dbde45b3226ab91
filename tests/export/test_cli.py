"""`python -m tfvideo.export` through main (in process) and as a module, and the benchmark command."""

import io
import os
import subprocess
import sys

import pytest

from export_testlib import REPO, run_cli, saved_model_export, trained_run
from tfvideo.export import __main__ as cli


def test_cli_exported_the_trained_run(tmp_path_factory):
    export = saved_model_export(tmp_path_factory)  # written by cli.main
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
def test_cli_errors_exit_2_with_a_message(tmp_path_factory, tmp_path, capsys, argv, message):
    export = saved_model_export(tmp_path_factory)
    values = dict(missing=str(tmp_path / "missing"), run=trained_run(tmp_path_factory), out=export["export_dir"])
    assert run_cli(cli, [a.format(**values) for a in argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfvideo.export", f"--workdir={tmp_path / 'missing'}",
                             f"--export_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=300,
                            cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "error: Cannot read the run in --workdir=" in result.stderr


@pytest.mark.slow
def test_benchmark_reports_sizes_latencies_and_errors(tmp_path_factory, tmp_path):
    from tfvideo.export import benchmark
    out = io.StringIO()
    rows = benchmark.run_benchmark(trained_run(tmp_path_factory), str(tmp_path), num_samples=3, horizon=2,
                                   batch_size=1, runs=2, formats=("saved_model", "float16"), out=out)
    assert [row["format"] for row in rows] == ["SavedModel", "TFLite float16"]
    text = out.getvalue()
    assert text.count("\n| ") == 3 and "\n| TFLite float16 | " in text  # header + 2 formats
    assert all(row["size"] > 10_000 and len(row["times"]) == 2 and min(row["times"]) > 0 for row in rows)
    assert 0 < rows[1]["max_err"] < 0.1
    assert os.path.isdir(tmp_path / "srvp_benchmark" / "1")
    assert sorted(os.listdir(tmp_path)) == ["srvp_benchmark", "srvp_benchmark_float16.tflite",
                                            "srvp_benchmark_float16.tflite.json"]
    with pytest.raises(ValueError, match="--formats must be among"):
        benchmark.run_benchmark(trained_run(tmp_path_factory), str(tmp_path), formats=("onnx",))
