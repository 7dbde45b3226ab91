"""The model section of a run's config: one dataclass per model, each field described once.

`ModelConfig` holds the fields every model reads; `SRVPConfig`, `SVGConfig` (SVG-LP) and `HAFSVGConfig` (HAF-SVG,
an SVG-LP with grouped noise and a feature aligner) add their own. Each class names its model in the `model` field
(set by the class, not by the caller). `MODEL_CONFIGS` maps a model name to its class; `tfvideo.models.registry`
pairs each with its model class (a test checks that the two tables agree).

`section(values)` builds the section of a flat {field: value} mapping, as the flags and a config.json give it:
"model" picks the class; a field of another model's class is dropped when it keeps its default (config.json files
written before the split held every model's fields) and is an error otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from tfvideo import validation
from tfvideo.config.checks import ConfigError, as_flag, check_choices, check_float32, check_json_type, \
    check_positive_int, field

NUM_SKIP_LEVELS = 4  # skip tensors of the DCGAN and VGG encoders
ARCHITECTURES = ("dcgan", "vgg")
NETWORKS = ("srvp", "svg")  # whose encoder/decoder of an architecture: tfvideo.models.networks
DYNAMICS = ("residual", "mlp", "gru")
ALIGNER_VALUES = ("decoder", "encoder")
INITIALIZATIONS = ("keras", "pytorch")  # tfvideo.models.layers: initial distributions, Keras' or the original's
DEFAULT_MODEL = "srvp"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The fields every model reads. Defaults: SRVP on Stochastic Moving MNIST (paper), but for the initial weights
    (`initialization`: Keras', the paper configs set the original's). A model's class adds its own fields."""

    continuous_time: ClassVar[bool] = False  # whether the model integrates its dynamics with Euler steps dt = 1/k

    model: str = dataclasses.field(default="", init=False, metadata={"help": "Model to train: {models}."})
    architecture: str = field("dcgan", "Frame encoder/decoder family: dcgan | vgg.", ARCHITECTURES)
    skip_connections: bool = field(False, "Skip connections from an encoded frame to the decoder.")
    base_channels: int = field(64, "Filters of the first encoder convolution (nf); the others are multiples of it.")
    encoding_size: int = field(128, "Size of each frame's encoding (SRVP's nhx, SVG's g_dim).")
    noise_size: int = field(20, "Size of the auxiliary random variable z (SRVP's nz, SVG-LP's z_dim; HAF-SVG: dims "
                                "of each of its --num_groups groups).")
    dt: float = field(1.0, "Euler step size 1/k used in training (1, 0.5, 0.25, ...; discrete-time models: 1).")
    beta_z: float = field(2.0, "Weight of the KL terms on z (SVG-LP / HAF-SVG: beta).")
    initialization: str = field(
        "keras", "Initial weights of the Linear and LSTM layers: keras (Keras defaults) | pytorch (the original "
        "code's: PyTorch defaults, LSTM with two biases, SVG's N(0, 0.02) Linear layers; see tfvideo/models/srvp.py "
        "and svg.py). The paper configs set pytorch; a config.json without the field loads as keras, the weights "
        "such runs started from.", INITIALIZATIONS)
    action_conditioned: bool = field(
        False, "Condition the model on the data's actions [B, T, A], normalised by training-set statistics "
        "(tfvideo/models/actions.py); needs a dataset with actions (BAIR: 4 per frame; docs/actions.md).")
    action_size: int = field(4, "Numbers per action, A (BAIR: 4); with --action_conditioned.")

    @property
    def steps_per_frame(self) -> int:
        """k of the training Euler step dt = 1/k: the steps per frame of training and of the context."""
        return validation.steps_per_frame(self.dt, "--dt", error=ConfigError)

    def validate(self) -> None:
        if not self.model:
            raise ConfigError(f"ModelConfig is the fields every model shares: use a model's class "
                              f"({', '.join(MODEL_NAMES)}: tfvideo.config.MODEL_CONFIGS).")
        check_choices(self)
        for name in ("base_channels", "encoding_size", "noise_size", "action_size"):
            check_positive_int(name, getattr(self, name))
        check_float32("beta_z", self.beta_z, positive=False)
        validation.frame_steps(self.dt, "--dt", continuous_time=self.continuous_time, who=self.describe(),
                               error=ConfigError)

    def describe(self) -> str:
        """The model as flags name it, e.g. "--model=svg"."""
        return f"--model={self.model}"

    @property
    def min_context_frames(self) -> int:
        """The fewest context frames the model predicts from."""
        return 1

    def context_need(self) -> str:
        """Why the model needs `min_context_frames`, for messages: "the N context frame(s) the model needs"."""
        return f"the {self.min_context_frames} context frame(s) the model needs"

    def check_conditioning(self, conditioning_frames: int) -> None:
        """ConfigError when the run's --conditioning_frames are fewer than the model reads."""
        if self.min_context_frames > conditioning_frames:
            raise ConfigError(f"--conditioning_frames={conditioning_frames} is fewer than {self.context_need()}.")


