"""The one error type of `tfvideo.runtimes`."""

from __future__ import annotations


class ModelError(ValueError):
    """A model cannot be opened, or cannot sample as asked; the message names the flag or file and the fix."""
