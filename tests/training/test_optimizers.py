"""Tests for tfvideo.training.optimizers: PyTorch's Adam update against it written out in NumPy, and checkpoints
that restore under either update."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tfvideo.models import build_model
from tfvideo.training import checkpointing, optimizers


def _torch_adam(weights, gradients, lr, beta_1=0.9, beta_2=0.999, eps=1e-8):
    """torch.optim.Adam's update (its documented algorithm, amsgrad off), step after step, in float64."""
    w, m, v = weights.astype(np.float64), np.zeros_like(weights, np.float64), np.zeros_like(weights, np.float64)
    for t, g in enumerate(gradients, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - (lr / (1 - beta_1 ** t)) * m / (np.sqrt(v) / np.sqrt(1 - beta_2 ** t) + eps)
    return w


def _apply(optimizer, weights, gradients):
    variable = tf.Variable(weights)
    optimizer.build([variable])
    for g in gradients:
        optimizer.apply_gradients([(tf.constant(g), variable)])
    return variable.numpy()


def _gradients(rng, shape, steps):
    """Gradients from 1e-7 to 1e-1 in size, where the two epsilons weigh differently."""
    scale = 10.0 ** rng.integers(-7, 0, shape)
    return [(rng.standard_normal(shape) * scale).astype(np.float32) for _ in range(steps)]


def test_pytorch_update_is_torchs_adam_written_out():
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((3, 4)).astype(np.float32)
    gradients = _gradients(rng, (3, 4), steps=5)
    expected = _torch_adam(weights, gradients, lr=1e-3)
    ours = _apply(optimizers.PyTorchAdam(learning_rate=1e-3), weights, gradients)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2e-7)
    keras_adam = _apply(tf.keras.optimizers.Adam(learning_rate=1e-3), weights, gradients)
    assert np.abs(keras_adam - expected).max() > 1e-5  # Keras' update is another one on small gradients


def test_make_optimizer_follows_adam_update_with_the_schedule():
    train = tiny_config().train
    assert type(optimizers.make_optimizer(train)) is tf.keras.optimizers.Adam
    pytorch = optimizers.make_optimizer(tiny_config(train=dict(adam_update="pytorch")).train)
    assert isinstance(pytorch, optimizers.PyTorchAdam) and pytorch.epsilon == 1e-8
    assert float(pytorch.learning_rate) == pytest.approx(train.learning_rate)
    with pytest.raises(ValueError, match="amsgrad"):
        optimizers.PyTorchAdam(amsgrad=True)


def test_a_checkpoint_of_either_update_restores_strictly_in_the_other(tmp_path):
    saved = {}
    for update in ("keras", "pytorch"):
        config = tiny_config(str(tmp_path / update), train=dict(adam_update=update))
        model = build_model(config)
        optimizer = optimizers.make_optimizer(config.train)
        model.compile(optimizer=optimizer)
        optimizer.build(model.trainable_variables)
        optimizer.iterations.assign(7)
        checkpointing.RunCheckpoint(config.train.workdir, model, optimizer).save(7)
        saved[update] = config
    for written, reader in (("keras", "pytorch"), ("pytorch", "keras")):
        config = saved[written].replace(train=dict(adam_update=reader))
        model = build_model(config)
        optimizer = optimizers.make_optimizer(config.train)
        model.compile(optimizer=optimizer)
        optimizer.build(model.trainable_variables)
        assert checkpointing.RunCheckpoint(config.train.workdir, model, optimizer).restore_latest(strict=True) == 7
        assert int(optimizer.iterations.numpy()) == 7
