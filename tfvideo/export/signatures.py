"""The serving functions of an exported model, built on any `VideoPredictor`.

Every model gets the `predict` endpoint (also exported as `serving_default`):

    inputs   context      float32 [B, T, H, W, C], values in [0, 1], T >= model.min_context_frames()
             num_samples  int32 scalar S >= 1: futures sampled per video
             horizon      int32 scalar N >= 1: future frames at the training frame rate
             dt           float32 scalar 1/k (1, 0.5, 0.25, ..., 1/1000): Euler step of the predicted frames, in
                          frames (the context is integrated at the training dt, as in the SRVP code)
             seed         int32 scalar, any value: same seed, same futures
             actions      float32 [B, >= T - 1 + N, A], action-conditioned models only (and required by them):
                          raw actions, a_t moving frame t to t + 1 (`tfvideo.models.actions`)
    output   frames       float32 [B, S, N * k, H, W, C] in [0, 1] (the frame rate is raised k times)

It only uses the model's contract (`noise_shapes`, `sample_futures(..., include_intermediate=True)`,
`min_context_frames`, `continuous_time`), so every model plugs in. A model declares endpoints of its own in
`extra_serving_functions()` (`tfvideo.models.serving`: plain functions over validated inputs, with the kinds
of their inputs); `endpoint` adds the input signature and the in-graph checks. SRVP declares `latents`,
`decode` and `content_swap` (`SRVP.extra_serving_functions`). A model with `streaming_functions()` also gets
`stream_start(context, num_samples, dt, seed) -> state_*` and `stream_next(state_*) -> frame, state_*`
(`stream_endpoints`): predict's frames one at a time, the first after one decode.

Randomness: `predict` runs `model.sample_seeded`, as `model.generate` does: the noise is hashed in the graph
from `seed` by `tfvideo.models.noise` (TFLite builtin ops only), so a seed gives the same futures in Python,
TF Serving and LiteRT, and a longer horizon or more samples keep the earlier draws.

The sampling inputs come in the order of `model.generate`: num_samples, horizon, dt, seed (callers give them by
name: the names are the contract).

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
from tfvideo.models import serving
from tfvideo.models.base import VideoPredictor

FRAMES = "frames"
SERVING_DEFAULT = "serving_default"  # the name predict is also exported under
FRAME = "frame"  # stream_next's output
STREAM_START, STREAM_NEXT = "stream_start", "stream_next"
STATE_PREFIX = "state_"  # signature names of the streaming state tensors


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


def endpoints(model: VideoPredictor, *, validate: bool = True, static_frames: bool = False,
              extras: bool = True) -> list[Endpoint]:
    """`predict` first (the SavedModel's `serving_default`), then (with `extras`) the functions the model
    declares in `extra_serving_functions()`."""
    functions = [predict_function(model), *(model.extra_serving_functions() if extras else [])]
    return [*(endpoint(model, function, validate=validate, static_frames=static_frames) for function in functions),
            *(stream_endpoints(model, validate=validate, static_frames=static_frames) if extras else [])]


def predict_endpoint(model: VideoPredictor, *, validate: bool = True, static_frames: bool = False) -> Endpoint:
    """`predict(context, num_samples, horizon, dt, seed) -> {"frames": [B, S, horizon * k, H, W, C]}`."""
    return endpoint(model, predict_function(model), validate=validate, static_frames=static_frames)


def predict_function(model: VideoPredictor) -> serving.ServingFunction:
    """`predict`: `model.sample_seeded` with every intermediate frame, the sampler `model.generate` runs."""

    def predict(context, num_samples, horizon, steps_per_frame, seed, **actions):
        return {FRAMES: model.sample_seeded(context, num_samples, horizon, steps_per_frame, seed,
                                            include_intermediate=True, **actions)}

    inputs = (serving.CONTEXT, *serving.SAMPLING, *([serving.ACTIONS] if model.action_normalizer is not None else []))
    return serving.ServingFunction(
        "predict", predict, inputs,
        "Sampled futures of each context video; same seed, same futures.",
        {FRAMES: "float32 [B, num_samples, horizon * k, H, W, C] in [0, 1], dt = 1/k: the frames at the training "
                 "rate and the k - 1 frames between each two of them"})


def endpoint(model: VideoPredictor, function: serving.ServingFunction, *, validate: bool = True,
             static_frames: bool = False) -> Endpoint:
    """`function` as an Endpoint: a TensorSpec per input and, with `validate`, the in-graph checks of every input
    before the function runs. Frames inputs and the "frames" output get the model's static H, W, C; a dt input
    reaches the function as `steps_per_frame` (k)."""
    inputs = function.inputs

    def fn(*args):
        values = dict(zip([spec.name for spec in inputs], args))
        k, checks = _input_checks(model, inputs, values, validate)
        checked = checks_lib.after(checks, *args, *([] if k is None else [k]))
        kwargs = {}
        for spec, value in zip(inputs, checked):
            if spec.kind == "dt":
                kwargs["steps_per_frame"] = checked[-1]
            else:
                kwargs[spec.name] = _static_frames(model, value) if spec.kind == "frames" else value
        outputs = dict(function.fn(**kwargs))
        if FRAMES in outputs:
            outputs[FRAMES] = _static_frames(model, outputs[FRAMES])
        return outputs

    return Endpoint(function.name, fn, [_spec(model, spec, static_frames) for spec in inputs], function.description,
                    function.outputs)


def stream_endpoints(model: VideoPredictor, *, validate: bool = True, static_frames: bool = False) -> list[Endpoint]:
    """`stream_start(context, num_samples, dt, seed) -> state_*` and `stream_next(state_*) -> frame, state_*` of a
    model with `streaming_functions()` (none otherwise): predict's futures, one frame per `stream_next` call."""
    streaming = model.streaming_functions()
    if streaming is None:
        return []
    inputs = (serving.CONTEXT, *(spec for spec in serving.SAMPLING if spec.name != "horizon"),
              *([serving.ACTIONS] if streaming.takes_actions else []))
    start = serving.ServingFunction(
        STREAM_START, lambda **kwargs: prefixed_state(streaming.start(**kwargs)), inputs,
        "The sampling state after the context (nothing decoded): feed it to stream_next.", state_outputs(streaming))
    return [endpoint(model, start, validate=validate, static_frames=static_frames),
            stream_next_endpoint(model, streaming)]


def stream_next_endpoint(model: VideoPredictor, streaming: serving.StreamingFunctions, rows: int | None = None,
                         batch: int | None = None) -> Endpoint:
    """`stream_next(state_* (, action)) -> {"frame": [B, S, H, W, C], state_*}` (one Euler step, one decoded
    frame; `action` [B, A] of the frame stepped into for an action-conditioned model); `rows` fixes the N = B * S
    rows of the state tensors and `batch` the B of `action` (None: any)."""
    names = list(streaming.state)

    def fn(*args):
        frame, state = streaming.next(dict(zip(names, args)), *args[len(names):])
        return {FRAME: _static_frames(model, frame), **prefixed_state(state)}

    specs = [tf.TensorSpec([rows if d is None else d for d in shape], dtype, STATE_PREFIX + name)
             for name, (dtype, shape) in streaming.state.items()]
    if streaming.takes_actions:
        specs.append(tf.TensorSpec([batch, model.model_config.action_size], tf.float32, "action"))
    outputs = {FRAME: "float32 [B, S, H, W, C] in [0, 1]: the next frame of predict's output (frame j at call j + 1)",
               **state_outputs(streaming)}
    return Endpoint(STREAM_NEXT, fn, specs, "One more frame of the streamed futures, and the state after it.",
                    outputs)


def prefixed_state(state: dict) -> dict:
    """State tensors under their signature names, `state_<name>`."""
    return {STATE_PREFIX + name: value for name, value in state.items()}


def state_outputs(streaming: serving.StreamingFunctions) -> dict[str, str]:
    return {STATE_PREFIX + name: f"{dtype} {[('N' if d is None else d) for d in shape]}: sampling state"
            for name, (dtype, shape) in streaming.state.items()}


def _input_checks(model: VideoPredictor, inputs, values: dict, validate: bool):
    """(k of the dt input or None, the in-graph checks of `values`; none without `validate`)."""
    k, checks = None, []
    for spec in inputs:
        value = values[spec.name]
        if spec.kind == "dt":
            k, dt_checks = checks_lib.dt_checks(model, value, validate)
            checks += dt_checks
        if not validate:
            continue
        if spec.kind == "frames":
            checks += checks_lib.frames_checks(model, value, spec.name)
        elif spec.kind == "count":
            checks.append(checks_lib.count_check(value, spec.name))
        elif spec.kind == "states":
            checks.append(checks_lib.states_check(value, spec.name, spec.size))
        elif spec.kind == "actions":
            horizon = values.get("horizon", tf.constant(0))  # stream_start: the context's actions only
            context = values[spec.same_batch_as or "context"]  # the frames the actions go with
            checks += checks_lib.actions_checks(model, value, context, horizon, spec.name)
        if spec.same_batch_as:
            checks.append(checks_lib.same_batch_check(value, values[spec.same_batch_as], spec.name,
                                                      spec.same_batch_as))
    return k, checks


def _spec(model: VideoPredictor, spec: serving.ServingInput, static_frames: bool) -> tf.TensorSpec:
    if spec.kind == "frames":
        if static_frames:
            return tf.TensorSpec([None, None, model.image_size, model.image_size, model.channels], tf.float32,
                                 spec.name)
        # The SavedModel takes any frame size so that a wrong one fails with a named InvalidArgumentError in every
        # loader (TF Serving does not check fed shapes against the signature; Python loaders raise their own).
        return tf.TensorSpec([None, None, None, None, None], tf.float32, spec.name)
    if spec.kind == "states":
        return tf.TensorSpec([None, None, None, spec.size], tf.float32, spec.name)
    if spec.kind == "actions":  # any shape in the SavedModel, so that a wrong one fails with a named error
        size = model.model_config.action_size if static_frames else None
        return tf.TensorSpec([None, None, size], tf.float32, spec.name)
    return tf.TensorSpec([], tf.float32 if spec.kind == "dt" else tf.int32, spec.name)


def _static_frames(model: VideoPredictor, frames: tf.Tensor) -> tf.Tensor:
    """Reshapes [..., H, W, C] so that H, W, C are static (the model's), leaving the leading dims dynamic."""
    rank = frames.shape.rank
    shape = tf.shape(frames)
    return tf.reshape(frames, tf.concat([shape[:rank - 3],
                                         [model.image_size, model.image_size, model.channels]], axis=0))
