"""The input checks of the exported serving functions: in the graph (SavedModel) and on the host (TFLite).

In the graph, a bad value fails with InvalidArgumentError "assertion failed: [<input name> must ...]". The
checks are written so that none of them itself fails on a bad shape. TFLite drops Assert ops when converting,
so hosts of a TFLite file check their inputs with `check_inputs` (numpy) before calling the interpreter.

The rules are those of `tfvideo.validation`: `graph_steps_per_frame` is the float32 in-graph twin of
`validation.steps_per_frame` (same operations, so `check_inputs`, which runs it with float32 precision, accepts
exactly what the graph accepts), counts are whole numbers >= 1 and seeds int32s.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfvideo import validation
from tfvideo.models import actions as actions_lib
from tfvideo.models import requests


def assertion(condition, *message) -> tf.Operation:
    """An Assert op failing with `message` (strings and tensors) when `condition` is False."""
    return tf.debugging.Assert(condition, list(message), summarize=8)


def count_check(value: tf.Tensor, name: str) -> tf.Operation:
    """`value` (int32 scalar) is a whole number >= 1."""
    return assertion(value >= 1, f"{name} must be a whole number >= 1; got", value)


def frames_checks(model, frames: tf.Tensor, name: str) -> list[tf.Operation]:
    """Checks of videos [B, T, H, W, C]: rank, the model's frame size and channels, B >= 1,
    T >= model.min_context_frames(), and finite values in [0, 1]."""
    expected = [model.image_size, model.image_size, model.channels]
    min_length = model.min_context_frames()
    shape = tf.shape(frames)
    padded = tf.concat([shape, tf.fill([5], -1)], axis=0)[:5]  # any rank -> 5 entries, -1 where missing
    shape_ok = tf.logical_and(tf.equal(tf.size(shape), 5),
                              tf.reduce_all(tf.equal(padded[2:], tf.constant(expected, tf.int32))))
    in_range = tf.reduce_all(tf.logical_and(frames >= 0.0, frames <= 1.0))  # NaN fails both
    return [
        assertion(shape_ok, f"{name} must be float32 frames [batch, time, height, width, channels] = "
                            f"[B, T, {expected[0]}, {expected[1]}, {expected[2]}] for this model; got shape", shape),
        assertion(padded[0] >= 1, f"{name} needs at least one video; got shape", shape),
        assertion(padded[1] >= min_length, f"{name} needs at least {min_length} frames (T >= {min_length}) for "
                                           "this model; got shape", shape),
        assertion(in_range, f"{name} values must be finite and lie in [0, 1] (scale uint8 frames by 1/255); got "
                            "min", tf.reduce_min(frames), "max", tf.reduce_max(frames)),
    ]


def states_check(states: tf.Tensor, name: str, size: int) -> tf.Operation:
    """`states` is [B, S, F, size] (latent states)."""
    shape = tf.shape(states)
    return assertion(tf.logical_and(tf.equal(tf.size(shape), 4), tf.equal(shape[-1], size)),
                     f"{name} must be float32 [B, S, F, {size}] latent states; got shape", shape)


def actions_checks(model, actions: tf.Tensor, context: tf.Tensor, horizon: tf.Tensor, name: str = "actions"
                   ) -> list[tf.Operation]:
    """Checks of actions [B, >= T - 1 + horizon, A] for context [B, T, ...]: rank 3, the model's A, the length, and
    finite values (the batch is `same_batch_check`'s)."""
    size = model.model_config.action_size
    shape = tf.shape(actions)
    padded = tf.concat([shape, tf.fill([3], -1)], axis=0)[:3]
    needed = tf.shape(context)[1] - 1 + horizon
    shape_ok = tf.logical_and(tf.equal(tf.size(shape), 3), tf.equal(padded[2], size))
    return [
        assertion(tf.logical_and(shape_ok, padded[1] >= needed), f"{name} must be float32 [B, >= context frames - 1 "
                  f"+ horizon, {size}] (a_t moves frame t to t + 1); needed length", needed, "got shape", shape),
        assertion(tf.reduce_all(tf.math.is_finite(actions)), f"{name} hold NaN or Inf values: give finite actions"),
    ]


def same_batch_check(a: tf.Tensor, b: tf.Tensor, name_a: str, name_b: str) -> tf.Operation:
    """`a` and `b` have the same first dimension (a rank-0 tensor has none, and fails)."""
    first = lambda x: tf.concat([tf.shape(x), [-1]], axis=0)[:1]
    return assertion(tf.reduce_all(tf.equal(first(a), first(b))), f"{name_a} and {name_b} must have the same batch "
                     f"size; got {name_a} shape", tf.shape(a), f"{name_b} shape", tf.shape(b))


def graph_steps_per_frame(dt: tf.Tensor, validate: bool = True, name: str = "dt"):
    """(k, checks): k = round(1 / dt) as an int32 scalar from a float32 scalar dt, and (with `validate`) the
    Assert that dt = 1/k with 1 <= k <= MAX_STEPS_PER_FRAME; see `validation.steps_per_frame`."""
    in_range = tf.logical_and(dt >= 1.0 / validation.MAX_STEPS_PER_FRAME, dt <= 1.0)  # False for NaN
    safe_dt = tf.where(in_range, dt, tf.ones_like(dt))
    k_float = tf.round(1.0 / safe_dt)
    k = tf.cast(k_float, tf.int32)
    if not validate:
        return k, []
    exact = tf.abs(1.0 / k_float - safe_dt) <= validation.DT_TOLERANCE
    limit = validation.MAX_STEPS_PER_FRAME
    return k, [assertion(tf.logical_and(in_range, exact), f"{name} must be of the form 1/k for a whole number k "
                         f"from 1 to {limit} (1, 0.5, 0.25, ..., 1/{limit}) so that Euler steps land on every "
                         "frame; got", dt)]


def dt_checks(model, dt: tf.Tensor, validate: bool = True):
    """(k, checks): `graph_steps_per_frame`, plus for a discrete-time model the check that dt = 1, in the words of
    `validation.frame_steps` (the request check of `tfvideo.models.requests`)."""
    k, checks = graph_steps_per_frame(dt, validate)
    if validate and not model.continuous_time:
        message = validation.discrete_time_message("dt", f"this {model.model_config.model} model")
        checks.append(assertion(tf.equal(k, 1), message, dt))
    return k, checks


def after(checks: list[tf.Operation], *tensors) -> tuple:
    """`tensors` that can only be computed once every check passed."""
    if not checks:
        return tensors
    with tf.control_dependencies(checks):
        return tuple(tf.identity(t) for t in tensors)


# -------------------------------------------------------------------------------------------------- host


def check_inputs(context, num_samples, horizon, dt, seed, *, image_size: int, channels: int,
                 min_context_frames: int, dt_supported: bool = True, actions=None,
                 action_size: int = 0) -> dict[str, np.ndarray]:
    """The numpy twin of the in-graph checks of `predict`, for runtimes that drop Assert ops (TFLite).

    `actions` [B, >= T - 1 + horizon, A] go to a file of an action-conditioned model (`action_size` A > 0, from its
    metadata) and only to one (`tfvideo.models.actions.check_actions`).
    Returns the inputs as the arrays the TFLite signature takes; raises ValueError naming the bad input.
    """
    context = _context_array(context, (image_size, image_size, channels), min_context_frames)
    request = requests.check(num_samples, horizon, dt, context.shape[1], continuous_time=dt_supported,
                             min_context_frames=min_context_frames, precision=np.float32)
    num_samples, horizon = request.num_samples, request.horizon
    seed = validation.int32_seed(seed, "seed")
    out = {"context": context, "num_samples": np.int32(num_samples), "dt": np.float32(dt),
           "horizon": np.int32(horizon), "seed": np.int32(seed)}
    actions = actions_lib.check_actions(actions, conditioned=action_size > 0, action_size=action_size,
                                        batch_size=context.shape[0], who="this exported model",
                                        length=actions_lib.required_length(context.shape[1], horizon))
    if actions is not None:
        out["actions"] = actions.numpy()
    return out


def _context_array(context, expected: tuple[int, int, int], min_length: int) -> np.ndarray:
    """float32 frames [B >= 1, T >= min_length, *expected] with finite values in [0, 1], else ValueError."""
    try:
        context = np.asarray(context)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(f"context must be an array of float32 frames [B, T, {expected[0]}, {expected[1]}, "
                         f"{expected[2]}]: {error}") from None
    if context.ndim != 5 or tuple(context.shape[2:]) != expected:
        raise ValueError(f"context must be float32 frames [batch, time, height, width, channels] = [B, T, "
                         f"{expected[0]}, {expected[1]}, {expected[2]}] for this model; got shape {context.shape}.")
    if context.shape[0] < 1:
        raise ValueError(f"context needs at least one video; got shape {context.shape}.")
    if context.shape[1] < min_length:
        raise ValueError(f"context needs at least {min_length} frames (T >= {min_length}) for this model; got "
                         f"shape {context.shape}.")
    if not np.issubdtype(context.dtype, np.floating):
        raise ValueError(f"context must be float frames in [0, 1]; got dtype {context.dtype} (divide uint8 "
                         "frames by 255).")
    if not (np.all(np.isfinite(context)) and context.min() >= 0.0 and context.max() <= 1.0):
        raise ValueError(f"context values must be finite and lie in [0, 1]; got min {np.min(context):g}, max "
                         f"{np.max(context):g} (nan if any value is NaN).")
    return context.astype(np.float32)
