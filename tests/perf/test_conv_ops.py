"""GEMM kernel gradients: the same outputs and gradients as TF's convolutions, chosen where they are faster."""

import keras
import numpy as np
import pytest

from tests.support.markers import needs_bfloat16
import tensorflow as tf

from tfvideo.perf import conv_ops
from tfvideo.models import networks


def _outputs_and_gradients(layer, x, mode):
    layer.kernel_grad = mode
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.random.stateless_normal(tf.shape(y), seed=[1, 2]))
    return [y, tape.gradient(loss, x), tape.gradient(loss, layer.kernel)]


@pytest.mark.parametrize("transpose, kernel, strides, padding, shape, filters", [
    (False, 4, 2, "same", (8, 6, 3), 5),   # DCGAN stride-2 block (space-to-depth patches), non-square map
    (False, 4, 1, "valid", (4, 4, 3), 5),  # encoder head: one output position
    (False, 3, 1, "same", (5, 6, 2), 4),   # VGG block (extract_patches)
    (True, 4, 2, "same", (3, 4, 3), 5),    # decoder stride-2 block
    (True, 4, 1, "valid", (1, 1, 6), 5),   # decoder stem: 1x1 -> 4x4
    (True, 3, 1, "same", (5, 4, 2), 3),
])
def test_gemm_kernel_gradient_equals_tf_gradient(transpose, kernel, strides, padding, shape, filters):
    cls = conv_ops.Conv2DTranspose if transpose else conv_ops.Conv2D
    layer = cls(filters, kernel, strides=strides, padding=padding, use_bias=False)
    x = tf.random.stateless_normal([2, *shape], seed=[3, 4])
    native = _outputs_and_gradients(layer, x, "native")
    gemm = _outputs_and_gradients(layer, x, "gemm")
    for name, a, b in zip(("outputs", "input gradient", "kernel gradient"), native, gemm):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    assert float(tf.reduce_max(tf.abs(native[2]))) > 0.1  # a real gradient was compared


def test_native_mode_is_keras_own_layer():
    x = tf.random.stateless_normal([2, 8, 8, 3], seed=[5, 6])
    ours, theirs = conv_ops.Conv2D(4, 4, strides=2, padding="same"), keras.layers.Conv2D(4, 4, strides=2, padding="same")
    ours(x), theirs(x)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_array_equal(ours(x).numpy(), theirs(x).numpy())
    assert ours.kernel_grad == "native" and conv_ops.Conv2D.from_config(ours.get_config()).kernel_grad == "native"


@needs_bfloat16
def test_auto_picks_gemm_for_small_16_bit_maps_only():
    encoder = networks.FrameEncoder("dcgan", encoding_size=6, base_channels=2)
    encoder(tf.zeros([1, 64, 64, 1]))
    assert conv_ops.set_kernel_grad(encoder, "auto") == {"gemm": 0, "native": 5}  # float32: all native
    for layer in encoder._flatten_layers():
        layer.dtype_policy = keras.DTypePolicy("mixed_bfloat16")
    # Output maps 32x32, 16x16 (native); 8x8, 4x4, 1x1 (GEMM).
    assert conv_ops.set_kernel_grad(encoder, "auto") == {"gemm": 3, "native": 2}
    assert [l.kernel_grad for l in encoder._flatten_layers() if isinstance(l, conv_ops.Conv2D)] == \
        ["native", "native", "gemm", "gemm", "gemm"]
    assert conv_ops.set_kernel_grad(encoder, "gemm") == {"gemm": 5, "native": 0}
    with pytest.raises(ValueError, match="Unknown kernel_grad 'fast'"):
        conv_ops.set_kernel_grad(encoder, "fast")


@needs_bfloat16
def test_bfloat16_gemm_training_gradients_match_native():
    encoder = networks.FrameEncoder("dcgan", encoding_size=6, base_channels=4, dtype="mixed_bfloat16")
    frames = tf.random.stateless_uniform([6, 64, 64, 1], seed=[7, 8])
    encoder(frames)
    grads = {}
    for mode in ("native", "gemm"):
        conv_ops.set_kernel_grad(encoder, mode)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(encoder(frames, training=True)["encoding"] ** 2)
        grads[mode] = tape.gradient(loss, encoder.trainable_variables)
    for a, b in zip(grads["native"], grads["gemm"]):
        assert a.dtype == tf.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0.05, atol=0.02 * float(tf.reduce_max(tf.abs(a))))


def _keras_twin(layer, x):
    """Keras' own layer with `layer`'s weights, built on `x`."""
    base = keras.layers.Conv2DTranspose if isinstance(layer, conv_ops.Conv2DTranspose) else keras.layers.Conv2D
    layer(x)
    twin = base.from_config({k: v for k, v in layer.get_config().items() if k != "kernel_grad"})
    twin(x)
    twin.set_weights(layer.get_weights())
    return twin


def _op_types(layer, shape):
    return {op.type for op in tf.function(layer).get_concrete_function(tf.TensorSpec(shape)).graph.get_operations()}


@pytest.mark.parametrize("transpose, shape, filters", [
    (False, (4, 4, 3), 5),  # encoder head: 4x4 'VALID' kernel on a 4x4 map
    (True, (1, 1, 6), 5),   # decoder stem: 1x1 -> 4x4
])
def test_whole_map_layers_are_one_matmul_with_keras_outputs_and_gradients(transpose, shape, filters):
    cls = conv_ops.Conv2DTranspose if transpose else conv_ops.Conv2D
    layer = cls(filters, 4, padding="valid", bias_initializer="random_normal")
    x = tf.random.stateless_normal([3, *shape], seed=[7, 8])
    twin = _keras_twin(layer, x)
    ours = _outputs_and_gradients(layer, x, "native")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = twin(x)
        loss = tf.reduce_sum(y * tf.random.stateless_normal(tf.shape(y), seed=[1, 2]))
    theirs = [y, tape.gradient(loss, x), tape.gradient(loss, twin.kernel)]
    for name, a, b in zip(("outputs", "input gradient", "kernel gradient"), ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    ops = _op_types(layer, (None, *shape))
    assert "MatMul" in ops and not ops & {"Conv2D", "Conv2DBackpropInput"}
    with conv_ops.edge_forward():  # inference keeps a convolution: a frame's result whatever the batch around it
        inference_ops = _op_types(layer, (None, *shape))
    assert "MatMul" not in inference_ops and inference_ops & {"Conv2D", "Conv2DBackpropInput"}


def test_other_layers_keep_their_convolution():
    layer = conv_ops.Conv2D(4, 4, padding="valid")  # 'VALID' but a 5x5 map: four output positions
    layer(tf.zeros([1, 5, 5, 2]))
    assert "Conv2D" in _op_types(layer, (None, 5, 5, 2))
    stem_like = conv_ops.Conv2DTranspose(4, 4, padding="valid")  # a 2x2 map: not the stem
    stem_like(tf.zeros([1, 2, 2, 3]))
    assert "Conv2DBackpropInput" in _op_types(stem_like, (None, 2, 2, 3))
