"""Writing files atomically (a reader sees the old file or the whole new one, never a half-written file), and
checking before the work that an output file can be written."""

from __future__ import annotations

import os
import tempfile
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


def missing_folders(folder: str) -> list[str]:
    """The folders `os.makedirs(folder)` would create, deepest first (to remove them again, in this order)."""
    missing, path = [], os.path.abspath(folder)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def remove_empty_folders(folders: list[str]) -> None:
    """Removes `folders` (deepest first, as `missing_folders` lists them) up to the first one that is not empty."""
    for path in folders:
        try:
            os.rmdir(path)
        except OSError:
            break


def check_writable_folder(folder: str) -> None:
    """OSError unless files can be written in `folder`: creates it, writes and removes a temporary file, then
    removes the folders it created (so a later refusal leaves nothing behind)."""
    created = missing_folders(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".tfvideo_write_check_"):
            pass
    finally:
        remove_empty_folders(created)


def os_error_reason(error: OSError) -> str:
    """Why a folder could not be created or written, for an error line: a path component that is a file, or the
    OS's reason (permission denied, read-only file system, ...)."""
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        return "it is a file, or a folder above it is"
    return error.strerror or str(error)


class OutputPathError(ValueError):
    """An output file cannot be written where asked; the message names the flag, the path and the fix."""


def check_output_path(path: str, *, overwrite: bool = False, flag: str = "--output") -> str:
    """Checks, before any work, that `atomic_write(path, ...)` can succeed; returns `path`.

    Refused (OutputPathError naming `flag`): an empty path, a folder, an existing file without `overwrite`, a
    path below a file, and a folder that cannot be written (checked by creating and removing a temporary file
    in the nearest existing folder: permission bits alone miss read-only file systems). Nothing is left behind;
    missing folders are created later, by `atomic_write`.
    """
    if not path:
        raise OutputPathError(f"{flag} must name the file to write.")
    if os.path.isdir(path):
        raise OutputPathError(f"{flag}={path} is a folder: name a file in it instead.")
    if os.path.lexists(path) and not overwrite:
        raise OutputPathError(f"{flag}={path} already exists: pass --overwrite to replace it, or choose another "
                              "file name.")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise OutputPathError(f"{flag}={path}: {folder} is a file, not a folder; choose another path.")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".tfvideo_write_check_"):
            pass
    except OSError as error:
        raise OutputPathError(f"{flag}={path}: cannot write in {folder} ({error.strerror or error}); choose a "
                              "folder you can write to.") from None
    return path
