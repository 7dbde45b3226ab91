"""Frozen run configuration: what the library receives after the CLI parsed its flags.

A run is described by three dataclasses, grouped in `Config`:

- `ModelConfig`: architecture and loss weights (everything a checkpoint depends on).
- `DataConfig`: dataset, frame geometry and sequence lengths.
- `TrainConfig`: optimisation, schedule, logging and checkpointing.

`Config.to_json` / `Config.from_json` round-trip exactly; `run_defining_differences` says which fields
of two configs differ in a way that makes a checkpoint of one unusable (or misleading) for the other.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from tfvideo import validation

MODEL_NAMES = ("srvp", "svg", "hafsvg")
DATASET_NAMES = ("smmnist", "bair", "kth", "human36m", "moving_mnist", "folder")
BAIR_VIEWS = ("image_aux1", "image_main")
ARCHITECTURES = ("dcgan", "vgg")
NETWORKS = ("srvp", "svg")  # whose encoder/decoder of an architecture: tfvideo.models.networks
ADAM_UPDATES = ("keras", "pytorch")  # tfvideo.training.optimizers: where Adam adds its epsilon
DYNAMICS = ("residual", "mlp", "gru")
ALIGNER_VALUES = ("decoder", "encoder")
INITIALIZATIONS = ("keras", "pytorch")  # tfvideo.models.layers: initial distributions, Keras' or the original's
CHECKPOINTS = ("final", "best")  # tfvideo.runs: the newest training checkpoint, or the best validation score's
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")  # tfvideo.perf.precision
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # tfvideo.training.distribute
KERNEL_GRADS = ("auto", "native", "gemm")  # tfvideo.perf.conv_ops
INT64_MAX = validation.INT64_MAX
_STEP_COUNTS = frozenset({"train_steps", "checkpoint_every", "log_every", "video_every", "max_nonfinite_steps",
                          "lr_burnin_steps", "lr_decay_steps"})  # bounded by INT64_MAX, other counts by int32
NUM_SKIP_LEVELS = 4  # skip tensors of the DCGAN and VGG encoders
IMAGE_SIZE = 64  # frame height and width that every model's encoders and decoders take


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the fix."""


# The ModelConfig fields each model reads (every other field must keep its default: ModelConfig.validate).
_EVERY_MODEL = ("model", "architecture", "skip_connections", "base_channels", "encoding_size", "noise_size", "dt",
                "beta_z", "action_conditioned", "action_size", "initialization")
