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


def test_the_metrics_read_weights_with_the_shared_reader():
    assert torch_weights.load_state_dict is torch_files.load_state_dict
    assert torch_weights.WeightsFileError is torch_files.TorchFileError


@pytest.mark.parametrize("load", [lambda path: lpips.load_weights([path]), fvd.I3D.from_file])
def test_a_weights_file_that_would_run_code_is_refused_and_nothing_runs(tmp_path, load):
    marker = tmp_path / "ran"
    path = tmp_path / "weights.pth"
    path.write_bytes(pickle.dumps(_Payload(str(marker)), protocol=2))  # where a legacy file has its magic number
    with pytest.raises(torch_weights.WeightsFileError, match="not a PyTorch checkpoint"):
        load(str(path))
    assert not marker.exists()
