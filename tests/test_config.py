import dataclasses
import json
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
    model = {"model": "svg"} if field == "networks" else {}  # an SVG-LP / HAF-SVG field
    with pytest.raises(config_lib.ConfigError, match=message.replace("(", r"\(")):
        tiny_config(**{section: {**(model if section == "model" else {}), field: value}})


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


def test_every_field_has_a_flag_with_its_one_description():
    """Each field is described once, in its config class (`field(..., help)`), and its flag's help is that text."""
    from absl import flags
    from tfvideo import flags as flags_lib
    values = flags.FlagValues()
    flags_lib.define_config_flags(values)
    for fields in config_lib.config_fields().values():
        for field in fields:
            assert field.metadata.get("help"), field.name
            assert values[field.name].help == config_lib.help_text(field), field.name
    assert values["model"].help == "Model to train: srvp, svg, hafsvg."
    assert not hasattr(flags_lib, "HELP")


# ------------------------------------------------------------------------------------ fields per model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "config_json")


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
def test_a_field_the_model_does_not_have_is_rejected_naming_it(model, field, value, flag, users):
    """From flags (flat, one namespace) and from a config dict: a field of another model is an error unless it
    keeps its default, in which case it is dropped."""
    from tfvideo import flags as flags_lib
    message = re.escape(f"{flag} is not used by --model={model} (it is a field of {users})")
    with pytest.raises(config_lib.ConfigError, match=message):
        flags_lib.config_from_flagfile(os.devnull, [f"--model={model}", flag])
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.Config.from_dict({"model": {"model": model, field: value}})
    default = config_lib.model_sections.ALL_FIELDS[field].default
    loaded = flags_lib.config_from_flagfile(os.devnull, [f"--model={model}", f"--{field}={default}"])
    assert not hasattr(loaded.model, field) and type(loaded.model) is config_lib.MODEL_CONFIGS[model]


def test_each_model_has_its_config_class_and_the_common_fields():
    assert config_lib.MODEL_NAMES == ("srvp", "svg", "hafsvg")
    common = {field.name for field in dataclasses.fields(config_lib.ModelConfig)}
    assert {"model", "noise_size", "encoding_size", "beta_z", "dt"} <= common and "inference_frames" not in common
    for name, cls in config_lib.MODEL_CONFIGS.items():
        config = cls()
        assert config.model == name and isinstance(config, config_lib.ModelConfig)
        assert common <= {field.name for field in dataclasses.fields(cls)}
        with pytest.raises(TypeError):
            cls(model="other")  # the class names its model
    assert issubclass(config_lib.HAFSVGConfig, config_lib.SVGConfig)
    assert type(config_lib.Config().model) is config_lib.SRVPConfig
    with pytest.raises(config_lib.ConfigError, match="use a model's class"):
        config_lib.ModelConfig().validate()


# Tiny, and a different size per dimension (base_channels, encoding, noise, rnn, ...).
PER_MODEL = {
    "srvp": dict(base_channels=9, encoding_size=10, latent_size=11, noise_size=12, inference_hidden_size=13,
                 dynamics_hidden_size=14, inference_layers=2, dynamics_layers=3, inference_frames=4, dt=0.25,
                 dynamics="residual", use_content=False, obs_scale=0.3, beta_y=0.5, l2_residual=0.0),
    "svg": dict(model="svg", base_channels=9, encoding_size=10, noise_size=12, rnn_size=15, predictor_layers=3,
                networks="svg", architecture="vgg", beta_z=1e-4),
    "hafsvg": dict(model="hafsvg", base_channels=9, encoding_size=10, noise_size=12, rnn_size=15, num_groups=3,
                   skip_connections=True, feature_aligner=True, aligner_levels=2, aligner_value="encoder",
                   action_conditioned=True, action_size=5),
}


@pytest.mark.parametrize("model", sorted(PER_MODEL))
def test_json_round_trip_is_exact_for_each_model(model):
    cfg = tiny_config(model=PER_MODEL[model], data=dict(data_dir="/x"))
    written = json.loads(cfg.to_json())["model"]
    assert set(written) == {field.name for field in dataclasses.fields(config_lib.MODEL_CONFIGS[model])}
    again = config_lib.Config.from_json(cfg.to_json())
    assert again == cfg and type(again.model) is type(cfg.model)
    assert {name: getattr(again.model, name) for name in PER_MODEL[model]} == PER_MODEL[model]


