"""Speed levers applied from the training config: defaults leave the float32 model as built."""

from conftest import tiny_config
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
    assert applied == {"precision": "float32", "kernel_grad": {"gemm": 0, "native": 10}, "fused_batch_norm_layers": 0}
    assert all(layer.compute_dtype == "float32" for layer in model._flatten_layers())
    assert not any(layer.fused for layer in _layers(model, batch_norm.BatchNormalization))


def test_levers_reach_every_conv_and_batch_norm():
    config = tiny_config(train={"precision": "mixed_bfloat16", "fused_batch_norm": True, "kernel_grad": "auto"})
    model = build_model(config)
    applied = speed.apply_speed_options(model, config.train)
    # DCGAN encoder 32x32, 16x16, 8x8, 4x4, 1x1 and decoder (equivalent conv outputs) 1x1, 4x4, 8x8, 16x16, 32x32.
    assert applied["kernel_grad"] == {"gemm": 6, "native": 4} and applied["fused_batch_norm_layers"] == 8
    convs = _layers(model, conv_ops.Conv2D) + _layers(model, conv_ops.Conv2DTranspose)
    assert len(convs) == 10 and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(layer.fused for layer in _layers(model, batch_norm.BatchNormalization))


def test_auto_precision_follows_the_cpu(monkeypatch, tmp_path):
    from tfvideo.perf import precision
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_bf16\n")
    assert precision.cpu_has_native_bfloat16(str(cpuinfo))
    cpuinfo.write_text("flags : fpu avx2 avx512f\n")
    assert not precision.cpu_has_native_bfloat16(str(cpuinfo))
    assert not precision.cpu_has_native_bfloat16(str(tmp_path / "missing"))
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: True)
    assert precision.resolve_precision("auto") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: False)
    assert precision.resolve_precision("auto") == "float32" == precision.resolve_precision("float32")
    model = build_model(tiny_config())
    assert speed.apply_speed_options(model, tiny_config().train)["precision"] == "float32"
