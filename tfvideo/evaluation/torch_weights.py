"""Network weights that users download for the metrics (LPIPS, FVD): PyTorch state dicts (.pth / .pt) read
without PyTorch, or .npz. The reader is `tfvideo.utils.torch_files`, shared with the checkpoint converters."""

from __future__ import annotations

import numpy as np

from tfvideo.utils import torch_files

__all__ = ["WeightsFileError", "load_state_dict"]


class WeightsFileError(torch_files.TorchFileError):
    """A metric weights file cannot be read; the message says so, names the file and the problem."""


def load_state_dict(path: str) -> dict[str, np.ndarray]:
    """{name: array} of a metric network's weights file (see `torch_files.load_state_dict`); WeightsFileError when
    it cannot be read, FileNotFoundError when missing."""
    try:
        return torch_files.load_state_dict(path)
    except WeightsFileError:
        raise
    except torch_files.TorchFileError as error:
        raise WeightsFileError(f"Cannot read weights: {error} Give the state dict file the metric's docs name "
                               "(torch.save output or .npz).") from None
