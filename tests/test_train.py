"""The training CLI through `main` (in process) and as a subprocess that is killed and resumed."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tfvideo import train
from tfvideo.utils import video_io

from tests.support.cli import REPO, run_train
from tests.support.configs import TINY_DATA, TINY_FLAGS, TINY_MODEL, TINY_TRAIN

run_main = run_train


def test_main_trains_checkpoints_and_writes_gif(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=4", "--checkpoint_every=2"]) == 0
    out = capsys.readouterr().out
    assert "Finished at step 4" in out and "kl_z=" in out
    assert out.count("Speed levers: oneDNN ") == 1  # one line: what each lever resolved to, and why
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == \
        sorted(["checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001", "ckpt-4.index",
                "ckpt-4.data-00000-of-00001"])
    gif = video_io.read_gif(os.path.join(workdir, "samples", "step_00000004.gif"))
    assert gif.shape[0] == TINY_DATA["conditioning_frames"] + TINY_DATA["test_horizon"]  # context + horizon frames
    videos, samples = TINY_TRAIN["num_gif_videos"], TINY_TRAIN["num_gif_samples"]
    assert gif.shape[1] == 2 * videos * (64 + 4)  # a row per video
    assert gif.shape[2] == 2 * (1 + samples) * (64 + 4)  # a column for the ground truth and for each sample
    assert gif.std() > 0
    assert os.listdir(os.path.join(workdir, "tensorboard"))

    # Extending the run resumes from step 4 with the optimizer state.
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=6", "--checkpoint_every=2"]) == 0
    out = capsys.readouterr().out
    assert "Resuming from checkpoint at step 4" in out and "Finished at step 6" in out

    # Rerunning a finished run trains nothing and says how to continue.
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=6"]) == 0
    assert "raise --train_steps" in capsys.readouterr().out


def test_workdir_of_another_configuration_is_refused(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=2"]) == 0
    capsys.readouterr()
    latent = TINY_MODEL["latent_size"]
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=2", f"--latent_size={latent + 1}"]) == 2
    err = capsys.readouterr().err
    assert f"model.latent_size: {latent} -> {latent + 1}" in err and "new --workdir" in err


@pytest.mark.parametrize("bad_flag, message", [
    ("--model=lstm", "Unknown --model='lstm'"),
    ("--dataset=imagenet", "Unknown --dataset='imagenet'"),
    ("--dt=0.3", "1/k"),
    ("--dt=0.0001", "--dt=0.0001 is too small: --dt must be of the form 1/k with at most 1000 Euler steps"),
    (f"--conditioning_frames={TINY_DATA['seq_len']}", "must be smaller than --seq_len"),
    ("--image_size=48", "--image_size=48 is not supported: the models' encoders and decoders take 64x64 frames"),
    ("--model=svg", f"--latent_size={TINY_MODEL['latent_size']} is not used by --model=svg (it is a field of "
                    "--model=srvp)"),  # TINY_FLAGS are SRVP's
])
def test_bad_flags_fail_before_work_with_a_clear_message(tmp_path, capsys, bad_flag, message):
    workdir = tmp_path / "run"
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", bad_flag]) == 2
    assert message in capsys.readouterr().err
    assert not workdir.exists()  # nothing was created


def test_missing_dataset_names_the_fix_and_leaves_no_run_behind(tmp_path, capsys):
    """The data is opened before config.json is written: fixing --data_dir (or any flag) and rerunning into
    the same --workdir is not refused as 'another configuration'."""
    workdir, no_data = tmp_path / "run", tmp_path / "no_data"
    bair = ["--dataset=bair", f"--data_dir={no_data}", "--channels=3", f"--workdir={workdir}", "--train_steps=2"]
    assert run_main([*TINY_FLAGS, *bair]) == 2
    err = capsys.readouterr().err
    assert "BAIR robot pushing is not prepared" in err and "python -m tfvideo.data.prepare --dataset=bair" in err
    assert not workdir.exists()
    workdir.mkdir()  # a directory the user made keeps existing, without a config.json
    assert run_main([*TINY_FLAGS, *bair]) == 2
    assert workdir.is_dir() and not os.listdir(workdir)
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=2"]) == 0  # SM-MNIST in the same dir


def test_a_precision_that_would_abort_tensorflow_is_refused_before_the_workdir(tmp_path, capsys, monkeypatch):
    from tfvideo.perf import machine
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN capped below the AVX-512 that the CPU reports
    monkeypatch.setattr(machine, "cpu_flags", lambda path=None: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    workdir = tmp_path / "run"
    assert run_main([*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=1", "--precision=mixed_bfloat16"]) == 2
    err = capsys.readouterr().err
    assert "--precision=mixed_bfloat16: precision mixed_bfloat16 cannot run with ONEDNN_MAX_CPU_ISA=AVX2" in err
    assert "Traceback" not in err and not workdir.exists()


def test_unwritable_workdir_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run_main([*TINY_FLAGS, f"--workdir={blocker / 'run'}", "--train_steps=2"]) == 2
    assert "not writable" in capsys.readouterr().err


def test_a_users_tf_enable_onednn_opts_0_is_respected_by_the_cli(tmp_path):
    cmd = [sys.executable, "-m", "tfvideo.train", *TINY_FLAGS, f"--workdir={tmp_path / 'run'}", "--train_steps=1",
           "--precision=auto"]
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_ENABLE_ONEDNN_OPTS": "0"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("Speed levers: oneDNN off (TF_ENABLE_ONEDNN_OPTS=0 set by the user); precision auto -> float32 "
            "(oneDNN off: no fast bfloat16 kernels)") in result.stdout


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    workdir = str(tmp_path / "run")
    cmd = [sys.executable, "-m", "tfvideo.train", *TINY_FLAGS, f"--workdir={workdir}", "--train_steps=40",
           "--checkpoint_every=5"]
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    index = os.path.join(workdir, "checkpoints", "checkpoint")
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(index) and "ckpt-10" in open(index).read():
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(index) as handle:
        last = int(handle.readline().split("ckpt-")[1].strip().strip('"'))
    assert 10 <= last < 40
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resuming from checkpoint at step {last}" in result.stdout
    assert "Finished at step 40" in result.stdout
    final = result.stdout.split("Finished at step 40:")[1]
    assert np.isfinite(float(final.split("loss=")[1].split(",")[0]))
