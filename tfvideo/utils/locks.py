"""One live owner per output: a training per workdir, an evaluation per output folder, an export per file or
SavedModel version.

`hold_folder(folder, what)` and `hold_file(path, what)` are context managers that own their target for the
process for the time of the `with` block. The lock is an advisory `flock` on a lock file (`<folder>/.tfvideo.lock`,
or `.<name>.lock` next to a file) that records the owner: pid, host, start time and command line. The kernel drops a
`flock` when its process dies, even by `kill -9`, so a lock file left by a dead owner is free: the next process
takes it over and says so (naming the dead owner). A target whose lock is held by a live process is refused with
`LockError` naming the owner, before anything is touched.

On leaving the block the lock file is removed, and so is a folder that `hold_folder` created and that is still
empty (a refused or failed command leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from typing import Iterator

from tfvideo.utils import files

FOLDER_LOCK = ".tfvideo.lock"


class LockError(RuntimeError):
    """The target is owned by another live process, or its lock file cannot be created; the message says which
    process and what to do."""


def folder_lock_path(folder: str) -> str:
    return os.path.join(folder, FOLDER_LOCK)


def file_lock_path(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.lock")


def hold_folder(folder: str, what: str, flag: str = "--workdir"):
    """Context manager: owns `folder` (created if missing) as `what` (e.g. "training") for the block; LockError when
    another live process owns it. A folder created here that is empty on leaving is removed."""
    return _owning(folder, folder_lock_path(folder), folder, what, flag)


def hold_file(path: str, what: str, flag: str):
    """Context manager: owns the file (or folder) `path` as `what` for the block, through a lock file next to it;
    LockError when another live process owns it."""
    return _owning(os.path.dirname(os.path.abspath(path)), file_lock_path(path), path, what, flag)


@contextlib.contextmanager
def _owning(folder: str, lock_path: str, target: str, what: str, flag: str) -> Iterator[None]:
    created = files.missing_folders(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise LockError(f"{flag}={folder!r} is not writable ({files.os_error_reason(error)}). Choose a directory "
                        "you can write to.") from None
    try:
        with _hold(lock_path, target, what, flag):
            yield
    finally:
        files.remove_empty_folders(created)  # left empty by a refused or failed command


def owner(lock_path: str) -> dict | None:
    """The owner a lock file records ({"pid", "host", "started", "command"}), None when it is empty or unreadable."""
    try:
        with open(lock_path) as handle:
            value = json.loads(handle.read() or "null")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def describe(record: dict | None) -> str:
    if not record:
        return "another process (it has not recorded itself yet)"
    return (f"pid {record.get('pid')} on {record.get('host')}, started {record.get('started')} "
            f"({record.get('command')})")


@contextlib.contextmanager
def _hold(lock_path: str, target: str, what: str, flag: str) -> Iterator[None]:
    handle = _acquire(lock_path, target, what, flag)
    try:
        yield
    finally:
        try:
            os.remove(lock_path)  # while holding it: a process that opened the old file finds it unlinked
        except OSError:
            pass
        handle.close()


def _acquire(lock_path: str, target: str, what: str, flag: str):
    """The open lock file, flock-ed and holding this process's record."""
    for _ in range(100):
        try:
            handle = open(lock_path, "a+")
        except OSError as error:
            raise LockError(f"{flag}={target!r}: cannot create the lock file {lock_path} "
                            f"({error.strerror or error}); choose a folder you can write to.") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.close()
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockError(f"{flag}={target!r}: cannot lock {lock_path} ({error.strerror or error}).") from None
            raise LockError(f"{flag}={target!r} is in use by a live {what}: {describe(owner(lock_path))}. Wait for "
                            f"it to finish or stop it, or choose another {flag}.") from None
        if _same_file(handle, lock_path):
            _take_over(handle, lock_path, target, what)
            return handle
        handle.close()  # its owner removed the file between our open and flock: try the new one
    raise LockError(f"{flag}={target!r}: could not lock {lock_path}; retry.")


def _take_over(handle, lock_path: str, target: str, what: str) -> None:
    """Records this process in the locked file; says so when it names a previous owner that died holding it."""
    previous = owner(lock_path)
    if previous and previous.get("pid") != os.getpid():
        print(f"Taking over the lock of {target}: its owner ({describe(previous)}) ended without releasing it "
              "(killed or crashed).", file=sys.stderr, flush=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv)[:300]}
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record))
    handle.flush()
    os.fsync(handle.fileno())


def _same_file(handle, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except OSError:
        return False
