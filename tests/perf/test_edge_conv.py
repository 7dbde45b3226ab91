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
    assert len(calls) == 1  # the stem only: one matrix product in every pass; the frame layer keeps Keras' op
    calls.clear()
    fast = decoder(x, training=False)
    assert len(calls) == 5  # stem and every block: the stem and the 2-channel frame layer are rewritten
    monkeypatch.setattr(conv_ops, "edge_conv_transpose", lambda *a: None)  # Keras' own op everywhere
    np.testing.assert_allclose(fast.numpy(), decoder(x, training=False).numpy(), atol=2e-6)


def _stem_ops(layer, shape, target):
    with conv_ops.edge_forward(target=target):
        with conv_ops.edge_forward():  # an inner context (networks._apply inside the export's) keeps the target
            graph = tf.function(layer).get_concrete_function(tf.TensorSpec(shape)).graph
    return {op.type for op in graph.get_operations()}


def test_the_stem_is_a_matmul_for_tensorflow_and_a_convolution_for_litert():
    shape = (3, 1, 1, 7)
    layer = conv_ops.Conv2DTranspose(5, 4, padding="valid", bias_initializer="random_normal",
                                     kernel_initializer="random_normal")
    x = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    expected = layer(x).numpy()
    for target in ("tensorflow", "litert"):
        with conv_ops.edge_forward(target=target):
            np.testing.assert_allclose(layer(x).numpy(), expected, atol=2e-6)
    tensorflow_ops, litert_ops = _stem_ops(layer, shape, "tensorflow"), _stem_ops(layer, shape, "litert")
    assert "MatMul" in tensorflow_ops and "Conv2D" not in tensorflow_ops
    assert "Conv2D" in litert_ops and "MatMul" not in litert_ops  # int8 files quantize it with the convolutions
    assert "Conv2DBackpropInput" not in tensorflow_ops | litert_ops
    assert getattr(conv_ops._EDGE, "target", "tensorflow") == "tensorflow"  # restored on leaving


def test_an_unknown_edge_target_is_refused():
    with pytest.raises(ValueError, match="Unknown edge target 'tflite'"):
        with conv_ops.edge_forward(target="tflite"):
            pass
