"""The models by name: `MODELS` maps each `--model` name to its model class (imported when first asked for).

Each model class names its config class (`config_class`, a `tfvideo.config.ModelConfig`), whose `model` field is
the same name: `tests/models/test_model_registry.py` checks that this table, the classes and
`tfvideo.config.MODEL_CONFIGS` agree. A new model adds its config class to `tfvideo.config.model_sections` and
its model class here.
"""

from __future__ import annotations

import importlib

from tfvideo import config as config_lib

MODELS = {  # name -> "module:class"
    "srvp": "tfvideo.models.srvp:SRVP",
    "svg": "tfvideo.models.svg:SVG",
    "hafsvg": "tfvideo.models.hafsvg:HAFSVG",
}


def model_class(name: str) -> type:
    """The VideoPredictor subclass registered under `name`; ConfigError naming the models otherwise."""
    if name not in MODELS:
        raise config_lib.ConfigError(f"Unknown --model={name!r}; implemented models: {', '.join(MODELS)}.")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def classes(name: str) -> tuple[type, type[config_lib.ModelConfig]]:
    """(model class, config class) of model `name`."""
    cls = model_class(name)
    return cls, cls.config_class