@dataclasses.dataclass(frozen=True)
class SRVPConfig(ModelConfig):
    """SRVP (Franceschi et al. 2020): a latent state y moved by a residual function in continuous time."""

    model: str = dataclasses.field(default="srvp", init=False, metadata=ModelConfig.__dataclass_fields__[
        "model"].metadata)
    latent_size: int = field(20, "Size of the latent state y (ny).")
    inference_hidden_size: int = field(256, "Width of the inference networks (q(y_1), q(z) LSTM, content network).")
    inference_layers: int = field(3, "Linear layers of the q(y_1) MLP.")
    dynamics_hidden_size: int = field(512, "Width of the residual function f and of the prior p(z | y).")
    dynamics_layers: int = field(4, "Linear layers of f and of the prior MLP.")
    residual_gain: float = field(1.41, "Orthogonal initialisation gain of f.")
    inference_frames: int = field(5, "Frames that infer y_1 and the content variable w (k in the paper).")
    dynamics: str = field("residual", "Latent dynamics: residual (SRVP, continuous time) | mlp | gru (paper "
                                      "ablations, discrete time: --dt=1).", DYNAMICS)
    use_content: bool = field(True, "Use the static content variable w.")
    stochastic: bool = field(True, "Use the auxiliary variable z; --nostochastic gives deterministic dynamics.")
    obs_scale: float = field(1.0, "Standard deviation of the Gaussian observation model.")
    beta_y: float = field(1.0, "Weight of KL(q(y_1) || N(0, I)).")
    l2_residual: float = field(1.0, "Weight of the L2 penalty on the latent increments.")

    @property
    def continuous_time(self) -> bool:  # the mlp and gru ablations step once per frame
        return self.dynamics == "residual"

    def validate(self) -> None:
        super().validate()
        for name in ("latent_size", "inference_hidden_size", "inference_layers", "dynamics_hidden_size",
                     "dynamics_layers", "inference_frames"):
            check_positive_int(name, getattr(self, name))
        for name in ("obs_scale", "residual_gain"):
            check_float32(name, getattr(self, name), positive=True)
        for name in ("beta_y", "l2_residual"):
            check_float32(name, getattr(self, name), positive=False)

    def describe(self) -> str:
        return super().describe() + ("" if self.continuous_time else f" with --dynamics={self.dynamics}")

    @property
    def min_context_frames(self) -> int:  # y_1 and w are inferred from the first inference_frames frames
        return self.inference_frames

    def context_need(self) -> str:
        return f"the model's inference_frames={self.inference_frames}"

    def check_conditioning(self, conditioning_frames: int) -> None:
        if self.inference_frames > conditioning_frames:
            raise ConfigError(f"--inference_frames={self.inference_frames} exceeds --conditioning_frames="
                              f"{conditioning_frames}: y_1 and w are inferred from the conditioning frames.")


@dataclasses.dataclass(frozen=True)
class SVGConfig(ModelConfig):
    """SVG-LP (Denton & Fergus 2018): a frame predictor LSTM with a learned prior, one step per frame."""

    model: str = dataclasses.field(default="svg", init=False, metadata=ModelConfig.__dataclass_fields__[
        "model"].metadata)
    networks: str = field(
        "srvp", "SVG-LP / HAF-SVG: whose dcgan / vgg encoder and decoder: srvp (SRVP's) | svg (SVG's own dcgan_64 / "
        "vgg_64, with biases and batch norm on the first DCGAN convolution; see tfvideo/models/networks.py). The "
        "paper configs use svg; a config.json without the field loads as srvp, the networks it was trained with.",
        NETWORKS)
    rnn_size: int = field(256, "SVG-LP / HAF-SVG: width of the frame predictor, posterior and prior LSTMs.")
    predictor_layers: int = field(2, "SVG-LP / HAF-SVG: stacked LSTM cells of the frame predictor.")

    def validate(self) -> None:
        super().validate()
        for name in ("rnn_size", "predictor_layers"):
            check_positive_int(name, getattr(self, name))


