"""The one error type of `tfvideo.export`."""

from __future__ import annotations


class ExportError(RuntimeError):
    """An export cannot be done as asked; the message says why and what to do."""
