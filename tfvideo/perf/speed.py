"""The speed levers of a built model, from the training config (each a flag; see README "Speed").

- `--precision` (tfvideo.perf.precision): dtype policy of the convolutional encoders/decoders.
- `--kernel_grad` (tfvideo.perf.conv_ops): convolution kernel gradients as one GEMM where that is faster.
- `--fused_batch_norm` (tfvideo.perf.batch_norm): batch norm as TF's fused kernel.

None of them changes the model's math or its variables: checkpoints move freely between settings.
`describe(levers)` is the one line that training and the benchmark print: what each lever resolved to and why,
with TensorFlow's oneDNN state (tfvideo.perf.onednn) and thread pools.
"""

from __future__ import annotations

import os

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
    reason = precision_lib.auto_precision()["reason"] if train_config.precision == "auto" else "set by the flag"
    return {"precision": precision, "precision_flag": train_config.precision, "precision_reason": reason,
            "kernel_grad": grads, "kernel_grad_flag": train_config.kernel_grad,
            "fused_batch_norm_layers": fused if train_config.fused_batch_norm else 0,
            "jit_compile": bool(train_config.jit_compile)}


def describe(levers: dict) -> str:
    """One line: the levers of `apply_speed_options` with why `auto` chose them, oneDNN and the thread pools."""
    import tensorflow as tf
    from tfvideo.perf import onednn
    grads = levers["kernel_grad"]
    threads = (tf.config.threading.get_intra_op_parallelism_threads() or "all",
               tf.config.threading.get_inter_op_parallelism_threads() or "all")
    return (f"Speed levers: {onednn.state()}; precision {levers['precision_flag']} -> {levers['precision']} "
            f"({levers['precision_reason']}); kernel_grad {levers['kernel_grad_flag']} -> gemm on {grads['gemm']}, "
            f"native on {grads['native']} convolutions; fused batch norm "
            f"{'on' if levers['fused_batch_norm_layers'] else 'off'}; XLA {'on' if levers['jit_compile'] else 'off'}; "
            f"threads {threads[0]} intra-op, {threads[1]} inter-op ({os.cpu_count()} cores).")


# Every fixed choice of each lever, as `python -m tfvideo.benchmark --levers` times them beside `auto`.
FIXED_CHOICES = {"precision": ("float32", "mixed_bfloat16", "mixed_float16"), "kernel_grad": ("native", "gemm"),
                 "fused_batch_norm": (True, False), "jit_compile": (False, True)}


def lever_variants(config: config_lib.Config) -> tuple[dict[str, config_lib.Config], list[str]]:
    """({"auto": `config` with precision and kernel_grad auto, "FIELD=VALUE": that config with one lever fixed, ...},
    notes on the choices left out here: float16 on a machine without a GPU (training refuses it there: its float16
    loss and gradients overflow on a CPU), bfloat16 where TensorFlow would abort (`precision.check_supported`))."""
    import tensorflow as tf
    auto = config.replace(train={"precision": "auto", "kernel_grad": "auto"})
    variants, notes = {"auto": auto}, []
    for field, choices in FIXED_CHOICES.items():
        for value in choices:
            name = f"{field}={str(value).lower()}"
            if field == "precision" and value == "mixed_float16" and not tf.config.list_physical_devices("GPU"):
                notes.append(f"{name} not timed: no GPU (mixed_float16 trains on GPUs only)")
                continue
            if field == "precision":
                try:
                    precision_lib.check_supported(value)
                except ValueError as error:
                    notes.append(f"{name} not timed: {error}")
                    continue
            variants[name] = auto.replace(train={field: value})
    return variants, notes
