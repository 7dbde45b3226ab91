"""`conv_ops.edge_forward`: the transposed convolutions that XNNPACK runs slowly, rewritten for TFLite export
(the DCGAN stem as a 1x1 convolution, few-channel 4x4 stride-2 layers as sub-pixel convolutions), same outputs."""

import numpy as np
import pytest
import tensorflow as tf

from tfvideo.perf import conv_ops

CASES = [  # (input shape, kernel, strides, padding, output channels, rewritten)
    ((3, 1, 1, 7), 4, 1, "valid", 5, True),  # stem: one matrix product
    ((2, 4, 6, 7), 4, 2, "same", 3, True),  # sub-pixel: 3 channels, non-square map
    ((2, 5, 3, 2), 4, 2, "same", 1, True),  # sub-pixel: odd sizes
    ((2, 4, 4, 3), 4, 2, "same", 8, False),  # wider: keeps TRANSPOSE_CONV
    ((2, 4, 4, 3), 3, 1, "same", 2, False),
]


@pytest.mark.parametrize("shape,kernel,strides,padding,channels,rewritten", CASES)
def test_edge_forward_gives_the_layers_outputs(shape, kernel, strides, padding, channels, rewritten):
    layer = conv_ops.Conv2DTranspose(channels, kernel, strides=strides, padding=padding,
                                     bias_initializer="random_normal", kernel_initializer="random_normal")
    x = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    expected = layer(x).numpy()
    with conv_ops.edge_forward():
        got = layer(x).numpy()
    np.testing.assert_allclose(got, expected, atol=2e-6)
    direct = conv_ops.edge_conv_transpose(tf.constant(x), layer.kernel, (strides, strides), padding.upper())
    assert (direct is not None) == rewritten
    ops = {op.type for op in tf.function(lambda v: conv_ops.edge_conv_transpose(
        v, layer.kernel, (strides, strides), padding.upper())).get_concrete_function(
        tf.TensorSpec(shape)).graph.get_operations()} if rewritten else set()
    assert "Conv2DBackpropInput" not in ops
    assert not getattr(conv_ops._EDGE, "active", False)  # the context is left


def test_inference_passes_of_the_decoder_use_the_rewrite_and_training_passes_keep_keras_op(monkeypatch):
    from tfvideo.models import networks
    decoder = networks.FrameDecoder("dcgan", channels=2, base_channels=3)
    x = tf.random.stateless_normal([5, 7], seed=[1, 2])
    decoder(x, training=False)
    calls = []
    original = conv_ops.edge_conv_transpose
    monkeypatch.setattr(conv_ops, "edge_conv_transpose", lambda *a: calls.append(1) or original(*a))
    decoder(x, training=True)  # (updates the batch-norm statistics: before the comparison below)
    assert not calls
    fast = decoder(x, training=False)
    assert len(calls) == 5  # stem and every block: the stem and the 2-channel frame layer are rewritten
    monkeypatch.setattr(conv_ops, "edge_conv_transpose", lambda *a: None)  # Keras' own op everywhere
    np.testing.assert_allclose(fast.numpy(), decoder(x, training=False).numpy(), atol=2e-6)
