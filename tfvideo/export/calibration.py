"""The representative set of an int8 export, drawn from the run's own training data.

`training_contexts` takes the first conditioning frames of --calibration_videos training clips (the run's data
source, `tfvideo.data.registry`, with a fixed seed: the same set on every export). `representative_dataset`
feeds every signature of the file: `serving_default` gets the contexts (batch by batch) with one seed each (`noise.draw_seed(0, i)` for batch i), a
small request (4 samples, the run's test horizon) for a dynamic-shape file and the baked one for a fixed-shape
file; `stream_start` the same contexts; `stream_next` the states the float model reaches from them. For an
action-conditioned model the clips' own actions go with them (`actions` of `serving_default` and
`stream_start`, `action` of `stream_next`; a clip shorter than a request's actions repeats its actions). Each
decoding signature is calibrated on about CALIBRATION_FRAMES decoded frames' worth of calls (at least 4), so a
large baked request stays affordable.
"""

from __future__ import annotations

import math

import numpy as np

from tfvideo import validation
from tfvideo.data import registry
from tfvideo.export import signatures
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError
from tfvideo.models import noise
from tfvideo.utils import memory

DEFAULT_CALIBRATION_VIDEOS = 256
CALIBRATION_SEED = 7919  # the training stream's seed for the calibration clips
CALIBRATION_FRAMES = 2560  # decoded frames per signature, at most (see the module docstring)
DYNAMIC_REQUEST = {"num_samples": 4}  # + dt and the run's test horizon


def training_contexts(config, num_videos: int, context_frames: int) -> np.ndarray | dict:
    """float32 [num_videos, context_frames, H, W, C]: the first frames of training clips of the run's dataset; for
    an action-conditioned run {"frames": those, "actions": the clips' actions [num_videos, seq_len, A]}."""
    validation.positive_int(num_videos, "--calibration_videos", error=ExportError)
    data = config.data
    try:  # the clips collected, then joined: twice their frames, before any is read
        memory.check_fits(2 * memory.sampling_bytes(num_videos, 1, context_frames, data.image_size, data.channels),
                          f"Calibrating on --calibration_videos={num_videos} clips of {context_frames} frames",
                          "lower --calibration_videos")
    except memory.MemoryLimitError as error:
        raise ExportError(str(error)) from None
    with_actions = bool(config.model.action_conditioned)
    try:
        source = registry.get_data_source(config.data)
        clips, actions, count = [], [], 0
        stream = source.train_stream(min(num_videos, 64), seed=CALIBRATION_SEED,
                                     **({"with_actions": True} if with_actions else {}))
        for batch in stream:
            frames = batch["frames"] if with_actions else batch
            clips.append(np.asarray(frames)[:, :context_frames])
            actions.append(np.asarray(batch["actions"]) if with_actions else None)
            count += len(clips[-1])
            if count >= num_videos:
                break
    except Exception as error:  # pylint: disable=broad-except  (missing data, config errors)
        raise ExportError(f"int8 calibration reads the run's training data ({config.data.dataset}) and could not: "
                          f"{error}") from None
    contexts = np.concatenate(clips)[:num_videos].astype(np.float32)
    if not with_actions:
        return contexts
    return {"frames": contexts, "actions": np.concatenate(actions)[:num_videos].astype(np.float32)}


def _request_actions(actions: np.ndarray | None, length: int) -> np.ndarray | None:
    """actions [N, length, A] from the clips' actions [N, T, A], repeated along time when T < length."""
    return None if actions is None else np.take(actions, np.arange(length) % actions.shape[1], axis=1)


def representative_dataset(model, contexts: np.ndarray, static_shape=None, horizon: int = 10, dt: float = 1.0):
    """A generator function of (signature name, {input: array}) over every signature of
    `tflite_lib.tflite_endpoints(model, static_shape)`, for `TFLiteConverter.representative_dataset`; `contexts`
    as `training_contexts` returns them (with the actions of an action-conditioned model)."""
    contexts, actions = (contexts["frames"], contexts["actions"]) if isinstance(contexts, dict) else (contexts, None)
    functions = {e.name: e.tf_function() for e in tflite_lib.tflite_endpoints(model, static_shape)}
    batch = 1 if static_shape is None else static_shape.batch
    if len(contexts) < batch:
        raise ExportError(f"--calibration_videos={len(contexts)} is fewer than the baked batch ({batch}).")
    if static_shape is None:
        request = {**DYNAMIC_REQUEST, "dt": np.float32(dt), "horizon": horizon}
    else:
        request = {"num_samples": static_shape.num_samples, "horizon": static_shape.horizon * static_shape.steps_per_frame}
    actions = _request_actions(actions, len(contexts[0]) - 1 + request["horizon"])  # >= every signature's need
    frames_per_call = batch * request["num_samples"] * request["horizon"]
    calls = min(len(contexts) // batch, max(4, math.ceil(CALIBRATION_FRAMES / frames_per_call)))

    def inputs(i: int, names) -> dict:
        values = {"context": contexts[i * batch:(i + 1) * batch], "seed": np.int32(noise.draw_seed(0, i))}
        if static_shape is None:
            values.update(num_samples=np.int32(request["num_samples"]), dt=request["dt"],
                          horizon=np.int32(request["horizon"]))
        if actions is not None:
            values["actions"] = actions[i * batch:(i + 1) * batch]
        return {name: _fit(values[name], spec) for name, spec in names.items()}

    def generate():
        for name, function in functions.items():
            names = {spec.name: spec for spec in function.input_signature}
            if name == signatures.STREAM_NEXT:
                continue
            for i in range(calls if name == signatures.SERVING_DEFAULT else len(contexts) // batch):
                yield name, inputs(i, names)
        if signatures.STREAM_START in functions:
            stream_calls = max(4, math.ceil(CALIBRATION_FRAMES / (2 * batch * request["num_samples"])))
            yield from _stream_states(functions, inputs, min(len(contexts) // batch, stream_calls), request)

    return generate


def _fit(value, spec):
    """`value` cut along time to a fixed-shape signature's length (actions of a baked request)."""
    if spec is None or spec.shape.rank != 3 or spec.shape[1] is None:
        return value
    return value[:, :spec.shape[1]]


def _stream_states(functions, inputs, num_calls: int, request: dict):
    """(stream_next, state) pairs along the float model's streams from `num_calls` context batches: 2 frames of
    each, the whole horizon of the first 4."""
    start, step = functions[signatures.STREAM_START], functions[signatures.STREAM_NEXT]
    start_names = {spec.name: spec for spec in start.input_signature}
    next_names = [spec.name for spec in step.input_signature]
    for i in range(num_calls):
        first = inputs(i, start_names)
        state = {k: v.numpy() for k, v in start(*first.values()).items()}
        actions = inputs(i, {"actions": None})["actions"] if "action" in next_names else None
        for t in range(request["horizon"] if i < 4 else 2):  # `action`: that of the step into the next frame
            state = {name: actions[:, len(first["context"][0]) - 1 + t] if name == "action" else state[name]
                     for name in next_names}
            yield signatures.STREAM_NEXT, state
            out = step(*state.values())
            state = {k: v.numpy() for k, v in out.items() if k != signatures.FRAME}
