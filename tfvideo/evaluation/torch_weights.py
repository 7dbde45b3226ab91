"""Reading network weights that users download: PyTorch state dicts (.pth / .pt) without PyTorch, and .npz.

`load_state_dict(path)` -> {name: numpy array}. It reads

- `.npz` files (e.g. written with `numpy.savez(path, **{k: v.numpy() for k, v in state_dict.items()})`);
- PyTorch's zip format (`torch.save` since torch 1.6): `<prefix>/data.pkl` plus one raw file per storage;
- PyTorch's legacy format (older `torch.save`, e.g. torchvision's `alexnet-owt-7be5be79.pth`): magic number,
  protocol version, system info, the pickled object, the storage keys, then each storage as an int64 element
  count followed by its raw little-endian bytes.

Only what state dicts contain is unpickled (tensors, parameters, storages, ordered dicts); any other object is
refused, so reading a file never runs its code.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
import zipfile

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class WeightsFileError(ValueError):
    """A weights file cannot be read; the message names the file and the problem."""


class _Storage:
    def __init__(self, dtype, key: str, numel: int):
        self.dtype, self.key, self.numel, self.array = np.dtype(dtype), key, numel, None


class _Tensor:
    """A tensor whose storage bytes may not be read yet (legacy files store them after the pickle)."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def materialize(self) -> np.ndarray:
        data = self.storage.array
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * item for s in self.stride])
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *unused):
    return data


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict into `_Tensor` placeholders; refuses every other class."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a plain state dict")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), int(pid[4])
        if storage_type not in _STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(_STORAGE_DTYPES[storage_type], key, numel)
        return self.storages[key]


def _materialize(value):
    if isinstance(value, _Tensor):
        return value.materialize()
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_materialize(v) for v in value)
    return value


def _load_zip(path: str):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if not pickles:
            raise WeightsFileError(f"{path} is a zip file but not a PyTorch checkpoint (no data.pkl).")
        prefix = pickles[0][:-len("data.pkl")]
        storages: dict = {}
        with archive.open(pickles[0]) as handle:
            result = _StateDictUnpickler(handle, storages).load()
        for key, storage in storages.items():
            raw = archive.read(f"{prefix}data/{key}")
            storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def _load_legacy(path: str):
    with open(path, "rb") as handle:
        magic = pickle.load(handle)
        if magic != _LEGACY_MAGIC:
            raise WeightsFileError(f"{path} is neither .npz nor a PyTorch checkpoint (zip or legacy format).")
        pickle.load(handle)  # protocol version
        pickle.load(handle)  # system info
        storages: dict = {}
        result = _StateDictUnpickler(handle, storages).load()
        for key in pickle.load(handle):
            storage = storages[str(key)]
            (numel,) = struct.unpack("<q", handle.read(8))
            raw = handle.read(numel * storage.dtype.itemsize)
            storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """{name: array} from an .npz file or a PyTorch checkpoint; WeightsFileError when it cannot be read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                return {name: np.asarray(data[name]) for name in data.files}
        result = _materialize(_load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path))
    except (pickle.UnpicklingError, EOFError, KeyError, struct.error, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, WeightsFileError):
            raise
        raise WeightsFileError(f"Cannot read weights from {path}: {error}. Expected a PyTorch state dict "
                               "(.pth/.pt saved with torch.save) or an .npz of arrays.") from None
    if isinstance(result, dict) and "state_dict" in result and isinstance(result["state_dict"], dict):
        result = result["state_dict"]
    if not isinstance(result, dict):
        raise WeightsFileError(f"{path} holds a {type(result).__name__}, not a state dict of named tensors.")
    return {str(k): np.asarray(v) for k, v in result.items() if isinstance(v, np.ndarray)}
