"""Predictors of the evaluation: what samples the futures of a test video, through the one runtime layer
(`tfvideo.runtimes`) that `predict` uses too: the run's checkpoint (`TrainedRun`, set up in `eval_lib`), or an
export of it (`--saved_model=DIR`, `--tflite=FILE`); or a baseline (`--baseline`), which samples nothing.

`python -m tfvideo.evaluate --workdir=RUN --saved_model=DIR` (or `--tflite=FILE`) scores the export on the run's
test set with the protocol of the model's evaluation (the same videos, conditioning frames, horizon, dt, best-of-N
samples and the seeds of `noise.draw_seed`), so the cost of a float16, int8 or fixed-shape file is a PSNR/SSIM
difference, and a float32 export scores what the checkpoint scores. A fixed-shape TFLite file answers only its
baked request: export it with --static_shape=1,NUM_SAMPLES,HORIZON.

The export must be of the run: its metadata names the run it was exported from (`tfvideo.export.provenance`), and
an export of another run, or of no known run, is refused unless `allow_other_run`; then the results record its
origin under "exported_from" (and the folder's name says "other_run").
"""

from __future__ import annotations

import os

import numpy as np

from tfvideo import runtimes
from tfvideo.models import noise, requests

BASELINES = ("last_frame", "black")  # repeat the last conditioning frame | all-zero frames


def sampler(runtime: runtimes.Runtime, options, horizon: int, dt: float, error: type[Exception]):
    """sample(context [Tc, H, W, C], video index, actions [T, A] or None) -> [S, horizon, H, W, C]: the futures of
    test video `index`, sampled with seed `noise.draw_seed(options.seed, index)`; `error` (EvalError) when the
    model refuses."""
    def sample(context, index, actions=None):
        try:
            return runtime.sample(context[None], options.num_samples, horizon, dt,
                                  noise.draw_seed(options.seed, index), None if actions is None else actions[None],
                                  include_intermediate=False)[0]
        except runtimes.ModelError as failure:
            raise error(str(failure)) from None
    return sample


def baseline_predictor(options, config, error: type[Exception]):
    """(None, sample(context [Tc, H, W, C], video index) -> [1, horizon, H, W, C], description) of --baseline: the
    last conditioning frame repeated (last_frame), or black frames; `error` for an unknown name."""
    if options.baseline not in BASELINES:
        raise error(f"Unknown --baseline={options.baseline!r}; available: {', '.join(BASELINES)}.")
    horizon = options.horizon or config.data.test_horizon

    def baseline(context, index, actions=None):  # actions are not read
        if options.baseline == "black":
            return np.zeros((1, horizon, *context.shape[1:]), np.float32)
        return np.repeat(context[None, -1:], horizon, axis=1)
    return None, baseline, {"predictor": f"baseline:{options.baseline}", "checkpoint": None, "checkpoint_step": None}


def export_predictor(options, config, error: type[Exception], workdir: str = "the run"):
    """(None, sample (see `sampler`), description) of the --saved_model or --tflite export in `options`; `error`
    (EvalError) when it cannot be opened, cannot answer the evaluation's request or is not of the run `config` of
    `workdir` (see the module docstring)."""
    try:
        runtime = runtimes.open_runtime(saved_model=options.saved_model, tflite=options.tflite)
    except runtimes.ModelError as failure:
        raise error(str(failure)) from None
    spec = runtime.spec
    if (spec.image_size, spec.channels) != (config.data.image_size, config.data.channels):
        raise error(f"{spec.source} takes {spec.image_size}x{spec.image_size}x{spec.channels} frames; the run's "
                    f"test set has {config.data.image_size}x{config.data.image_size}x{config.data.channels}.")
    origin = _check_origin(runtime, config, workdir, options, error)
    dt = config.model.dt if options.dt is None else options.dt
    horizon = options.horizon or config.data.test_horizon
    context_frames = options.conditioning_frames or config.data.conditioning_frames
    requests.check(options.num_samples, horizon, dt, context_frames, continuous_time=spec.dt_supported,
                   min_context_frames=spec.min_context_frames, who=f"the model of {spec.source}", flags=True,
                   error=error, precision=np.float32, context_name="conditioning_frames")
    try:
        runtime.check_request(1, context_frames, options.num_samples, horizon, dt)
    except runtimes.ModelError as failure:
        raise error(f"{failure} The evaluation asks 1 video at a time.") from None
    return None, sampler(runtime, options, horizon, dt, error), {**_describe(runtime), **origin}


def _describe(runtime) -> dict:
    """The spec entries naming the export: "predictor" (its kind and name, which names the output folder), its
    path, the checkpoint it was exported from."""
    metadata = runtime.metadata
    common = {"checkpoint": metadata.get("checkpoint"), "checkpoint_step": None}
    if isinstance(runtime, runtimes.TFLiteRuntime):
        name = os.path.splitext(os.path.basename(runtime.path))[0]
        return {"predictor": f"tflite:{name}", "tflite": os.path.abspath(runtime.path),
                "quantize": metadata.get("quantize"), "static_shape": runtime.model.static_shape, **common}
    directory = os.path.normpath(runtime.directory)
    version = os.path.basename(directory)
    name = f"{os.path.basename(os.path.dirname(directory))}_v{version}" if version.isdigit() else version
    return {"predictor": f"saved_model:{name}", "saved_model": os.path.abspath(directory), **common}


def _check_origin(runtime, config, workdir: str, options, error) -> dict:
    """{} when the export is of the run; {"exported_from": its origin} when it is not and `options.allow_other_run`;
    else `error` naming both runs."""
    problem = runtime.origin_problem(config, workdir)
    if problem is None:
        return {}
    if not getattr(options, "allow_other_run", False):
        raise error(f"{problem}. Evaluate it with the --workdir it was exported from, or pass --allow_other_run to "
                    "score it on this run's test set anyway (the results then name its origin).")
    print(f"Warning: {problem}; scored anyway (--allow_other_run), the results name its origin.", flush=True)
    return {"exported_from": runtime.origin()}
