"""Speed levers applied from the training config: defaults leave the float32 model as built."""

import pytest

from tests.support.configs import tiny_config
from tests.support.markers import needs_bfloat16

from tfvideo.perf import speed
from tfvideo.perf import batch_norm
from tfvideo.models import build_model
from tfvideo.perf import conv_ops


def _layers(model, cls):
    return [layer for layer in model._flatten_layers() if isinstance(layer, cls)]


def test_float32_without_fusion_keeps_the_model_as_built():
    config = tiny_config(train={"precision": "float32", "fused_batch_norm": False})
    model = build_model(config)
    applied = speed.apply_speed_options(model, config.train)
    assert applied == {"precision": "float32", "precision_flag": "float32", "precision_reason": "set by the flag",
                       "kernel_grad": {"gemm": 0, "native": 10}, "kernel_grad_flag": "auto",
                       "fused_batch_norm_layers": 0, "jit_compile": False}
    line = speed.describe(applied)
    assert line.startswith("Speed levers: oneDNN ") and "precision float32 -> float32 (set by the flag)" in line
    assert "gemm on 0, native on 10 convolutions; fused batch norm off; XLA off" in line
    assert all(layer.compute_dtype == "float32" for layer in model._flatten_layers())
    assert not any(layer.fused for layer in _layers(model, batch_norm.BatchNormalization))


@needs_bfloat16
def test_levers_reach_every_conv_and_batch_norm():
    config = tiny_config(train={"precision": "mixed_bfloat16", "fused_batch_norm": True, "kernel_grad": "auto"})
    model = build_model(config)
    applied = speed.apply_speed_options(model, config.train)
    # DCGAN encoder 32x32, 16x16, 8x8, 4x4, 1x1 and decoder (equivalent conv outputs) 1x1, 4x4, 8x8, 16x16, 32x32.
    assert applied["kernel_grad"] == {"gemm": 6, "native": 4} and applied["fused_batch_norm_layers"] == 8
    convs = _layers(model, conv_ops.Conv2D) + _layers(model, conv_ops.Conv2DTranspose)
    assert len(convs) == 10 and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(layer.fused for layer in _layers(model, batch_norm.BatchNormalization))


def test_auto_precision_is_a_table_of_what_the_machine_can_do(monkeypatch):
    from tfvideo.perf import machine, onednn, precision
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)  # (a cap would refuse bfloat16 on an AVX-512 CPU)
    monkeypatch.setattr(onednn, "tensorflow_onednn_enabled", lambda: True)
    monkeypatch.setattr(machine, "native_bfloat16", lambda: True)
    assert precision.resolve_precision("auto") == "mixed_bfloat16"
    assert precision.auto_precision()["reason"].startswith("CPU with native bfloat16")
    monkeypatch.setattr(machine, "native_bfloat16", lambda: False)
    assert precision.resolve_precision("auto") == "float32" == precision.resolve_precision("float32")
    monkeypatch.setattr(machine, "native_bfloat16", lambda: True)
    monkeypatch.setattr(onednn, "tensorflow_onednn_enabled", lambda: False)  # bfloat16 on Eigen is slow
    assert precision.auto_precision() == {"precision": "float32", "reason": "oneDNN off: no fast bfloat16 kernels"}


@pytest.mark.parametrize("capability, expected", [((8, 0), "mixed_float16"), ((7, 0), "mixed_float16"),
                                                  ((6, 1), "float32")])
def test_auto_precision_on_a_gpu_follows_its_compute_capability(monkeypatch, capability, expected):
    import tensorflow as tf
    from tfvideo.perf import precision
    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda device: {"compute_capability": capability})
    assert precision.auto_precision()["precision"] == expected


def test_bfloat16_under_a_onednn_cap_below_avx512_is_a_clear_error(monkeypatch):
    from tfvideo.perf import machine, precision
    monkeypatch.setattr(machine, "cpu_flags", lambda path=None: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    with pytest.raises(ValueError, match="ONEDNN_MAX_CPU_ISA=AVX2 .* unset ONEDNN_MAX_CPU_ISA or use float32"):
        precision.resolve_precision("mixed_bfloat16")
    assert precision.resolve_precision("float32") == "float32"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert precision.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
