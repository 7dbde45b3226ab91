"""Reading PyTorch state dicts without torch: files written here in torch's zip and legacy layouts (with a
stand-in `torch` module so that pickle records the same class paths), .npz files, and refused content."""

import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest

from tfvideo.evaluation import torch_weights


class _Storage:
    def __init__(self, key, type_name, array):
        self.key, self.type_name, self.array = key, type_name, np.ascontiguousarray(array).reshape(-1)


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_tensor_v2, self.args


@pytest.fixture
def fake_torch(monkeypatch):
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))

    def _rebuild_tensor_v2(*args):  # only its import path is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def _pickler(buffer, torch, legacy):
    pickler = pickle.Pickler(buffer, protocol=2)

    def persistent_id(obj):
        if isinstance(obj, _Storage):
            pid = ("storage", getattr(torch, obj.type_name), obj.key, "cpu", obj.array.size)
            return pid + (None,) if legacy else pid
        return None
    pickler.persistent_id = persistent_id
    return pickler


def _state_dict():
    """A state dict with a plain, a transposed (strided) and an offset view of shared storages, and int64."""
    base = _Storage("0", "FloatStorage", np.arange(12, dtype=np.float32))
    counts = _Storage("1", "LongStorage", np.array([7, -3], np.int64))
    obj = collections.OrderedDict([
        ("conv.weight", _Tensor(base, 0, (3, 4), (4, 1))),
        ("conv.weight_t", _Tensor(base, 0, (4, 3), (1, 4))),
        ("tail", _Tensor(base, 8, (2, 2), (2, 1))),
        ("counts", _Tensor(counts, 0, (2,), (1,))),
    ])
    expected = {"conv.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                "conv.weight_t": np.arange(12, dtype=np.float32).reshape(3, 4).T,
                "tail": np.arange(8, 12, dtype=np.float32).reshape(2, 2), "counts": np.array([7, -3])}
    return obj, [base, counts], expected


def _write_zip(path, obj, storages, torch):
    buffer = io.BytesIO()
    _pickler(buffer, torch, legacy=False).dump(obj)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/data.pkl", buffer.getvalue())
        archive.writestr("model/version", "3\n")
        for storage in storages:
            archive.writestr(f"model/data/{storage.key}", storage.array.astype(storage.array.dtype.newbyteorder(
                "<")).tobytes())


def _write_legacy(path, obj, storages, torch):
    with open(path, "wb") as handle:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, handle, protocol=2)
        _pickler(handle, torch, legacy=True).dump(obj)
        pickle.dump([s.key for s in storages], handle, protocol=2)
        for storage in storages:
            handle.write(struct.pack("<q", storage.array.size) + storage.array.tobytes())


@pytest.mark.parametrize("writer", [_write_zip, _write_legacy])
def test_state_dicts_in_both_torch_layouts_are_read_exactly(tmp_path, fake_torch, writer):
    obj, storages, expected = _state_dict()
    path = str(tmp_path / "weights.pth")
    writer(path, obj, storages, fake_torch)
    loaded = torch_weights.load_state_dict(path)
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype


def test_a_checkpoint_wrapping_the_state_dict_is_unwrapped(tmp_path, fake_torch):
    obj, storages, expected = _state_dict()
    path = str(tmp_path / "wrapped.pt")
    _write_zip(path, {"state_dict": obj, "epoch": 3}, storages, fake_torch)
    np.testing.assert_array_equal(torch_weights.load_state_dict(path)["tail"], expected["tail"])


def test_npz_files_are_read(tmp_path):
    path = str(tmp_path / "w.npz")
    np.savez(path, **{"a.weight": np.ones((2, 3), np.float32)})
    assert torch_weights.load_state_dict(path)["a.weight"].shape == (2, 3)


def test_pickles_that_would_run_code_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    buffer = io.BytesIO()
    pickle.dump(Evil(), buffer, protocol=2)
    path = str(tmp_path / "evil.pth")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/data.pkl", buffer.getvalue())
    with pytest.raises(torch_weights.WeightsFileError, match="not part of a plain state dict"):
        torch_weights.load_state_dict(path)


def test_other_files_get_a_clear_error(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(torch_weights.WeightsFileError, match="Cannot read weights from .*notes.pth"):
        torch_weights.load_state_dict(str(path))
    with pytest.raises(FileNotFoundError):
        torch_weights.load_state_dict(str(tmp_path / "missing.pth"))
