"""SVG's checkpoints (github edenton/svg, e.g. pretrained_models/svglp_smmnist2.pth) -> tfvideo SVG-LP runs.

train_svg_lp.py saves a dict of five whole pickled modules (`encoder`, `decoder`, `frame_predictor`,
`posterior`, `prior`) and its options `opt` (an argparse.Namespace whose `optimizer` is the optimizer class).
`tfvideo.utils.torch_files` reads it (legacy or zip format) mapping exactly the classes in `RECORDS` to plain
records; a file naming any other callable is refused before anything is built. The records' `_parameters` and
`_buffers` give the tensors under their state-dict names ("encoder.c1.main.0.weight", ...); the LSTMs' saved
hidden states and everything else are left out.

Options -> config (`config_from_options`): `--model=svg --networks=svg --skip_connections`, `model` (dcgan |
vgg) -> architecture, g_dim -> encoding_size, z_dim -> noise_size, rnn_size, predictor_rnn_layers ->
predictor_layers, beta -> beta_z, channels, n_past -> conditioning_frames, n_past + n_future -> seq_len,
n_eval - n_past -> test_horizon (the original's test length n_eval counts the context), dataset smmnist | bair |
kth (num_digits for smmnist), lr, batch_size, seed, niter * epoch_size -> train_steps at a constant rate.
base_channels is read from the encoder's first convolution (64 in the original code). `FIXED` options must
keep the one value tfvideo implements (one-layer posterior and prior, 64x64 frames, Adam with beta1 0.9, skips
from the last observed frame), `IGNORED` ones are paths and data loading; any other option is refused by name.

Tensors -> variables (layouts: `tfvideo.conversion.common`): encoder.* / decoder.* -> the convolutions and
batch norms of `model.encoder` / `model.decoder` in order; <lstm>.embed -> embed; <lstm>.lstm.<i> (nn.LSTMCell:
weight_ih, weight_hh, bias_ih, bias_hh) -> the Keras LSTMCell i (kernel, recurrent_kernel, bias = bias_ih +
bias_hh, gates i, f, g, o in both); posterior / prior mu_net and logvar_net -> the one head of 2 * z_dim units
[mu, logvar]; frame_predictor.output.0 -> predictor.head.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tfvideo import config as config_lib
from tfvideo.conversion import common
from tfvideo.utils import torch_files

PARTS = ("encoder", "decoder", "frame_predictor", "posterior", "prior")
_TORCH = "torch.nn.modules."
RECORDS = (  # every class an SVG-LP checkpoint of train_svg_lp.py names, as "module.Name"
    "models.dcgan_64.encoder", "models.dcgan_64.decoder", "models.dcgan_64.dcgan_conv",
    "models.dcgan_64.dcgan_upconv", "models.vgg_64.encoder", "models.vgg_64.decoder", "models.vgg_64.vgg_layer",
    "models.lstm.lstm", "models.lstm.gaussian_lstm",
    *(_TORCH + name for name in (
        "conv.Conv2d", "conv.ConvTranspose2d", "batchnorm.BatchNorm2d", "linear.Linear", "rnn.LSTMCell",
        "container.Sequential", "container.ModuleList", "activation.LeakyReLU", "activation.Tanh",
        "activation.Sigmoid", "pooling.MaxPool2d", "upsampling.UpsamplingNearest2d")),
    "torch.nn.parameter.Parameter", "torch.autograd.variable.Variable",  # PyTorch < 0.4 pickles them as classes
    "torch.nn.backends.thnn._get_thnn_function_backend",  # PyTorch < 1.0 modules' `_backend`
    "argparse.Namespace", "torch.optim.adam.Adam", "__builtin__.set", "builtins.set",
)
DATASETS = ("smmnist", "bair", "kth")
REQUIRED = ("model", "g_dim", "z_dim", "rnn_size", "predictor_rnn_layers", "posterior_rnn_layers",
            "prior_rnn_layers", "beta", "channels", "n_past", "n_future", "n_eval", "dataset", "image_width")
OPTIONS = {  # original option -> (section, tfvideo field)
    "model": ("model", "architecture"), "g_dim": ("model", "encoding_size"), "z_dim": ("model", "noise_size"),
    "rnn_size": ("model", "rnn_size"), "predictor_rnn_layers": ("model", "predictor_layers"),
    "beta": ("model", "beta_z"), "channels": ("data", "channels"), "n_past": ("data", "conditioning_frames"),
    "lr": ("train", "learning_rate"), "batch_size": ("train", "batch_size"), "seed": ("train", "seed"),
}
RULES = ("n_future", "n_eval", "dataset", "num_digits", "niter", "epoch_size", "optimizer")
FIXED = {"posterior_rnn_layers": 1, "prior_rnn_layers": 1, "image_width": 64, "beta1": 0.9,
         "last_frame_skip": False}
IGNORED = frozenset({"log_dir", "model_dir", "name", "data_root", "data_threads"})


def read(source: str, checkpoint: str | None = None) -> common.Original:
    """The Config and tensors of SVG checkpoint file `source`; ConversionError naming the file or the option
    when it cannot be read or mapped."""
    if checkpoint is not None:
        raise common.ConversionError("--checkpoint is for --from=srvp folders: with --from=svg, --source names the "
                                     ".pth file itself.")
    if not os.path.isfile(source):
        raise common.ConversionError(f"--source={source!r} is not a file: give SVG's checkpoint, e.g. "
                                     "pretrained_models/svglp_smmnist2.pth.")
    try:
        saved = torch_files.load_object(source, records=RECORDS)
    except torch_files.TorchFileError as error:
        raise common.ConversionError(str(error)) from None
    if not isinstance(saved, dict) or any(key not in saved for key in (*PARTS, "opt")):
        raise common.ConversionError(f"{source} is not an SVG checkpoint: train_svg_lp.py saves a dict of "
                                     f"{', '.join(PARTS)} and opt.")
    options = options_of(saved["opt"], source)
    tensors = {}
    for part in PARTS:
        tensors.update(module_tensors(saved[part], part, source))
    config = config_from_options(options, base_channels=_base_channels(tensors, source))
    json_options = {k: getattr(v, "class_name", v) for k, v in options.items()}  # the optimizer class by name
    return common.Original(config=config, tensors=tensors, source_file=source, options=json_options)


def options_of(opt: Any, source: str) -> dict[str, Any]:
    """The options held by the pickled argparse.Namespace `opt`, as a dict."""
    state = getattr(opt, "state", None)
    if getattr(opt, "class_name", "") != "argparse.Namespace" or not isinstance(state, dict):
        raise common.ConversionError(f"{source}: its opt is not the argparse.Namespace of train_svg_lp.py's "
                                     "options.")
    return dict(state)


def module_tensors(module: Any, prefix: str, source: str) -> dict[str, np.ndarray]:
    """{state-dict name: array} of a pickled module record: its `_parameters` and `_buffers` and those of its
    `_modules`, recursively, in registration order."""
    state = getattr(module, "state", None)
    if not isinstance(state, dict) or not isinstance(state.get("_modules", {}), dict):
        raise common.ConversionError(f"{source}: {prefix} is not a pickled PyTorch module.")
    tensors = {}
    for group in ("_parameters", "_buffers"):
        for name, value in (state.get(group) or {}).items():
            if value is not None:
                tensors[f"{prefix}.{name}"] = _array(value, f"{prefix}.{name}", source)
    for name, child in state.get("_modules", {}).items():
        if child is not None:
            tensors.update(module_tensors(child, f"{prefix}.{name}", source))
    return tensors


def _array(value: Any, name: str, source: str) -> np.ndarray:
    """An array from a tensor, or from an old Parameter / Variable record that wraps one."""
    while isinstance(value, torch_files.PickledRecord) and value.args:
        value = value.args[0]
    if not isinstance(value, np.ndarray):
        raise common.ConversionError(f"{source}: {name} is not a tensor.")
    return value


def _base_channels(tensors: dict[str, np.ndarray], source: str) -> int:
    """The encoder's first convolution's filters (nf; 64 in the original code)."""
    first = next((v for k, v in tensors.items() if k.startswith("encoder.") and v.ndim == 4), None)
    if first is None:
        raise common.ConversionError(f"{source}: its encoder holds no convolution.")
    return int(first.shape[0])


def config_from_options(options: dict[str, Any], base_channels: int = 64) -> config_lib.Config:
    """The tfvideo Config of train_svg_lp.py's options (see the module docstring); ConversionError naming the
    option that is missing, unknown, or has a value tfvideo does not implement."""
    missing = [name for name in REQUIRED if options.get(name) is None]
    if missing:
        raise common.ConversionError(f"the checkpoint's opt lacks the option(s) {', '.join(missing)} that SVG's "
                                     "scripts read.")
    unknown = sorted(set(options) - set(OPTIONS) - set(RULES) - set(FIXED) - IGNORED)
    if unknown:
        raise common.ConversionError(f"the checkpoint's opt has option(s) tfvideo cannot map: {', '.join(unknown)}.")
    for name, value in FIXED.items():
        if name in options and options[name] != value:
            raise common.ConversionError(f"option {name}={options[name]!r} cannot be mapped: tfvideo's SVG-LP "
                                         f"implements {name}={value!r} only.")
    optimizer = options.get("optimizer")
    if optimizer is not None and getattr(optimizer, "class_name", optimizer) not in ("torch.optim.adam.Adam", "adam"):
        raise common.ConversionError(f"option optimizer={optimizer!r} cannot be mapped: tfvideo trains with Adam.")
    dataset = options["dataset"]
    if dataset not in DATASETS:
        raise common.ConversionError(f"option dataset={dataset!r} has no tfvideo dataset for SVG-LP (known: "
                                     f"{', '.join(DATASETS)}).")
    sections: dict[str, dict[str, Any]] = {
        "model": {"model": "svg", "networks": "svg", "skip_connections": True, "base_channels": base_channels},
        "data": {"dataset": dataset, "test_samples": 100},
        "train": {"lr_decay_steps": 0}}
    for name, (section, field) in OPTIONS.items():
        if options.get(name) is not None:
            sections[section][field] = options[name]
    past, future, total = (_whole(options, name) for name in ("n_past", "n_future", "n_eval"))
    sections["data"]["seq_len"] = past + future
    sections["data"]["test_horizon"] = total - past
    if dataset == "smmnist" and options.get("num_digits") is not None:
        sections["data"]["num_digits"] = options["num_digits"]
    if options.get("niter") is not None and options.get("epoch_size") is not None:
        sections["train"]["train_steps"] = _whole(options, "niter") * _whole(options, "epoch_size")
    try:
        return config_lib.Config().replace(**sections).validate()
    except (config_lib.ConfigError, TypeError, ValueError) as error:
        raise common.ConversionError(f"the checkpoint's options give no valid tfvideo config: {error}") from None


def _whole(options: dict[str, Any], name: str) -> int:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise common.ConversionError(f"option {name}={value!r} cannot be mapped: expected a whole number >= 1.")
    return value


def map_variables(model, tensors: dict) -> list[common.Mapped]:
    """Every variable of tfvideo SVG-LP `model` (built from `read(...).config`) from the tensors of `read`."""
    mapped = common.map_in_order(common.weighted_sublayers(model.encoder), tensors, "encoder")
    mapped += common.map_in_order(common.weighted_sublayers(model.decoder), tensors, "decoder")
    for part, ours in (("posterior", model.posterior), ("prior", model.prior)):
        (group,) = ours.groups
        mapped += common.map_linear(group.embed, tensors, f"{part}.embed")
        mapped += _map_lstm_cell(group.cell, tensors, f"{part}.lstm.0")
        mapped += _map_gaussian_head(group.head, tensors, part)
    predictor = model.predictor
    mapped += common.map_linear(predictor.embed, tensors, "frame_predictor.embed")
    for i, cell in enumerate(predictor.cells):
        mapped += _map_lstm_cell(cell, tensors, f"frame_predictor.lstm.{i}")
    mapped += common.map_linear(predictor.head, tensors, "frame_predictor.output.0")
    return mapped


def _map_lstm_cell(cell, tensors: dict, prefix: str) -> list[common.Mapped]:
    """A keras LSTMCell from nn.LSTMCell `prefix`: one bias, the sum of PyTorch's two (same gate order)."""
    keys = {name: f"{prefix}.{name}" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    value = {name: common._get(tensors, key, cell.bias) for name, key in keys.items()}
    return [common.Mapped(cell.kernel, common.linear_kernel(value["weight_ih"]), (keys["weight_ih"],)),
            common.Mapped(cell.recurrent_kernel, common.linear_kernel(value["weight_hh"]), (keys["weight_hh"],)),
            common.Mapped(cell.bias, value["bias_ih"] + value["bias_hh"], (keys["bias_ih"], keys["bias_hh"]))]


def _map_gaussian_head(head, tensors: dict, part: str) -> list[common.Mapped]:
    """The Dense head [mu, logvar] (2 * z_dim units) from gaussian_lstm's mu_net and logvar_net."""
    keys = [f"{part}.{net}.{name}" for name in ("weight", "bias") for net in ("mu_net", "logvar_net")]
    mu_w, logvar_w, mu_b, logvar_b = (common._get(tensors, key, head.kernel) for key in keys)
    return [common.Mapped(head.kernel, np.concatenate([common.linear_kernel(mu_w), common.linear_kernel(logvar_w)],
                                                      axis=1), tuple(keys[:2])),
            common.Mapped(head.bias, np.concatenate([mu_b, logvar_b]), tuple(keys[2:]))]