_SVG = _EVERY_MODEL + ("networks", "rnn_size", "predictor_layers")
MODEL_FIELDS = {
    "srvp": frozenset(_EVERY_MODEL + ("latent_size", "inference_hidden_size", "inference_layers",
                                      "dynamics_hidden_size", "dynamics_layers", "residual_gain",
                                      "inference_frames", "dynamics", "use_content", "stochastic", "obs_scale",
                                      "beta_y", "l2_residual")),
    "svg": frozenset(_SVG),
    "hafsvg": frozenset(_SVG + ("num_groups", "feature_aligner", "aligner_value", "aligner_levels")),
}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Model architecture and loss weights. Defaults: SRVP on Stochastic Moving MNIST (paper), but for the initial
    weights (`initialization`: Keras', the paper configs set the original's).

    One flat section for the three models (so config.json keeps one layout); `MODEL_FIELDS` says which fields
    each model reads, and `validate` rejects a field the chosen model does not read unless it keeps its default.
    """

    model: str = "srvp"
    architecture: str = "dcgan"  # encoder/decoder family: dcgan | vgg
    # SVG-LP / HAF-SVG: whose version of the architecture: "srvp" (SRVP's, which SRVP always uses) | "svg" (SVG's own
    # dcgan_64 / vgg_64: biases, batch norm on the first DCGAN convolution). The paper configs use "svg"; a
    # config.json written before this field existed loads as "srvp", the networks it was trained with.
    networks: str = "srvp"
    skip_connections: bool = False
    base_channels: int = 64  # filters of the first encoder convolution (nf)
    encoding_size: int = 128  # per-frame encoding: SRVP's nhx, SVG's g_dim
    latent_size: int = 20  # SRVP: state y (ny)
    noise_size: int = 20  # SRVP: auxiliary variable z (nz); SVG-LP: z_dim; HAF-SVG: dims of each of the G groups
    inference_hidden_size: int = 256  # SRVP: q(y_1), q(z), content network width
    inference_layers: int = 3  # SRVP
    dynamics_hidden_size: int = 512  # SRVP: residual function f and prior p(z | y) width
    dynamics_layers: int = 4  # SRVP
    residual_gain: float = 1.41  # SRVP: orthogonal init gain of f
    # SRVP: initial distributions of the non-convolutional layers (tfvideo.models.srvp docstring). "keras": glorot-
    # uniform kernels, zero biases, q(z) LSTM with orthogonal recurrent kernel, one bias, forget-gate bias 1.
    # "pytorch", the original code's: content net, q(y_1), q(z) head and p(z|y) kernels and biases ~ nn.Linear's
    # U(-1/sqrt(fan_in), 1/sqrt(fan_in)); q(z) LSTM with two trainable bias vectors, every weight ~
    # U(-1/sqrt(hidden), 1/sqrt(hidden)). f is orthogonal (residual_gain) with zero biases in both. The SRVP paper
    # configs set "pytorch"; the default stays "keras", chosen by measurement on the quickstart, where both learn
    # alike (docs/evaluation.md, "Differences from the original training").
    # SVG-LP / HAF-SVG (tfvideo.models.svg docstring): "pytorch", the original's, gives the Linear layers N(0, 0.02)
    # kernels and zero biases and the LSTMs nn.LSTMCell's uniform weights and two biases; their paper configs set it.
    # A config.json without the field loads as "keras", the weights such runs started from.
    initialization: str = "keras"
    inference_frames: int = 5  # SRVP: k, frames inferring y_1 and the content w
    dynamics: str = "residual"  # SRVP: residual | mlp | gru
    use_content: bool = True  # SRVP: content variable w
    stochastic: bool = True  # SRVP: False gives no z (deterministic dynamics)
    dt: float = 1.0  # training Euler step (1/k)
    obs_scale: float = 1.0  # SRVP
    beta_y: float = 1.0  # SRVP
    beta_z: float = 2.0  # SRVP: weight of the KL on z; SVG-LP / HAF-SVG: beta
    l2_residual: float = 1.0  # SRVP
    rnn_size: int = 256  # SVG-LP / HAF-SVG: width of the frame predictor, posterior and prior LSTMs
    predictor_layers: int = 2  # SVG-LP / HAF-SVG: stacked LSTM cells of the frame predictor
    num_groups: int = 1  # HAF-SVG: groups G of z, each of noise_size dims
    feature_aligner: bool = False  # HAF-SVG: attention aligner in place of the plain skip concatenation
    aligner_value: str = "decoder"  # HAF-SVG: aligner values V from decoder (as printed) | encoder features
    aligner_levels: int = NUM_SKIP_LEVELS  # HAF-SVG: skip levels, deepest first, that go through the aligner
    # Every model: actions [B, T, A] enter the dynamics (SRVP: f and p(z | y); SVG-LP / HAF-SVG: the frame predictor
    # and the learned prior), normalised by training-set statistics (tfvideo.models.actions). Needs a dataset with
    # actions (bair).
    action_conditioned: bool = False
    action_size: int = 4  # A, numbers per action (BAIR: 4)

    def validate(self) -> None:
        _check_choice("model", self.model, MODEL_NAMES)
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        _check_choice("networks", self.networks, NETWORKS)
        _check_choice("dynamics", self.dynamics, DYNAMICS)
        _check_choice("aligner_value", self.aligner_value, ALIGNER_VALUES)
        _check_choice("initialization", self.initialization, INITIALIZATIONS)
        self._check_fields_used()
        for name in ("rnn_size", "predictor_layers", "num_groups", "aligner_levels", "action_size"):
            _check_positive_int(name, getattr(self, name))
        if self.aligner_levels > NUM_SKIP_LEVELS:
            raise ConfigError(f"--aligner_levels must be at most {NUM_SKIP_LEVELS} (the encoders' skip levels); "
                              f"got {self.aligner_levels}.")
        if self.feature_aligner and not self.skip_connections:
            raise ConfigError("--feature_aligner replaces the plain concatenation of the skip connections: also "
                              "pass --skip_connections.")
        for name in ("base_channels", "encoding_size", "latent_size", "noise_size", "inference_hidden_size",
                     "inference_layers", "dynamics_hidden_size", "dynamics_layers", "inference_frames"):
            _check_positive_int(name, getattr(self, name))
        for name in ("obs_scale", "residual_gain"):
            _check_float32(name, getattr(self, name), positive=True)
        for name in ("beta_y", "beta_z", "l2_residual"):
            _check_float32(name, getattr(self, name), positive=False)
        k = validation.steps_per_frame(self.dt, "--dt", error=ConfigError)
        if self.model in ("svg", "hafsvg") and k != 1:
            raise ConfigError(f"--model={self.model} is a discrete-time model: use --dt=1 (got --dt={self.dt}).")
        if self.dynamics != "residual" and k != 1:
            raise ConfigError(f"--dynamics={self.dynamics} has no continuous-time form: use --dt=1, or "
                              f"--dynamics=residual to train with dt={self.dt}.")

    def _check_fields_used(self) -> None:
        """ConfigError naming the first field that `self.model` does not read and that is not at its default."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name not in MODEL_FIELDS[self.model] and value != field.default:
                users = " or ".join(f"--model={name}" for name in MODEL_NAMES if field.name in MODEL_FIELDS[name])
                raise ConfigError(f"{_as_flag(field.name, value)} is not used by --model={self.model} (it is a "
                                  f"field of {users}): drop it, or choose the model that uses it.")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Dataset and sequence geometry. Defaults: 2-digit SM-MNIST, 5 + 10 training frames."""

    dataset: str = "smmnist"
    data_dir: str | None = None
    image_size: int = 64
    channels: int = 1
    seq_len: int = 15  # training sequence length
    conditioning_frames: int = 5  # context length at test time
    test_horizon: int = 20  # predicted frames at test time
    test_samples: int = 100  # futures per test video in evaluation (best of N); 1 for deterministic Moving MNIST
    num_digits: int = 2  # SM-MNIST only
    deterministic: bool = False  # SM-MNIST only: deterministic bounces
    bair_view: str = "image_aux1"  # BAIR only: camera view (image_aux1 as in the papers, or image_main)
    # smmnist, kth, human36m, bair: share of the training items (digits, videos) held out for validation and left
    # out of training (SRVP's 5%, seed 42: tfvideo.data.splits); 0 trains on every item (and has no validation).
    validation_fraction: float = 0.05

    def validate(self) -> None:
        _check_choice("dataset", self.dataset, DATASET_NAMES)
        _check_choice("bair_view", self.bair_view, BAIR_VIEWS)
        for name in ("image_size", "channels", "seq_len", "conditioning_frames", "test_horizon", "test_samples",
                     "num_digits"):
            _check_positive_int(name, getattr(self, name))
        if self.num_digits > 3:  # tfvideo.data.moving_mnist.MAX_DIGITS: the digits fit in a 64x64 frame
            raise ConfigError(f"--num_digits must be 1, 2 or 3 (SM-MNIST digits per video); got {self.num_digits}.")
        if self.conditioning_frames >= self.seq_len:
            raise ConfigError(
                f"--conditioning_frames={self.conditioning_frames} must be smaller than --seq_len={self.seq_len}: "
                "training sequences need frames to predict after the conditioning ones.")
        if isinstance(self.validation_fraction, bool) or not 0 <= self.validation_fraction < 1:
            raise ConfigError(f"--validation_fraction must be in [0, 1) (0.05 as SRVP, 0 to train on every "
                              f"training item); got {self.validation_fraction!r}.")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedule and bookkeeping."""

    workdir: str = "runs/default"
    train_steps: int = 1_100_000
    batch_size: int = 128
    seed: int = 0
    learning_rate: float = 3e-4
    # Adam's update: "keras" (epsilon 1e-7 added to sqrt(v) before the bias correction) or "pytorch" (the original
    # codes': epsilon 1e-8 added to the bias-corrected sqrt(v)); tfvideo.training.optimizers.
    adam_update: str = "keras"
    lr_burnin_steps: int = 1_000_000  # constant learning rate
    lr_decay_steps: int = 100_000  # then linear decay to 0
    checkpoint_every: int = 1000
    max_checkpoints: int = 3
    log_every: int = 50
    video_every: int = 5000  # TensorBoard sample videos
    num_gif_videos: int = 4
    num_gif_samples: int = 3
    jit_compile: bool = False
    max_nonfinite_steps: int = 20  # consecutive skipped (NaN/Inf) steps before training stops
    precision: str = "auto"  # auto | float32 | mixed_bfloat16 | mixed_float16: the conv networks' dtype policy
    strategy: str = "default"  # default | mirrored | multi_worker | tpu: tf.distribute strategy of training
    kernel_grad: str = "auto"  # auto | native | gemm: how convolution kernel gradients are computed
    fused_batch_norm: bool = True  # batch norm as TF's fused kernel (same math)
    # Validation score (tfvideo.training.validation): every `validation_every` steps (0: never), the mean PSNR of
    # the best of `validation_samples` futures of the first `validation_videos` held-out clips; the best-scoring
    # weights are kept in best_checkpoint/. The original: every 20k steps, 25 batches of 16 clips, 100 samples.
    validation_every: int = 20_000
    validation_videos: int = 400
    validation_samples: int = 100

    def validate(self) -> None:
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("kernel_grad", self.kernel_grad, KERNEL_GRADS)
        _check_choice("adam_update", self.adam_update, ADAM_UPDATES)
        for name in ("train_steps", "batch_size", "checkpoint_every", "max_checkpoints", "log_every",
                     "max_nonfinite_steps", "validation_videos", "validation_samples",
                     "video_every", "num_gif_videos", "num_gif_samples"):
            _check_positive_int(name, getattr(self, name))
        for name in ("lr_burnin_steps", "lr_decay_steps", "seed", "validation_every"):
            if not isinstance(getattr(self, name), int) or not 0 <= getattr(self, name) <= INT64_MAX:
                raise ConfigError(f"--{name} must be a whole number >= 0 (and < 2**63); got {getattr(self, name)!r}.")
        validation.int32_seed(self.seed, "--seed", error=ConfigError)  # seeds numpy, Python and TensorFlow
        validation.finite_number(self.learning_rate, "--learning_rate", error=ConfigError,
                                 above=0.0, maximum=1.0)
        if not self.workdir:
            raise ConfigError("--workdir must name a directory for checkpoints and logs.")


