"""The conversion CLI: a converted run that the other CLIs read, and bad input as one `error:` line, exit 2,
nothing written."""

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest

from tests.support.cli import run_cli
from tfvideo import runs

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "original_srvp", "vgg_kth")


def _convert(*args):
    """The CLI's exit status and output (TensorFlow's own start-up lines on stderr aside)."""
    return subprocess.run([sys.executable, "-m", "tfvideo.convert", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.slow
def test_an_experiment_folder_becomes_a_run(tmp_path):
    workdir = tmp_path / "runs" / "kth"
    result = _convert("--from=srvp", f"--source={FIXTURE}", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr
    assert f"Wrote the converted run {workdir}" in result.stdout
    record = json.loads((workdir / "converted_from.json").read_text())
    source = os.path.join(FIXTURE, "model.pt")
    assert record["source"] == os.path.abspath(source) and record["converter"] == "srvp"
    assert record["sha256"] == hashlib.sha256(open(source, "rb").read()).hexdigest()
    assert record["options"] == json.load(open(os.path.join(FIXTURE, "config.json")))
    trained = runs.load_trained_model(str(workdir))
    assert trained.step == 0 and trained.config.model.architecture == "vgg"
    assert sorted(p.name for p in tmp_path.joinpath("runs").iterdir()) == ["kth"]


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def _convert_in_process(capsys, *args):
    """(exit status, the `error:` lines) of the CLI's main run in this process."""
    from tfvideo import convert
    status = run_cli(convert, list(args), prog="tfvideo.convert")
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return status, [line for line in err.splitlines() if line.startswith("error: ")]


def test_a_checkpoint_that_would_run_code_is_one_error_line_and_nothing_runs(tmp_path, capsys):
    folder = tmp_path / "xp"
    shutil.copytree(FIXTURE, folder)
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    pickle.dump(_Payload(str(marker)), buffer, protocol=2)  # in place of the legacy format's magic number
    (folder / "model.pt").write_bytes(buffer.getvalue())
    workdir = tmp_path / "runs" / "evil"
    status, errors = _convert_in_process(capsys, "--from=srvp", f"--source={folder}", f"--workdir={workdir}")
    assert status == 2 and len(errors) == 1 and "not a PyTorch checkpoint" in errors[0], errors
    assert not marker.exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args,message", [
    (["--from=caffe", f"--source={FIXTURE}"], "--from='caffe': expected one of"),
    (["--from=srvp"], "--source is required"),
    (["--from=srvp", f"--source={FIXTURE}/config.json"], "is not a folder"),
])
def test_unknown_sources_and_missing_flags_are_refused(tmp_path, capsys, args, message):
    status, errors = _convert_in_process(capsys, *args, f"--workdir={tmp_path / 'w'}")
    assert status == 2 and len(errors) == 1 and message in errors[0], errors
    assert not (tmp_path / "w").exists()


def test_an_existing_run_is_never_overwritten(tmp_path, capsys):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "config.json").write_text("{}")
    status, errors = _convert_in_process(capsys, "--from=srvp", f"--source={FIXTURE}", f"--workdir={workdir}")
    assert status == 2 and "already holds files" in errors[0]
    assert os.listdir(workdir) == ["config.json"]


@pytest.mark.slow
def test_a_converted_vgg_model_with_skips_exports_to_tflite(tmp_path):
    """The authors' KTH, Human3.6M and BAIR models are VGG with skip connections (the TFLite converter needs the
    skip tensors' static channel counts, which `SRVP.decode` keeps)."""
    from tfvideo import conversion
    from tfvideo.export import lib
    workdir = str(tmp_path / "kth")
    conversion.convert("srvp", FIXTURE, workdir)
    result = lib.export(workdir, str(tmp_path / "exports"), format="tflite")
    assert os.path.getsize(result.path) > 0


SVG_FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "original_svg", "svglp_vgg_legacy.pth")


@pytest.mark.slow  # a subprocess that imports TensorFlow and converts: ~30 s on a busy 2-core machine
def test_an_svg_checkpoint_becomes_a_run(tmp_path):
    workdir = tmp_path / "runs" / "svg"
    result = _convert("--from=svg", f"--source={SVG_FIXTURE}", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr
    record = json.loads((workdir / "converted_from.json").read_text())
    assert record["converter"] == "svg" and record["source"] == os.path.abspath(SVG_FIXTURE)
    assert record["sha256"] == hashlib.sha256(open(SVG_FIXTURE, "rb").read()).hexdigest()
    assert record["options"]["model"] == "vgg" and record["options"]["optimizer"] == "torch.optim.adam.Adam"
    trained = runs.load_trained_model(str(workdir))
    assert (trained.config.model.model, trained.config.model.networks) == ("svg", "svg")
    assert trained.config.model.encoding_size == record["options"]["g_dim"]


def test_a_checkpoint_of_another_model_is_one_error_line(tmp_path, capsys):
    workdir = tmp_path / "runs" / "wrong"
    status, errors = _convert_in_process(capsys, "--from=svg", f"--source={os.path.join(FIXTURE, 'model.pt')}",
                                         f"--workdir={workdir}")
    assert status == 2 and len(errors) == 1 and "not an SVG checkpoint" in errors[0], errors
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_converted_svg_vgg_model_with_skips_exports_to_tflite(tmp_path):
    """SVG's BAIR model is VGG with skip connections: the TFLite converter needs the skip tensors' static sizes
    (which `SVG.encode` / `SVG.decode` keep) to lower the decoder's convolutions inside the rollout loop."""
    from tfvideo import conversion
    from tfvideo.export import lib
    workdir = str(tmp_path / "bair")
    conversion.convert("svg", SVG_FIXTURE, workdir)
    result = lib.export(workdir, str(tmp_path / "exports"), format="tflite")
    assert os.path.getsize(result.path) > 0
