"""Shared test fixtures: tiny configurations (small widths, distinct sizes per axis so swapped axes fail)."""

from __future__ import annotations

import dataclasses
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tfvideo import config as config_lib  # noqa: E402

# Every size differs from the others, so that swapped axes change shapes or values. Batch 2 (an even batch for
# the 2-replica tests), inference_frames 3, NUM_SAMPLES 4 (futures per video in the tests), conditioning_frames 5,
# seq_len 6, test_horizon 7. Widths: base_channels 9 (convolutions of 9, 18, 36 and 72 channels), SVG's rnn_size 8
# (tests/models/models_testlib.py), encoding 10, latent 11, noise 12, inference width 13, dynamics width 14.
NUM_SAMPLES = 4
TINY_MODEL = dict(base_channels=9, encoding_size=10, latent_size=11, noise_size=12, inference_hidden_size=13,
                  inference_layers=2, dynamics_hidden_size=14, dynamics_layers=2, inference_frames=3)
TINY_DATA = dict(seq_len=6, conditioning_frames=5, test_horizon=7, num_digits=1)
TINY_TRAIN = dict(train_steps=6, batch_size=2, checkpoint_every=3, log_every=2, video_every=1000, num_gif_videos=2,
                  num_gif_samples=NUM_SAMPLES, lr_burnin_steps=3, lr_decay_steps=3, learning_rate=1e-3)


def tiny_config(workdir: str = "unused", model=None, data=None, train=None) -> config_lib.Config:
    """A validated Config with tiny networks; override sections with dicts. The TINY_MODEL sizes that the chosen
    model does not have (its config class, config_lib.MODEL_CONFIGS) are left out."""
    train_values = dict(workdir=workdir, **TINY_TRAIN)
    chosen = (model or {}).get("model", config_lib.Config().model.model)
    used = {field.name for field in dataclasses.fields(config_lib.MODEL_CONFIGS.get(chosen, config_lib.SRVPConfig))}
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


def _bfloat16_runs_here() -> bool:
    from tfvideo.perf import precision
    try:
        precision.check_supported("mixed_bfloat16")
    except ValueError:
        return False
    return True


# For tests that run bfloat16 kernels: skipped only where TensorFlow would abort on them (ONEDNN_MAX_CPU_ISA capped
# below AVX-512 on an AVX-512 CPU, as when emulating an AVX2 CPU's oneDNN kernels); real AVX2 CPUs run them.
needs_bfloat16 = pytest.mark.skipif(not _bfloat16_runs_here(), reason="oneDNN capped below AVX-512 on an AVX-512 "
                                    "CPU: TensorFlow would abort on bfloat16 (tfvideo.perf.precision.check_supported)")
