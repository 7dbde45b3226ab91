"""What every checkpoint converter shares: the tensor-to-variable checks, PyTorch-to-Keras layouts, and the writer
of the converted run folder.

A converter (`tfvideo.conversion.srvp`, ...) reads the original files into an `Original` (a tfvideo Config and
the named tensors) and maps the tensors onto the variables of the tfvideo model built from that Config, as a
list of `Mapped` entries. `assign_all` checks the mapping in both directions before it writes a single value:
every tensor of the file is used (or named as deliberately unused), every variable of the model gets exactly
one value of its shape; any failure raises ConversionError naming the tensors or variables.

PyTorch -> Keras layouts:
- nn.Linear weight [out, in] -> Dense kernel [in, out] (`linear_kernel`);
- nn.Conv2d weight [out, in, kh, kw] -> Conv2D kernel [kh, kw, in, out], and nn.ConvTranspose2d weight
  [in, out, kh, kw] -> Conv2DTranspose kernel [kh, kw, out, in]: the same axis permutation (`conv_kernel`), no
  spatial flip (both transposed convolutions are the adjoint of the same correlation);
- nn.BatchNorm2d weight, bias, running_mean, running_var -> gamma, beta, moving_mean, moving_variance
  (num_batches_tracked is unused: tfvideo's batch norm averages with a fixed momentum);
- nn.LSTM weight_ih, weight_hh [4H, .] -> kernel, recurrent_kernel [., 4H], bias_ih, bias_hh -> input_bias,
  recurrent_bias of `layers.PyTorchLSTMCell` (same gate order i, f, g, o).

`write_run` writes an ordinary tfvideo run folder (config.json, checkpoints/ckpt-0 as training writes them, and
`converted_from.json`: the converter, the source file, its sha256 and the original options) into a temporary
folder next to the workdir, then renames it: on any error nothing is left.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from typing import Any

import keras
import numpy as np

from tfvideo import config as config_lib
from tfvideo.training import checkpointing
from tfvideo.utils import files

PROVENANCE_FILE = "converted_from.json"
CONVERTED_STEP = 0  # the step of the converted checkpoint


class ConversionError(ValueError):
    """The original files cannot be converted; the message names the file, option, tensor or variable."""


@dataclasses.dataclass
class Original:
    """What a converter read: the tfvideo `config` (any workdir), the file's `tensors` by name, the file they
    came from and the `options` of the original run as it recorded them (JSON values)."""

    config: config_lib.Config
    tensors: dict[str, np.ndarray]
    source_file: str
    options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Mapped:
    """`variable` gets `value` (already in its layout), computed from the file's tensors `sources`. A None
    variable marks `sources` as read on purpose and not needed (e.g. batch norm's num_batches_tracked)."""

    variable: Any
    value: np.ndarray | None
    sources: tuple[str, ...]


def linear_kernel(weight: np.ndarray) -> np.ndarray:
    """nn.Linear / nn.LSTM weight [out, in] -> Keras kernel [in, out]."""
    return np.transpose(weight)


def conv_kernel(weight: np.ndarray) -> np.ndarray:
    """nn.Conv2d [out, in, kh, kw] -> Conv2D [kh, kw, in, out]; nn.ConvTranspose2d [in, out, kh, kw] ->
    Conv2DTranspose [kh, kw, out, in]."""
    return np.transpose(weight, (2, 3, 1, 0))


def _get(tensors: dict[str, np.ndarray], key: str, variable) -> np.ndarray:
    if key not in tensors:
        raise ConversionError(f"the file has no tensor {key!r}, the source of tfvideo variable {variable.path}: is "
                              "it a checkpoint of this model and configuration?")
    return tensors[key]


def map_linear(layer: keras.layers.Layer, tensors: dict, prefix: str) -> list[Mapped]:
    """A Dense layer from nn.Linear `prefix` (.weight, .bias)."""
    return [Mapped(layer.kernel, linear_kernel(_get(tensors, f"{prefix}.weight", layer.kernel)), (f"{prefix}.weight",)),
            Mapped(layer.bias, _get(tensors, f"{prefix}.bias", layer.bias), (f"{prefix}.bias",))]


def map_conv(layer: keras.layers.Layer, tensors: dict, prefix: str) -> list[Mapped]:
    """A Conv2D / Conv2DTranspose without bias from nn.Conv2d / nn.ConvTranspose2d `prefix` (.weight); with
    .bias when the layer has one."""
    mapped = [Mapped(layer.kernel, conv_kernel(_get(tensors, f"{prefix}.weight", layer.kernel)),
                     (f"{prefix}.weight",))]
    if getattr(layer, "bias", None) is not None:
        mapped.append(Mapped(layer.bias, _get(tensors, f"{prefix}.bias", layer.bias), (f"{prefix}.bias",)))
    return mapped


_BATCH_NORM = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
               ("moving_variance", "running_var"))


