"""The one measure of available memory (tfvideo.utils.memory.available_bytes) honours the process's address-space
limit (`ulimit -v`) and its cgroup's memory limit (v2 and v1), not only the machine's memory."""

import os
import subprocess
import sys

import pytest

from tfvideo.utils import memory

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_an_address_space_limit_bounds_the_available_memory():
    limit = 3 * 2**30 + 5 * 2**20  # above the interpreter's own virtual size
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
            "from tfvideo.utils import memory; print(memory.available_bytes())" % (limit, limit))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": REPO}).stdout
    assert 0 < int(out) < limit


@pytest.mark.parametrize("files, room", [
    ({"memory.max": "5000\n", "memory.current": "1200\n"}, 3800),
    ({"memory.max": "max\n", "memory.current": "1200\n"}, None),
    ({"memory/memory.limit_in_bytes": "7000\n", "memory/memory.usage_in_bytes": "2500\n"}, 4500),
    ({"memory/memory.limit_in_bytes": str(2**63 - 4096), "memory/memory.usage_in_bytes": "2500"}, None),
], ids=["v2", "v2_no_limit", "v1", "v1_no_limit"])
def test_a_cgroup_limit_bounds_the_available_memory(files, room, tmp_path, monkeypatch):
    for name, text in files.items():
        os.makedirs(os.path.dirname(tmp_path / name), exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(memory, "_CGROUP", str(tmp_path))
    monkeypatch.setattr(memory, "_address_space_room", lambda: None)
    assert memory._cgroup_room() == room
    assert memory.available_bytes() == (room if room is not None else memory._machine_available())


def test_check_fits_refuses_what_the_smallest_limit_cannot_hold(monkeypatch):
    monkeypatch.setattr(memory, "_machine_available", lambda: 10 * 2**30)
    monkeypatch.setattr(memory, "_address_space_room", lambda: 3 * 2**30)
    monkeypatch.setattr(memory, "_cgroup_room", lambda: 6 * 2**30)
    memory.check_fits(2 * 2**30, "two", "lower it")
    with pytest.raises(memory.MemoryLimitError, match="needs at least 4 GiB of memory, but only 3 GiB is available"):
        memory.check_fits(4 * 2**30, "four", "lower it")
