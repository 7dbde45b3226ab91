"""Evaluation under bad settings and broken files: an error naming the problem and the fix, never a NaN result."""

import dataclasses
import errno
import glob
import io
import json
import os
import tempfile

import numpy as np
import pytest

from tests.support.configs import TINY_DATA, tiny_config
from tfvideo.evaluation import eval_lib
from tfvideo.utils import memory

QUIET = io.StringIO()
P, N = TINY_DATA["conditioning_frames"], TINY_DATA["test_horizon"]


def _baseline_setup(untrained_workdir, out, num_videos=2, predict=None):
    setup = eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(
        baseline="last_frame", num_videos=num_videos, output_dir=str(out)))
    return setup if predict is None else dataclasses.replace(setup, predict=predict)


def test_predicted_frames_with_nan_are_an_error_not_a_result(untrained_workdir, tmp_path):
    """A model that diverges (e.g. SRVP's latent trajectory through a very long context) stops the evaluation at
    its first video: no record, no results."""
    def diverging(context, index):
        return np.full((2, N, *context.shape[1:]), np.nan, np.float32)

    setup = _baseline_setup(untrained_workdir, tmp_path / "out", predict=diverging)
    with pytest.raises(eval_lib.EvalError, match=r"Test video 0: its predicted frames hold NaN/Inf, so it has no "
                                                 r"result \(nothing was written for it\)\. The model diverges"):
        eval_lib.evaluate("unused", stream=QUIET, setup=setup)
    assert not os.path.exists(tmp_path / "out" / "results.json")
    assert not glob.glob(str(tmp_path / "out" / "videos" / "*.json"))


def test_one_video_has_no_interval_and_says_an_interval_needs_two(untrained_workdir, tmp_path):
    results = eval_lib.evaluate("unused", stream=QUIET, setup=_baseline_setup(untrained_workdir, tmp_path / "o",
                                                                              num_videos=1))
    psnr = results["metrics"]["psnr"]
    assert psnr["ci95"] is None and psnr["std"] is None and psnr["per_step"]["ci95"] is None
    assert psnr["note"] == "a 95% interval needs at least 2 videos" and np.isfinite(psnr["mean"])
    table = (tmp_path / "o" / "results.md").read_text()
    assert "no interval: it needs 2+ videos" in table and "±" not in table
    two = eval_lib.evaluate("unused", stream=QUIET, setup=_baseline_setup(untrained_workdir, tmp_path / "t"))
    assert two["metrics"]["psnr"]["ci95"] > 0 and "note" not in two["metrics"]["psnr"]


def test_svg_context_is_checked_against_the_models_own_minimum(tmp_path):
    """SVG reads one context frame at least (SRVP's inference_frames is no field of its config)."""
    from tfvideo.models import build_model
    from tfvideo.training import checkpointing
    workdir = str(tmp_path / "svg_run")
    config = tiny_config(workdir, model={"model": "svg", "rnn_size": 6, "predictor_layers": 1})
    assert config.model.min_context_frames == 1 and not hasattr(config.model, "inference_frames")
    checkpointing.prepare_workdir(config)
    checkpointing.RunCheckpoint(workdir, build_model(config)).save(1)
    setup = eval_lib.prepare(workdir, eval_lib.EvalOptions(conditioning_frames=2, num_videos=1, num_samples=1))
    assert setup.spec["conditioning_frames"] == 2


@pytest.mark.parametrize("name, content", [
    ("spec.json", "{not json"),
    (os.path.join("videos", "000001.json"), '{"index": 1, "psnr": [1.0]'),
    (os.path.join("videos", "000001.json"), '{"index": 1, "psnr": [NaN], "ssim": []}'),
])
def test_a_corrupt_file_in_the_output_folder_is_named_with_the_fix(untrained_workdir, tmp_path, name, content):
    out = tmp_path / "out"
    eval_lib.evaluate("unused", stream=QUIET, setup=_baseline_setup(untrained_workdir, out))
    (out / name).write_text(content)
    with pytest.raises(eval_lib.EvalError) as error:
        eval_lib.evaluate("unused", stream=QUIET, setup=_baseline_setup(untrained_workdir, out))
    assert str(out / name) in str(error.value)
    assert "delete it" in str(error.value) and "another --output_dir" in str(error.value)


