"""Predictors of the evaluation besides the run's own checkpoint: a TFLite export (`--tflite=FILE`).

`python -m tfvideo.evaluate --workdir=RUN --tflite=FILE` scores the .tflite file on the run's test set with the
protocol of the model's evaluation (the same videos, conditioning frames, horizon, dt, best-of-N samples and
seeds seed + i), so the cost of a float16, int8 or fixed-shape file is a PSNR/SSIM difference. The file runs in
the LiteRT interpreter through `tfvideo.export.tflite.TFLiteModel` (host-side input checks; a fixed-shape file
answers only its baked request: export it with --static_shape=1,NUM_SAMPLES,HORIZON).
"""

from __future__ import annotations

import os

from tfvideo.export import static_shape
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError


def tflite_predictor(path: str, options, config, error: type[Exception]):
    """(None, sample(context [Tc, H, W, C], video index) -> [S, F, H, W, C], description) of a .tflite file;
    `error` (EvalError) when it cannot answer the evaluation's request."""
    try:
        model = tflite_lib.TFLiteModel(path)
    except ExportError as failure:
        raise error(f"--tflite: {failure}") from None
    except (ValueError, RuntimeError, OSError) as failure:  # not a flatbuffer, unreadable metadata
        raise error(f"--tflite={path}: cannot load the file ({failure}).") from None
    if (model.image_size, model.channels) != (config.data.image_size, config.data.channels):
        raise error(f"--tflite={path} takes {model.image_size}x{model.image_size}x{model.channels} frames; the run's "
                    f"test set has {config.data.image_size}x{config.data.image_size}x{config.data.channels}.")
    dt = config.model.dt if options.dt is None else options.dt
    horizon = options.horizon or config.data.test_horizon
    if model.static_shape is not None:
        context_shape = (1, options.conditioning_frames or config.data.conditioning_frames)
        try:
            static_shape.check_request(model.static_shape, context_shape, options.num_samples, dt, horizon)
        except ValueError as failure:
            raise error(f"--tflite={path}: {failure} The evaluation asks 1 video at a time.") from None

    def sample(context, index, actions=None):
        try:
            extra = {} if actions is None else {"actions": actions[None]}
            return model(context[None], options.num_samples, dt, horizon, options.seed + index, **extra)[0]
        except ValueError as failure:
            raise error(f"--tflite={path}: {failure}") from None

    name = os.path.splitext(os.path.basename(path))[0]
    return None, sample, {"predictor": f"tflite:{name}", "tflite": os.path.abspath(path),
                          "quantize": model.metadata.get("quantize"), "static_shape": model.static_shape,
                          "checkpoint": model.metadata.get("checkpoint"), "checkpoint_step": None}
