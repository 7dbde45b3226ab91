"""Reading PyTorch files without torch: files written here in torch's zip and legacy layouts (with a
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

from tfvideo.utils import torch_files


class _Storage:
    def __init__(self, key, type_name, array, cuda=False):
        self.key, self.type_name, self.array = key, type_name, np.ascontiguousarray(array).reshape(-1)
        self.cuda = cuda


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
    cuda = types.ModuleType("torch.cuda")  # files saved from a GPU name torch.cuda.FloatStorage
    cuda.FloatStorage = type("FloatStorage", (), {"__module__": "torch.cuda", "__qualname__": "FloatStorage"})
    torch.cuda = cuda
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    monkeypatch.setitem(sys.modules, "torch.cuda", cuda)
    return torch


def _pickler(buffer, torch, legacy):
    pickler = pickle.Pickler(buffer, protocol=2)

    def persistent_id(obj):
        if isinstance(obj, _Storage):
            owner, location = (torch.cuda, "cuda:0") if obj.cuda else (torch, "cpu")
            pid = ("storage", getattr(owner, obj.type_name), obj.key, location, obj.array.size)
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
    loaded = torch_files.load_state_dict(path)
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype


@pytest.mark.parametrize("writer", [_write_zip, _write_legacy])
def test_tensors_saved_from_a_gpu_are_read(tmp_path, fake_torch, writer):
    storage = _Storage("0", "FloatStorage", np.arange(6, dtype=np.float32), cuda=True)
    path = str(tmp_path / "gpu.pt")
    writer(path, {"w": _Tensor(storage, 1, (2, 2), (1, 2))}, [storage], fake_torch)
    np.testing.assert_array_equal(torch_files.load_state_dict(path)["w"], [[1, 3], [2, 4]])


def test_a_checkpoint_wrapping_the_state_dict_is_unwrapped(tmp_path, fake_torch):
    obj, storages, expected = _state_dict()
    path = str(tmp_path / "wrapped.pt")
    _write_zip(path, {"state_dict": obj, "epoch": 3}, storages, fake_torch)
    np.testing.assert_array_equal(torch_files.load_state_dict(path)["tail"], expected["tail"])


def test_npz_files_are_read(tmp_path):
    path = str(tmp_path / "w.npz")
    np.savez(path, **{"a.weight": np.ones((2, 3), np.float32)})
    assert torch_files.load_state_dict(path)["a.weight"].shape == (2, 3)


class _Payload:
    """Pickles as a call of `open(marker, "w")`: running it would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def _legacy_with(path, headers, obj, keys, torch):
    with open(path, "wb") as handle:
        for header in headers:
            pickle.dump(header, handle, protocol=2)
        _pickler(handle, torch, legacy=True).dump(obj)
        pickle.dump(keys, handle, protocol=2)


@pytest.mark.parametrize("position", ["magic", "version", "system_info", "object", "storage_keys"])
def test_a_legacy_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path, fake_torch, position):
    marker = tmp_path / "ran"
    payload = _Payload(str(marker))
    parts = {"magic": 0x1950A86A20F9469CFC6C, "version": 1001, "system_info": {"little_endian": True},
             "object": collections.OrderedDict(), "storage_keys": []}
    parts[position] = payload
    path = str(tmp_path / "evil.pt")
    _legacy_with(path, [parts["magic"], parts["version"], parts["system_info"]], parts["object"],
                 parts["storage_keys"], fake_torch)
    with pytest.raises(torch_files.TorchFileError):
        torch_files.load_object(path)
    assert not marker.exists()


def test_a_zip_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    pickle.dump({"weight": _Payload(str(marker))}, buffer, protocol=2)
    path = str(tmp_path / "evil.pth")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/data.pkl", buffer.getvalue())
    with pytest.raises(torch_files.TorchFileError, match="names (builtins|io).open"):
        torch_files.load_state_dict(path)
    assert not marker.exists()


def test_pickles_that_would_run_code_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    buffer = io.BytesIO()
    pickle.dump(Evil(), buffer, protocol=2)
    path = str(tmp_path / "evil.pth")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/data.pkl", buffer.getvalue())
    with pytest.raises(torch_files.TorchFileError, match="names posix.system"):
        torch_files.load_state_dict(path)


