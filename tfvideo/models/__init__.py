"""Model registry: `build_model(config)` returns an initialised `VideoPredictor` for `config.model.model`."""

from __future__ import annotations

from tfvideo import config as config_lib
from tfvideo.models.base import InvalidInputError, VideoPredictor


def model_class(name: str) -> type[VideoPredictor]:
    """The VideoPredictor subclass registered under `name` (srvp, svg, hafsvg)."""
    if name == "srvp":
        from tfvideo.models.srvp import SRVP
        return SRVP
    raise config_lib.ConfigError(
        f"Unknown --model={name!r}; implemented models: srvp." if name not in config_lib.MODEL_NAMES else
        f"--model={name!r} is not implemented yet in this version of tfvideo; use --model=srvp.")


def build_model(config: config_lib.Config, initialize: bool = True) -> VideoPredictor:
    """Builds the model of `config` for its dataset's frame size and channels; creates its variables."""
    cls = model_class(config.model.model)
    model = cls(config.model, image_size=config.data.image_size, channels=config.data.channels,
                name=config.model.model)
    if initialize:
        model.initialize(config.model.inference_frames + 1)
    return model


__all__ = ["InvalidInputError", "VideoPredictor", "build_model", "model_class"]
