"""Reading PyTorch files without PyTorch, and without ever running code a file names.

`load_state_dict(path)` -> {name: numpy array}; `load_object(path, records=...)` -> the whole pickled object
(dicts, lists, tuples, numbers, strings, arrays, and records of the classes the caller allows). Formats:

- `.npz` files (`load_state_dict` only), e.g. `numpy.savez(path, **{k: v.numpy() for k, v in sd.items()})`;
- PyTorch's zip format (`torch.save` since torch 1.6): `<prefix>/data.pkl` plus one raw file per storage;
- PyTorch's legacy format (older `torch.save`): magic number, protocol version, system info, the pickled object,
  the storage keys, then each storage as an int64 element count followed by its raw little-endian bytes.

Every pickle of a file, the legacy headers included, goes through `_AllowListUnpickler`. It resolves only:
torch's tensor / parameter rebuild functions and storage types (-> arrays), `collections.OrderedDict`, and the
class names the caller lists in `records` (-> `PickledRecord`, a plain holder of the constructor arguments and
the pickled state; the named class is never imported nor called). Any other global, including one naming a
module or attribute that does not exist, is refused with TorchFileError before anything is built, so reading a
file never runs its code.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
import zipfile
from typing import Iterable

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_TENSOR_REBUILDERS = ("_rebuild_tensor_v2", "_rebuild_tensor")
_PARAMETER_REBUILDERS = ("_rebuild_parameter", "_rebuild_parameter_with_state")


class TorchFileError(ValueError):
    """A file cannot be read as a PyTorch checkpoint (or .npz); the message names the file and the problem."""


class PickledRecord:
    """A plain stand-in for an allowed class named by a pickle: `class_name` ("module.Name"), `args` (what the
    pickle passed to the class) and `state` (what it restores, e.g. a module's `__dict__` with `_parameters`,
    `_buffers`, `_modules` and its hyper-parameters). Nothing of the named class runs."""

    class_name = ""

    def __new__(cls, *args, **kwargs):
        record = super().__new__(cls)
        record.args, record.state = args, None
        return record

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"PickledRecord({self.class_name})"


class _Storage:
    def __init__(self, dtype, key: str, numel: int):
        self.dtype, self.key, self.numel, self.array = np.dtype(dtype), key, numel, None

    def data(self) -> np.ndarray:
        return self.array


class _StorageView:
    """A view into another storage (legacy files of old PyTorch versions)."""

    def __init__(self, root: _Storage, offset: int, numel: int):
        self.root, self.offset, self.numel = root, int(offset), int(numel)

    def data(self) -> np.ndarray:
        return self.root.data()[self.offset:self.offset + self.numel]


class _Tensor:
    """A tensor whose storage bytes may not be read yet (legacy files store them after the pickle)."""

    def __init__(self, storage, offset: int, size, stride):
        if not isinstance(storage, (_Storage, _StorageView)):
            raise pickle.UnpicklingError("a tensor without a storage")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def materialize(self) -> np.ndarray:
        data = self.storage.data()
        if data is None:
            raise pickle.UnpicklingError("a tensor's storage is missing from the file")
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, data.dtype)
        needed = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if self.offset < 0 or min(self.stride, default=0) < 0 or needed > data.size:
            raise pickle.UnpicklingError("a tensor reaches past the end of its storage (truncated file?)")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * data.itemsize for s in self.stride])
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *unused):
    return data


def _record_class(class_name: str) -> type:
    return type(class_name.rsplit(".", 1)[-1], (PickledRecord,), {"class_name": class_name})


class _AllowListUnpickler(pickle.Unpickler):
    """Builds tensors, storages, parameters, plain containers and records of the allowed class names; refuses every
    other global (see the module docstring)."""

    def __init__(self, file, storages: dict, records: Iterable[str] = ()):
        super().__init__(file, encoding="utf-8")  # as torch.load: Python 2 strings of old files read as UTF-8
        self.storages = storages
        self.records = {name: _record_class(name) for name in records}

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if module == "torch._utils" and name in _TENSOR_REBUILDERS:
            return _rebuild_tensor
        if module in ("torch._utils", "torch.nn.parameter") and name in _PARAMETER_REBUILDERS:
            return _rebuild_parameter
        if module in ("torch", "torch.cuda") and name in _STORAGE_DTYPES:  # torch.cuda: saved from a GPU
            return name
        if full == "collections.OrderedDict":
            return collections.OrderedDict
        if full in self.records:
            return self.records[full]
        raise pickle.UnpicklingError(f"it names {full}, which a checkpoint of plain tensors does not hold "
                                     "(refused without running it)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        if storage_type not in _STORAGE_DTYPES or not isinstance(numel, int):
            raise pickle.UnpicklingError(f"unsupported storage {storage_type!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(_STORAGE_DTYPES[storage_type], key, numel)
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return self.storages[key]
        view_key, offset, view_numel = view
        return _StorageView(self.storages[key], offset, view_numel)


def _unpickle(handle, storages: dict | None = None, records: Iterable[str] = ()):
    return _AllowListUnpickler(handle, {} if storages is None else storages, records).load()


def _materialize(value):
    if isinstance(value, _Tensor):
        return value.materialize()
    if isinstance(value, PickledRecord):
        value.args, value.state = _materialize(value.args), _materialize(value.state)
        return value
    if isinstance(value, dict):
        return type(value)((k, _materialize(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_materialize(v) for v in value)
    return value


def _read_storage(storage: _Storage, raw: bytes, where: str) -> None:
    if len(raw) != storage.numel * storage.dtype.itemsize:
        raise pickle.UnpicklingError(f"storage {storage.key} holds {len(raw)} bytes, {storage.numel} elements of "
                                     f"{storage.dtype} need {storage.numel * storage.dtype.itemsize} ({where})")
    storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))


def _load_zip(path: str, records: Iterable[str]):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if not pickles:
            raise TorchFileError(f"{path} is a zip file but not a PyTorch checkpoint (no data.pkl).")
        prefix = pickles[0][:-len("data.pkl")]
        storages: dict = {}
        with archive.open(pickles[0]) as handle:
            result = _unpickle(handle, storages, records)
        for key, storage in storages.items():
            _read_storage(storage, archive.read(f"{prefix}data/{key}"), "zip")
    return result


def _load_legacy(path: str, records: Iterable[str]):
    with open(path, "rb") as handle:
        try:
            magic = _unpickle(handle)
        except (pickle.UnpicklingError, EOFError, ValueError, IndexError):
            magic = None
        if magic != _LEGACY_MAGIC:
            raise TorchFileError(f"{path} is not a PyTorch checkpoint (neither the zip nor the legacy format), nor "
                                 "an .npz file.")
        _unpickle(handle)  # protocol version
        _unpickle(handle)  # system info
        storages: dict = {}
        result = _unpickle(handle, storages, records)
        keys = _unpickle(handle)
        if not isinstance(keys, list):
            raise pickle.UnpicklingError("the storage key list is missing")
        for key in keys:
            (numel,) = struct.unpack("<q", handle.read(8))
            if str(key) not in storages:
                raise pickle.UnpicklingError(f"the storage list names {key!r}, which no tensor uses")
            storage = storages[str(key)]
            if numel != storage.numel:
                raise pickle.UnpicklingError(f"storage {key} has {numel} elements, its tensors expect "
                                             f"{storage.numel}")
            _read_storage(storage, handle.read(numel * storage.dtype.itemsize), "legacy")
    return result


_READ_ERRORS = (pickle.UnpicklingError, EOFError, KeyError, IndexError, TypeError, AttributeError, struct.error,
                ValueError, zipfile.BadZipFile, UnicodeDecodeError, MemoryError, OverflowError)


def load_object(path: str, records: Iterable[str] = ()):
    """The object a PyTorch file holds, tensors as numpy arrays and each class of `records` ("module.Name") as a
    `PickledRecord`; TorchFileError when it cannot be read or names anything else, FileNotFoundError when missing."""
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    records = tuple(records)
    try:
        loaded = _load_zip(path, records) if zipfile.is_zipfile(path) else _load_legacy(path, records)
        return _materialize(loaded)
    except TorchFileError:
        raise
    except OSError as error:
        raise TorchFileError(f"Cannot read {path}: {error.strerror or error}.") from None
    except _READ_ERRORS as error:
        raise TorchFileError(f"Cannot read {path}: {error}. Expected a PyTorch checkpoint (torch.save) that "
                             "holds tensors.") from None


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """{name: array} from an .npz file or a PyTorch state dict (also one under a "state_dict" key); TorchFileError
    when it cannot be read or holds something else, FileNotFoundError when missing."""
    if path.endswith(".npz") and os.path.isfile(path):
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: np.asarray(data[name]) for name in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise TorchFileError(f"Cannot read {path}: {error}. Expected an .npz of arrays.") from None
    result = load_object(path)
    if isinstance(result, dict) and isinstance(result.get("state_dict"), dict):
        result = result["state_dict"]
    if not isinstance(result, dict):
        raise TorchFileError(f"{path} holds a {type(result).__name__}, not a state dict of named tensors.")
    return {str(k): np.asarray(v) for k, v in result.items() if isinstance(v, np.ndarray)}

