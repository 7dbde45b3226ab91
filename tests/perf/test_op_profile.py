import pytest
import tensorflow as tf

from tfvideo.perf import op_profile


def _two_convolutions_and_a_matmul():
    images = tf.random.stateless_uniform([2, 6, 5, 3], seed=[0, 1])
    kernels = [tf.random.stateless_normal([3, 3, 3, 4], seed=[0, 2]), tf.random.stateless_normal([2, 2, 4, 5],
                                                                                                 seed=[0, 3])]
    matrix = tf.random.stateless_normal([5, 6], seed=[0, 4])

    @tf.function
    def call():
        x = tf.nn.conv2d(images, kernels[0], 1, "SAME")
        x = tf.nn.conv2d(tf.nn.relu(x), kernels[1], 1, "VALID")  # [2, 5, 4, 5]
        return tf.matmul(tf.reshape(x, [-1, 5]), matrix)
    return call


def _by_family(profile):
    families = {}
    for name, kernel in profile.kernels.items():
        family = op_profile.kernel_family(name)
        families[family] = families.get(family, 0.0) + kernel.ops_per_call
    return families


def test_every_kernel_is_counted_per_call_with_its_time():
    call = _two_convolutions_and_a_matmul()
    call()  # traced outside the profile
    profile = op_profile.profile_calls(lambda: call().numpy(), calls=3)
    families = _by_family(profile)
    assert families["Conv2D"] == 2.0 and families["MatMul"] == 1.0 and families["Relu"] == 1.0
    assert profile.calls == 3 and profile.wall_ms_per_call > 0
    assert all(":" not in name for name in profile.kernels) and "Process" not in profile.kernels  # ops only
    assert all(kernel.ms_per_call >= 0 for kernel in profile.kernels.values())
    assert profile.op_ms_per_call == pytest.approx(sum(k.ms_per_call for k in profile.kernels.values()))
    times = [kernel.ms_per_call for kernel in profile.kernels.values()]
    assert times == sorted(times, reverse=True)  # largest first
    assert any("Conv2D" in op for op, _ in profile.top_ops)
    assert 0.0 < op_profile.convolution_share(profile) <= 1.0


def test_kernel_family_strips_onednns_prefixes_only():
    assert op_profile.kernel_family("_MklNativeConv2DBackpropFilter") == "Conv2DBackpropFilter"
    assert op_profile.kernel_family("_MklMatMul") == "MatMul"
    assert op_profile.kernel_family("_FusedConv2D") == "FusedConv2D"
    assert op_profile.kernel_family("Conv2D") == "Conv2D"


def test_convolution_share_is_the_convolutions_part_of_the_summed_op_time():
    profile = op_profile.OpProfile(calls=2, wall_ms_per_call=5.0, kernels={
        "_MklNativeConv2D": op_profile.KernelTime(3.0, 1.0), "Conv2DBackpropInput": op_profile.KernelTime(1.0, 1.0),
        "AddV2": op_profile.KernelTime(4.0, 2.0)}, top_ops=[("a", 3.0)])
    assert op_profile.convolution_share(profile) == pytest.approx(0.5)
    assert profile.op_ms_per_call == pytest.approx(8.0)
    table = op_profile.format_profile(profile, "step")
    assert "convolution layers 50% of it" in table and "ops summed over threads 8.0 ms" in table
    assert table.splitlines()[2].split() == ["4.00", "50.0%", "2.0", "AddV2"]  # largest kernel first
    json = profile.to_json()
    assert json["convolution_share"] == pytest.approx(0.5) and json["kernels"]["AddV2"]["ops_per_call"] == 2.0


def test_calls_must_be_positive():
    with pytest.raises(ValueError, match="calls must be >= 1"):
        op_profile.profile_calls(lambda: None, calls=0)


def test_matmuls_inside_a_convolution_layer_count_as_its_convolution():
    assert op_profile.is_convolution_op("encoder_1/conv2d_4_1/MatMul", "_MklMatMul")  # a whole-map layer
    assert op_profile.is_convolution_op("gradient_tape/decoder_1/conv2d_transpose_1/MatMul_1", "MatMul")
    assert op_profile.is_convolution_op("decoder_1/conv2d_transpose_2/conv_transpose", "_MklNativeConv2DBackpropInput")
    assert not op_profile.is_convolution_op("while/body/dynamics_1/dense_2_1/Relu", "_MklNativeFusedMatMul")
    assert not op_profile.is_convolution_op("encoder_1/conv2d_1/BiasAdd", "BiasAdd")
    events = [("enc/conv2d_4/MatMul", "_MklMatMul", 4.0), ("dense/MatMul", "_MklMatMul", 2.0),
              ("enc/conv2d_1/convolution", "_MklNativeConv2D", 6.0)]
    profile = op_profile._summarize(events, calls=2, wall_ms=7.0, top=5)
    assert profile.convolution_ms_per_call == pytest.approx(5.0)  # (4 + 6) / 2 calls
    assert op_profile.convolution_share(profile) == pytest.approx(10.0 / 12.0)
