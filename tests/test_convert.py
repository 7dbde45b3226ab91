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

from tfvideo import runs

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "original_srvp", "vgg_kth")


def _convert(*args):
    """The CLI's exit status and output (TensorFlow's own start-up lines on stderr aside)."""
    return subprocess.run([sys.executable, "-m", "tfvideo.convert", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


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


def test_a_checkpoint_that_would_run_code_is_one_error_line_and_nothing_runs(tmp_path):
    folder = tmp_path / "xp"
    shutil.copytree(FIXTURE, folder)
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    pickle.dump(_Payload(str(marker)), buffer, protocol=2)  # in place of the legacy format's magic number
    (folder / "model.pt").write_bytes(buffer.getvalue())
    workdir = tmp_path / "runs" / "evil"
    result = _convert("--from=srvp", f"--source={folder}", f"--workdir={workdir}")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr and "not a PyTorch checkpoint" in errors[0], \
        result.stderr
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_unknown_sources_and_missing_flags_are_refused(tmp_path):
    result = _convert("--from=caffe", f"--source={FIXTURE}", f"--workdir={tmp_path / 'w'}")
    assert result.returncode == 2 and "error: --from='caffe': expected one of srvp" in result.stderr, result.stderr
    assert not (tmp_path / "w").exists()


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


def test_a_checkpoint_of_another_model_is_one_error_line(tmp_path):
    workdir = tmp_path / "runs" / "wrong"
    result = _convert("--from=svg", f"--source={os.path.join(FIXTURE, 'model.pt')}", f"--workdir={workdir}")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 2 and len(errors) == 1 and "not an SVG checkpoint" in errors[0], result.stderr
    assert not (tmp_path / "runs").exists()
