"""Moved: the runtimes (a workdir, a SavedModel, a TFLite file) are `tfvideo.runtimes`, which `evaluate` uses too.
This name is kept for code that imports it; their errors are `tfvideo.runtimes.ModelError` (a ValueError)."""

from tfvideo.runtimes import (ModelError, ModelSpec, Runtime, SavedModelRuntime, TFLiteRuntime,  # noqa: F401
                              TrainedRun, open_runtime, saved_model_dir)

__all__ = ["ModelError", "ModelSpec", "Runtime", "SavedModelRuntime", "TFLiteRuntime", "TrainedRun", "open_runtime",
           "saved_model_dir"]
