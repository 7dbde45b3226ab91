"""Network weights that users download for the metrics (LPIPS, FVD): PyTorch state dicts (.pth / .pt) read
without PyTorch, or .npz. The reader is `tfvideo.utils.torch_files`, shared with the checkpoint converters."""

from __future__ import annotations

from tfvideo.utils.torch_files import TorchFileError as WeightsFileError
from tfvideo.utils.torch_files import load_state_dict

__all__ = ["WeightsFileError", "load_state_dict"]
