"""`python -m tfvideo.predict`: futures of a clip the tests write (mp4, gif, frame folder, npy) from the tiny trained
run (the `trained_run` fixture) and its exports; every bad input gives one `error:` line and exit code 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.support.cli import REPO, run_predict
from tests.support.configs import TINY_DATA
from tests.support.videos import write_clips
from tfvideo.data import clips, video_files
from tfvideo.utils import video_io

CONTEXT_FRAMES = TINY_DATA["conditioning_frames"]  # the trained run's
RULE = clips.Preprocessing(64, 1)  # the tiny SM-MNIST run's: centre square, 64x64, grayscale


@pytest.fixture(scope="module")
def workdir(trained_run):
    return trained_run


@pytest.fixture(scope="module")
def clip_paths(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def trained(workdir):
    from tfvideo import runs
    return runs.load_trained_model(workdir)


def _ok(result):
    assert result["code"] == 0, result["err"]
    return result


@pytest.mark.parametrize("kind", ["mp4", "gif", "frames", "npy"])
def test_every_input_kind_gives_the_futures_generate_gives(kind, workdir, clip_paths, trained, tmp_path):
    """The .npy output is model.generate(the preprocessed clip, seed) for --num_samples <= --batch_samples."""
    out = str(tmp_path / "futures.npy")
    result = _ok(run_predict([f"--workdir={workdir}", f"--input={clip_paths[kind]}", "--num_samples=3",
                              "--horizon=4", "--seed=5", "--start_frame=1", f"--output={out}"]))
    assert f"Wrote {out}: 3 futures of 4 frames (seed 5)" in result["out"]
    frames = np.load(out)
    assert frames.shape == (3, 4, 64, 64, 1) and frames.dtype == np.float32
    context = clips.read_clip(clip_paths[kind], RULE, start_frame=1, num_frames=CONTEXT_FRAMES)
    expected = trained.model.generate(context[None], num_samples=3, horizon=4, seed=5).numpy()[0]
    np.testing.assert_allclose(frames, expected, atol=1e-6)


def test_gif_grid_shows_the_preprocessed_context_then_each_future(workdir, clip_paths, tmp_path):
    gif, npy = str(tmp_path / "f.gif"), str(tmp_path / "f.npy")
    argv = [f"--workdir={workdir}", f"--input={clip_paths['mp4']}", "--num_samples=2", "--horizon=3", "--seed=1"]
    _ok(run_predict(argv + [f"--output={gif}", "--uncertainty"]))
    _ok(run_predict(argv + [f"--output={npy}"]))
    frames = video_io.read_gif(gif)[:, ::2, ::2]  # drawn 2x2
    assert frames.shape == (CONTEXT_FRAMES + 3, video_io.COUNTER_HEIGHT + 68, 4 * 68, 3)  # 4 panels

    def cell(t, column):
        top = video_io.COUNTER_HEIGHT + 2
        return frames[t, top:top + 64, column * 68 + 2:column * 68 + 66].astype(int)

    context = video_io.to_uint8_rgb(clips.read_clip(clip_paths["mp4"], RULE, num_frames=CONTEXT_FRAMES))
    squashed = video_files.read_video(clip_paths["mp4"], channels=1,
                                      frame_transform=lambda frame: video_files.resize(frame, 64))
    squashed = video_io.to_uint8_rgb(squashed / 255)  # the whole frame resized: another geometry than training's
    futures = video_io.to_uint8_rgb(np.load(npy))
    for t in range(CONTEXT_FRAMES):  # GIF palettes round a few levels
        assert np.abs(cell(t, 0) - context[t]).mean() < 1.5 and np.abs(cell(t, 1) - context[t]).max() <= 8
        assert np.abs(cell(t, 0) - squashed[t]).mean() > 5  # so the comparison could fail
    for f in range(3):
        for s in range(2):
            assert np.abs(cell(CONTEXT_FRAMES + f, 1 + s) - futures[s, f]).mean() < 1.5
        assert np.abs(cell(CONTEXT_FRAMES + f, 0) - context[-1]).mean() < 1.5  # the last context frame stays


def test_mp4_and_png_outputs_and_a_finer_dt(workdir, clip_paths, tmp_path):
    mp4, png = str(tmp_path / "f.mp4"), str(tmp_path / "sheet.png")
    _ok(run_predict([f"--workdir={workdir}", f"--input={clip_paths['gif']}", "--num_samples=2", "--horizon=3",
                     "--dt=0.5", f"--output={mp4}"]))
    assert video_files.read_video(mp4).shape[0] == CONTEXT_FRAMES + 6  # 3 frames at twice the rate
    result = _ok(run_predict([f"--workdir={workdir}", f"--input={clip_paths['frames']}", "--num_samples=3",
                              f"--output={png}", "--uncertainty"]))
    assert "7 frames" in result["out"]  # the run's --test_horizon
    from PIL import Image
    with Image.open(png) as image:
        assert image.format == "PNG"
    assert sorted(os.listdir(tmp_path)) == ["f.mp4", "sheet.png"]  # nothing else (no temporary files)


def test_batches_keep_the_first_batch_and_show_progress(workdir, clip_paths, tmp_path):
    one, three = str(tmp_path / "one.npy"), str(tmp_path / "three.npy")
    argv = [f"--workdir={workdir}", f"--input={clip_paths['npy']}", "--num_samples=5", "--horizon=2", "--seed=9"]
    _ok(run_predict(argv + [f"--output={one}"]))
    result = _ok(run_predict(argv + [f"--output={three}", "--batch_samples=2"]))
    assert "sample 5/5 (100%)" in result["out"]
    single, batched = np.load(one), np.load(three)
    np.testing.assert_allclose(batched[:2], single[:2], atol=1e-6)  # batch 0 is the seed's first futures
    assert np.abs(batched[2:] - single[2:]).max() > 1e-3  # the other batches have seeds of their own


def test_overwrite(workdir, clip_paths, tmp_path):
    out = tmp_path / "f.npy"
    out.write_bytes(b"keep me")
    argv = [f"--workdir={workdir}", f"--input={clip_paths['npy']}", "--num_samples=2", "--horizon=2",
            f"--output={out}"]
    result = run_predict(argv)
    assert result["code"] == 2 and "already exists: pass --overwrite" in result["err"]
    assert out.read_bytes() == b"keep me"
    _ok(run_predict(argv + ["--overwrite"]))
    assert np.load(out).shape == (2, 2, 64, 64, 1)


def test_the_output_is_checked_before_the_model_is_loaded(clip_paths, tmp_path, monkeypatch):
    from tfvideo import runtimes

    def never(**kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(runtimes, "open_runtime", never)
    (tmp_path / "file").write_text("x")
    result = run_predict([f"--workdir={tmp_path}", f"--input={clip_paths['mp4']}",
                          f"--output={tmp_path / 'file' / 'f.gif'}"])
    assert result["code"] == 2 and "is a file, not a folder" in result["err"]


def _bad_case(case, workdir, clip_paths, tmp_path, untrained):
    """(argv, expected message) of one bad input."""
    good = {"workdir": workdir, "input": clip_paths["mp4"], "output": str(tmp_path / "out.gif")}
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(os.urandom(3000))
    np.save(tmp_path / "two_channels.npy", np.zeros((6, 64, 64, 2), np.float32))
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "exists.gif").write_bytes(b"GIF89a")
    changes, message = {
        "unreadable file": ({"input": str(tmp_path / "missing.mp4")}, "no such file or folder"),
        "corrupt file": ({"input": str(broken)}, "cannot read the clip"),
        "not a clip": ({"input": str(tmp_path / "a_file")}, "not a clip tfvideo reads"),
        "clip too short": ({"start_frame": 6}, "has 9 frame\\(s\\); 5 context frame\\(s\\) from frame 6 need 11"),
        "channels": ({"input": str(tmp_path / "two_channels.npy")}, "frames with 2 channels; the model uses 1"),
        "dt not 1/k": ({"dt": 0.3}, "--dt must be of the form 1/k"),
        "dt too small": ({"dt": 1e-5}, "--dt=1e-05 is too small"),
        "no checkpoint": ({"workdir": untrained}, "No checkpoint in"),
        "no such step": ({"step": 99}, "99"),
        "extension": ({"output": str(tmp_path / "out.avi")}, "cannot write .avi files"),
        "folder not writable": ({"output": str(tmp_path / "a_file" / "out.gif")}, "is a file, not a folder"),
        "existing output": ({"output": str(tmp_path / "exists.gif")}, "already exists: pass --overwrite"),
        "no output": ({"output": ""}, "--output must name the file to write"),
        "no input": ({"input": ""}, "--input must name a clip"),
        "two models": ({"tflite": "x.tflite"}, "Give exactly one model"),
        "zero samples": ({"num_samples": 0}, "--num_samples must be a whole number >= 1"),
        "too many frames": ({"num_samples": 2**31 - 1, "horizon": 2**31 - 1}, "needs at least .* GiB of memory"),
        "context too short": ({"context_frames": 1}, "needs at least 3 context frames"),
        "uncertainty npy": ({"output": str(tmp_path / "o.npy"), "uncertainty": True}, "--uncertainty draws a panel"),
        "uncertainty of one": ({"num_samples": 1, "uncertainty": True}, "needs --num_samples >= 2"),
        "fps": ({"fps": 0}, "--fps must be a finite number > 0"),
        "seed": ({"seed": 2**31}, "--seed must be an int32"),
    }[case]
    values = {**good, **changes}
    argv = [(f"--{k}" if v else f"--no{k}") if isinstance(v, bool) else f"--{k}={v}" for k, v in values.items()]
    return argv, message


BAD_CASES = ["unreadable file", "corrupt file", "not a clip", "clip too short", "channels", "dt not 1/k",
             "dt too small", "no checkpoint", "no such step", "extension", "folder not writable", "existing output",
             "no output", "no input", "two models", "zero samples", "too many frames", "context too short",
             "uncertainty npy", "uncertainty of one", "fps", "seed"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_one_error_line_and_exit_2_with_no_output(case, workdir, clip_paths, tmp_path,
                                                               untrained_workdir):
    argv, message = _bad_case(case, workdir, clip_paths, tmp_path, untrained_workdir)
    before = set(os.listdir(tmp_path))
    result = run_predict(argv)
    assert result["code"] == 2, result
    lines = result["err"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result["err"]
    assert re.search(message, lines[0]), lines[0]
    assert "Sampling" not in result["out"]  # refused before any sampling
    assert set(os.listdir(tmp_path)) == before  # nothing written


def test_the_command_line_gives_no_traceback(tmp_path):
    """The real process (`python -m tfvideo.predict`): one error line, exit code 2."""
    command = [sys.executable, "-m", "tfvideo.predict", f"--workdir={tmp_path}", f"--input={tmp_path / 'no.mp4'}",
               f"--output={tmp_path / 'out.gif'}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: Cannot read the run in --workdir=")
    assert not os.path.exists(tmp_path / "out.gif")


@pytest.mark.slow
def test_workdir_saved_model_and_tflite_give_the_same_futures(workdir, clip_paths, tmp_path, saved_model_export,
                                                              tflite_export):
    export = saved_model_export
    tflite = tflite_export()
    argv = [f"--input={clip_paths['gif']}", "--num_samples=4", "--batch_samples=3", "--horizon=3", "--dt=0.5",
            "--seed=17"]
    results = {}
    for name, source in (("workdir", f"--workdir={workdir}"), ("saved_model", f"--saved_model={export['base']}"),
                         ("tflite", f"--tflite={tflite}")):
        out = str(tmp_path / f"{name}.npy")
        _ok(run_predict([source, *argv, f"--output={out}"]))
        results[name] = np.load(out)
    assert results["workdir"].shape == (4, 6, 64, 64, 1)
    np.testing.assert_array_equal(results["saved_model"], results["workdir"])
    np.testing.assert_allclose(results["tflite"], results["workdir"], atol=1e-5)
