"""The metrics' weights reader is the shared PyTorch file reader (tests/utils/test_torch_files.py)."""

from tfvideo.evaluation import torch_weights
from tfvideo.utils import torch_files


def test_the_metrics_read_weights_with_the_shared_reader():
    assert torch_weights.load_state_dict is torch_files.load_state_dict
    assert torch_weights.WeightsFileError is torch_files.TorchFileError
