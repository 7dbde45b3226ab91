"""Training under faults: NaN batches, a disk that fills up mid-run, and `kill -9` at random moments."""

import dataclasses
import glob
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import REPO, run_train as run_main
from tests.support.configs import TINY_FLAGS, tiny_config
from tfvideo.training import checkpointing
from tfvideo.models import guarded_step
from tfvideo.training import train_lib
from tfvideo.data import registry as data_registry

# ------------------------------------------------------------------------------------------------ NaN batches


def _tiny_model_and_optimizer():
    """A tiny SRVP (seed 0), compiled with its built Adam optimizer."""
    import keras
    from tfvideo.models import build_model
    config = tiny_config()
    keras.utils.set_random_seed(0)
    model = build_model(config)
    optimizer = train_lib.make_optimizer(config.train)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    return model, optimizer


@pytest.fixture(scope="module")
def stepper():
    """A tiny SRVP with its optimizer, its compiled train_step, and two batches [2, 5, 64, 64, 1]."""
    model, optimizer = _tiny_model_and_optimizer()
    step = tf.function(model.train_step)
    good = np.random.default_rng(0).uniform(size=(2, 5, 64, 64, 1)).astype(np.float32)
    step(good)  # optimizer slots and batch-norm statistics are not at their initial values any more
    return model, optimizer, step, good


def _state(model, optimizer):
    """Everything a step may change except the seed generators: weights, batch-norm statistics, optimizer."""
    seeds = {id(v) for v in checkpointing.seed_generator_states(model)}
    return {f"{i}:{v.path}": np.array(v.numpy()) for i, v in enumerate(model.variables + optimizer.variables)
            if id(v) not in seeds}


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_a_non_finite_batch_skips_the_step_and_changes_nothing(stepper, bad_value):
    model, optimizer, step, good = stepper
    bad = good.copy()
    bad[1, 2, 30, 40, 0] = bad_value  # one pixel
    before, iterations = _state(model, optimizer), int(optimizer.iterations)
    assert float(step(bad)["skipped"]) == 1.0
    after = _state(model, optimizer)
    assert before.keys() == after.keys() and any("moving_mean" in k for k in before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    # The next finite batch trains as usual.
    assert float(step(good)["skipped"]) == 0.0
    changed = _state(model, optimizer)
    assert int(optimizer.iterations) == iterations + 1
    assert all(np.isfinite(v).all() for v in changed.values())
    assert sum(not np.array_equal(changed[k], before[k]) for k in before) > len(before) // 2


@pytest.mark.parametrize("values, safe", [([[1e3, -2.0], None], True), ([[1e20, 0.0]], False),
                                           ([[np.nan]], False), ([[-np.inf, 1.0]], False), ([None], True)])
def test_gradients_are_safe_rejects_non_finite_and_overflowing_squares(values, safe):
    grads = [None if v is None else tf.constant(v, tf.float32) for v in values]
    assert bool(guarded_step.gradients_are_safe(grads)) is safe


def test_a_finite_gradient_whose_square_overflows_is_skipped_and_adam_stays_finite():
    """Gradients of ~1e25 are finite, but Adam's second moment g^2 is inf and one step later NaN: skip them."""
    model, optimizer = _tiny_model_and_optimizer()
    compute = model.compute_loss_terms
    scale = tf.Variable(1.0)
    model.compute_loss_terms = lambda videos, training=False: {
        name: value * scale if name == "loss" else value for name, value in compute(videos, training).items()}
    step = tf.function(model.train_step)
    good = np.random.default_rng(1).uniform(size=(2, 5, 64, 64, 1)).astype(np.float32)
    assert float(step(good)["skipped"]) == 0.0
    scale.assign(1e25)
    before = _state(model, optimizer)
    assert float(step(good)["skipped"]) == 1.0
    after = _state(model, optimizer)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    scale.assign(1.0)
    for _ in range(2):
        assert float(step(good)["skipped"]) == 0.0
    assert all(np.isfinite(v).all() for v in _state(model, optimizer).values())


def _poison(monkeypatch, bad_steps):
    """Makes the training stream put a NaN pixel in the batches of `bad_steps` (1-based training steps)."""
    original = data_registry.get_data_source

    def get_data_source(data_config):
        source = original(data_config)

        def train_stream(batch_size, seed=0, start_index=0):
            first = start_index // batch_size + 1
            bad = tf.constant(sorted(bad_steps), tf.int64)

            def poison(index, batch):
                hit = tf.reduce_any(tf.equal(first + index, bad))
                return tf.where(hit, tf.tensor_scatter_nd_update(batch, [[0, 1, 5, 7, 0]], [np.nan]), batch)

            return source.train_stream(batch_size, seed=seed, start_index=start_index).enumerate().map(poison)

        return dataclasses.replace(source, train_stream=train_stream)

    monkeypatch.setattr(train_lib.data_registry, "get_data_source", get_data_source)


def _tensors(prefix, section):
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if name.startswith(section)}


