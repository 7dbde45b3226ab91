"""The SRVP authors' experiment folders -> tfvideo SRVP runs.

An experiment folder holds `config.json` (the options of the original training script) and checkpoints
(`model.pt`, the one the original test script loads; `model_best.pt`; `model_N.pt`), each a PyTorch state dict of
`StochasticLatentResidualVideoPredictor`, read by `tfvideo.utils.torch_files` (legacy or zip format).

Options (`OPTIONS`: original name -> tfvideo field) map one for one, with these rules: `n_euler_steps` -> dt =
1 / n_euler_steps; `dataset` smmnist | kth | human | bair -> smmnist | kth | human36m | bair; the test protocol is
the paper's, which the original README runs with `test.py --nt_gen=N` (`TEST_LENGTHS`: the test sequence length,
conditioning frames included; `seq_len_test` is the length of the training script's validation): test horizon N
- `nt_cond`, 100 samples (1 and N = 100 for `deterministic` Moving MNIST); the training length is
`lr_scheduling_burnin + lr_scheduling_n_iter`. `FIXED` options must keep the one value tfvideo implements;
`IGNORED` ones (paths, devices, mixed precision, validation) change neither the model nor the test
protocol. Any other option is refused by name. The model uses `initialization="pytorch"`: nn.Linear-shaped
dense layers and an LSTM cell with PyTorch's two bias vectors, so every tensor has a variable of its own.

Tensors -> variables (layouts: `tfvideo.conversion.common`): encoder.* and decoder.* -> the convolutions and
batch norms of `model.encoder` / `model.decoder` in order; w_proj.0 / w_inf.0 -> content.project /
content.output_layer; q_y.* -> q_y1; inf_z -> q_z_lstm; q_z -> q_z; p_z.* -> p_z; dynamics.* -> dynamics.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from tfvideo import config as config_lib
from tfvideo.conversion import common
from tfvideo.utils import torch_files

DEFAULT_CHECKPOINT = "model.pt"
OPTIONS_FILE = "config.json"
CHECKPOINT_NAME = re.compile(r"^model(_best|_\d+)?\.pt$")
DATASETS = {"smmnist": "smmnist", "kth": "kth", "human": "human36m", "bair": "bair"}
TEST_LENGTHS = {"smmnist": 25, "kth": 40, "human": 53, "bair": 30}  # test.py --nt_gen of the original README
DETERMINISTIC_TEST_LENGTH = 100  # deterministic Moving MNIST, with --n_samples=1
OPTIONS = {  # original option -> (section, tfvideo field)
    "nhx": ("model", "encoding_size"), "ny": ("model", "latent_size"), "nz": ("model", "noise_size"),
    "nt_inf": ("model", "inference_frames"), "obs_scale": ("model", "obs_scale"),
    "archi": ("model", "architecture"), "skipco": ("model", "skip_connections"), "nf": ("model", "base_channels"),
    "nh_res": ("model", "dynamics_hidden_size"), "nlayers_res": ("model", "dynamics_layers"),
    "nh_inf": ("model", "inference_hidden_size"), "nlayers_inf": ("model", "inference_layers"),
    "res_gain": ("model", "residual_gain"), "beta_y": ("model", "beta_y"), "beta_z": ("model", "beta_z"),
    "l2_res": ("model", "l2_residual"), "seq_len": ("data", "seq_len"), "nx": ("data", "image_size"),
    "nc": ("data", "channels"), "nt_cond": ("data", "conditioning_frames"), "batch_size": ("train", "batch_size"),
    "lr": ("train", "learning_rate"), "lr_scheduling_burnin": ("train", "lr_burnin_steps"),
    "lr_scheduling_n_iter": ("train", "lr_decay_steps"),
}
SMMNIST_OPTIONS = {"ndigits": ("data", "num_digits"), "deterministic": ("data", "deterministic")}
# Rules above: n_euler_steps, dataset, seed.
RULES = ("n_euler_steps", "dataset", "seed")
FIXED = {"max_speed": (4, "smmnist"), "subsampling": (8, "human")}  # value tfvideo implements, dataset using it
IGNORED = frozenset({"save_path", "data_dir", "torch_amp", "apex_amp", "amp_opt_lvl", "keep_batchnorm_fp32",
                     "apex_verbose", "local_rank", "device", "n_workers", "val_interval", "chkpt_interval",
                     "batch_size_test", "n_iter_test", "n_samples_test", "seq_len_test"})
REQUIRED = ("nx", "nc", "nf", "nhx", "ny", "nz", "skipco", "nt_inf", "nh_inf", "nlayers_inf", "nh_res",
            "nlayers_res", "archi", "n_euler_steps", "nt_cond", "seq_len", "dataset")


def read(source: str, checkpoint: str | None = None) -> common.Original:
    """The Config and tensors of experiment folder `source` (its config.json and `checkpoint`, default model.pt);
    ConversionError naming the file or option when they cannot be read or mapped."""
    if not os.path.isdir(source):
        raise common.ConversionError(f"--source={source!r} is not a folder: give the SRVP experiment folder that "
                                     f"holds {OPTIONS_FILE} and {DEFAULT_CHECKPOINT}.")
    options = read_options(os.path.join(source, OPTIONS_FILE))
    config = config_from_options(options)
    path = _checkpoint_path(source, checkpoint or DEFAULT_CHECKPOINT)
    try:
        tensors = torch_files.load_state_dict(path)
    except torch_files.TorchFileError as error:
        raise common.ConversionError(str(error)) from None
    return common.Original(config=config, tensors=tensors, source_file=path, options=options)


def read_options(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            options = json.load(handle)
    except FileNotFoundError:
        raise common.ConversionError(f"no {OPTIONS_FILE} in {os.path.dirname(path)!r}: an SRVP experiment folder "
                                     "holds the options of its training run there.") from None
    except (OSError, ValueError) as error:
        raise common.ConversionError(f"cannot read {path}: {error}.") from None
    if not isinstance(options, dict):
        raise common.ConversionError(f"{path} holds a JSON {type(options).__name__}, not the object of SRVP's "
                                     "training options.")
    return options


def _checkpoint_path(source: str, name: str) -> str:
    if not CHECKPOINT_NAME.match(name):
        raise common.ConversionError(f"--checkpoint={name!r}: expected a file name of the experiment folder, "
                                     "model.pt, model_best.pt or model_N.pt.")
    path = os.path.join(source, name)
    if not os.path.isfile(path):
        present = sorted(n for n in os.listdir(source) if CHECKPOINT_NAME.match(n))
        raise common.ConversionError(f"no {name} in {source!r} (checkpoints there: {', '.join(present) or 'none'}).")
    return path


def config_from_options(options: dict[str, Any]) -> config_lib.Config:
    """The tfvideo Config of the original options (see the module docstring); ConversionError naming the option
    that is missing, unknown, or has a value tfvideo does not implement."""
    missing = [name for name in REQUIRED if options.get(name) is None]
    if missing:
        raise common.ConversionError(f"config.json lacks the option(s) {', '.join(missing)} that SRVP's test "
                                     "script reads.")
    dataset = options["dataset"]
    if dataset not in DATASETS:
        raise common.ConversionError(f"option dataset={dataset!r} has no tfvideo dataset (known: "
                                     f"{', '.join(DATASETS)}).")
    _check_option_names(options, dataset)
    sections: dict[str, dict[str, Any]] = {"model": {"model": "srvp", "initialization": "pytorch"},
                                           "data": {"dataset": DATASETS[dataset]}, "train": {}}
    defaults = {"model": config_lib.SRVPConfig(), "data": config_lib.DataConfig(), "train": config_lib.TrainConfig()}
    table = {**OPTIONS, **(SMMNIST_OPTIONS if dataset == "smmnist" else {})}
    for name, (section, field) in table.items():
        if options.get(name) is not None:
            sections[section][field] = _typed(options, name, getattr(defaults[section], field))
    sections["model"]["dt"] = 1.0 / _whole(options, "n_euler_steps")
    deterministic = dataset == "smmnist" and options.get("deterministic") is True
    test_length = DETERMINISTIC_TEST_LENGTH if deterministic else TEST_LENGTHS[dataset]
    sections["data"]["test_horizon"] = test_length - _whole(options, "nt_cond", below=test_length)
    sections["data"]["test_samples"] = 1 if deterministic else 100
    sections["train"]["train_steps"] = (sections["train"].get("lr_burnin_steps", 1_000_000)
                                        + sections["train"].get("lr_decay_steps", 100_000))
    if options.get("seed") is not None:
        sections["train"]["seed"] = options["seed"]
    try:
        return config_lib.Config().replace(**sections).validate()
    except (config_lib.ConfigError, TypeError, ValueError) as error:
        raise common.ConversionError(f"the options of config.json give no valid tfvideo config: {error}") from None


def _check_option_names(options: dict[str, Any], dataset: str) -> None:
    known = set(OPTIONS) | set(SMMNIST_OPTIONS) | set(RULES) | set(FIXED) | IGNORED
    unknown = sorted(set(options) - known)
    if unknown:
        raise common.ConversionError(f"config.json has option(s) tfvideo cannot map: {', '.join(unknown)}.")
    for name, (value, used_by) in FIXED.items():
        if dataset == used_by and options.get(name) not in (None, value):
            raise common.ConversionError(f"option {name}={options[name]!r} cannot be mapped: tfvideo's {dataset} "
                                         f"data implements {name}={value} only.")


def _whole(options: dict[str, Any], name: str, below=None) -> int:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (below is not None and value >= below):
        limit = f" below the test length {below}" if below is not None else ""
        raise common.ConversionError(f"option {name}={value!r} cannot be mapped: expected a whole number >= 1"
                                     f"{limit}.")
    return value


def _typed(options: dict[str, Any], name: str, default: Any) -> Any:
    """options[name] if it has the type of the tfvideo field's `default` (an int where a float is expected)."""
    value = options[name]
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}[type(default)]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise common.ConversionError(f"option {name}={value!r} cannot be mapped: expected a "
                                     f"{type(default).__name__}.")
    return float(value) if isinstance(default, float) else value


def map_variables(model, tensors: dict) -> list[common.Mapped]:
    """Every variable of tfvideo SRVP `model` (built from `read(...).config`) from the state dict `tensors`."""
    mapped = common.map_in_order(common.weighted_sublayers(model.encoder), tensors, "encoder")
    mapped += common.map_in_order(common.weighted_sublayers(model.decoder), tensors, "decoder")
    mapped += common.map_linear(model.content.project, tensors, "w_proj.0")
    mapped += common.map_linear(model.content.output_layer, tensors, "w_inf.0")
    mapped += common.map_in_order(model.initial_state_posterior.dense_layers, tensors, "q_y")
    mapped += common.map_lstm(model.posterior_lstm, tensors, "inf_z")
    mapped += common.map_linear(model.posterior_head, tensors, "q_z")
    mapped += common.map_in_order(model.prior.dense_layers, tensors, "p_z")
    mapped += common.map_in_order(model.transition.dense_layers, tensors, "dynamics")
    return mapped
