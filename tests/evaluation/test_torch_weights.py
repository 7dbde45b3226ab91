"""The metrics read their weight files with the shared PyTorch file reader (tests/utils/test_torch_files.py), so
a weights file that would run code is refused by the LPIPS and FVD loaders before anything runs."""

import pickle

import pytest

from tfvideo.evaluation import fvd, lpips, torch_weights
from tfvideo.utils import torch_files


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def test_the_metrics_read_weights_with_the_shared_reader_and_say_the_file_is_weights(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch_files, "load_state_dict", lambda path: calls.append(path) or {"w": 1})
    assert torch_weights.load_state_dict("a.pth") == {"w": 1} and calls == ["a.pth"]
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(bytes(range(256)))
    monkeypatch.undo()
    with pytest.raises(torch_weights.WeightsFileError, match=r"^Cannot read weights: .*garbage.pth is not a PyTorch"):
        torch_weights.load_state_dict(str(garbage))
    assert issubclass(torch_weights.WeightsFileError, torch_files.TorchFileError)


@pytest.mark.parametrize("load", [lambda path: lpips.load_weights([path]), fvd.I3D.from_file])
def test_a_weights_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path, load):
    marker = tmp_path / "ran"
    path = tmp_path / "weights.pth"
    path.write_bytes(pickle.dumps(_Payload(str(marker)), protocol=2))  # where a legacy file has its magic number
    with pytest.raises(torch_weights.WeightsFileError, match="not a PyTorch checkpoint"):
        load(str(path))
    assert not marker.exists()
