"""Predictors of the evaluation besides the run's own checkpoint: a TFLite export (`--tflite=FILE`).

`python -m tfvideo.evaluate --workdir=RUN --tflite=FILE` scores the .tflite file on the run's test set with the
protocol of the model's evaluation (the same videos, conditioning frames, horizon, dt, best-of-N samples and
seeds seed + i), so the cost of a float16, int8 or fixed-shape file is a PSNR/SSIM difference. The file runs in
the LiteRT interpreter through `tfvideo.export.tflite.TFLiteModel` (host-side input checks; a fixed-shape file
answers only its baked request: export it with --static_shape=1,NUM_SAMPLES,HORIZON).

The file must be of the run: its metadata names the run it was exported from (`tfvideo.export.provenance`), and a
file of another run, or of no known run, is refused unless `allow_other_run`; then the results record its origin
under "exported_from" (and the folder's name says "other_run").
"""

from __future__ import annotations

import os

from tfvideo.export import provenance, static_shape
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError


def tflite_predictor(path: str, options, config, error: type[Exception], workdir: str = "the run"):
    """(None, sample(context [Tc, H, W, C], video index) -> [S, F, H, W, C], description) of a .tflite file;
    `error` (EvalError) when it cannot answer the evaluation's request or is not of the run `config` of
    `workdir` (see the module docstring)."""
    try:
        model = tflite_lib.TFLiteModel(path)
    except ExportError as failure:
        raise error(f"--tflite: {failure}") from None
    except (ValueError, RuntimeError, OSError) as failure:  # not a flatbuffer, unreadable metadata
        raise error(f"--tflite={path}: cannot load the file ({failure}).") from None
    if (model.image_size, model.channels) != (config.data.image_size, config.data.channels):
        raise error(f"--tflite={path} takes {model.image_size}x{model.image_size}x{model.channels} frames; the run's "
                    f"test set has {config.data.image_size}x{config.data.image_size}x{config.data.channels}.")
    origin = _check_origin(model.metadata, config, workdir, path, options, error)
    dt = config.model.dt if options.dt is None else options.dt
    horizon = options.horizon or config.data.test_horizon
    if model.static_shape is not None:
        context_shape = (1, options.conditioning_frames or config.data.conditioning_frames)
        try:
            static_shape.check_request(model.static_shape, context_shape, options.num_samples, horizon=horizon, dt=dt)
        except ValueError as failure:
            raise error(f"--tflite={path}: {failure} The evaluation asks 1 video at a time.") from None

    def sample(context, index, actions=None):
        try:
            extra = {} if actions is None else {"actions": actions[None]}
            return model(context[None], options.num_samples, horizon=horizon, dt=dt, seed=options.seed + index,
                         **extra)[0]
        except ValueError as failure:
            raise error(f"--tflite={path}: {failure}") from None

    name = os.path.splitext(os.path.basename(path))[0]
    return None, sample, {"predictor": f"tflite:{name}", "tflite": os.path.abspath(path),
                          "quantize": model.metadata.get("quantize"), "static_shape": model.static_shape,
                          "checkpoint": model.metadata.get("checkpoint"), "checkpoint_step": None, **origin}


def _check_origin(metadata: dict, config, workdir: str, path: str, options, error) -> dict:
    """{} when the file is of the run; {"exported_from": its origin} when it is not and `options.allow_other_run`;
    else `error` naming both runs."""
    problem = provenance.origin_problem(metadata, config, workdir, f"--tflite={path}")
    if problem is None:
        return {}
    if not getattr(options, "allow_other_run", False):
        raise error(f"{problem}. Evaluate it with the --workdir it was exported from, or pass --allow_other_run to "
                    "score it on this run's test set anyway (the results then name its origin).")
    print(f"Warning: {problem}; scored anyway (--allow_other_run), the results name its origin.", flush=True)
    return {"exported_from": {key: metadata.get(key) for key in (provenance.FINGERPRINT_KEY, "workdir", "step")}}
