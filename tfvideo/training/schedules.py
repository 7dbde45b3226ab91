"""Learning-rate schedule of SRVP: constant for `burnin_steps`, then linear decay to 0 over `decay_steps`."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfvideo")
class BurnInLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = base_lr for step < burnin_steps, then base_lr * max(0, 1 - (step - burnin) / decay_steps).

    With decay_steps = 0 the rate stays constant.
    """

    def __init__(self, base_lr: float, burnin_steps: int, decay_steps: int):
        self.base_lr = float(base_lr)
        self.burnin_steps = int(burnin_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        if self.decay_steps <= 0:
            return tf.fill([], self.base_lr)
        progress = tf.maximum(step - self.burnin_steps, 0.0) / self.decay_steps
        return self.base_lr * tf.maximum(1.0 - progress, 0.0)

    def get_config(self):
        return {"base_lr": self.base_lr, "burnin_steps": self.burnin_steps, "decay_steps": self.decay_steps}
