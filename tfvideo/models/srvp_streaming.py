"""SRVP's frame-by-frame sampler (`SRVP.streaming_functions`): the futures of `predict`, one Euler step per call.

`start` infers everything `predict` infers from the context (y at the last context frame, the content w and
the skip tensors, each tiled to the N = B * S rows) and decodes nothing; `next` takes one Euler step
y <- y + dt f(y, z) and decodes the one frame it reaches, so the first predicted frame costs one decode. z is
drawn from p(z | y) at the first step of each frame (and kept for the k - 1 others), with the noise block
`predict` draws for that frame (`noise.seeded_noise_block`): the same seed gives the same futures.

State tensors (N = B * S rows, row b * S + s: sample s of video b):

    y                float32 [N, ny]   the latent state after the steps taken so far
    z                float32 [N, nz]   the current frame's z (stochastic dynamics only)
    step             int32 []          Euler steps taken in the future (frame j of predict's output is step j + 1)
    steps_per_frame  int32 []          k of dt = 1/k
    first_step       int32 []          Tc - 1: the index of the first future frame's z in predict's noise
    seed             int32 []
    num_samples      int32 []          S
    content          float32 [N, W]    the content variable w (models with content only)
    skip<i>          float32 [N, h, w, c]  the decoder's skip tensors (models with skip connections only)
    action           float32 [N, A]    the current frame's normalised action (action-conditioned models only)

Action-conditioned models: `start` takes the context's actions [B, >= Tc - 1, A] (a_t moves frame t to t + 1) and
`next` the action [B, A] of the frame being entered, read at the first of its k Euler steps and held over them
(the action given at the other steps is not read), as `predict` holds a_{Tc-2+j} over frame j's steps; so feeding
actions[:, Tc - 1 + j] to the calls of frame j gives predict's futures.
"""

from __future__ import annotations

import tensorflow as tf

from tfvideo.models import distributions as dist_lib
from tfvideo.models import noise as noise_lib
from tfvideo.models import serving


def streaming_functions(model) -> serving.StreamingFunctions:
    return serving.StreamingFunctions(start=lambda *args, **kwargs: start(model, *args, **kwargs),
                                      next=lambda state, *action: next_frame(model, state, *action),
                                      state=state_spec(model), takes_actions=_takes_actions(model))


def _takes_actions(model) -> bool:
    return model.action_normalizer is not None


def state_spec(model) -> dict[str, tuple[str, tuple]]:
    """{name: (dtype, shape)} of the state; None stands for the N rows."""
    cfg = model.model_config
    spec = {"y": ("float32", (None, cfg.latent_size))}
    if cfg.stochastic:
        spec["z"] = ("float32", (None, cfg.noise_size))
    spec.update({name: ("int32", ()) for name in ("step", "steps_per_frame", "first_step", "seed", "num_samples")})
    if model.content is not None:
        spec["content"] = ("float32", (None, cfg.inference_hidden_size))
    if cfg.skip_connections:
        zeros = tf.zeros([1, 1, model.image_size, model.image_size, model.channels])
        for i, skip in enumerate(model.encode(zeros)["skips"]):
            spec[f"skip{i}"] = ("float32", (None, *skip.shape[2:]))
    if _takes_actions(model):
        spec["action"] = ("float32", (None, cfg.action_size))
    return spec


def start(model, context, num_samples, steps_per_frame, seed, actions=None) -> dict[str, tf.Tensor]:
    """The state after context [B, Tc, H, W, C] (and its raw actions [B, >= Tc - 1, A] for an action-conditioned
    model): y at the last context frame, as `predict` computes it."""
    inferred = model.infer(context)
    length = context.shape[1] if isinstance(num_samples, int) and context.shape[1] is not None \
        else tf.shape(context)[1]  # a Python num_samples (fixed-shape export) unrolls the context loop
    noise = model.draw_noise(tf.shape(context)[0], num_samples, length, length - 1, seed=seed)
    y = model.context_state(model.initial_state(inferred, num_samples, noise["y1"]), length - 1,
                            _tile(inferred["posterior"], num_samples), noise.get("z"),
                            model.model_actions(actions, num_samples))
    as_int = lambda value: tf.convert_to_tensor(value, tf.int32)
    state = {"y": y, "step": as_int(0), "steps_per_frame": as_int(steps_per_frame), "first_step": as_int(length - 1),
             "seed": as_int(seed), "num_samples": as_int(num_samples)}
    if model.model_config.stochastic:
        state["z"] = tf.zeros([tf.shape(y)[0], model.model_config.noise_size], y.dtype)
    if inferred["content"] is not None:
        state["content"] = _tile(inferred["content"], num_samples)
    for i, skip in enumerate(inferred["skips"] or []):
        state[f"skip{i}"] = _tile(skip, num_samples)
    if _takes_actions(model):
        state["action"] = tf.zeros([tf.shape(y)[0], model.model_config.action_size], y.dtype)
    return state


def next_frame(model, state: dict, action=None) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """(frame [B, S, H, W, C] after one more Euler step, the new state); `action` [B, A], raw, for an
    action-conditioned model (read at the first step of a frame)."""
    y, k, step = state["y"], state["steps_per_frame"], state["step"]
    held = state.get("action")
    if held is not None:
        fresh = model.model_actions(action, state["num_samples"])
        held = tf.where(tf.equal(step % k, 0), fresh, held)
    z = state.get("z")
    if z is not None:  # a new z at the first step of each frame, drawn as predict draws it
        rows = tf.shape(y)[0]
        names = model.noise_shapes(1, 1, 1, 1).keys()
        offsets = tf.stack([0, state["first_step"] + step // k, 0])
        noise = noise_lib.seeded_noise_block(names, "z", tf.stack([rows, 1, model.model_config.noise_size]),
                                             state["seed"], offsets)[:, 0]
        fresh = dist_lib.sample_with_noise(model.prior_distribution(y, held), noise)
        z = tf.where(tf.equal(step % k, 0), fresh, z)
    y = model.euler_step(y, z, 1.0 / tf.cast(k, y.dtype), held)
    skips = [state[f"skip{i}"] for i in range(len(state)) if f"skip{i}" in state] or None
    frames = model.decode(y[:, None], state.get("content"), skips)[:, 0]
    shape = tf.shape(frames)
    num_samples = state["num_samples"]
    frame = tf.reshape(frames, tf.concat([[shape[0] // num_samples, num_samples], shape[1:]], axis=0))
    new_state = {**state, "y": y, "step": step + 1}
    if z is not None:
        new_state["z"] = z
    if held is not None:
        new_state["action"] = held
    return frame, new_state


def _tile(tensor, num_samples):
    return None if tensor is None else tf.repeat(tensor, num_samples, axis=0)
