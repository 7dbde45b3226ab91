"""Mixed precision for training and sampling: `--precision=auto|float32|mixed_bfloat16|mixed_float16`.

`apply_precision(model, precision)` gives the model's convolutional frame encoders and decoders (the layers whose
class says `precision_role = "mixed"`: `tfvideo.models.networks.FrameEncoder` / `FrameDecoder` and subclasses)
the Keras dtype policy `precision`: their convolutions, batch norms and activations compute in bfloat16 (or
float16) while every variable stays float32. These networks are more than 97% of the FLOPs of every model.
Everything else stays float32: the latent dynamics, LSTMs and MLPs, the attention of HAF-SVG's feature aligner
(`precision_role = "float32"` inside a decoder), every distribution, KL and loss term. The networks return float32
tensors (a cast at their boundary), so `tfd.Normal` and the losses only ever see float32 inputs.

Because variables are float32 in every policy, a checkpoint written under one precision restores under
another (`train.precision` may change when a run is resumed) and exports are unaffected.

`auto` (the default) resolves by a table keyed by what the machine can do (`auto_precision`), each row measured
faster with an unchanged loss curve or taken from TensorFlow's mixed-precision guide (docs/performance.md):
a TPU -> mixed_bfloat16; a GPU of compute capability >= 7.0 (tensor cores) -> mixed_float16 with loss scaling, an
older GPU -> float32; a CPU whose oneDNN kernels compute bfloat16 natively (AVX-512 BF16 or AMX, oneDNN on and
not capped below them: `tfvideo.perf.machine.native_bfloat16`) -> mixed_bfloat16; any other CPU -> float32 (AVX2
CPUs have no fast bfloat16 convolutions: their bfloat16 falls back to slow kernels).

`mixed_float16` needs loss scaling: `training_optimizer` wraps the optimizer in Keras'
`LossScaleOptimizer`, whose dynamic scale halves when a step overflows (the step is then skipped, like any
non-finite step). It is meant for GPUs: CPUs have no fast float16 kernels. `mixed_bfloat16` needs no scaling
and is fast on CPUs with AVX-512 BF16 (or AMX) and on TPUs / recent GPUs.
"""

from __future__ import annotations

import keras

from tfvideo import config as config_lib
from tfvideo.perf import machine

PRECISIONS = config_lib.PRECISIONS


def auto_precision() -> dict:
    """{"precision": what `auto` resolves to here, "reason": why, in a few words} (see the module docstring)."""
    import tensorflow as tf
    from tfvideo.perf import onednn
    if isinstance(tf.distribute.get_strategy(), tf.distribute.TPUStrategy):
        return {"precision": "mixed_bfloat16", "reason": "TPU"}
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0)
        if tuple(capability) >= (7, 0):
            return {"precision": "mixed_float16",
                    "reason": f"GPU of compute capability {capability[0]}.{capability[1]}"}
        return {"precision": "float32", "reason": "GPU without tensor cores"}
    if onednn.tensorflow_onednn_enabled() is False:
        return {"precision": "float32", "reason": "oneDNN off: no fast bfloat16 kernels"}
    if machine.native_bfloat16():
        return {"precision": "mixed_bfloat16", "reason": "CPU with native bfloat16 (" + machine.isa_summary() + ")"}
    return {"precision": "float32", "reason": "CPU without native bfloat16 (" + machine.isa_summary() + ")"}


# precision -> (CPU flags with which TensorFlow hands its ops to oneDNN, the oneDNN ISA that oneDNN then needs)
ONEDNN_ROUTED = {"mixed_bfloat16": (("avx512f",), "AVX512_CORE"),
                 "mixed_float16": (("avx512_fp16", "amx_fp16"), "AVX512_CORE_FP16")}


def check_supported(precision: str) -> None:
    """ValueError for a precision that would abort TensorFlow here: oneDNN capped (ONEDNN_MAX_CPU_ISA) below the
    instructions of a CPU on which TensorFlow hands that dtype's ops to oneDNN (`ONEDNN_ROUTED`: bfloat16 on AVX-512
    CPUs, float16 on CPUs with AVX-512 FP16 or AMX FP16), so that oneDNN, capped, cannot build its kernels."""
    cap = machine.onednn_isa_cap()
    flags, isa = ONEDNN_ROUTED.get(precision, ((), None))
    if cap and any(flag in machine.cpu_flags() for flag in flags) and not machine.cap_admits(cap, isa):
        raise ValueError(f"precision {precision} cannot run with ONEDNN_MAX_CPU_ISA={cap} on this CPU, whose "
                         f"{'/'.join(flags)} makes TensorFlow hand it to oneDNN (it would abort): unset "
                         "ONEDNN_MAX_CPU_ISA or use float32.")


def resolve_precision(precision: str, check: bool = True) -> str:
    """The concrete policy name of `precision` ("auto" resolved for this machine; see the module docstring); with
    `check`, ValueError when it would abort TensorFlow here (`check_supported`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; expected one of: {', '.join(PRECISIONS)}.")
    resolved = auto_precision()["precision"] if precision == "auto" else precision
    if check:
        check_supported(resolved)
    return resolved


def conv_networks(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The frame encoders and decoders inside `model` (the layers whose precision `apply_precision` sets): the
    layers whose class declares `precision_role = "mixed"` (the models say which; this layer imports none)."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if getattr(layer, "precision_role", None) == "mixed"]


def apply_precision(model: keras.layers.Layer, precision: str) -> int:
    """Sets the dtype policy `precision` on every layer of `model`'s frame encoders and decoders.

    HAF-SVG's feature aligners inside a decoder keep float32 (a softmax over up to 4096 positions).
    Works before or after the variables exist (they are float32 in every policy). Returns the number of
    layers whose policy was set. Raises ValueError for an unknown precision.
    """
    policy = keras.DTypePolicy(resolve_precision(precision))
    count = 0
    for network in conv_networks(model):
        layers = list(network._flatten_layers(include_self=True, recursive=True))
        kept = {id(sub) for layer in layers if getattr(layer, "precision_role", None) == "float32"
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
    if resolve_precision(precision, check=False) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
