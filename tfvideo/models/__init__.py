"""The models: `build_model(config)` returns an initialised `VideoPredictor` for `config.model.model`, its class
found by name in `tfvideo.models.registry`."""

from __future__ import annotations

from tfvideo import config as config_lib
from tfvideo.models.base import InvalidInputError, VideoPredictor
from tfvideo.models.registry import model_class


def build_model(config: config_lib.Config, initialize: bool = True) -> VideoPredictor:
    """Builds the model of `config` for its dataset's frame size and channels; creates its variables."""
    cls = model_class(config.model.model)
    if not isinstance(config.model, cls.config_class):
        raise config_lib.ConfigError(f"--model={config.model.model} takes a {cls.config_class.__name__}; got a "
                                     f"{type(config.model).__name__}.")
    extra = {}
    if getattr(cls, "needs_conditioning_frames", False):  # SVG-LP / HAF-SVG: which frame's skips decode in training
        extra["conditioning_frames"] = config.data.conditioning_frames
    model = cls(config.model, image_size=config.data.image_size, channels=config.data.channels,
                name=config.model.model, **extra)
    if initialize:
        model.initialize()  # on the model's minimum context + 1 frame
    return model


__all__ = ["InvalidInputError", "VideoPredictor", "build_model", "model_class"]
