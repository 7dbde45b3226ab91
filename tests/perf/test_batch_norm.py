"""Fused batch norm: Keras' semantics (biased variance everywhere, momentum updates) through TF's fused kernel."""

import keras
import numpy as np
import pytest

from tests.support.markers import needs_bfloat16
import tensorflow as tf

from tfvideo.perf import batch_norm
from tfvideo.models import networks


def _run(dtype, fused, x):
    keras.utils.set_random_seed(0)
    layer = batch_norm.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype, fused=fused,
                                          gamma_initializer=keras.initializers.RandomNormal(1.0, 0.2))
    layer(x[:1], training=False)
    layer.beta.assign([0.1, -0.2, 0.3])
    layer.moving_variance.assign([2.0, 3.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.random.stateless_normal(tf.shape(y), seed=[3, 4]))
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return {"y": y, "dx": grads[0], "dgamma": grads[1], "dbeta": grads[2], "moving_mean": layer.moving_mean,
            "moving_variance": layer.moving_variance, "inference": layer(x, training=False)}


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-5),
                                              pytest.param("mixed_bfloat16", 0.02, marks=needs_bfloat16)])
def test_fused_batch_norm_equals_keras(dtype, tolerance):
    x = tf.random.stateless_normal([2, 3, 4, 3], seed=[1, 2]) * 3.0 + 2.0  # 24 values per channel
    keras_bn, fused = _run(dtype, False, x), _run(dtype, True, x)
    assert fused["y"].dtype == keras_bn["y"].dtype == tf.as_dtype(keras.DTypePolicy(dtype).compute_dtype)
    for name, value in keras_bn.items():
        scale = max(1.0, float(tf.reduce_max(tf.abs(tf.cast(value, tf.float32)))))
        np.testing.assert_allclose(np.asarray(fused[name], np.float32), np.asarray(value, np.float32),
                                   atol=tolerance * scale, err_msg=name)
    # Moving variance: momentum update with the BIASED batch variance (Keras), not the unbiased one.
    seen = tf.cast(tf.cast(x, keras.DTypePolicy(dtype).compute_dtype), tf.float32)  # the layer's input, rounded
    biased = tf.math.reduce_variance(seen, axis=[0, 1, 2])
    np.testing.assert_allclose(fused["moving_variance"].numpy(), 0.9 * np.array([2.0, 3.0, 4.0]) + 0.1 * biased,
                               rtol=1e-4)


def test_synchronized_or_masked_inputs_use_keras_path():
    layer = batch_norm.BatchNormalization(fused=True, synchronized=True)
    x = tf.random.stateless_normal([4, 2, 2, 3], seed=[5, 6])
    assert not layer._can_fuse(x, None) and batch_norm.BatchNormalization(fused=True)._can_fuse(x, None)
    assert not batch_norm.BatchNormalization(fused=True)._can_fuse(x, tf.ones([4, 2, 2], bool))
    assert not batch_norm.BatchNormalization(fused=True)._can_fuse(tf.zeros([4, 3]), None)
    np.testing.assert_allclose(layer(x, training=True).numpy(), keras.layers.BatchNormalization()(x, training=True),
                               atol=1e-5)


def test_set_fused_switches_every_batch_norm_of_a_network():
    decoder = networks.FrameDecoder("dcgan", channels=1, base_channels=2)
    decoder(tf.zeros([1, 5]))
    layers = [l for l in decoder._flatten_layers() if isinstance(l, batch_norm.BatchNormalization)]
    assert batch_norm.set_fused(decoder, True) == len(layers) == 4 and all(l.fused for l in layers)
    assert batch_norm.set_fused(decoder, False) == 4 and not any(l.fused for l in layers)
