"""Convolution FLOPs counted against hand-computed closed forms; the GEMM rate is a positive rate."""

import keras
import numpy as np
import tensorflow as tf

from tfvideo.perf import conv_ops, flops


def test_conv_flops_are_two_kh_kw_cin_cout_per_output_position():
    layer = conv_ops.Conv2D(5, 4, strides=2, padding="same")
    x = tf.zeros([3, 12, 10, 2])
    counted = flops.count_conv_flops(lambda: layer(x))
    assert counted == 2 * 4 * 4 * 2 * 5 * (3 * 6 * 5)


def test_transposed_conv_flops_are_counted_per_input_position_and_inside_tf_functions():
    layer = conv_ops.Conv2DTranspose(6, 4, strides=2, padding="same")
    x = tf.zeros([2, 3, 5, 4])
    counted = flops.count_conv_flops(tf.function(lambda: layer(x)))
    assert counted == 2 * 4 * 4 * 4 * 6 * (2 * 3 * 5)
    assert flops.count_conv_flops(lambda: layer(x) + layer(x)) == 2 * counted
    assert flops.count_conv_flops(lambda: keras.ops.sum(x)) == 0
    assert not tf.config.functions_run_eagerly()  # restored


def test_gemm_rate_is_a_positive_finite_rate():
    rate = flops.gemm_rate(size=64, repeats=2)
    assert np.isfinite(rate) and rate > 0
