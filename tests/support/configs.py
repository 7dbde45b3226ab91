"""The one table of tiny configurations: sizes, per-model variants (TINY_MODELS), tiny_config and its flags."""

from __future__ import annotations

import dataclasses

from tfvideo import config as config_lib

# Every size differs from the others, so that swapped axes change shapes or values. Batch 2 (an even batch for
# the 2-replica tests), inference_frames 3, NUM_SAMPLES 4 (futures per video in the tests), conditioning_frames 5,
# seq_len 6, test_horizon 7. Widths: rnn_size 8 (SVG-LP, HAF-SVG: TINY_MODELS), base_channels 9 (convolutions of
# 9, 18, 36 and 72 channels), encoding 10, latent 11, noise 12, inference width 13, dynamics width 14.
NUM_SAMPLES = 4
TINY_MODEL = dict(base_channels=9, encoding_size=10, latent_size=11, noise_size=12, inference_hidden_size=13,
                  inference_layers=2, dynamics_hidden_size=14, dynamics_layers=2, inference_frames=3)
TINY_DATA = dict(seq_len=6, conditioning_frames=5, test_horizon=7, num_digits=1)
TINY_TRAIN = dict(train_steps=6, batch_size=2, checkpoint_every=3, log_every=2, video_every=1000, num_gif_videos=2,
                  num_gif_samples=NUM_SAMPLES, lr_burnin_steps=3, lr_decay_steps=3, learning_rate=1e-3)

# One entry per model (the per-model tests iterate over "srvp", "svg", "hafsvg") and one variant, each a model
# section on top of TINY_MODEL: `tiny_config(variant=name)`.
TINY_MODELS = {
    # The reconstruction dominates SRVP's loss early (as for KTH / Human3.6M): one batch is learnt quickly.
    "srvp": dict(model="srvp", obs_scale=0.2),
    # SVG-LP on SRVP's networks, HAF-SVG on SVG's own (the paper configs' choice): the per-model tests cover both.
    "svg": dict(model="svg", skip_connections=True, rnn_size=8, beta_z=1e-4),
    "hafsvg": dict(model="hafsvg", networks="svg", skip_connections=True, feature_aligner=True, num_groups=2,
                   rnn_size=8, beta_z=1e-4),
    # The trained run's model (and the export tests'): a small residual gain keeps the tiny untrained dynamics
    # bounded over the horizons tested (with the default 1.41 its latent states grow about 3x per frame, and
    # float32 comparisons stop meaning anything).
    "srvp_bounded": dict(model="srvp", residual_gain=0.5),
}
PER_MODEL = ("srvp", "svg", "hafsvg")  # the TINY_MODELS entries of the three models


def tiny_config(workdir: str = "unused", model=None, data=None, train=None, variant: str | None = None
                ) -> config_lib.Config:
    """A validated Config with tiny networks: TINY_MODEL, then TINY_MODELS[variant] if given, then the `model`,
    `data` and `train` override dicts. The TINY_MODEL sizes that the chosen model does not read
    (the fields of its config class, config_lib.MODEL_CONFIGS) are left out."""
    model = {**(TINY_MODELS[variant] if variant else {}), **(model or {})}
    train_values = dict(workdir=workdir, **TINY_TRAIN)
    chosen = model.get("model", config_lib.Config().model.model)
    used = {field.name for field in dataclasses.fields(config_lib.MODEL_CONFIGS.get(chosen, config_lib.SRVPConfig))}
    tiny_model = {name: value for name, value in TINY_MODEL.items() if name in used}
    return config_lib.Config().replace(model={**tiny_model, **model}, data={**TINY_DATA, **(data or {})},
                                       train={**train_values, **(train or {})}).validate()


def tiny_data_config(**data) -> config_lib.DataConfig:
    """A validated DataConfig of TINY_DATA with `data` overrides, for the data pipelines alone: unlike a whole
    Config, it may shrink frames below the models' 64x64 (faster data tests)."""
    config = config_lib.DataConfig(**{**TINY_DATA, **data})
    config.validate()
    return config


def as_flags(values: dict) -> list[str]:
    """["--name=value", ...] for config values (booleans as --name / --noname)."""
    return [(f"--{name}" if value else f"--no{name}") if isinstance(value, bool) else f"--{name}={value}"
            for name, value in values.items()]


# The tiny config as flags of the train CLI: its model and data sections and its training hyperparameters (the
# length of the run and its checkpoint and video intervals are each test's own).
TINY_FLAGS = as_flags({**TINY_MODEL, **TINY_DATA, **{name: TINY_TRAIN[name] for name in (
    "batch_size", "learning_rate", "lr_burnin_steps", "lr_decay_steps", "log_every", "num_gif_videos",
    "num_gif_samples")}})
