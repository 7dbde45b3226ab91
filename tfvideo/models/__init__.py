"""Model registry: `build_model(config)` returns an initialised `VideoPredictor` for `config.model.model`."""

from __future__ import annotations

from tfvideo import config as config_lib
from tfvideo.models.base import InvalidInputError, VideoPredictor


def model_class(name: str) -> type[VideoPredictor]:
    """The VideoPredictor subclass registered under `name` (srvp, svg, hafsvg)."""
    if name == "srvp":
        from tfvideo.models.srvp import SRVP
        return SRVP
    if name == "svg":
        from tfvideo.models.svg import SVG
        return SVG
    if name == "hafsvg":
        from tfvideo.models.hafsvg import HAFSVG
        return HAFSVG
    raise config_lib.ConfigError(f"Unknown --model={name!r}; implemented models: srvp, svg, hafsvg.")


def build_model(config: config_lib.Config, initialize: bool = True) -> VideoPredictor:
    """Builds the model of `config` for its dataset's frame size and channels; creates its variables."""
    cls = model_class(config.model.model)
    extra = {}
    if getattr(cls, "needs_conditioning_frames", False):  # SVG-LP / HAF-SVG: which frame's skips decode in training
        extra["conditioning_frames"] = config.data.conditioning_frames
    model = cls(config.model, image_size=config.data.image_size, channels=config.data.channels,
                name=config.model.model, **extra)
    if initialize:
        model.initialize()  # on the model's minimum context + 1 frame
    return model


__all__ = ["InvalidInputError", "VideoPredictor", "build_model", "model_class"]
