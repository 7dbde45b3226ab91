"""A prediction request: checked against the model (`plan`), its clip read through the run's preprocessing and
its futures sampled in batches (`predict`).

Defaults come from the run: --context_frames its conditioning frames, --horizon its test horizon, --dt its
training dt. Every number is checked by the rules of `tfvideo.validation` (dt = 1/k in float32, as the exported
signatures check it), the frames asked for must fit in memory, and a discrete-time model refuses dt != 1, all
before the clip is read or a future sampled.

Batches and seeds: futures are sampled `batch_samples` at a time, which bounds the model's memory. Batch 0 is
sampled with --seed, batch j > 0 with `noise.draw_seed(seed, j)` (`tfvideo.models.noise`, the one rule of
the seeds of several draws). So a request of at most `batch_samples` futures
gives exactly `model.generate(context, num_samples, seed=seed)`, which the exported SavedModel and TFLite file
give for that seed too; the model's noise is hashed per sample, so asking for more samples keeps the first
ones. With several batches the futures depend on --batch_samples as well.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from tfvideo import validation
from tfvideo.data import clips
from tfvideo.models import noise, requests
from tfvideo.prediction import actions_file
from tfvideo.prediction.errors import PredictError
from tfvideo.runtimes import ModelSpec, Runtime
from tfvideo.utils import memory
from tfvideo.utils import progress as progress_lib


DEFAULT_SAMPLES = 8  # futures sampled when --num_samples is not given (a fixed-shape file: its baked count)


@dataclasses.dataclass(frozen=True)
class Request:
    """What the user asks for; None takes the run's value."""

    input: str
    num_samples: int | None = None  # None: DEFAULT_SAMPLES, or a fixed-shape file's baked count
    horizon: int | None = None
    dt: float | None = None
    seed: int = 0
    start_frame: int = 0
    context_frames: int | None = None
    batch_samples: int = 16
    actions: str | None = None  # .npy / .csv of actions [T, A] for an action-conditioned model


@dataclasses.dataclass(frozen=True)
class Plan:
    """A request checked against a model, every default filled in."""

    request: Request
    spec: ModelSpec
    steps_per_frame: int  # k of dt = 1/k
    batches: tuple[tuple[int, int], ...]  # (samples, seed) of each call

    @property
    def num_frames(self) -> int:
        """Predicted frames per future, F = horizon * k."""
        return self.request.horizon * self.steps_per_frame

    @property
    def frames_shape(self) -> tuple[int, int, int, int, int]:
        """[S, F, H, W, C] of the futures."""
        return (self.request.num_samples, self.num_frames, self.spec.image_size, self.spec.image_size,
                self.spec.channels)


@dataclasses.dataclass
class Prediction:
    plan: Plan
    context: np.ndarray  # float32 [Tc, H, W, C]: the clip's frames as the model saw them
    frames: np.ndarray  # float32 [S, F, H, W, C]: the sampled futures
    seconds: float  # sampling time


def plan(spec: ModelSpec, request: Request) -> Plan:
    """`request` checked against `spec`, with the run's defaults; PredictError naming the flag otherwise."""
    request = _fixed_shape_request(spec, request)
    checked = requests.check(
        DEFAULT_SAMPLES if request.num_samples is None else request.num_samples,
        request.horizon if request.horizon is not None else spec.test_horizon or 10,
        spec.training_dt if request.dt is None else request.dt, _context_frames(spec, request.context_frames),
        continuous_time=spec.dt_supported, min_context_frames=spec.min_context_frames,
        who=f"the model of {spec.source}", flags=True, error=PredictError, precision=np.float32)
    num_samples, horizon, dt, k = checked.num_samples, checked.horizon, checked.dt, checked.steps_per_frame
    context_frames = checked.context_frames
    batch_samples = validation.positive_int(request.batch_samples, "--batch_samples", error=PredictError)
    seed = validation.int32_seed(request.seed, "--seed", error=PredictError)
    actions_file.check_given(spec, request.actions)
    if isinstance(request.start_frame, bool) or not isinstance(request.start_frame, (int, np.integer)) \
            or request.start_frame < 0:
        raise PredictError(f"--start_frame must be a whole number >= 0; got {request.start_frame!r}.")
    problem = memory.memory_problem(
        memory.sampling_bytes(1, num_samples, horizon * k, spec.image_size, spec.channels), memory.available_bytes(),
        f"{num_samples} futures of {horizon * k} frames of {spec.image_size}x{spec.image_size}x{spec.channels}",
        "ask for fewer --num_samples, a shorter --horizon or a larger --dt")
    if problem:
        raise PredictError(problem)
    resolved = dataclasses.replace(request, num_samples=num_samples, batch_samples=batch_samples, horizon=horizon,
                                   seed=seed, dt=float(dt), context_frames=context_frames)
    batches = tuple((min(batch_samples, num_samples - start), noise.draw_seed(seed, index))
                    for index, start in enumerate(range(0, num_samples, batch_samples)))
    return Plan(resolved, spec, k, batches)


