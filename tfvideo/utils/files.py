"""Writing files atomically: a reader sees the old file or the whole new one, never a half-written file."""

from __future__ import annotations

import os
import threading
from typing import Callable, Union

Content = Union[str, bytes, Callable[[str], None]]


def temporary_path(path: str) -> str:
    """A temporary name next to `path` (same folder, so the final rename stays on one file system), unique per
    process and thread."""
    return f"{path}.tmp{os.getpid()}-{threading.get_ident()}"


def atomic_write(path: str, content: Content) -> str:
    """Writes `content` to `path` atomically; returns `path`.

    `content` is text (written as UTF-8), bytes, or a writer: a callable that writes the file at the temporary
    path it is given (e.g. `lambda tmp: figure.savefig(tmp, format="png")`). The data goes to a temporary file in
    the folder of `path` (created if missing), is flushed to disk, then renamed over `path`. When writing fails
    the temporary file is removed and an existing file at `path` is left as it was.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = temporary_path(path)
    try:
        if callable(content):
            content(tmp)
        else:
            with open(tmp, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
