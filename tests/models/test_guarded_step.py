"""The guarded update (`tfvideo.models.guarded_step`) is one rule on every path: a step whose gradients are finite
but overflow Adam when squared (~1e25) is skipped under MirroredStrategy with 2 replicas exactly as on one device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.support.cli import REPO
from tests.support.configs import tiny_config

# Two logical CPU devices must be configured before TensorFlow initialises: the comparison runs in a fresh process.
# Three steps on the same batch: clean, loss x 1e25 (gradients ~1e25: finite, squares overflow), clean. It writes
# per strategy the "skipped" logs, the state entries the huge step changed, and the final state (replica 0).
SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from tests.support.configs import tiny_config
from tfvideo.models import build_model
from tfvideo.training import checkpointing, distribute, train_lib

config = tiny_config(model={"residual_gain": 0.5}, train={"batch_size": 4})  # small tiny dynamics: moderate gradients
videos = tf.random.stateless_uniform([4, 5, 64, 64, 1], seed=[3, 8])
keras.utils.set_random_seed(0)
initial = [v.numpy() for v in build_model(config).variables]


def tracked(model):  # everything a step may change but the seed generators: weights, statistics, optimizer
    seeds = {id(v) for v in checkpointing.seed_generator_states(model)}
    return [v for v in model.variables + model.optimizer.variables if id(v) not in seeds]


def state(strategy, model):  # {"<index>:replica<r>": value}: variable paths differ between two builds
    return {f"{i}:replica{r}": np.array(value) for i, v in enumerate(tracked(model))
            for r, value in enumerate(strategy.experimental_local_results(v.value))}


def run(strategy):
    scale = tf.Variable(1.0, trainable=False)
    with strategy.scope():
        model = build_model(config)
        for variable, value in zip(model.variables, initial):
            variable.assign(value)
        compute = model.compute_loss_terms
        model.compute_loss_terms = lambda v, training=False: {
            name: value * scale if name == "loss" else value for name, value in compute(v, training).items()}
        model.compile(optimizer=train_lib.make_optimizer(config.train))
        model.optimizer.build(model.trainable_variables)
        step = distribute.make_train_function(strategy, model)
        stream = distribute.distribute_stream(strategy, tf.data.Dataset.from_tensors(videos).repeat(3))
        skipped, changed = [], None
        for index, batch in enumerate(stream.take(3)):
            scale.assign(1e25 if index == 1 else 1.0)
            before = state(strategy, model)
            skipped.append(float(step(batch)["skipped"]))
            if index == 1:
                after = state(strategy, model)
                changed = [name for name in before if not np.array_equal(before[name], after[name])]
        final = state(strategy, model)
    return {"replicas": strategy.num_replicas_in_sync, "skipped": skipped, "changed_by_huge_step": changed,
            "entries": sorted(before), "paths": [v.path for v in tracked(model)],
            "finite": all(np.isfinite(v).all() for v in final.values())}, final


single, single_state = run(distribute.build_strategy("default"))
mirrored, mirrored_state = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
np.savez(sys.argv[1] + "_single.npz", **{k.replace(":replica0", ""): v for k, v in single_state.items()})
np.savez(sys.argv[1] + "_mirrored.npz", **mirrored_state)
print("RESULT " + json.dumps({"single": single, "mirrored": mirrored}))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The facts SCRIPT prints, and the final states (single device; mirrored, keys per replica)."""
    tmp = tmp_path_factory.mktemp("guarded")
    (tmp / "compare.py").write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, str(tmp / "compare.py"), str(tmp / "state")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), np.load(tmp / "state_single.npz"), np.load(tmp / "state_mirrored.npz")


@pytest.mark.slow
def test_overflowing_gradients_are_skipped_under_mirrored_strategy_as_on_one_device(runs):
    facts, single, mirrored = runs
    assert facts["single"]["replicas"] == 1 and facts["mirrored"]["replicas"] == 2
    for name in ("single", "mirrored"):
        run = facts[name]
        assert run["skipped"] == [0.0, 1.0, 0.0], name
        # Weights, batch-norm statistics, optimizer slots and iterations: none moved, on any replica.
        assert run["changed_by_huge_step"] == [], (name, run["changed_by_huge_step"][:5])
        assert any("moving_mean" in path for path in run["paths"])
        assert any("velocity" in path for path in run["paths"]), run["paths"][-5:]
        assert any(path.endswith("iteration") for path in run["paths"]), run["paths"][-5:]
        assert run["finite"], name
    assert any(entry.endswith(":replica1") for entry in facts["mirrored"]["entries"])
    # Both replicas hold the same state, and it is the single-device state up to the all-reduce's rounding. Adam
    # divides each gradient by its own root mean square, so where a gradient is near zero (near its epsilon) a
    # rounding difference in it changes that weight's update by a fair part of the learning rate: a few such
    # elements may differ by more, within the 2 x lr per applied step that two Adam updates can differ at most;
    # a wrong reduction (a replica's gradient lost, a sum for a mean) moves most elements, not a few.
    assert len(single.files) > 20
    learning_rate, applied_steps = tiny_config().train.learning_rate, 2
    for key in single.files:
        np.testing.assert_array_equal(mirrored[key + ":replica0"], mirrored[key + ":replica1"], err_msg=key)
        actual, expected = mirrored[key + ":replica0"], single[key]
        difference = np.abs(actual - expected)
        outside = difference > 2e-5 + 2e-4 * np.abs(expected)
        assert outside.sum() <= max(1, 1e-3 * outside.size), (key, int(outside.sum()), outside.size)
        assert difference.max() <= 2 * learning_rate * applied_steps, (key, float(difference.max()))