def test_nan_batches_in_a_row_stop_training_with_the_last_good_checkpoint_intact(tmp_path, monkeypatch, capsys,
                                                                                 caplog):
    """Steps 3 and from 5 on get a NaN pixel: step 3 is skipped and training goes on; the 3rd skip in a row
    (step 7) stops it with the message. The checkpoint of step 6, saved between skipped steps, holds exactly
    the weights and optimizer state of step 4, all finite. (A residual gain of 0.5 keeps the tiny untrained
    dynamics small: with the paper's 1.41, y grows fast enough that the tiny prior's scale now and then
    collapses, its gradients overflow, and a clean step is rightly skipped too: 3 of 180 clean steps over
    30 seeds, against 0 of 180 with 0.5.)"""
    _poison(monkeypatch, {3} | set(range(5, 13)))
    workdir = tmp_path / "run"
    with caplog.at_level("WARNING"):
        assert run_main([*TINY_FLAGS, "--residual_gain=0.5", f"--workdir={workdir}", "--train_steps=12",
                         "--checkpoint_every=2", "--max_nonfinite_steps=3"]) == 2
    err = capsys.readouterr().err
    assert "error: 3 consecutive steps had a NaN/Inf loss or gradient (last at step 7); training stopped." in err
    assert f"The newest intact checkpoint is {workdir / 'checkpoints' / 'ckpt-6'} (step 6) (checkpoints hold finite " \
        "weights only)" in err
    ckpt = str(workdir / "checkpoints" / "ckpt-")
    assert sorted(os.path.basename(p) for p in glob.glob(ckpt + "*.index")) == \
        ["ckpt-2.index", "ckpt-4.index", "ckpt-6.index"]
    step_4, step_6 = _tensors(ckpt + "4", "model/"), _tensors(ckpt + "6", "model/")
    step_4.update(_tensors(ckpt + "4", "optimizer/"))
    step_6.update(_tensors(ckpt + "6", "optimizer/"))
    assert step_4.keys() == step_6.keys()
    for name in step_4:
        np.testing.assert_array_equal(step_6[name], step_4[name], err_msg=name)
        assert np.isfinite(step_4[name]).all(), name
    skips = re.findall(r"Step (\d+) skipped", caplog.text)
    assert skips == ["3", "5", "6", "7"], skips
    assert step_4["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == 3, skips  # 4 steps, step 3 skipped


def test_a_window_of_skipped_steps_logs_no_loss(tmp_path, monkeypatch, capsys):
    """Steps 3 and 4 are skipped: the log line of step 4 shows the skips, not loss terms of 0."""
    _poison(monkeypatch, {3, 4})
    assert run_main([*TINY_FLAGS, "--residual_gain=0.5", f"--workdir={tmp_path / 'run'}", "--train_steps=6",
                     "--checkpoint_every=6", "--log_every=2", "--max_nonfinite_steps=5"]) == 0
    lines = {line.split(" (")[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")}
    assert "skipped=2" in lines["step 4/6"] and "loss=" not in lines["step 4/6"], lines["step 4/6"]
    for step in (2, 6):
        assert "loss=" in lines[f"step {step}/6"] and "skipped" not in lines[f"step {step}/6"]
        assert not re.search(r"loss=0 ", lines[f"step {step}/6"])


def _overflow_after(monkeypatch, first_bad_step: int) -> None:
    """Adam's learning rate becomes inf from `first_bad_step` (1-based) on: its update, with finite gradients,
    leaves NaN/Inf weights (what --learning_rate=inf did before the config refused it)."""
    import keras

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):  # step: the optimizer's iterations before the update (0-based)
            return tf.where(step + 1 >= first_bad_step, float("inf"), 1e-3)

        def get_config(self):
            return {}

    monkeypatch.setattr(train_lib, "make_optimizer", lambda tc: keras.optimizers.Adam(learning_rate=Schedule()))


@pytest.mark.parametrize("checkpoint_every, message, kept", [
    (1, r"At step 2 \d+ variable\(s\) hold NaN/Inf \(e\.g\. .*\): no checkpoint was saved\. The newest intact "
        r"checkpoint is \S+/ckpt-1 \(step 1\)\.", 1),
    (2, r"The weights hold NaN/Inf at step 4 .*training stopped\. The newest intact checkpoint is \S+/ckpt-2 "
        r"\(step 2\) \(checkpoints hold finite weights only\)\.", 2),
])
def test_weights_that_overflow_are_never_checkpointed(tmp_path, monkeypatch, capsys, checkpoint_every, message, kept):
    """The update of step `checkpoint_every` + 1 overflows the weights (its gradients are finite, so it is applied).
    With checkpoint_every=1 the checkpoint of step 2 is refused; with 2, step 4 is skipped (NaN loss), finds the
    weights non-finite and stops at once. Either way the only checkpoint is the finite one before the overflow."""
    _overflow_after(monkeypatch, checkpoint_every + 1)
    workdir = tmp_path / "run"
    assert run_main([*TINY_FLAGS, "--residual_gain=0.5", f"--workdir={workdir}", "--train_steps=8",
                     f"--checkpoint_every={checkpoint_every}", "--max_nonfinite_steps=5"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "last good" not in err
    assert [os.path.basename(p) for p in glob.glob(str(workdir / "checkpoints" / "*.index"))] == [f"ckpt-{kept}.index"]
    weights = _tensors(str(workdir / "checkpoints" / f"ckpt-{kept}"), "model/")
    assert weights and all(np.isfinite(v).all() for v in weights.values())


def test_save_refuses_non_finite_weights_and_writes_nothing(tmp_path):
    model, optimizer = _tiny_model_and_optimizer()
    state = checkpointing.RunCheckpoint(str(tmp_path), model, optimizer)
    state.save(1)
    model.trainable_variables[3].assign(tf.fill(model.trainable_variables[3].shape, np.inf))
    with pytest.raises(checkpointing.NonFiniteWeightsError, match=r"At step 2 1 variable\(s\) hold NaN/Inf .*no "
                                                                    r"checkpoint was saved\. The newest intact "
                                                                    r"checkpoint is \S+ckpt-1 \(step 1\)"):
        state.save(2)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["checkpoint", "ckpt-1.data-00000-of-00001",
                                                            "ckpt-1.index"]


# ------------------------------------------------------------------------------------------------ disk faults


def test_low_free_space_fails_before_any_work(tmp_path, monkeypatch, capsys):
    loaded = []
    monkeypatch.setattr(train_lib.data_registry, "get_data_source", lambda cfg: loaded.append(cfg))
    monkeypatch.setattr(checkpointing.shutil, "disk_usage",
                        lambda path: checkpointing.shutil._ntuple_diskusage(2**30, 2**30 - 2**20, 2**20))
    assert run_main([*TINY_FLAGS, f"--workdir={tmp_path / 'run'}", "--train_steps=4"]) == 2
    assert "has only 1 MiB free; checkpoints need at least 200 MiB" in capsys.readouterr().err
    assert not loaded and not (tmp_path / "run" / "checkpoints").exists()


def test_a_full_disk_mid_run_stops_with_the_previous_checkpoint_intact(tmp_path, monkeypatch, capsys):
    """The save of step 4 fails as TensorFlow fails on a full disk (measured on a full tmpfs), after writing
    part of its files: training stops naming ckpt-2, which the same command then resumes from."""
    workdir = tmp_path / "run"
    real_save = tf.train.CheckpointManager.save

    def save(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number != 4:
            return real_save(manager, checkpoint_number=checkpoint_number, **kwargs)
        temp = os.path.join(manager.directory, "ckpt-4_temp")
        os.makedirs(temp)
        open(os.path.join(temp, "part-00000-of-00001.data-00000-of-00001.tempstate1"), "wb").write(b"\0" * 64)
        op = "{{function_node __wrapped__SaveV2_dtypes_164_device_/job:localhost/replica:0/task:0/device:CPU:0}}"
        raise tf.errors.ResourceExhaustedError(None, None, f"{op} {temp}/part-00000-of-00001.data-00000-of-00001."
                                               "tempstate1; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    flags = [*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=6", "--checkpoint_every=2"]
    assert run_main(flags) == 2
    err = capsys.readouterr().err
    assert re.search(r"error: Could not write the checkpoint of step 4 to \S+/checkpoints: \S+tempstate1; No space "
                     r"left on device\. The newest intact checkpoint is \S+/ckpt-2 \(step 2\)\. Free disk space", err)
    assert "function_node" not in err and "[Op:" not in err
    assert sorted(os.listdir(workdir / "checkpoints")) == ["checkpoint", "ckpt-2.data-00000-of-00001",
                                                           "ckpt-2.index"]
    monkeypatch.setattr(tf.train.CheckpointManager, "save", real_save)
    assert run_main(flags) == 0
    assert "Resuming from checkpoint at step 2" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ kill -9


KILL_STEPS = 30  # kills target steps 1..15: a kill 0.2 s late (~7 steps here) still finds the run training
# Checkpoint every 3 steps; one progress line per step (printed before that step's checkpoint is written);
# the learning rate stays > 0 to the end so that every step changes the weights.
KILL_FLAGS = [*TINY_FLAGS, f"--train_steps={KILL_STEPS}", "--checkpoint_every=3", "--log_every=1",
              "--lr_decay_steps=100", "--max_checkpoints=2"]
STEP_LINE = re.compile(r"^step (\d+)/")


class _Run:
    """A training subprocess whose output lines are collected by a thread."""

    def __init__(self, workdir):
        env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tfvideo.train", *KILL_FLAGS, f"--workdir={workdir}"],
                                     env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def last_step(self) -> int:
        steps = [int(m.group(1)) for m in map(STEP_LINE.match, list(self.lines)) if m]
        return max(steps, default=0)

    def kill_after(self, step: int, delay: float, timeout: float = 240) -> int:
        """SIGKILLs the process `delay` s after it reported `step`; returns the last step it reported."""
        deadline = time.time() + timeout
        while self.last_step() < step:
            assert self.proc.poll() is None and time.time() < deadline, self.problem()
            time.sleep(0.01)
        time.sleep(delay)
        assert self.proc.poll() is None, f"finished before the kill at step {step} + {delay:.2f} s"
        self.proc.send_signal(signal.SIGKILL)
        return self.finish(timeout)

    def finish(self, timeout: float = 240) -> int:
        self.proc.wait(timeout)
        self.reader.join(timeout)
        return self.last_step()

    def output(self) -> str:
        return "".join(self.lines)

    def problem(self) -> str:
        """The output without TensorFlow's C++ log lines, last 3000 characters (for assertion messages)."""
        lines = [line for line in self.lines if not re.match(r"[IWE]\d{4} |WARNING: All log messages", line)]
        return "".join(lines)[-3000:]

    def resumed_from(self) -> int | None:
        match = re.search(r"Resuming from checkpoint at step (\d+)", self.output())
        return int(match.group(1)) if match else None


def _debris(directory) -> list[str]:
    """What a kill during a save leaves: ckpt-<step>_temp/ directories, checkpoint files the list does not name."""
    if not os.path.isdir(directory):
        return []
    state = open(f"{directory}/checkpoint").read() if os.path.exists(f"{directory}/checkpoint") else ""
    listed = set(re.findall(r'"(ckpt-\d+)"', state))
    return sorted(name for name in os.listdir(directory) if name.endswith("_temp")
                  or name.startswith("ckpt-") and name.split(".")[0] not in listed)


def _newest_intact(directory) -> int | None:
    steps = [int(re.search(r"ckpt-(\d+)\.index$", p).group(1)) for p in glob.glob(f"{directory}/ckpt-*.index")]
    return max((s for s in steps if checkpointing.unreadable_reason(f"{directory}/ckpt-{s}") is None), default=None)


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_matches_an_uninterrupted_run(tmp_path):
    """SIGKILLs at 3 (TFVIDEO_KILLS) random steps, each a random 0-0.2 s after that step's progress line (so some
    land while a checkpoint is being written); each rerun of the same command must resume from the newest intact
    checkpoint, and the final checkpoint must equal an uninterrupted run's, bit for bit: weights, batch-norm
    statistics, Adam moments and iteration count (the learning-rate schedule), step, seed-generator states."""
    seed = int(os.environ.get("TFVIDEO_KILL_SEED", random.SystemRandom().randrange(10**6)))
    rng = random.Random(seed)
    reference = _Run(tmp_path / "reference")  # runs alongside the killed ones
    workdir = tmp_path / "killed"
    targets = sorted(rng.sample(range(1, 16), int(os.environ.get("TFVIDEO_KILLS", 3))))
    report = []
    runs = []
    for target in targets:
        runs.append(_Run(workdir))
        delay = rng.uniform(0.0, 0.2)
        reached = runs[-1].kill_after(target, delay)
        report.append(dict(target=target, delay=round(delay, 3), killed_after_step=reached,
                           newest_intact_checkpoint=_newest_intact(workdir / "checkpoints"),
                           left_behind=_debris(workdir / "checkpoints")))
    runs.append(_Run(workdir))
    assert runs[-1].finish() == KILL_STEPS and runs[-1].proc.returncode == 0, runs[-1].problem()
    assert reference.finish() == KILL_STEPS and reference.proc.returncode == 0, reference.problem()
    print(f"\nkill seed {seed} (rerun with TFVIDEO_KILL_SEED={seed}):")
    for index, entry in enumerate(report):
        entry["resumed_from"] = runs[index + 1].resumed_from()
        entry["lost_steps"] = entry["killed_after_step"] - (entry["resumed_from"] or 0)
        print(f"  kill {index + 1}: {entry}")
    for entry in report:  # each rerun resumed from the newest intact checkpoint the kill left
        assert entry["resumed_from"] == entry["newest_intact_checkpoint"], (seed, report)
        assert entry["lost_steps"] < 2 * 3, (seed, report)  # at most the steps since the last checkpoint
    expected = _tensors(str(tmp_path / "reference" / "checkpoints" / f"ckpt-{KILL_STEPS}"), "")
    got = _tensors(str(workdir / "checkpoints" / f"ckpt-{KILL_STEPS}"), "")
    assert got.keys() == expected.keys() and any(k.startswith("seed_states/") for k in got)
    differing = {name: "differs" if np.asarray(got[name]).dtype.kind in "OSU" else
                 float(np.max(np.abs(np.asarray(got[name], np.float64) - expected[name])))
                 for name in expected if not np.array_equal(got[name], expected[name])}
    assert not differing, f"seed {seed}: {len(differing)} of {len(expected)} tensors differ: {differing}; {report}"
