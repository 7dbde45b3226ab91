"""Fixed-shape TFLite variants: batch, sample count, horizon, dt and context length baked into the file.

`python -m tfvideo.export --format=tflite --static_shape=BATCH,SAMPLES,HORIZON [--dt=...]` writes a file whose
every tensor has a static shape: the latent loops are unrolled (Python counts, see `SRVP.rollout`) and the
XNNPACK delegate takes the convolutions, which it cannot do with the dynamic-shape file's runtime sample count and
horizon. Its signatures:

    serving_default(context float32 [B, T, H, W, C] fixed, seed int32 [] (, actions float32 [B, T - 1 + horizon, A]
        for an action-conditioned model)) -> frames [B, S, horizon * k, H, W, C]
    stream_start(context, seed) -> state_*;  stream_next(state_*) -> frame [B, S, H, W, C], state_*
        (models with `streaming_functions()`, see `signatures.stream_endpoints`)

T is the run's conditioning length; dt = 1/k is --dt (default: the run's training dt). The `.tflite.json`
beside the file records the shape under "static_shape"; `check_request` (used by `TFLiteModel`) refuses a call of
another shape with a message naming both.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfvideo import validation
from tfvideo.export import signatures
from tfvideo.export.errors import ExportError
from tfvideo.models import requests


@dataclasses.dataclass(frozen=True)
class StaticShape:
    """The request a fixed-shape file answers: B videos of T context frames, S futures of horizon * k frames."""

    batch: int
    num_samples: int
    horizon: int
    context_frames: int
    dt: float = 1.0

    @property
    def steps_per_frame(self) -> int:
        return validation.steps_per_frame(self.dt, "dt")

    @property
    def tag(self) -> str:
        """File-name tag: BxSxHORIZON, and _dt1-K when dt != 1."""
        k = self.steps_per_frame
        return f"{self.batch}x{self.num_samples}x{self.horizon}" + (f"_dt1-{k}" if k != 1 else "")

    def describe(self) -> str:
        return (f"{self.batch} video(s) of {self.context_frames} context frames, num_samples={self.num_samples}, "
                f"horizon={self.horizon}, dt={self.dt:g}")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def parse(text: str, context_frames: int, dt: float, model) -> StaticShape:
    """StaticShape of "BATCH,SAMPLES,HORIZON", the run's context length and dt = 1/k; ExportError when bad."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 3 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise ExportError(f"--static_shape must be BATCH,SAMPLES,HORIZON, three whole numbers >= 1 (e.g. 1,10,10); "
                          f"got {text!r}.")
    batch, num_samples, horizon = (int(p) for p in parts)
    k = requests.for_model(model, num_samples, horizon, dt, context_frames, flags=True,
                           error=ExportError).steps_per_frame
    values = batch * num_samples * horizon * k * model.image_size ** 2 * model.channels
    if values > validation.INT32_MAX:  # TFLite sizes its tensors with int32s
        raise ExportError(f"--static_shape={text} bakes futures of {values} values ({batch} x {num_samples} x "
                          f"{horizon * k} frames of {model.image_size}x{model.image_size}x{model.channels}), more "
                          "than a TFLite tensor holds (2**31 - 1): lower BATCH, SAMPLES or HORIZON.")
    return StaticShape(batch, num_samples, horizon, int(context_frames), float(dt))


def endpoints(model, shape: StaticShape) -> list[signatures.Endpoint]:
    """The fixed-shape `serving_default` (predict) and, when the model streams, `stream_start`/`stream_next`."""
    context_spec = tf.TensorSpec([shape.batch, shape.context_frames, model.image_size, model.image_size,
                                  model.channels], tf.float32, "context")
    seed_spec = tf.TensorSpec([], tf.int32, "seed")
    k = shape.steps_per_frame
    predict = signatures.predict_function(model)
    specs = [context_spec, seed_spec]
    if model.action_normalizer is not None:
        specs.append(tf.TensorSpec([shape.batch, shape.context_frames - 1 + shape.horizon,
                                    model.model_config.action_size], tf.float32, "actions"))

    def predict_fn(context, seed, *actions):  # Python counts: static shapes and unrolled loops
        frames = model.sample_seeded(context, shape.num_samples, shape.horizon, k, seed, include_intermediate=True,
                                     **({"actions": actions[0]} if actions else {}))
        return {signatures.FRAMES: frames}

    result = [signatures.Endpoint(signatures.SERVING_DEFAULT, predict_fn, specs,
                                  predict.description + f" Fixed shape: {shape.describe()}.", predict.outputs)]
    streaming = model.streaming_functions()
    if streaming is not None:
        start_specs = [context_spec, seed_spec]
        if streaming.takes_actions:  # the context's actions
            start_specs.append(tf.TensorSpec([shape.batch, shape.context_frames - 1, model.model_config.action_size],
                                             tf.float32, "actions"))
        start = lambda context, seed, *actions: signatures.prefixed_state(
            streaming.start(context, shape.num_samples, k, seed, *actions))
        result += [signatures.Endpoint(signatures.STREAM_START, start, start_specs,
                                       "The sampling state after the context: feed it to stream_next.",
                                       signatures.state_outputs(streaming)),
                   signatures.stream_next_endpoint(model, streaming, rows=shape.batch * shape.num_samples,
                                                   batch=shape.batch)]
    return result


def check_request(static: dict, context_shape, num_samples, horizon, dt) -> None:
    """ValueError naming the baked shape when a request to a fixed-shape file (metadata "static_shape") differs
    from it; None for num_samples, dt or horizon means the baked value."""
    shape = StaticShape(**static)
    asked = {"batch": int(context_shape[0]), "context frames": int(context_shape[1]),
             "num_samples": shape.num_samples if num_samples is None else num_samples,
             "horizon": shape.horizon if horizon is None else horizon, "dt": shape.dt if dt is None else dt}
    baked = {"batch": shape.batch, "context frames": shape.context_frames, "num_samples": shape.num_samples,
             "horizon": shape.horizon, "dt": shape.dt}
    wrong = [name for name in baked if not _same(asked[name], baked[name])]
    if wrong:
        got = ", ".join(f"{name}={asked[name]!r}" for name in wrong)
        want = ", ".join(f"{name}={baked[name]!r}" for name in wrong)
        raise ValueError(f"This TFLite file has a fixed shape ({shape.describe()}); got {got} where it needs {want}. "
                         "Use the dynamic-shape file, or export this shape with --static_shape.")


def _same(asked, baked) -> bool:
    try:
        return abs(float(asked) - float(baked)) <= validation.DT_TOLERANCE
    except (TypeError, ValueError):
        return False
