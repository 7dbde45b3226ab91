"""The model registry (tfvideo.models.registry) and the config classes (tfvideo.config.MODEL_CONFIGS) agree."""

import pytest

from tfvideo import config as config_lib
from tfvideo.models import VideoPredictor, registry


def test_the_registry_and_the_config_classes_name_the_same_models():
    assert tuple(registry.MODELS) == config_lib.MODEL_NAMES


@pytest.mark.parametrize("name", config_lib.MODEL_NAMES)
def test_each_model_class_takes_the_config_class_of_its_name(name):
    model_cls, config_cls = registry.classes(name)
    assert issubclass(model_cls, VideoPredictor)
    assert config_cls is config_lib.MODEL_CONFIGS[name] and config_cls().model == name


def test_an_unknown_model_is_refused_naming_the_models():
    with pytest.raises(config_lib.ConfigError, match="Unknown --model='lstm'; implemented models: srvp, svg, hafsvg"):
        registry.model_class("lstm")


def test_continuous_time_is_the_configured_model_s():
    """SRVP integrates its residual dynamics at any dt = 1/k; its mlp / gru ablations and SVG-LP / HAF-SVG step once
    per frame."""
    assert config_lib.SRVPConfig().continuous_time
    assert not config_lib.SRVPConfig(dynamics="gru").continuous_time
    assert not config_lib.SVGConfig().continuous_time and not config_lib.HAFSVGConfig().continuous_time