@dataclasses.dataclass(frozen=True)
class HAFSVGConfig(SVGConfig):
    """HAF-SVG: SVG-LP with z in groups sampled in order and an attention feature aligner on the skips."""

    model: str = dataclasses.field(default="hafsvg", init=False, metadata=ModelConfig.__dataclass_fields__[
        "model"].metadata)
    num_groups: int = field(1, "HAF-SVG: number G of groups of z, sampled in order (each group has --noise_size "
                               "dims, so z has G * noise_size).")
    feature_aligner: bool = field(False, "HAF-SVG: feature aligner (attention to the last observed frame's encoder "
                                         "features) in place of the plain skip concatenation; needs "
                                         "--skip_connections.")
    aligner_value: str = field("decoder", "HAF-SVG: aligner values V from 'decoder' features (as printed in the "
                                          "paper) or 'encoder' features.", ALIGNER_VALUES)
    aligner_levels: int = field(NUM_SKIP_LEVELS, "HAF-SVG: how many skip levels, deepest first, go through the "
                                                 "aligner (4 = all, the paper); the finer ones keep plain skips. "
                                                 "Attention memory grows with (h*w)^2 per level.")

    def validate(self) -> None:
        super().validate()
        for name in ("num_groups", "aligner_levels"):
            check_positive_int(name, getattr(self, name))
        if self.aligner_levels > NUM_SKIP_LEVELS:
            raise ConfigError(f"--aligner_levels must be at most {NUM_SKIP_LEVELS} (the encoders' skip levels); "
                              f"got {self.aligner_levels}.")
        if self.feature_aligner and not self.skip_connections:
            raise ConfigError("--feature_aligner replaces the plain concatenation of the skip connections: also "
                              "pass --skip_connections.")


MODEL_CONFIGS: dict[str, type[ModelConfig]] = {cls.model: cls for cls in (SRVPConfig, SVGConfig, HAFSVGConfig)}
MODEL_NAMES = tuple(MODEL_CONFIGS)


def fields_of(cls: type[ModelConfig]) -> dict[str, dataclasses.Field]:
    """{name: field} of a model config class."""
    return {item.name: item for item in dataclasses.fields(cls)}


ALL_FIELDS = {name: item for cls in MODEL_CONFIGS.values() for name, item in fields_of(cls).items()}


def config_class(name: Any) -> type[ModelConfig]:
    """The config class of model `name`; ConfigError naming the models otherwise."""
    if name not in MODEL_CONFIGS:
        raise ConfigError(f"Unknown --model={name!r}; expected one of: {', '.join(MODEL_NAMES)}.")
    return MODEL_CONFIGS[name]


def section(values: dict[str, Any], where: str = "model") -> ModelConfig:
    """The model config of flat `values` ({"model": name, field: value, ...}; "model" left out: srvp), each value
    checked to have its field's JSON type (`where`.field names it). ConfigError for a field no model has, and for a
    field of another model that is not at its default (one at its default is dropped)."""
    cls = config_class(values.get("model", DEFAULT_MODEL))
    own = fields_of(cls)
    unknown = set(values) - set(ALL_FIELDS)
    if unknown:
        raise ConfigError(f"Unknown {where} config field(s): {sorted(unknown)}.")
    for name in (name for name in ALL_FIELDS if name in values):  # in the classes' order of fields
        value = values[name]
        check_json_type(f"{where}.{name}", value, ALL_FIELDS[name].default)
        if name not in own and value != ALL_FIELDS[name].default:
            users = " or ".join(f"--model={model}" for model, other in MODEL_CONFIGS.items()
                                if name in fields_of(other))
            raise ConfigError(f"{as_flag(name, value)} is not used by --model={cls.model} (it is a field of "
                              f"{users}): drop it, or choose the model that uses it.")
    return cls(**{name: value for name, value in values.items() if name in own and name != "model"})


def help_text(item: dataclasses.Field) -> str:
    """The description of a config field (its flag's help)."""
    return item.metadata.get("help", item.name).replace("{models}", ", ".join(MODEL_NAMES))
