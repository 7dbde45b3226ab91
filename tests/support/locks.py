"""A real process that owns a folder or a file (tfvideo.utils.locks) until it is killed, for the ownership tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.support.cli import REPO

_HOLDER = textwrap.dedent("""
    import sys, time
    from tfvideo.utils import locks
    hold = locks.hold_folder if sys.argv[1] == "folder" else lambda p, w: locks.hold_file(p, w, "--export_dir")
    with hold(sys.argv[2], sys.argv[3]):
        print("held", flush=True)
        time.sleep(300)
""")


def start_holder(kind: str, target, what: str = "training") -> subprocess.Popen:
    """A process that owns `target` ("folder": the folder; "file": a file or version folder, through the lock next
    to it) as `what`, until it is killed; returns once it owns it."""
    process = subprocess.Popen([sys.executable, "-c", _HOLDER, kind, str(target), what], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONPATH": REPO})
    assert process.stdout.readline().strip() == "held"
    return process


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=30)
