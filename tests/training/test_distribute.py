"""tf.distribute training: strategy construction, the distributed step, and two MultiWorkerMirroredStrategy
workers on localhost matching a single-worker run of the same global batch."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import REPO
from tests.support.configs import TINY_FLAGS, TINY_TRAIN, tiny_config
from tfvideo import config as config_lib
from tfvideo.training import distribute
from tfvideo.models import guarded_step
from tfvideo.training import train_lib
from tfvideo.models import build_model


CLUSTER = {"worker": ["host0:2222", "host1:2222", "host2:2222"]}


@pytest.mark.parametrize("tf_config, expected", [
    ({}, {"type": None, "index": 0, "is_chief": True, "num_workers": 1}),
    ({"cluster": CLUSTER, "task": {"type": "worker", "index": 0}}, {"is_chief": True, "num_workers": 3}),
    ({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}}, {"is_chief": False, "index": 2}),
    ({"cluster": {**CLUSTER, "chief": ["c:1"]}, "task": {"type": "worker", "index": 0}},
     {"is_chief": False, "num_workers": 4}),
    ({"cluster": {**CLUSTER, "chief": ["c:1"]}, "task": {"type": "chief", "index": 0}}, {"is_chief": True}),
])
def test_task_info_names_the_chief(tf_config, expected):
    info = distribute.task_info(tf_config)
    assert {key: info[key] for key in expected} == expected


@pytest.mark.parametrize("text, message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('["a list"]', "must be a JSON object"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "is not in its cluster"),
    ('{"cluster": {"worker": ["a:1"]}}', "needs a 'cluster' object and a 'task' object"),
])
def test_bad_tf_config_is_a_clear_error(monkeypatch, text, message):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(distribute.DistributeError, match=message):
        distribute.build_strategy("multi_worker")


def test_unknown_strategy_and_missing_tpu_are_config_errors(monkeypatch):
    with pytest.raises(config_lib.ConfigError, match="Unknown --strategy='gpus'"):
        distribute.build_strategy("gpus")
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(config_lib.ConfigError, match="no TPU found.*--strategy=default"):
        distribute.build_strategy("tpu")


def test_global_batch_must_split_evenly():
    strategy = distribute.build_strategy("default")
    assert distribute.is_chief(strategy) and distribute.per_replica_batch(strategy, 6) == 6
    one = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert distribute.per_replica_batch(one, 5) == 5

    class Three:  # the check only reads num_replicas_in_sync
        num_replicas_in_sync = 3
    assert distribute.per_replica_batch(Three(), 6) == 2
    with pytest.raises(config_lib.ConfigError, match="multiple of the 3 replicas.*--batch_size=3"):
        distribute.per_replica_batch(Three(), 5)


def _trained(strategy, batches, config, initial):
    """(weights, moving statistics, logs of each step) after training `config`'s model, starting from the
    variable values `initial` (seed-generator states included), on `batches`."""
    with strategy.scope():
        model = build_model(config)
        for variable, value in zip(model.variables, initial):
            variable.assign(value)
        model.compile(optimizer=train_lib.make_optimizer(config.train))
        model.optimizer.build(model.trainable_variables)
        step = distribute.make_train_function(strategy, model)
        stream = distribute.distribute_stream(strategy, tf.data.Dataset.from_tensor_slices(batches))
        logs = [{k: float(v) for k, v in step(batch).items()} for batch in stream.take(len(batches))]
    return [v.numpy() for v in model.trainable_variables], [v.numpy() for v in guarded_step.statistics(model)], logs


def test_distributed_step_matches_the_single_device_step_and_skips_nonfinite_batches():
    config = tiny_config(train={"batch_size": 2})
    videos = tf.random.stateless_uniform([3, 2, 5, 64, 64, 1], seed=[4, 5])
    batches = tf.concat([videos[:2], tf.fill([1, 2, 5, 64, 64, 1], np.nan), videos[2:]], axis=0)
    initial = [v.numpy() for v in build_model(config).variables]
    single = _trained(distribute.build_strategy("default"), batches, config, initial)
    mirrored = _trained(tf.distribute.MirroredStrategy(["/cpu:0"]), batches, config, initial)
    assert [log["skipped"] for log in mirrored[2]] == [0.0, 0.0, 1.0, 0.0] == [log["skipped"] for log in single[2]]
    for name in ("loss", "nll", "kl_z"):
        np.testing.assert_allclose([log[name] for log in mirrored[2]], [log[name] for log in single[2]], rtol=1e-6)
    for ours, reference in zip(mirrored[0] + mirrored[1], single[0] + single[1]):
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-7)
    assert all(np.isfinite(w).all() for w in mirrored[0] + mirrored[1])


# ------------------------------------------------------------------------------------ two workers on localhost

# The tiny config (later flags win) with a batch of 4, 2 per worker.
WORKER_FLAGS = [*TINY_FLAGS, "--test_horizon=2", "--batch_size=4", "--log_every=1", "--num_gif_videos=1",
                "--num_gif_samples=1", "--lr_burnin_steps=2", "--lr_decay_steps=4", "--checkpoint_every=2",
                "--precision=float32"]  # exact comparisons: no bfloat16 rounding on top of the reduction order

LEARNING_RATE = TINY_TRAIN["learning_rate"]  # 3 steps of at most this each (lr burn-in of 2 steps, then decay)

# Runs the training CLI and saves the trained model's variables (captured where train_lib builds it).
WORKER = """
import sys
import numpy as np
from absl import flags
from tfvideo import train
from tfvideo.training import train_lib
built = []
build = train_lib.build_model
train_lib.build_model = lambda *args, **kwargs: built.append(build(*args, **kwargs)) or built[-1]
code = train.main(flags.FLAGS(["tfvideo.train", *sys.argv[2:]]))
np.savez(sys.argv[1], **{f"{i}": v.numpy() for i, v in enumerate(built[0].variables) if "float" in str(v.dtype)})
sys.exit(code)
"""


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _launch(script, weights, flags_, env):
    return subprocess.Popen([sys.executable, str(script), str(weights), *WORKER_FLAGS, *flags_], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _workers(tmp_path, script, workdir, steps, tag):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = {**os.environ, "TF_CONFIG": tf_config, "TMPDIR": str(tmp_path / f"tmp{index}")}
        os.makedirs(env["TMPDIR"], exist_ok=True)
        procs.append(_launch(script, tmp_path / f"{tag}_worker{index}.npz",
                             [f"--workdir={workdir}", f"--train_steps={steps}", "--strategy=multi_worker"], env))
    return procs


def _finish(procs):
    outputs = [proc.communicate(timeout=600)[0] for proc in procs]
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, out[-3000:]
    return outputs


@pytest.mark.slow
def test_two_workers_match_one_worker_and_resume(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workdir, single_dir = tmp_path / "run", tmp_path / "single"
    # Two workers train 2 steps of global batch 4 (2 videos each); one worker trains the same 4-video batches.
    procs = _workers(tmp_path, script, workdir, 2, "first")
    single = _launch(script, tmp_path / "single.npz", [f"--workdir={single_dir}", "--train_steps=3"],
                     {**os.environ, "TF_CONFIG": ""})
    outputs = _finish(procs)
    assert all("Finished at step 2" in out for out in outputs)
    # Only the chief wrote into the workdir; the other worker's scratch checkpoint is gone.
    assert sorted(os.listdir(workdir / "checkpoints")) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    assert not [name for name in os.listdir(tmp_path / "tmp1") if name.startswith("tfvideo_worker_")]
    assert (workdir / "samples").is_dir() and (workdir / "config.json").exists()
    # Both resume from the chief's checkpoint and train one more step.
    outputs = _finish(_workers(tmp_path, script, workdir, 3, "resumed"))
    for out in outputs:
        assert "Resuming from checkpoint at step 2" in out and "Finished at step 3" in out, out[-3000:]
    assert "Finished at step 3" in _finish([single])[0]

    first, second, reference = (np.load(tmp_path / name) for name in
                                ("resumed_worker0.npz", "resumed_worker1.npz", "single.npz"))
    assert sorted(first.files) == sorted(reference.files) and len(first.files) > 20
    moved = 0
    for key in reference.files:
        np.testing.assert_array_equal(first[key], second[key])  # both replicas hold identical variables
        # All-reduce sums in another order than one device: float32 rounding. Adam's first steps move a weight by
        # about lr * sign(gradient) whatever its size, so for gradients near zero the rounding can flip a step
        # (up to 2 lr per step, in 0.3% of a kernel's entries seen); a missing sync would move most entries.
        close = np.isclose(first[key], reference[key], rtol=2e-4, atol=2e-5)
        assert close.mean() >= 0.99, (key, close.mean())
        assert np.abs(first[key] - reference[key]).max() <= 2 * 3 * LEARNING_RATE, key
        moved += not np.allclose(reference[key], np.load(tmp_path / "first_worker0.npz")[key])
    assert moved > 10  # the resumed step changed the weights: the comparison is not between untrained models


def test_non_chief_workers_save_into_a_scratch_directory_they_empty(tmp_path):
    config = tiny_config(str(tmp_path / "run"))
    model = build_model(config)
    optimizer = train_lib.make_optimizer(config.train)
    optimizer.build(model.trainable_variables)
    scratch = distribute.ScratchCheckpoint(str(tmp_path / "scratch"), model, optimizer)
    for step in (1, 2):  # the checkpoint manager copes with its files being gone
        assert "ckpt-" in scratch.save(step) and os.listdir(scratch.directory) == []
    scratch.cleanup()
    assert not (tmp_path / "scratch").exists()
    chief = distribute.saving_checkpoint(distribute.build_strategy("default"), scratch, model, optimizer)
    assert chief is scratch  # the chief (any single worker) saves with the workdir's checkpoint