def _fixed_shape_request(spec: ModelSpec, request: Request) -> Request:
    """`request` for a fixed-shape TFLite file: its baked num_samples, horizon and dt where not given, all samples in
    one call; PredictError naming both when the request asks for another shape. Other models: `request`."""
    baked = spec.static_shape
    if not baked:
        return request
    asked = {"num_samples": request.num_samples, "horizon": request.horizon, "dt": request.dt}
    differing = [f"--{name}={value:g}" for name, value in asked.items() if value is not None and
                 not np.isclose(float(value), float(baked[name]))]
    if differing or int(baked.get("batch", 1)) != 1:
        wanted = f"num_samples={baked['num_samples']}, horizon={baked['horizon']}, dt={baked['dt']:g}"
        raise PredictError(f"{spec.source} is a fixed-shape file: it answers batch={baked.get('batch')}, {wanted} "
                           f"only, and this request asks {', '.join(differing) or 'one clip (batch 1)'}. Drop those "
                           "flags to use its shape, or export the run with --static_shape=1,SAMPLES,HORIZON or with "
                           "dynamic shapes.")
    return dataclasses.replace(request, num_samples=int(baked["num_samples"]), horizon=int(baked["horizon"]),
                               dt=float(baked["dt"]), batch_samples=int(baked["num_samples"]))


def _context_frames(spec: ModelSpec, asked: int | None) -> int:
    count = spec.conditioning_frames if asked is None else asked
    if count is None:
        raise PredictError(f"{spec.source} does not say how many frames its run conditioned on (no metadata): give "
                           "--context_frames.")
    return count


def read_context(the_plan: Plan) -> np.ndarray:
    """float32 [Tc, H, W, C]: the clip's context frames, through the run's preprocessing."""
    request = the_plan.request
    try:
        return clips.read_clip(request.input, the_plan.spec.preprocessing, start_frame=request.start_frame,
                               num_frames=request.context_frames)
    except clips.ClipError as error:
        raise PredictError(str(error)) from None


def predict(runtime: Runtime, the_plan: Plan, context: np.ndarray | None = None, stream=None) -> Prediction:
    """Samples the futures of `context` (default: `read_context(the_plan)`) in the plan's batches, with the
    actions of --actions for an action-conditioned model; with several batches, a progress line per second on
    `stream` (default stdout). A runtime that refuses the inputs or runs out of memory raises
    `tfvideo.runtimes.ModelError`."""
    context = read_context(the_plan) if context is None else context
    actions = actions_file.read_actions(the_plan.request.actions, the_plan.spec.action_size,
                                        len(context) - 1 + the_plan.request.horizon)
    request = the_plan.request
    frames = np.empty(the_plan.frames_shape, np.float32)
    shown = progress_lib.Progress(request.num_samples, unit="sample", stream=stream, min_interval=1.0) \
        if len(the_plan.batches) > 1 else None
    started, done = time.perf_counter(), 0
    for count, seed in the_plan.batches:
        out = runtime.sample(context[None], count, request.horizon, request.dt, seed,
                             None if actions is None else actions[None])
        if out.shape != (1, count, *the_plan.frames_shape[1:]):
            raise PredictError(f"{the_plan.spec.source} returned frames of shape {out.shape}; expected "
                               f"{(1, count, *the_plan.frames_shape[1:])}. Is the export from another tfvideo?")
        frames[done:done + count] = out[0]
        done += count
        if shown is not None:
            shown.update(done)
    return Prediction(the_plan, context, frames, time.perf_counter() - started)
