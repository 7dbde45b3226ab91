"""Mixed precision: only the convolutional networks compute in 16 bits; losses, distributions and frames stay
float32; float16 uses loss scaling; a run resumes across precisions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tests.support.markers import needs_bfloat16, needs_float16

from tfvideo.perf import precision
from tfvideo.training import train_lib
from tfvideo.models import aligner
from tfvideo.models import build_model
from tfvideo.models import networks


@needs_bfloat16
def test_only_the_conv_networks_compute_in_bfloat16():
    config = tiny_config(model={"model": "hafsvg", "skip_connections": True, "feature_aligner": True,
                                "num_groups": 2})
    model = build_model(config)
    count = precision.apply_precision(model, "mixed_bfloat16")
    nets = precision.conv_networks(model)
    assert {type(n) for n in nets} == {networks.FrameEncoder, aligner.AlignedFrameDecoder} and count > 20
    aligners = [l for l in model._flatten_layers() if isinstance(l, aligner.FeatureAligner)]
    assert aligners and all(sub.compute_dtype == "float32" for a in aligners for sub in a._flatten_layers())
    convs = [l for n in nets for l in n._flatten_layers() if isinstance(l, keras.layers.Conv2D)
             and not any(l is sub for a in aligners for sub in a._flatten_layers())]
    assert convs and all(c.compute_dtype == "bfloat16" and c.kernel.dtype == "float32" for c in convs)
    lstms = [l for l in model._flatten_layers() if isinstance(l, keras.layers.LSTMCell)]
    assert lstms and all(l.compute_dtype == "float32" for l in lstms)
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        precision.apply_precision(model, "half")


@pytest.mark.parametrize("name", ["srvp", "svg"])
@needs_bfloat16
def test_bfloat16_losses_and_frames_are_float32_and_close_to_float32(name):
    config = tiny_config(model={"model": name})
    videos = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[1, 2])
    keras.utils.set_random_seed(3)
    full = build_model(config)
    half = build_model(config)
    for variable, value in zip(half.variables, full.variables):
        variable.assign(value)
    precision.apply_precision(half, "mixed_bfloat16")
    terms = {m: model.compute_loss_terms(videos, training=False) for m, model in (("full", full), ("half", half))}
    for key, value in terms["half"].items():
        assert value.dtype == tf.float32
        np.testing.assert_allclose(float(value), float(terms["full"][key]), rtol=0.05, atol=0.05, err_msg=key)
    frames = half.generate(videos[:, :3], num_samples=2, horizon=3, seed=0)
    assert frames.dtype == tf.float32 and frames.shape == (2, 2, 3, 64, 64, 1)
    np.testing.assert_allclose(frames.numpy(), full.generate(videos[:, :3], 2, 3, seed=0).numpy(), atol=0.02)


@needs_float16
def test_float16_scales_the_loss_and_halves_the_scale_on_overflow():
    config = tiny_config(model={"stochastic": False})
    model = build_model(config)
    precision.apply_precision(model, "mixed_float16")
    optimizer = precision.training_optimizer(train_lib.make_optimizer(config.train), "mixed_float16")
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert precision.training_optimizer(optimizer.inner_optimizer, "mixed_bfloat16") is optimizer.inner_optimizer
    model.compile(optimizer=optimizer)
    step = tf.function(model.train_step)
    videos = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[1, 2])
    before = [v.numpy() for v in model.trainable_variables]
    skipped = []
    while len(skipped) < 24 and 0.0 not in skipped:
        skipped.append(float(step(videos)["skipped"]))
    scale = float(optimizer.dynamic_scale.numpy())
    assert skipped[0] == 1.0 and 0.0 in skipped  # overflow at 2^15 first, then a scale that fits float16
    assert scale == 2.0 ** (15 - skipped.count(1.0))  # halved once per skipped step
    assert any(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables))


@needs_bfloat16
def test_a_run_resumes_across_precisions(tmp_path):
    # residual_gain 0.5 keeps the untrained tiny dynamics bounded: the resumed step is a finite one, not skipped
    config = tiny_config(str(tmp_path / "run"), model={"residual_gain": 0.5},
                         train={"train_steps": 2, "precision": "mixed_bfloat16"})
    assert train_lib.train(config).step == 2
    result = train_lib.train(config.replace(train={"train_steps": 3, "precision": "float32"}))
    assert result.resumed_from == 2 and result.step == 3 and np.isfinite(result.metrics["loss"])


@pytest.mark.slow
@pytest.mark.parametrize("policy, jit_compile", [pytest.param("mixed_float16", False, marks=needs_float16),
                                                 ("float32", True),
                                                 pytest.param("mixed_float16", True, marks=needs_float16)])
def test_the_gpu_code_paths_train_on_a_cpu_with_finite_decreasing_losses(policy, jit_compile):
    """What `auto` picks on a GPU (float16 with loss scaling, XLA) runs the same code on the CPU: a few steps on one
    batch give finite losses that decrease (steps skipped while the loss scale settles aside)."""
    from tfvideo.perf import speed
    config = tiny_config(model={"residual_gain": 0.5}, train={"precision": policy, "jit_compile": jit_compile})
    keras.utils.set_random_seed(0)
    model = build_model(config)
    speed.apply_speed_options(model, config.train)
    model.compile(optimizer=precision.training_optimizer(train_lib.make_optimizer(config.train), policy))
    model.optimizer.build(model.trainable_variables)
    step = tf.function(model.train_step, jit_compile=jit_compile)
    videos = tf.random.stateless_uniform([2, 6, 64, 64, 1], seed=[1, 2])
    logs = [step(videos) for _ in range(24)]
    applied = [float(log["loss"]) for log in logs if float(log["skipped"]) == 0.0]
    assert len(applied) >= 8 and np.all(np.isfinite(applied))
    assert np.mean(applied[-3:]) < applied[0]


@pytest.mark.parametrize("policy, flags, cap, refused", [
    ("mixed_bfloat16", {"avx2", "avx512f", "avx512_bf16"}, "AVX2", True),   # AVX-512 CPU emulating an AVX2 one
    ("mixed_bfloat16", {"avx2", "avx512f", "avx512_bf16"}, "AVX512_CORE", False),
    ("mixed_bfloat16", {"avx2", "fma"}, "AVX2", False),                     # a real AVX2 CPU: Eigen's kernels
    ("mixed_float16", {"avx2", "avx512f", "avx512_fp16"}, "AVX512_CORE_BF16", True),
    ("mixed_float16", {"avx2", "avx512f", "avx512_fp16"}, "AVX512_CORE_FP16", False),
    ("mixed_float16", {"avx2", "avx512f", "avx512_bf16"}, "AVX2", False),   # no FP16: TensorFlow keeps Eigen's
    ("mixed_float16", {"avx2", "avx512f", "avx512_fp16"}, None, False),
    ("float32", {"avx2", "avx512f", "avx512_fp16"}, "AVX2", False),
])
def test_check_supported_refuses_what_tensorflow_would_hand_to_a_capped_onednn(monkeypatch, policy, flags, cap,
                                                                               refused):
    from tfvideo.perf import machine
    monkeypatch.setattr(machine, "cpu_flags", lambda path=None: frozenset(flags))
    if cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    if refused:
        with pytest.raises(ValueError, match=f"precision {policy} cannot run with ONEDNN_MAX_CPU_ISA={cap}"):
            precision.check_supported(policy)
    else:
        precision.check_supported(policy)