def map_batch_norm(layer: keras.layers.Layer, tensors: dict, prefix: str) -> list[Mapped]:
    """A BatchNormalization from nn.BatchNorm2d `prefix` (num_batches_tracked read, unused)."""
    mapped = [Mapped(getattr(layer, ours), _get(tensors, f"{prefix}.{theirs}", getattr(layer, ours)),
                     (f"{prefix}.{theirs}",)) for ours, theirs in _BATCH_NORM]
    if f"{prefix}.num_batches_tracked" in tensors:
        mapped.append(Mapped(None, None, (f"{prefix}.num_batches_tracked",)))
    return mapped


def map_lstm(cell: keras.layers.Layer, tensors: dict, prefix: str, layer: int = 0) -> list[Mapped]:
    """A `layers.PyTorchLSTMCell` from layer `layer` of nn.LSTM `prefix`."""
    names = (("kernel", "weight_ih"), ("recurrent_kernel", "weight_hh"), ("input_bias", "bias_ih"),
             ("recurrent_bias", "bias_hh"))
    mapped = []
    for ours, theirs in names:
        key, variable = f"{prefix}.{theirs}_l{layer}", getattr(cell, ours)
        value = _get(tensors, key, variable)
        mapped.append(Mapped(variable, linear_kernel(value) if value.ndim == 2 else value, (key,)))
    return mapped