# Fields that may change between two invocations on the same workdir without invalidating checkpoints.
RESUMABLE_FIELDS = frozenset({
    "train.workdir", "train.train_steps", "train.checkpoint_every", "train.max_checkpoints", "train.log_every",
    "train.video_every", "train.num_gif_videos", "train.num_gif_samples", "train.jit_compile", "data.data_dir",
    "train.max_nonfinite_steps",
    "train.precision", "train.strategy",  # variables are float32 and strategy-independent in checkpoints
    "train.kernel_grad", "train.fused_batch_norm",
    "data.test_horizon", "data.test_samples",
    "train.validation_every", "train.validation_videos", "train.validation_samples",  # what is scored, not trained
})


@dataclasses.dataclass(frozen=True)
class Config:
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def validate(self) -> "Config":
        """Checks every field and cross-field constraint; returns self. Raises ConfigError."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        # The data pipelines can shrink frames (their tests do); the models take IMAGE_SIZE only.
        if self.data.image_size != IMAGE_SIZE:
            raise ConfigError(f"--image_size={self.data.image_size} is not supported: the models' encoders and "
                              f"decoders take {IMAGE_SIZE}x{IMAGE_SIZE} frames. Use --image_size={IMAGE_SIZE} (the "
                              "default).")
        # SRVP reads its first inference_frames frames to infer y_1 and w; SVG-LP and HAF-SVG need one context frame.
        if "inference_frames" in MODEL_FIELDS[self.model.model] \
                and self.model.inference_frames > self.data.conditioning_frames:
            raise ConfigError(
                f"--inference_frames={self.model.inference_frames} exceeds --conditioning_frames="
                f"{self.data.conditioning_frames}: y_1 and w are inferred from the conditioning frames.")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        """The Config of `values` ({"model": {...}, "data": {...}, "train": {...}}, a section or field left out
        takes its default); ConfigError naming the section or field that is not of the right JSON type."""
        if not isinstance(values, dict):
            raise ConfigError(f"a config is a JSON object with the sections model, data and train; got "
                              f"{_json_type(values)}.")
        parts = {}
        for name, part_cls in (("model", ModelConfig), ("data", DataConfig), ("train", TrainConfig)):
            given = values.get(name, {})
            if not isinstance(given, dict):
                raise ConfigError(f"section {name!r} must be a JSON object of fields; got {_json_type(given)}.")
            given = _renamed_fields(name, dict(given))
            fields = {f.name: f for f in dataclasses.fields(part_cls)}
            unknown = set(given) - set(fields)
            if unknown:
                raise ConfigError(f"Unknown {name} config field(s): {sorted(unknown)}.")
            for key, value in given.items():
                _check_json_type(f"{name}.{key}", value, fields[key].default)
            parts[name] = part_cls(**given)
        return cls(**parts)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))

    def replace(self, **sections: dict[str, Any]) -> "Config":
        """Returns a copy with fields replaced, e.g. `cfg.replace(train={"batch_size": 4})`."""
        parts = {name: dataclasses.replace(getattr(self, name), **sections.get(name, {}))
                 for name in ("model", "data", "train")}
        return Config(**parts)


def run_defining_differences(old: Config, new: Config) -> list[str]:
    """Returns 'section.field: old -> new' lines for the differences that forbid resuming `old` as `new`.

    Model fields that the run's model does not read (`MODEL_FIELDS`) do not count: they do not shape the model,
    whatever value a run's config.json holds for them.
    """
    out = []
    old_d, new_d = old.to_dict(), new.to_dict()
    same_model = old.model.model == new.model.model
    for section in ("model", "data", "train"):
        for key in sorted(set(old_d[section]) | set(new_d[section])):
            name = f"{section}.{key}"
            if name in RESUMABLE_FIELDS:
                continue
            if section == "model" and same_model and key not in MODEL_FIELDS.get(new.model.model, {key}):
                continue
            a, b = old_d[section].get(key), new_d[section].get(key)
            if a != b:
                out.append(f"{name}: {a!r} -> {b!r}")
    return out


def _renamed_fields(section: str, given: dict[str, Any]) -> dict[str, Any]:
    """A config.json section with its renamed fields under their current names: `kth_validation_fraction` (a KTH-only
    hold-out; the other datasets trained on every item) is `validation_fraction`, 0 for the other datasets."""
    if section == "data" and "kth_validation_fraction" in given:
        fraction = given.pop("kth_validation_fraction")
        given.setdefault("validation_fraction", fraction if given.get("dataset", "smmnist") == "kth" else 0.0)
    return given


def _as_flag(name: str, value: Any) -> str:
    """How `value` of field `name` reads on a command line: --name=value, or --name / --noname for a bool."""
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no{name}"
    return f"--{name}={value}"


def _json_type(value: Any) -> str:
    """How a JSON value reads in an error, e.g. "a list []" or "null"."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a whole number",
             float: "a number"}
    return f"{names.get(type(value), type(value).__name__)} {repr(value)[:60]}"


