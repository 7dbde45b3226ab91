"""The training optimizer: Adam with the learning-rate schedule, and the update the original codes use.

Both updates keep m and v as Keras' Adam does (m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, at step t):

- `--adam_update=keras` (Keras' Adam): w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + 1e-7), i.e.
  the epsilon is added to sqrt(v) before the bias correction of v.
- `--adam_update=pytorch` (`PyTorchAdam`, torch.optim.Adam as the SRVP and SVG codes use it):
  w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + 1e-8).

They differ only while sqrt(v_hat) is near epsilon (rarely-updated or near-zero gradients), and early on: at step
1 Keras' update of a gradient g is lr * g / (|g| + 1e-7 / sqrt(1 - b2)) = lr * g / (|g| + 3.2e-6), PyTorch's
lr * g / (|g| + 1e-8). The optimizer state (iterations, momentums, velocities) is the same variables in both, so a
checkpoint written with one restores in the other.
"""

from __future__ import annotations

import keras
from keras import ops

from tfvideo import config as config_lib
from tfvideo.training import schedules

PYTORCH_EPSILON = 1e-8  # torch.optim.Adam's default eps


@keras.saving.register_keras_serializable(package="tfvideo")
class PyTorchAdam(keras.optimizers.Adam):
    """Adam with PyTorch's update: the epsilon is added to the bias-corrected sqrt(v) (see the module docstring).

    Same constructor as keras.optimizers.Adam (epsilon defaults to PyTorch's 1e-8); amsgrad is not supported.
    """

    def __init__(self, learning_rate=0.001, epsilon: float = PYTORCH_EPSILON, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("PyTorchAdam does not implement amsgrad.")
        super().__init__(learning_rate=learning_rate, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        """One update of `variable` (any shape) by `gradient` (its shape)."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(correction_2)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction_1), denominator))


def make_optimizer(train_config: config_lib.TrainConfig) -> keras.optimizers.Optimizer:
    """Adam (`--adam_update`) on the schedule of `--learning_rate`, `--lr_burnin_steps`, `--lr_decay_steps`."""
    schedule = schedules.BurnInLinearDecay(train_config.learning_rate, train_config.lr_burnin_steps,
                                           train_config.lr_decay_steps)
    if train_config.adam_update == "pytorch":
        return PyTorchAdam(learning_rate=schedule)
    return keras.optimizers.Adam(learning_rate=schedule)