def sublayers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers stored as attributes of `layer`, in the order they were set (`layers.track_layers` order)."""
    return [value for value in vars(layer).values() if isinstance(value, keras.layers.Layer)]


def weighted_sublayers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """`sublayers` that hold variables (convolutions, batch norms), in order."""
    return [sub for sub in sublayers(layer) if sub.weights]


def assign_all(model: keras.Model, tensors: dict[str, np.ndarray], mapped: list[Mapped], source: str) -> None:
    """Checks that `mapped` uses every tensor of `tensors` and gives every variable of `model` one value of its
    shape, then assigns them; ConversionError naming what does not match (nothing assigned then)."""
    used = {key for entry in mapped for key in entry.sources}
    unused = sorted(set(tensors) - used)
    if unused:
        raise ConversionError(f"{source} holds {len(unused)} tensor(s) that the conversion does not use, e.g. "
                              f"{', '.join(unused[:5])}: is it a checkpoint of another model or configuration?")
    targets = [entry for entry in mapped if entry.variable is not None]
    given = {}
    for entry in targets:
        if id(entry.variable) in given:
            raise ConversionError(f"tfvideo variable {entry.variable.path} gets two values ({', '.join(entry.sources)}"
                                  f" and {', '.join(given[id(entry.variable)].sources)}).")
        given[id(entry.variable)] = entry
    missing = [v.path for v in model.weights if id(v) not in given]
    if missing:
        raise ConversionError(f"{len(missing)} tfvideo variable(s) get no value from {source}, e.g. "
                              f"{', '.join(missing[:5])}.")
    for entry in targets:
        if tuple(entry.value.shape) != tuple(entry.variable.shape):
            raise ConversionError(f"{', '.join(entry.sources)} of {source} has shape {tuple(entry.value.shape)} "
                                  f"(converted), tfvideo variable {entry.variable.path} {tuple(entry.variable.shape)}: "
                                  "the original options do not describe this file.")
    for entry in targets:
        entry.variable.assign(np.asarray(entry.value, dtype=entry.variable.dtype))


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_workdir(workdir: str) -> str:
    """`workdir` if a converted run can be written there (a new or empty folder); ConversionError if not."""
    if not workdir:
        raise ConversionError("--workdir must name the folder of the converted run, e.g. --workdir=runs/srvp_kth.")
    if os.path.isdir(workdir) and os.listdir(workdir):
        raise ConversionError(f"--workdir={workdir!r} already holds files: choose a new folder (a converted run is "
                              "written whole, never into an existing run).")
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise ConversionError(f"--workdir={workdir!r} is a file: choose a new folder.")
    return workdir


def write_run(config: config_lib.Config, model: keras.Model, provenance: dict[str, Any]) -> str:
    """Writes the run folder config.train.workdir (config.json, checkpoints/ckpt-0, converted_from.json) at once:
    built in a temporary folder next to it, then renamed; nothing is left on error. Returns the workdir."""
    workdir = check_workdir(config.train.workdir)
    parent = os.path.dirname(os.path.abspath(workdir))
    missing = _missing_folders(parent)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(workdir))}.converting-", dir=parent)
    except OSError as error:
        raise ConversionError(f"--workdir={workdir!r}: cannot write there ({error.strerror or error}).") from None
    try:
        files.atomic_write(os.path.join(tmp, checkpointing.CONFIG_FILE), config.to_json())
        files.atomic_write(os.path.join(tmp, PROVENANCE_FILE), json.dumps(provenance, indent=2, sort_keys=True))
        checkpointing.RunCheckpoint(tmp, model, owner=True).save(CONVERTED_STEP)
        if os.path.isdir(workdir):
            os.rmdir(workdir)  # empty (check_workdir)
        os.rename(tmp, workdir)
    except (OSError, checkpointing.WorkdirError) as error:
        _remove(tmp, missing)
        reason = getattr(error, "strerror", None) or error
        raise ConversionError(f"--workdir={workdir!r}: cannot write the run ({reason}).") from None
    except BaseException:
        _remove(tmp, missing)
        raise
    return workdir


def _missing_folders(path: str) -> list[str]:
    """The folders of `path` that do not exist yet, deepest first."""
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _remove(tmp: str, created: list[str]) -> None:
    """Removes the temporary run folder and the (empty) folders created for it."""
    shutil.rmtree(tmp, ignore_errors=True)
    for folder in created:
        try:
            os.rmdir(folder)
        except OSError:
            return


def _module_prefixes(tensors: dict[str, np.ndarray], prefix: str) -> list[str]:
    """The modules below `prefix` that hold tensors ("encoder.conv.1.0", ...), in the file's order (PyTorch's
    state dicts list modules in the order the network registers them, i.e. the order it applies them)."""
    found: dict[str, None] = {}
    for key in tensors:
        if key.startswith(f"{prefix}."):
            found.setdefault(key.rsplit(".", 1)[0], None)
    return list(found)


def _kind_of_layer(layer: keras.layers.Layer) -> str:
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batch norm"
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        return "convolution"
    if isinstance(layer, keras.layers.Dense):
        return "linear"
    return type(layer).__name__


def _kind_of_module(tensors: dict[str, np.ndarray], module: str) -> str:
    if f"{module}.running_mean" in tensors:
        return "batch norm"
    weight = tensors.get(f"{module}.weight")
    return {4: "convolution", 2: "linear"}.get(getattr(weight, "ndim", None), "unknown")


_MAPPERS = {"batch norm": map_batch_norm, "convolution": map_conv, "linear": map_linear}


def map_in_order(layers: list[keras.layers.Layer], tensors: dict[str, np.ndarray], prefix: str) -> list[Mapped]:
    """`layers` (convolutions, batch norms, Dense layers, in the order they compute) from the modules below
    `prefix` in the file's order, one for one; ConversionError when their number or kinds differ."""
    modules = _module_prefixes(tensors, prefix)
    ours = [_kind_of_layer(layer) for layer in layers]
    theirs = [_kind_of_module(tensors, module) for module in modules]
    if ours != theirs:
        raise ConversionError(f"the modules of {prefix!r} in the file ({len(theirs)}: {', '.join(theirs[:8])}"
                              f"{', ...' if len(theirs) > 8 else ''}) are not the layers of tfvideo's network "
                              f"({len(ours)}: {', '.join(ours[:8])}{', ...' if len(ours) > 8 else ''}): the file "
                              "does not match its options.")
    return [entry for layer, module, kind in zip(layers, modules, ours)
            for entry in _MAPPERS[kind](layer, tensors, module)]
