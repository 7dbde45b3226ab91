"""oneDNN for TensorFlow's CPU kernels: switched on by `import tfvideo`, before TensorFlow is imported.

TensorFlow's x86-64 wheels carry two sets of CPU kernels: Eigen's and oneDNN's. TensorFlow reads
`TF_ENABLE_ONEDNN_OPTS` once, while `import tensorflow` runs; unset, it turns oneDNN on only on CPUs with AVX-512
VNNI/BF16 or AMX. On an AVX2 CPU it then runs SRVP's convolutions on Eigen, several times slower than oneDNN
(docs/performance.md has the figures, the CPU they were measured on and the command). So `import tfvideo` (which every CLI, console script and test
does before anything else) decides, by `configure()`:

- `TF_ENABLE_ONEDNN_OPTS` set by the user (any value): left as it is; the user's choice always wins.
- not an x86-64 CPU: left to TensorFlow (its ARM builds choose their oneDNN/ACL kernels themselves).
- TensorFlow already imported (`import tensorflow` before `import tfvideo`): too late to change; when oneDNN is
  off a warning says so and how to turn it on (set TF_ENABLE_ONEDNN_OPTS=1, or import tfvideo first).
- otherwise: `TF_ENABLE_ONEDNN_OPTS=1` in this process's environment (and so in its child processes).

`state()` says what TensorFlow actually runs and why, in one phrase, for the speed line of training and
benchmarks.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import warnings

ENV = "TF_ENABLE_ONEDNN_OPTS"
X86_64 = ("x86_64", "amd64")


@dataclasses.dataclass(frozen=True)
class Decision:
    """What `configure` did: `source` is "user", "tfvideo", "tensorflow" (left to its default) or "too late"."""
    source: str
    reason: str


_DECISION: Decision | None = None


def tensorflow_onednn_enabled() -> bool | None:
    """Whether the imported TensorFlow runs oneDNN kernels (None when tensorflow is not imported or cannot say)."""
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def configure(environ=None, modules=None, machine: str | None = None, enabled=tensorflow_onednn_enabled) -> Decision:
    """Sets TF_ENABLE_ONEDNN_OPTS=1 where tfvideo should (see the module docstring); returns the decision.

    `environ`, `modules`, `machine` and `enabled` default to this process's (arguments for tests).
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    machine = (machine or platform.machine()).lower()
    if ENV in environ:
        return Decision("user", f"{ENV}={environ[ENV]} set by the user")
    if machine not in X86_64:
        return Decision("tensorflow", f"TensorFlow's default on {machine}")
    if "tensorflow" in modules:
        if enabled() is False:
            warnings.warn(f"tfvideo: TensorFlow was imported before tfvideo with its oneDNN kernels off, which makes "
                          "SRVP several times slower on CPUs without AVX-512. Import tfvideo before tensorflow, or set "
                          f"{ENV}=1 before Python starts.", RuntimeWarning, stacklevel=3)
        return Decision("too late", "TensorFlow was imported before tfvideo")
    environ[ENV] = "1"
    return Decision("tfvideo", "x86-64 CPU, set by tfvideo")


def configure_once() -> Decision:
    """`configure()` for this process, once (`import tfvideo` calls it)."""
    global _DECISION
    if _DECISION is None:
        _DECISION = configure()
    return _DECISION


def state() -> str:
    """One phrase: whether TensorFlow runs oneDNN here and why, e.g. "oneDNN on (x86-64 CPU, set by tfvideo)"."""
    on = tensorflow_onednn_enabled()
    decision = configure_once()
    word = {True: "on", False: "off", None: "unknown"}[on]
    return f"oneDNN {word} ({decision.reason})"
