import dataclasses
import os
import re

import pytest

from tfvideo import config as config_lib
from tests.support.configs import NUM_SAMPLES, TINY_DATA, TINY_MODEL, TINY_MODELS, TINY_TRAIN, tiny_config

T, P = TINY_DATA["seq_len"], TINY_DATA["conditioning_frames"]
K = TINY_MODEL["inference_frames"]


def test_json_round_trip_is_exact():
    cfg = tiny_config(model=dict(dynamics="gru", stochastic=False, obs_scale=0.3), data=dict(data_dir="/x"))
    again = config_lib.Config.from_json(cfg.to_json())
    assert again == cfg
    assert again.model.dynamics == "gru" and again.data.data_dir == "/x"


@pytest.mark.parametrize("section, field, value, message", [
    ("model", "model", "lstm", "Unknown --model='lstm'"),
    ("data", "dataset", "imagenet", "Unknown --dataset='imagenet'"),
    ("model", "dt", 0.3, "--dt must be of the form 1/k"),
    ("model", "dt", 0.0001, "--dt=0.0001 is too small"),  # 10,000 Euler steps per frame
    ("model", "latent_size", 0, "--latent_size"),
    ("train", "batch_size", -1, "--batch_size"),
    ("data", "conditioning_frames", T, f"--conditioning_frames={T} must be smaller than --seq_len={T}"),
    ("model", "inference_frames", P + 1, f"--inference_frames={P + 1} exceeds --conditioning_frames={P}"),
    ("data", "image_size", 48, "--image_size=48 is not supported: the models' encoders and decoders take 64x64"),
    ("data", "image_size", 128, "Use --image_size=64"),
    ("model", "initialization", "torch", "Unknown --initialization='torch'; expected one of: keras, pytorch"),
    ("model", "networks", "dcgan", "Unknown --networks='dcgan'; expected one of: srvp, svg"),
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
    assert diffs == [f"model.latent_size: {TINY_MODEL['latent_size']} -> 9", "train.batch_size: 2 -> 3"]


def test_the_tiny_test_config_has_a_distinct_size_per_axis():
    """Tests catch swapped axes only if no two sizes that could be swapped are equal (tests.support.configs:
    TINY_* and the per-model widths of TINY_MODELS)."""
    nf = TINY_MODEL["base_channels"]
    sizes = {"batch": TINY_TRAIN["batch_size"], "samples": NUM_SAMPLES, **{name: TINY_DATA[name] for name in (
        "seq_len", "conditioning_frames", "test_horizon")}, **{name: TINY_MODEL[name] for name in (
            "inference_frames", "encoding_size", "latent_size", "noise_size", "inference_hidden_size",
            "dynamics_hidden_size")}, "conv widths": nf, "2 nf": 2 * nf, "4 nf": 4 * nf, "8 nf": 8 * nf}
    rnn_sizes = {TINY_MODELS[name]["rnn_size"] for name in ("svg", "hafsvg")}
    assert len(rnn_sizes) == 1 and not rnn_sizes & set(sizes.values()), (rnn_sizes, sizes)
    assert len(set(sizes.values())) == len(sizes), sizes
    assert TINY_TRAIN["num_gif_samples"] == NUM_SAMPLES


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


# ------------------------------------------------------------------------------------ fields per model

@pytest.mark.parametrize("model, field, value, flag, users", [
    ("srvp", "rnn_size", 8, "--rnn_size=8", "--model=svg or --model=hafsvg"),
    ("srvp", "feature_aligner", True, "--feature_aligner", "--model=hafsvg"),
    ("svg", "inference_frames", 2, "--inference_frames=2", "--model=srvp"),
    ("svg", "stochastic", False, "--nostochastic", "--model=srvp"),
    ("svg", "aligner_levels", 2, "--aligner_levels=2", "--model=hafsvg"),
    ("hafsvg", "latent_size", 3, "--latent_size=3", "--model=srvp"),
    ("hafsvg", "obs_scale", 0.5, "--obs_scale=0.5", "--model=srvp"),
    ("srvp", "networks", "svg", "--networks=svg", "--model=svg or --model=hafsvg"),
])
def test_a_field_the_model_does_not_use_is_rejected_naming_it(model, field, value, flag, users):
    with pytest.raises(config_lib.ConfigError,
                       match=re.escape(f"{flag} is not used by --model={model} (it is a field of {users})")):
        config_lib.ModelConfig(model=model, **{field: value}).validate()
    config_lib.ModelConfig(model=model, **{field: getattr(config_lib.ModelConfig(), field)}).validate()  # default


def test_every_model_field_is_used_by_some_model_and_shared_fields_by_all():
    names = {field.name for field in dataclasses.fields(config_lib.ModelConfig)}
    assert set().union(*config_lib.MODEL_FIELDS.values()) == names
    assert set(config_lib.MODEL_FIELDS) == set(config_lib.MODEL_NAMES)
    shared = set.intersection(*map(set, config_lib.MODEL_FIELDS.values()))
    assert {"noise_size", "encoding_size", "beta_z", "dt"} <= shared and "inference_frames" not in shared


def test_srvp_context_check_does_not_apply_to_svg():
    """SVG-LP reads no inference_frames: one conditioning frame is enough, whatever SRVP's default."""
    for model in ("svg", "hafsvg"):
        cfg = tiny_config(model={"model": model}, data={"conditioning_frames": 1})
        assert cfg.data.conditioning_frames < cfg.model.inference_frames
    with pytest.raises(config_lib.ConfigError, match=f"--inference_frames={K} exceeds --conditioning_frames=1"):
        tiny_config(data={"conditioning_frames": 1})


def test_fields_a_model_does_not_use_do_not_block_resuming():
    """A run's config.json may hold any value in a field its model does not read: it does not define the run."""
    svg = tiny_config(model={"model": "svg"})
    recorded = dataclasses.replace(svg, model=dataclasses.replace(svg.model, inference_frames=2))
    assert config_lib.run_defining_differences(recorded, svg) == []
    srvp = tiny_config()
    assert config_lib.run_defining_differences(srvp, srvp.replace(model={"inference_frames": K + 1})) == [
        f"model.inference_frames: {K} -> {K + 1}"]
    noise_size = TINY_MODEL["noise_size"]
    assert config_lib.run_defining_differences(svg, svg.replace(model={"noise_size": noise_size + 1})) == [
        f"model.noise_size: {noise_size} -> {noise_size + 1}"]


class _ReadRecorder:
    """A ModelConfig that records which of its fields are read."""

    def __init__(self, config):
        self._config, self.read = config, set()

    def __getattr__(self, name):
        if name in {field.name for field in dataclasses.fields(config_lib.ModelConfig)}:
            self.read.add(name)
        return getattr(self._config, name)


# SVG-LP reads HAF-SVG's num_groups and feature_aligner only to insist on their defaults (SVG._check_variant).
GUARD_READS = {"srvp": set(), "svg": {"num_groups", "feature_aligner"}, "hafsvg": set()}


@pytest.mark.parametrize("model, options", [
    ("srvp", {}),
    ("svg", {"skip_connections": True, "rnn_size": 8}),
    ("hafsvg", {"skip_connections": True, "feature_aligner": True, "num_groups": 2, "rnn_size": 8}),
])
def test_model_fields_table_lists_what_each_model_reads(model, options):
    """Building, training and sampling each model reads exactly its MODEL_FIELDS (beyond "model", the name)."""
    import tensorflow as tf
    from tfvideo.models import model_class
    recorder = _ReadRecorder(tiny_config(model={"model": model, **options}).model)
    extra = {} if model == "srvp" else {"conditioning_frames": 3}
    predictor = model_class(model)(recorder, image_size=64, channels=1, **extra).initialize()
    videos = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[1, 2])
    predictor.compute_loss_terms(videos, training=True)
    predictor.generate(videos[:, :3], num_samples=2, horizon=2, seed=0)
    assert recorder.read - config_lib.MODEL_FIELDS[model] == GUARD_READS[model]
    assert config_lib.MODEL_FIELDS[model] - recorder.read == {"model"}


def test_a_config_json_without_networks_loads_the_networks_it_was_trained_with():
    """config.json files written before the `networks` field existed hold SVG-LP / HAF-SVG runs trained on SRVP's
    networks: they load as networks="srvp", and build encoders without biases."""
    from tfvideo.models import build_model
    for model in ("svg", "hafsvg"):
        values = tiny_config(model={"model": model, "networks": "svg"}).to_dict()
        del values["model"]["networks"]
        old = config_lib.Config.from_dict(values).validate()
        assert old.model.networks == "srvp"
        encoder = build_model(old).encoder
        assert encoder.networks == "srvp" and not encoder.block0_0.use_bias


def test_a_config_json_without_initialization_loads_the_weights_it_started_from():
    """config.json files of SVG-LP / HAF-SVG runs from before they read `initialization` (whatever value they hold,
    they started from Keras' weights) load as "keras" and build Keras' LSTMCells, the variables of their
    checkpoints; "pytorch" builds the two-bias cells."""
    import keras
    from tfvideo.models import build_model
    from tfvideo.models import layers
    for model in ("svg", "hafsvg"):
        values = tiny_config(model={"model": model}).to_dict()
        del values["model"]["initialization"]
        old = config_lib.Config.from_dict(values).validate()
        assert old.model.initialization == "keras"
        assert type(build_model(old).predictor.cells[0]) is keras.layers.LSTMCell
        new = old.replace(model={"initialization": "pytorch"}).validate()
        assert isinstance(build_model(new).posterior.groups[0].cell, layers.PyTorchLSTMCell)
        assert config_lib.run_defining_differences(old, new) == ["model.initialization: 'keras' -> 'pytorch'"]


@pytest.mark.parametrize("name", [f"{model}_{dataset}" for model in ("svg", "hafsvg")
                                  for dataset in ("smmnist", "bair", "kth")])
def test_svg_paper_configs_use_svg_s_own_networks_and_initialisation(name):
    from tfvideo import flags as flags_lib
    path = os.path.join(os.path.dirname(__file__), os.pardir, "configs", f"{name}.flags")
    model = flags_lib.config_from_flagfile(path).model
    assert (model.networks, model.initialization) == ("svg", "pytorch")


@pytest.mark.parametrize("dataset, expected", [("kth", 0.25), ("bair", 0.0), ("smmnist", 0.0)])
def test_a_run_recorded_with_the_kth_only_hold_out_reads_back_as_it_trained(dataset, expected):
    values = config_lib.Config().to_dict()
    del values["data"]["validation_fraction"]
    values["data"].update(dataset=dataset, kth_validation_fraction=0.25)  # config.json of a KTH-only hold-out
    assert config_lib.Config.from_dict(values).data.validation_fraction == expected


def test_validation_and_adam_settings_are_checked_and_validation_is_resumable():
    for train, message in ((dict(adam_update="sgd"), "--adam_update"),
                           (dict(validation_every=-1), "--validation_every"),
                           (dict(validation_videos=0), "--validation_videos"),
                           (dict(validation_samples=0), "--validation_samples")):
        with pytest.raises(config_lib.ConfigError, match=message):
            tiny_config(train=train)
    old = tiny_config()
    new = old.replace(train=dict(validation_every=7, validation_videos=3, validation_samples=2))
    assert config_lib.run_defining_differences(old, new) == []
    assert config_lib.run_defining_differences(old, old.replace(train=dict(adam_update="pytorch"))) == [
        "train.adam_update: 'keras' -> 'pytorch'"]
