"""The speed levers of a built model, from the training config (each a flag; see README "Speed").

- `--precision` (tfvideo.perf.precision): dtype policy of the convolutional encoders/decoders.
- `--kernel_grad` (tfvideo.perf.conv_ops): convolution kernel gradients as one GEMM where that is faster.
- `--fused_batch_norm` (tfvideo.perf.batch_norm): batch norm as TF's fused kernel.

None of them changes the model's math or its variables: checkpoints move freely between settings.
"""

from __future__ import annotations

from tfvideo import config as config_lib
from tfvideo.perf import precision as precision_lib
from tfvideo.perf import batch_norm
from tfvideo.perf import conv_ops


def apply_speed_options(model, train_config: config_lib.TrainConfig) -> dict:
    """Applies the levers of `train_config` to a built `model` (before its step is traced); returns what was set:
    {"precision": the resolved policy, "kernel_grad": {"gemm": n, "native": m}, "fused_batch_norm_layers": k}."""
    precision = precision_lib.resolve_precision(train_config.precision)
    if precision != "float32":
        precision_lib.apply_precision(model, precision)
    grads = conv_ops.set_kernel_grad(model, train_config.kernel_grad)
    fused = batch_norm.set_fused(model, train_config.fused_batch_norm)
    return {"precision": precision, "kernel_grad": grads,
            "fused_batch_norm_layers": fused if train_config.fused_batch_norm else 0}
