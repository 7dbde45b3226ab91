"""Keras batch normalization that can run as TF's fused kernel: same math, fewer passes over the activations.

Keras 3's BatchNormalization computes moments and the normalisation with separate element-wise ops, and
under a mixed precision policy it also casts every activation to float32 and back. `BatchNormalization`
below is that layer (same variables and semantics) with an optional fused path, `fused=True`:
`FusedBatchNormV3` in training (one oneDNN kernel forward, one backward; 16-bit activations with float32
statistics) and, in inference, the affine map x * scale + shift computed in the activations' dtype.

Semantics kept exactly: in training the batch is normalised with the biased batch variance and the moving
statistics are updated with `momentum` from the batch mean and the BIASED variance, as Keras does (the fused
kernel returns the Bessel-corrected variance: it is scaled back by (n - 1) / n); in inference the moving
statistics are used. The fused path covers 4-D channels-last inputs without mask, renorm or synchronization;
anything else (for example synchronized batch norm across replicas) falls back to Keras' own call.
`set_fused(model, flag)` switches every such layer of a model.

Moving variance against PyTorch (the SRVP code's BatchNorm2d, whose momentum 0.1 is Keras' 0.9): PyTorch
updates the moving variance with the UNBIASED batch variance, n / (n - 1) times the biased one used here, n being
the values per channel in a training batch: batch * H * W, where the batch is the B * T frames that the models
encode (and decode) in one call, over all replicas when synchronized. At steady state PyTorch's moving variance
is larger by n / (n - 1), so in inference its normalised activations are smaller by sqrt((n - 1) / n). The
smallest n is at the encoders' 1x1 head (H = W = 1), n = B * T: SM-MNIST 128 x 15 = 1920 (+0.052%), KTH
100 x 20 = 2000 (+0.050%), Human3.6M 100 x 16 = 1600 (+0.063%), BAIR 192 x 12 = 2304 (+0.043%); every layer of
4x4 or more has n >= 16 B T (below +0.004% at those settings). Only small batches make it visible: the
quickstart's 16 x 10 = 160 gives +0.63% at the head. Kept as Keras computes it.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfvideo")
class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization with an optional fused kernel (`fused`; see the module docstring)."""

    def __init__(self, *args, fused: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fused = fused

    def _can_fuse(self, inputs, mask) -> bool:
        return (self.fused and mask is None and not self.renorm and not self.synchronized and self.center
                and self.scale and inputs.shape.rank == 4 and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None):
        if not self._can_fuse(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        x = inputs if inputs.dtype in (tf.float32, tf.bfloat16, tf.float16) else tf.cast(inputs, tf.float32)
        gamma, beta = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)
        if training and self.trainable:
            y, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=gamma, offset=beta, mean=tf.zeros([0]), variance=tf.zeros([0]), epsilon=self.epsilon,
                exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), tf.float32)
            biased = tf.where(count > 1.0, variance * (count - 1.0) / tf.maximum(count, 1.0), tf.zeros_like(variance))
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + biased * (1.0 - self.momentum))
        else:  # an affine map in the activations' dtype (grappler would fuse FusedBatchNorm + Tanh, unsupported)
            y = tf.nn.batch_normalization(x, tf.cast(self.moving_mean, tf.float32),
                                          tf.cast(self.moving_variance, tf.float32), beta, gamma, self.epsilon)
        return tf.cast(y, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}


def set_fused(model: keras.layers.Layer, fused: bool) -> int:
    """Sets `fused` on every BatchNormalization of this module inside `model`; returns how many. Set it before
    tracing the training step or the sampler."""
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, BatchNormalization):
            layer.fused = bool(fused)
            count += 1
    return count
