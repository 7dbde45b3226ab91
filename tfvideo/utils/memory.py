"""Up-front memory checks: a batch that cannot fit in memory is refused with a message naming the flags to lower,
before the input pipeline or the model tries to allocate it.

The estimates are lower bounds: the bytes of the frames themselves (a training batch as the uint8 frames the
pipeline reads and the float32 frames it yields; the sampled futures of one evaluated video and the ground truth
the metrics compare them with), not the model's activations, which only add to them. So a refusal is certain to
be right, and a run that passes may still need more.

`memory_problem(needed, available, ...)` is the pure rule (tests give it any memory); `check_fits` applies it to
the memory available now (`available_bytes`, the one measure of it: the machine's available memory (psutil when
installed, else the OS's free pages), bounded by the process's address-space limit (`ulimit -v`) and its cgroup's
memory limit (v2 or v1)).
"""

from __future__ import annotations

import os

FLOAT32, UINT8 = 4, 1
GIB = 2 ** 30
_CGROUP = "/sys/fs/cgroup"


class MemoryLimitError(ValueError):
    """A batch cannot fit in the memory available; the message names the flags to lower."""


def frame_bytes(image_size: int, channels: int, itemsize: int = FLOAT32) -> int:
    """Bytes of one frame [image_size, image_size, channels]."""
    return int(image_size) * int(image_size) * int(channels) * itemsize


def training_bytes(config) -> int:
    """Lower bound of the memory of one training batch [batch_size, seq_len, H, W, C]: its uint8 frames as read and
    its float32 frames as fed to the model."""
    data = config.data
    values = int(config.train.batch_size) * int(data.seq_len)
    return values * frame_bytes(data.image_size, data.channels, UINT8 + FLOAT32)


def sampling_bytes(num_videos: int, num_samples: int, frames: int, image_size: int, channels: int) -> int:
    """Lower bound of the memory of sampled futures float32 [num_videos, num_samples, frames, H, W, C]."""
    return int(num_videos) * int(num_samples) * int(frames) * frame_bytes(image_size, channels)


def memory_problem(needed: int, available: int | None, what: str, fix: str) -> str | None:
    """The message refusing `what` when `needed` bytes exceed `available` (None: unknown, never refused), else
    None. `fix` names the flags to lower."""
    if available is None or needed <= available:
        return None
    return (f"{what} needs at least {_gib(needed)} of memory, but only {_gib(available)} is available: {fix}.")


def check_fits(needed: int, what: str, fix: str, available: int | None = None) -> None:
    """MemoryLimitError (see `memory_problem`) against `available` bytes, by default `available_bytes()`."""
    problem = memory_problem(needed, available_bytes() if available is None else available, what, fix)
    if problem:
        raise MemoryLimitError(problem)


def available_bytes() -> int | None:
    """Memory this process can still allocate, in bytes (None when nothing says): the smallest of the machine's
    available memory, the room under the process's address-space limit (`ulimit -v`, RLIMIT_AS) and the room
    under its cgroup's memory limit (v2 memory.max, or v1 memory.limit_in_bytes)."""
    known = [room for room in (_machine_available(), _address_space_room(), _cgroup_room()) if room is not None]
    return min(known) if known else None


def _machine_available() -> int | None:
    try:
        import psutil  # optional: counts reclaimable page cache as available
        return int(psutil.virtual_memory().available)
    except ImportError:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None


def _address_space_room() -> int | None:
    """Bytes left under RLIMIT_AS (`ulimit -v`) given the process's current virtual size; None without a limit."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError):
        return None
    return max(limit - used, 0)


def _cgroup_room() -> int | None:
    """Bytes left under the memory limit of this process's cgroup (containers), None without a limit: cgroup v2
    (memory.max / memory.current of its own group, else of the root of the mount) or v1 (memory.limit_in_bytes /
    memory.usage_in_bytes)."""
    for limit_file, usage_file, folder in _cgroup_files():
        try:
            with open(os.path.join(folder, limit_file)) as handle:
                text = handle.read().strip()
            if text == "max" or int(text) >= 2 ** 62:  # v1 writes "no limit" as a huge number
                continue
            with open(os.path.join(folder, usage_file)) as handle:
                return max(int(text) - int(handle.read().strip()), 0)
        except (OSError, ValueError):
            continue
    return None


def _cgroup_files() -> list[tuple[str, str, str]]:
    """(limit file, usage file, folder) candidates of this process's cgroup, its own group first."""
    own = []
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.strip().split(":", 2)
                if controllers == "":
                    own.append(("memory.max", "memory.current", os.path.join(_CGROUP, path.lstrip("/"))))
                elif "memory" in controllers.split(","):
                    own.append(("memory.limit_in_bytes", "memory.usage_in_bytes",
                                os.path.join(_CGROUP, "memory", path.lstrip("/"))))
    except (OSError, ValueError):
        pass
    return own + [("memory.max", "memory.current", _CGROUP),
                  ("memory.limit_in_bytes", "memory.usage_in_bytes", os.path.join(_CGROUP, "memory"))]


def _gib(value: int) -> str:
    return f"{value / GIB:.3g} GiB" if value >= GIB / 100 else f"{value / 2**20:.3g} MiB"
