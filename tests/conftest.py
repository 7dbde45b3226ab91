"""Shared test fixtures: tiny configurations (small widths, distinct sizes per axis so swapped axes fail)."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tfvideo import config as config_lib  # noqa: E402

TINY_MODEL = dict(base_channels=2, encoding_size=6, latent_size=3, noise_size=4, inference_hidden_size=5,
                  inference_layers=2, dynamics_hidden_size=7, dynamics_layers=2, inference_frames=2)
TINY_DATA = dict(seq_len=5, conditioning_frames=3, test_horizon=4, num_digits=1)


def tiny_config(workdir: str = "unused", model=None, data=None, train=None) -> config_lib.Config:
    """A validated Config with tiny networks; override sections with dicts. The TINY_MODEL sizes that the chosen
    model does not read (config_lib.MODEL_FIELDS) are left out."""
    train_values = dict(workdir=workdir, train_steps=6, batch_size=2, checkpoint_every=3, log_every=2,
                        video_every=1000, num_gif_videos=2, num_gif_samples=2, lr_burnin_steps=3, lr_decay_steps=3,
                        learning_rate=1e-3)
    default = config_lib.ModelConfig().model
    used = config_lib.MODEL_FIELDS.get((model or {}).get("model", default), config_lib.MODEL_FIELDS[default])
    tiny_model = {name: value for name, value in TINY_MODEL.items() if name in used}
    return config_lib.Config().replace(model={**tiny_model, **(model or {})}, data={**TINY_DATA, **(data or {})},
                                       train={**train_values, **(train or {})}).validate()


def tiny_data_config(**data) -> config_lib.DataConfig:
    """A validated DataConfig of TINY_DATA with `data` overrides, for the data pipelines alone: unlike a whole
    Config, it may shrink frames below the models' 64x64 (faster data tests)."""
    config = config_lib.DataConfig(**{**TINY_DATA, **data})
    config.validate()
    return config


@pytest.fixture
def tiny(tmp_path):
    return tiny_config(str(tmp_path / "run"))


@pytest.fixture
def keep_absl_log_level():
    """Parsing absl flags leaves the 'absl' logger at WARNING (hiding other tests' INFO logs): restore it."""
    logger = logging.getLogger("absl")
    level = logger.level
    yield
    logger.setLevel(level)