def _check_json_type(name: str, value: Any, default: Any) -> None:
    """ConfigError unless `value` has the JSON type of the field's `default`: a boolean, a whole number, a number
    (whole or not), a string, or (a default of None: data_dir) a string or null."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "a boolean"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    else:
        ok, kind = isinstance(value, str) or (default is None and value is None), "a string"
    if not ok:
        raise ConfigError(f"field {name} must be {kind}; got {_json_type(value)}.")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"Unknown --{name}={value!r}; expected one of: {', '.join(choices)}.")


def _check_float32(name: str, value: Any, positive: bool) -> None:
    """ConfigError unless `value` is a finite number that float32, the models' dtype, holds: > 0 and not below the
    smallest normal float32 when `positive`, else >= 0."""
    float32 = np.finfo(np.float32)
    validation.finite_number(value, f"--{name}", error=ConfigError, maximum=float(float32.max),
                             **({"minimum": float(float32.tiny)} if positive else {"minimum": 0.0}))


def _check_positive_int(name: str, value: Any) -> None:
    """Counts of steps are int64s (the step counter); every other count is an int32, as TensorFlow shapes are."""
    maximum = INT64_MAX if name in _STEP_COUNTS else validation.INT32_MAX
    validation.positive_int(value, f"--{name}", error=ConfigError, maximum=maximum)
