"""Mixed precision for training and sampling: `--precision=auto|float32|mixed_bfloat16|mixed_float16`.

`apply_precision(model, precision)` gives the model's convolutional frame encoders and decoders
(`networks.FrameEncoder` / `FrameDecoder` and subclasses) the Keras dtype policy `precision`: their
convolutions, batch norms and activations compute in bfloat16 (or float16) while every variable stays
float32. These networks are more than 97% of the FLOPs of every model. Everything else stays float32:
the latent dynamics, LSTMs and MLPs, the attention of HAF-SVG's feature aligner, every distribution, KL and
loss term. The networks return float32 tensors (a cast at their boundary), so `tfd.Normal` and the losses
only ever see float32 inputs.

Because variables are float32 in every policy, a checkpoint written under one precision restores under
another (`train.precision` may change when a run is resumed) and exports are unaffected.

`auto` (the default) resolves to mixed_bfloat16 where that was measured faster with an unchanged loss curve:
on a CPU with native bfloat16 instructions (AVX-512 BF16 or AMX) and no visible GPU, and on TPUs; to float32
elsewhere (GPUs included: pass mixed_float16 or mixed_bfloat16 explicitly there).

`mixed_float16` needs loss scaling: `training_optimizer` wraps the optimizer in Keras'
`LossScaleOptimizer`, whose dynamic scale halves when a step overflows (the step is then skipped, like any
non-finite step). It is meant for GPUs: CPUs have no fast float16 kernels. `mixed_bfloat16` needs no scaling
and is fast on CPUs with AVX-512 BF16 (or AMX) and on TPUs / recent GPUs.
"""

from __future__ import annotations

import keras

from tfvideo import config as config_lib

PRECISIONS = config_lib.PRECISIONS


def cpu_has_native_bfloat16(cpuinfo_path: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU advertises AVX-512 BF16 or AMX BF16 instructions (False when it cannot be told)."""
    try:
        with open(cpuinfo_path) as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """The concrete policy name of `precision` ("auto" resolved for this machine; see the module docstring)."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; expected one of: {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    import tensorflow as tf
    if isinstance(tf.distribute.get_strategy(), tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_logical_devices("GPU") or not cpu_has_native_bfloat16():
        return "float32"
    return "mixed_bfloat16"


def conv_networks(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The frame encoders and decoders inside `model` (the layers whose precision `apply_precision` sets)."""
    from tfvideo.models import networks
    kinds = (networks.FrameEncoder, networks.FrameDecoder)
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, kinds)]


def apply_precision(model: keras.layers.Layer, precision: str) -> int:
    """Sets the dtype policy `precision` on every layer of `model`'s frame encoders and decoders.

    HAF-SVG's feature aligners inside a decoder keep float32 (a softmax over up to 4096 positions).
    Works before or after the variables exist (they are float32 in every policy). Returns the number of
    layers whose policy was set. Raises ValueError for an unknown precision.
    """
    from tfvideo.models import aligner
    policy = keras.DTypePolicy(resolve_precision(precision))
    count = 0
    for network in conv_networks(model):
        layers = list(network._flatten_layers(include_self=True, recursive=True))
        kept = {id(sub) for layer in layers if isinstance(layer, aligner.FeatureAligner)
                for sub in layer._flatten_layers(include_self=True, recursive=True)}
        for layer in layers:
            if id(layer) not in kept:
                layer.dtype_policy = policy
                count += 1
    return count


def training_optimizer(optimizer: keras.optimizers.Optimizer, precision: str) -> keras.optimizers.Optimizer:
    """The optimizer to compile the model with: `optimizer` itself, wrapped in a LossScaleOptimizer for
    mixed_float16. Checkpoints keep holding the inner `optimizer` (the dynamic loss scale restarts at its
    initial value when a run resumes, and adapts within a few steps)."""
    if resolve_precision(precision) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