@pytest.mark.parametrize("model", ["srvp", "svg", "hafsvg"])
def test_a_flat_config_json_of_the_single_section_layout_still_loads(model):
    """tests/fixtures/config_json/flat_*.json were written by the code before the per-model sections (one flat model
    section, every model's fields): they load as the model's class, every field of it as written, and round-trip
    in the new layout."""
    with open(os.path.join(FIXTURES, f"flat_{model}.json")) as handle:
        text = handle.read()
    flat = json.loads(text)
    assert len(flat["model"]) == len(config_lib.model_sections.ALL_FIELDS)  # the old layout
    loaded = config_lib.Config.from_json(text).validate()
    assert type(loaded.model) is config_lib.MODEL_CONFIGS[model]
    assert dataclasses.asdict(loaded.model) == {name: flat["model"][name] for name in dataclasses.asdict(loaded.model)}
    assert loaded.to_dict()["data"] == flat["data"] and loaded.to_dict()["train"] == flat["train"]
    assert config_lib.Config.from_json(loaded.to_json()) == loaded
    expected = {"srvp": dict(latent_size=11, noise_size=12, dt=0.5, inference_frames=2, obs_scale=0.2,
                             initialization="pytorch", skip_connections=True),
                "svg": dict(architecture="vgg", networks="svg", rnn_size=8, predictor_layers=3, noise_size=13,
                            beta_z=1e-4),
                "hafsvg": dict(networks="svg", skip_connections=True, feature_aligner=True, num_groups=2,
                               aligner_levels=3, aligner_value="encoder", rnn_size=9, action_conditioned=True,
                               action_size=5)}[model]
    assert {name: getattr(loaded.model, name) for name in expected} == expected
    assert (loaded.data.dataset, loaded.data.channels, loaded.train.batch_size) == ("bair", 3, 16)


def test_replace_switches_models_keeping_the_shared_fields():
    srvp = tiny_config(model={"base_channels": 7})
    svg = srvp.replace(model={"model": "svg", "rnn_size": 5}).validate()
    assert type(svg.model) is config_lib.SVGConfig and (svg.model.base_channels, svg.model.rnn_size) == (7, 5)
    assert srvp.replace(model={"latent_size": 20}).model.latent_size == 20
    with pytest.raises(config_lib.ConfigError, match=re.escape("--rnn_size=5 is not used by --model=srvp")):
        srvp.replace(model={"rnn_size": 5})


def test_steps_per_frame_of_the_training_dt():
    assert [tiny_config(model={"dt": dt}).model.steps_per_frame for dt in (1.0, 0.5, 0.25, 0.125)] == [1, 2, 4, 8]
    assert tiny_config(model={"model": "svg"}).model.steps_per_frame == 1


def test_a_discrete_time_model_trains_at_dt_one_only():
    assert tiny_config().model.continuous_time
    for model in ({"model": "svg"}, {"model": "hafsvg"}, {"dynamics": "gru"}):
        config = tiny_config(model=model)
        assert not config.model.continuous_time
        with pytest.raises(config_lib.ConfigError, match=re.escape(
                f"--dt: {config.model.describe()} is a discrete-time model (one step per frame, no frames in "
                "between), so it takes --dt=1 only. Use --dt=1; got 0.5.")):
            config.replace(model={"dt": 0.5}).validate()


def test_srvp_context_check_does_not_apply_to_svg():
    """SVG-LP reads no inference_frames: one conditioning frame is enough, whatever SRVP's default."""
    for model in ("svg", "hafsvg"):
        cfg = tiny_config(model={"model": model}, data={"conditioning_frames": 1})
        assert cfg.model.min_context_frames == 1 and not hasattr(cfg.model, "inference_frames")
    with pytest.raises(config_lib.ConfigError, match=f"--inference_frames={K} exceeds --conditioning_frames=1"):
        tiny_config(data={"conditioning_frames": 1})


def test_run_defining_differences_of_each_model_section():
    svg = tiny_config(model={"model": "svg"})
    srvp = tiny_config()
    assert config_lib.run_defining_differences(srvp, srvp.replace(model={"inference_frames": K + 1})) == [
        f"model.inference_frames: {K} -> {K + 1}"]
    noise_size = TINY_MODEL["noise_size"]
    assert config_lib.run_defining_differences(svg, svg.replace(model={"noise_size": noise_size + 1})) == [
        f"model.noise_size: {noise_size} -> {noise_size + 1}"]
    assert "model.model: 'srvp' -> 'svg'" in config_lib.run_defining_differences(srvp, svg)


class _ReadRecorder:
    """A model config that records which of its fields are read."""

    def __init__(self, config):
        self._config, self.read = config, set()

    def __getattr__(self, name):
        if name in {field.name for field in dataclasses.fields(self._config)}:
            self.read.add(name)
        return getattr(self._config, name)


@pytest.mark.parametrize("model, options", [
    ("srvp", {}),
    ("svg", {"skip_connections": True, "rnn_size": 8}),
    ("hafsvg", {"skip_connections": True, "feature_aligner": True, "num_groups": 2, "rnn_size": 8}),
])
def test_each_model_reads_every_field_of_its_config_class(model, options):
    """Building, training and sampling each model reads every field of its config class: a class holds no field
    its model ignores."""
    import tensorflow as tf
    from tfvideo.models import model_class
    config = tiny_config(model={"model": model, **options}).model
    recorder = _ReadRecorder(config)
    extra = {} if model == "srvp" else {"conditioning_frames": 3}
    predictor = model_class(model)(recorder, image_size=64, channels=1, **extra).initialize()
    videos = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[1, 2])
    predictor.compute_loss_terms(videos, training=True)
    predictor.generate(videos[:, :3], num_samples=2, horizon=2, seed=0)
    assert {field.name for field in dataclasses.fields(config)} - recorder.read == set()


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
