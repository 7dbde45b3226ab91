"""Errors of the data layer that the CLIs print as a message (no traceback)."""

from __future__ import annotations


class DatasetUnavailableError(RuntimeError):
    """A dataset is missing or unusable; the message says what to download, from where, and which flag to set."""


class VideoReadError(ValueError):
    """A video file (or folder of frames) cannot be decoded; the message names the file and the reason."""
