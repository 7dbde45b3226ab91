"""The one error type of `tfvideo.prediction`."""

from __future__ import annotations


class PredictError(ValueError):
    """A prediction cannot be made as asked; the message names the flag or file, the problem and the fix."""