def test_an_output_dir_that_is_a_file_is_refused_before_any_work(untrained_workdir, tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    with pytest.raises(eval_lib.EvalError, match=r"it is a file, or a folder above it is\): choose another "
                                                 r"--output_dir"):
        _baseline_setup(untrained_workdir, target)
    assert target.read_text() == "keep me"


def test_a_read_only_run_folder_asks_for_another_output_dir(untrained_workdir, monkeypatch):
    """The default output folder is inside the run: a read-only run needs --output_dir (permission errors are
    simulated, so that the test also holds when run as root)."""
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)  # the writability check's probe file
    with pytest.raises(eval_lib.EvalError, match=r"\(Read-only file system\): pass --output_dir=DIR to write the "
                                                 "evaluation somewhere else"):
        eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(baseline="black", num_videos=1))


def test_a_failed_write_is_an_error_naming_the_file(untrained_workdir, tmp_path, monkeypatch):
    setup = _baseline_setup(untrained_workdir, tmp_path / "out")

    def full_disk(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(eval_lib.files, "atomic_write", full_disk)
    with pytest.raises(eval_lib.EvalError, match=r"Cannot write \S+spec.json \(No space left on device\): free disk "
                                                 "space"):
        eval_lib.evaluate("unused", stream=QUIET, setup=setup)


def test_settings_the_test_videos_cannot_hold_are_refused(untrained_workdir, monkeypatch):
    """A dataset whose test videos are shorter than context + horizon refuses in its data source (here raised as a
    store dataset raises it): the evaluation reports it as an error."""
    from tfvideo.data import errors, registry

    def too_long(data):
        raise errors.DatasetUnavailableError(f"no test video has the {data.conditioning_frames + data.test_horizon} "
                                             "frames of --conditioning_frames + --test_horizon")

    monkeypatch.setattr(registry, "get_data_source", too_long)
    with pytest.raises(eval_lib.EvalError, match=f"no test video has the {1000 + N} frames"):
        eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(
            baseline="black", conditioning_frames=1000))


def test_samples_that_cannot_fit_in_memory_are_refused_naming_the_flags(untrained_workdir):
    with pytest.raises(eval_lib.EvalError, match=r"Evaluating --num_samples=2147483647 futures of --horizon=1000 "
                                                 r"frames .* needs at least .* GiB of memory, but only .* is "
                                                 r"available: lower --num_samples, --horizon or --batch_size"):
        eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(num_samples=2**31 - 1,
                                                                                    horizon=1000))


def test_memory_rule():
    needed = memory.sampling_bytes(2, 3, 5, 64, 1)
    assert needed == 2 * 3 * 5 * 64 * 64 * 4
    assert memory.memory_problem(needed, needed, "x", "lower --y") is None
    assert memory.memory_problem(needed, None, "x", "lower --y") is None  # unknown memory: never refused
    assert memory.memory_problem(needed + 1, needed, "The batch", "lower --y") == \
        "The batch needs at least 0.469 MiB of memory, but only 0.469 MiB is available: lower --y."
    with pytest.raises(memory.MemoryLimitError, match="lower --batch_size"):
        memory.check_fits(10 * memory.GIB, "A batch", "lower --batch_size", available=memory.GIB)
    assert memory.available_bytes() is None or memory.available_bytes() > 0
    config = tiny_config(train={"batch_size": 3})
    assert memory.training_bytes(config) == 3 * config.data.seq_len * 64 * 64 * (1 + 4)


def test_results_json_says_an_interval_needs_two_videos(untrained_workdir, tmp_path):
    eval_lib.evaluate("unused", stream=QUIET, setup=_baseline_setup(untrained_workdir, tmp_path / "o"))
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert "needs at least 2 videos" in results["protocol"]["interval"]
