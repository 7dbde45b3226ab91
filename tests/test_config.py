import dataclasses

import pytest

from tfvideo import config as config_lib
from conftest import tiny_config


def test_json_round_trip_is_exact():
    cfg = tiny_config(model=dict(dynamics="gru", stochastic=False, obs_scale=0.3), data=dict(data_dir="/x"))
    again = config_lib.Config.from_json(cfg.to_json())
    assert again == cfg
    assert again.model.dynamics == "gru" and again.data.data_dir == "/x"


@pytest.mark.parametrize("dt, k", [(1, 1), (1.0, 1), (0.5, 2), (0.25, 4), (1 / 3, 3)])
def test_steps_per_frame_accepts_one_over_k(dt, k):
    assert config_lib.steps_per_frame(dt) == k


@pytest.mark.parametrize("dt", [0.3, 0.0, -0.5, 2.0, float("nan"), float("inf"), "0.5", True])
def test_steps_per_frame_rejects_other_values(dt):
    with pytest.raises(config_lib.ConfigError, match="1/k"):
        config_lib.steps_per_frame(dt)


@pytest.mark.parametrize("section, field, value, message", [
    ("model", "model", "lstm", "Unknown --model='lstm'"),
    ("data", "dataset", "imagenet", "Unknown --dataset='imagenet'"),
    ("model", "dt", 0.3, "--dt"),
    ("model", "latent_size", 0, "--latent_size"),
    ("train", "batch_size", -1, "--batch_size"),
    ("data", "conditioning_frames", 5, "--conditioning_frames=5 must be smaller than --seq_len=5"),
    ("model", "inference_frames", 4, "--inference_frames=4 exceeds --conditioning_frames=3"),
])
def test_validation_names_the_flag(section, field, value, message):
    with pytest.raises(config_lib.ConfigError, match=message.replace("(", r"\(")):
        tiny_config(**{section: {field: value}})


def test_non_residual_dynamics_need_dt_one():
    with pytest.raises(config_lib.ConfigError, match="--dynamics=mlp"):
        tiny_config(model=dict(dynamics="mlp", dt=0.5))


def test_run_defining_differences_ignore_resumable_fields():
    cfg = tiny_config()
    longer = cfg.replace(train={"train_steps": 99, "checkpoint_every": 7})
    assert config_lib.run_defining_differences(cfg, longer) == []
    other = cfg.replace(model={"latent_size": 9}, train={"batch_size": 3})
    diffs = config_lib.run_defining_differences(cfg, other)
    assert diffs == ["model.latent_size: 3 -> 9", "train.batch_size: 2 -> 3"]


def test_from_dict_rejects_unknown_fields():
    values = tiny_config().to_dict()
    values["model"]["latnet_size"] = 3
    with pytest.raises(config_lib.ConfigError, match="latnet_size"):
        config_lib.Config.from_dict(values)


def test_every_field_has_a_flag_with_help():
    from tfvideo import flags as flags_lib
    for part in (config_lib.ModelConfig, config_lib.DataConfig, config_lib.TrainConfig):
        for field in dataclasses.fields(part):
            assert field.name in flags_lib.HELP, field.name