def test_a_global_naming_a_missing_module_is_the_same_clean_error(tmp_path):
    path = str(tmp_path / "missing.pth")
    with zipfile.ZipFile(path, "w") as archive:  # protocol 2 GLOBAL opcode naming a module that does not exist
        archive.writestr("x/data.pkl", b"\x80\x02cno_such_module\nThing\nq\x00)\x81q\x01.")
    with pytest.raises(torch_files.TorchFileError, match="names no_such_module.Thing"):
        torch_files.load_object(path)


@pytest.fixture
def fake_modules(monkeypatch, fake_torch):
    """A module `models.lstm` with a class `gaussian_lstm`, as in pickles of whole networks."""
    module = types.ModuleType("models.lstm")

    class gaussian_lstm:  # noqa: N801 (the pickled name)
        def __init__(self):
            self.training = False
            self.hidden_size = 5
            self._parameters = collections.OrderedDict()

    gaussian_lstm.__module__, gaussian_lstm.__qualname__ = "models.lstm", "gaussian_lstm"
    module.gaussian_lstm = gaussian_lstm
    monkeypatch.setitem(sys.modules, "models", types.ModuleType("models"))
    monkeypatch.setitem(sys.modules, "models.lstm", module)
    return gaussian_lstm


@pytest.mark.parametrize("writer", [_write_zip, _write_legacy])
def test_allowed_classes_become_plain_records_of_their_state(tmp_path, fake_torch, fake_modules, writer):
    obj, storages, expected = _state_dict()
    net = fake_modules()
    net._parameters["weight"] = obj["tail"]
    path = str(tmp_path / "modules.pth")
    writer(path, {"prior": net, "epoch": 3}, storages[:1], fake_torch)
    loaded = torch_files.load_object(path, records=["models.lstm.gaussian_lstm"])
    record = loaded["prior"]
    assert isinstance(record, torch_files.PickledRecord) and type(record) is not fake_modules
    assert record.class_name == "models.lstm.gaussian_lstm"
    assert record.state["hidden_size"] == 5 and loaded["epoch"] == 3
    np.testing.assert_array_equal(record.state["_parameters"]["weight"], expected["tail"])
    with pytest.raises(torch_files.TorchFileError, match="names models.lstm.gaussian_lstm"):
        torch_files.load_object(path)  # not allowed by this caller


def test_legacy_storage_views_are_read(tmp_path, fake_torch):
    base = _Storage("0", "FloatStorage", np.arange(10, dtype=np.float32))

    class _View:
        def __init__(self):
            self.key = "0"

    tensor = _Tensor(base, 1, (2,), (1,))
    view_args = list(tensor.args)
    buffer_path = str(tmp_path / "views.pt")
    with open(buffer_path, "wb") as handle:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, handle, protocol=2)
        pickler = pickle.Pickler(handle, protocol=2)
        pickler.persistent_id = lambda o: ("storage", fake_torch.FloatStorage, "0", "cpu", 10, ("v", 4, 3)) \
            if o is base else None
        view_args[0] = base
        tensor.args = tuple(view_args)
        pickler.dump({"w": tensor})
        pickle.dump(["0"], handle, protocol=2)
        handle.write(struct.pack("<q", 10) + base.array.tobytes())
    np.testing.assert_array_equal(torch_files.load_state_dict(buffer_path)["w"], [5.0, 6.0])


@pytest.mark.parametrize("writer", [_write_zip, _write_legacy])
def test_truncated_files_are_refused(tmp_path, fake_torch, writer):
    obj, storages, _ = _state_dict()
    path = tmp_path / "weights.pth"
    writer(str(path), obj, storages, fake_torch)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 20])
    with pytest.raises(torch_files.TorchFileError):
        torch_files.load_state_dict(str(path))


def test_other_files_get_a_clear_error(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(torch_files.TorchFileError, match="notes.pth is not a PyTorch checkpoint"):
        torch_files.load_state_dict(str(path))
    with pytest.raises(FileNotFoundError):
        torch_files.load_state_dict(str(tmp_path / "missing.pth"))
