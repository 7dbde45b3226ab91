"""The serving functions of an exported model, built on any `VideoPredictor`.

Every model gets the `predict` endpoint (also exported as `serving_default`):

    inputs   context      float32 [B, T, H, W, C], values in [0, 1], T >= model.min_context_frames()
             num_samples  int32 scalar S >= 1: futures sampled per video
             dt           float32 scalar 1/k (1, 0.5, 0.25, ..., 1/1000): Euler step, in frames
             horizon      int32 scalar N >= 1: future frames at the training frame rate
             seed         int32 scalar, any value: same seed, same futures
    output   frames       float32 [B, S, N * k, H, W, C] in [0, 1] (the frame rate is raised k times)

It only uses the model's contract (`noise_shapes`, `sample_futures(..., include_intermediate=True)`,
`min_context_frames`, `supports_dt`), so every model plugs in. Models can add endpoints of their own through
`register_extra_endpoints`; SRVP adds `content_swap`, `latents` and `decode` (see `_srvp_endpoints`).

Randomness: `predict` runs `model.sample_seeded`, as `model.generate` does: the noise is hashed in the graph
from `seed` by `tfvideo.models.noise` (TFLite builtin ops only), so a seed gives the same futures in Python,
TF Serving and LiteRT, and a longer horizon or more samples keep the earlier draws.

Validation (`tfvideo.export.checks`): with `validate=True` (the SavedModel), the inputs are checked in the
graph before the model runs, and a bad value fails with InvalidArgumentError "assertion failed: [<input name>
must ...]". TFLite drops Assert ops when converting, so the TFLite export is built with `validate=False` and
hosts check their inputs with `checks.check_inputs` (numpy) before calling the interpreter.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

from tfvideo.export import checks as checks_lib
from tfvideo.models.base import VideoPredictor

FRAMES = "frames"

def _static_frames(model: VideoPredictor, frames: tf.Tensor) -> tf.Tensor:
    """Reshapes [..., H, W, C] so that H, W, C are static (the model's), leaving the leading dims dynamic."""
    rank = frames.shape.rank
    shape = tf.shape(frames)
    return tf.reshape(frames, tf.concat([shape[:rank - 3],
                                         [model.image_size, model.image_size, model.channels]], axis=0))


def _context_spec(model: VideoPredictor, name: str, static_frames: bool) -> tf.TensorSpec:
    if static_frames:
        return tf.TensorSpec([None, None, model.image_size, model.image_size, model.channels], tf.float32, name)
    # The SavedModel takes any frame size so that a wrong one fails with a named InvalidArgumentError in every
    # loader (TF Serving does not check fed shapes against the signature; Python loaders raise their own errors).
    return tf.TensorSpec([None, None, None, None, None], tf.float32, name)


def _scalar_specs() -> list[tf.TensorSpec]:
    return [tf.TensorSpec([], tf.int32, "num_samples"), tf.TensorSpec([], tf.float32, "dt"),
            tf.TensorSpec([], tf.int32, "horizon"), tf.TensorSpec([], tf.int32, "seed")]


# -------------------------------------------------------------------------------------------------- endpoints


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One exported function: `fn(*inputs)` -> dict of named outputs, with its input signature and docs."""

    name: str
    fn: Callable
    input_signature: list[tf.TensorSpec]
    description: str
    outputs: dict[str, str]

    def tf_function(self) -> tf.types.experimental.GenericFunction:
        """The endpoint as a tf.function with its input signature (autograph off: explicit control flow)."""
        return tf.function(self.fn, input_signature=self.input_signature, autograph=False)


def predict_endpoint(model: VideoPredictor, *, validate: bool = True, static_frames: bool = False) -> Endpoint:
    """`predict(context, num_samples, dt, horizon, seed) -> {"frames": [B, S, horizon * k, H, W, C]}`."""

    def predict(context, num_samples, dt, horizon, seed):
        k, dt_checks = checks_lib.dt_checks(model, dt, validate)
        checks = []
        if validate:
            checks = (checks_lib.frames_checks(model, context, "context") + dt_checks
                      + [checks_lib.count_check(num_samples, "num_samples"),
                         checks_lib.count_check(horizon, "horizon")])
        context, num_samples, k, horizon, seed = checks_lib.after(checks, context, num_samples, k, horizon, seed)
        frames = model.sample_seeded(_static_frames(model, context), num_samples, horizon, k, seed,
                                     include_intermediate=True)
        return {FRAMES: _static_frames(model, frames)}

    return Endpoint(
        name="predict", fn=predict,
        input_signature=[_context_spec(model, "context", static_frames), *_scalar_specs()],
        description="Sampled futures of each context video; same seed, same futures.",
        outputs={FRAMES: "float32 [B, num_samples, horizon * k, H, W, C] in [0, 1], dt = 1/k: the frames at "
                         "the training rate and the k - 1 frames between each two of them"})


EXTRA_ENDPOINTS: dict[type, Callable[..., list[Endpoint]]] = {}


def register_extra_endpoints(model_class: type, builder: Callable[..., list[Endpoint]]) -> None:
    """Registers `builder(model, validate=..., static_frames=...) -> [Endpoint]` for a model class."""
    EXTRA_ENDPOINTS[model_class] = builder


def endpoints(model: VideoPredictor, *, validate: bool = True, static_frames: bool = False,
              extras: bool = True) -> list[Endpoint]:
    """`predict` first (the SavedModel's `serving_default`), then the model's extra endpoints."""
    result = [predict_endpoint(model, validate=validate, static_frames=static_frames)]
    if extras:
        _register_builtin_extras()
        for cls in type(model).__mro__:
            if cls in EXTRA_ENDPOINTS:
                result += EXTRA_ENDPOINTS[cls](model, validate=validate, static_frames=static_frames)
                break
    return result


def _register_builtin_extras() -> None:
    from tfvideo.models.srvp import SRVP
    EXTRA_ENDPOINTS.setdefault(SRVP, _srvp_endpoints)


# -------------------------------------------------------------------------------------------------- SRVP extras


def _srvp_endpoints(model, *, validate: bool = True, static_frames: bool = False) -> list[Endpoint]:
    """SRVP's extra endpoints (cheap: they reuse `infer`, `rollout` and `decode`):

    - `latents`: the latent trajectory behind `predict`'s frames for the same inputs and seed, with q(y_1)
      and the content variable w (latent-space analysis, interpolation, custom decoding).
    - `decode`: frames from latent states [B, S, F, ny], with w and skips from a context; `decode(context,
      latents(context, ...).states)` equals `predict(context, ...)`.
    - `content_swap`: futures with the dynamics (y_1, z) of `dynamics_context` and the content (w, and the
      skip tensors when the model has them) of `content_context` (SRVP, section 4.5). Same seed as predict:
      content_swap(x, x, ...) equals predict(x, ...). Only for models with content or skip connections.
    """
    from tfvideo.models import distributions as dist_lib

    cfg = model.model_config
    min_frames = model.min_context_frames()
    has_content = model.content is not None

    def prepare(context, name, num_samples, dt, horizon, extra_checks=()):
        k, dt_checks = checks_lib.dt_checks(model, dt, validate)
        checks = list(extra_checks)
        if validate:
            checks += (checks_lib.frames_checks(model, context, name) + dt_checks
                       + [checks_lib.count_check(num_samples, "num_samples"),
                          checks_lib.count_check(horizon, "horizon")])
        return checks, k

    def tile(t, num_samples):
        return None if t is None else tf.repeat(t, num_samples, axis=0)

    def trajectory(inferred, context_length, num_samples, k, horizon, seed):
        """States [B * S, F, ny], exactly as SRVP.sample_futures draws them for this seed."""
        batch = tf.shape(inferred["encoding"])[0]
        noise = model.draw_noise(batch, num_samples, context_length, context_length - 1 + horizon, seed=seed)
        y1 = inferred["y1"]
        y = dist_lib.sample_with_noise(dist_lib.tfd.Normal(tile(y1.loc, num_samples), tile(y1.scale, num_samples)),
                                       noise["y1"])
        return model.rollout(y, context_length - 1, horizon, k, tile(inferred["posterior"], num_samples),
                             noise.get("z"), include_intermediate=True)

    def render(states, inferred, num_samples, batch):
        """Frames [B, S, F, H, W, C] of states [B * S, F, ny] with the content and skips of `inferred`."""
        skips = None if inferred["skips"] is None else [tile(s, num_samples) for s in inferred["skips"]]
        frames = model.decode(states, tile(inferred["content"], num_samples), skips)
        frames = tf.reshape(frames, tf.concat([[batch, num_samples], tf.shape(frames)[1:]], axis=0))
        return _static_frames(model, frames)

    def latents(context, num_samples, dt, horizon, seed):
        checks, k = prepare(context, "context", num_samples, dt, horizon)
        context, num_samples, k, horizon, seed = checks_lib.after(checks, context, num_samples, k, horizon, seed)
        context = _static_frames(model, context)
        inferred = model.infer(context)
        states = trajectory(inferred, tf.shape(context)[1], num_samples, k, horizon, seed)
        batch = tf.shape(context)[0]
        out = {"states": tf.reshape(states, tf.concat([[batch, num_samples], tf.shape(states)[1:]], axis=0)),
               "y1_mean": inferred["y1"].loc, "y1_scale": inferred["y1"].scale}
        if has_content:
            out["content"] = inferred["content"]
        return out

    def decode(context, states):
        checks = []
        if validate:
            shape = tf.shape(states)
            checks = checks_lib.frames_checks(model, context, "context") + [
                checks_lib.assertion(tf.logical_and(tf.equal(tf.size(shape), 4), tf.equal(shape[-1], cfg.latent_size)),
                        f"states must be float32 [B, S, F, {cfg.latent_size}] latent states; got shape", shape),
                checks_lib.assertion(tf.equal(shape[0], tf.shape(context)[0]),
                        "states and context must have the same batch size; got states shape", shape,
                        "context shape", tf.shape(context))]
        context, states = checks_lib.after(checks, context, states)
        context = _static_frames(model, context)
        inferred = model.infer(context)
        shape = tf.shape(states)
        flat = tf.reshape(states, tf.concat([[shape[0] * shape[1]], shape[2:3], [cfg.latent_size]], axis=0))
        return {FRAMES: render(flat, inferred, shape[1], shape[0])}

    def content_swap(content_context, dynamics_context, num_samples, dt, horizon, seed):
        same_batch = []
        if validate:
            same_batch = [checks_lib.assertion(tf.equal(tf.shape(content_context)[0], tf.shape(dynamics_context)[0]),
                                  "content_context and dynamics_context must have the same batch size; got",
                                  tf.shape(content_context)[:1], "and", tf.shape(dynamics_context)[:1])]
            same_batch += checks_lib.frames_checks(model, content_context, "content_context")
        checks, k = prepare(dynamics_context, "dynamics_context", num_samples, dt, horizon, same_batch)
        content_context, dynamics_context, num_samples, k, horizon, seed = checks_lib.after(
            checks, content_context, dynamics_context, num_samples, k, horizon, seed)
        content_context = _static_frames(model, content_context)
        dynamics_context = _static_frames(model, dynamics_context)
        dynamics = model.infer(dynamics_context)
        states = trajectory(dynamics, tf.shape(dynamics_context)[1], num_samples, k, horizon, seed)
        return {FRAMES: render(states, model.infer(content_context), num_samples, tf.shape(dynamics_context)[0])}

    scalars = _scalar_specs()
    context = _context_spec(model, "context", static_frames)
    frames_doc = "float32 [B, num_samples, horizon * k, H, W, C] in [0, 1]"
    result = [
        Endpoint("latents", latents, [context, *scalars],
                 "The latent trajectory behind predict's frames (same inputs, same seed), q(y_1) and w.",
                 {"states": f"float32 [B, num_samples, horizon * k, {cfg.latent_size}]: y after each Euler step "
                            "of the future",
                  "y1_mean": f"float32 [B, {cfg.latent_size}]: mean of q(y_1 | context)",
                  "y1_scale": f"float32 [B, {cfg.latent_size}]: standard deviation of q(y_1 | context)",
                  **({"content": f"float32 [B, {cfg.inference_hidden_size}]: content variable w of the last "
                                 f"{min_frames} context frames"} if has_content else {})}),
        Endpoint("decode", decode,
                 [context, tf.TensorSpec([None, None, None, cfg.latent_size], tf.float32, "states")],
                 "Frames of given latent states, with the content (and skips) of a context.",
                 {FRAMES: "float32 [B, S, F, H, W, C] in [0, 1] for states [B, S, F, ny]"}),
    ]
    if has_content or cfg.skip_connections:
        result.append(Endpoint(
            "content_swap", content_swap,
            [_context_spec(model, "content_context", static_frames),
             _context_spec(model, "dynamics_context", static_frames), *scalars],
            "Futures with the motion of dynamics_context and the appearance (w, skips) of content_context.",
            {FRAMES: frames_doc}))
    return result
