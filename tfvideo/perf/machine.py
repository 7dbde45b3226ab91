"""What this machine's CPU can do, as the speed levers need to know it (no TensorFlow import).

The `auto` speed levers (tfvideo.perf.levers) are a table keyed by these facts, not by a CPU model name:

- `cpu_flags()`: the instruction-set flags of /proc/cpuinfo (empty where it cannot be read).
- `onednn_isa_cap()`: oneDNN's `ONEDNN_MAX_CPU_ISA` (a user's cap on the instructions its JIT kernels may use, e.g.
  AVX2), None when unset or ALL.
- `native_bfloat16()`: whether oneDNN has fast bfloat16 kernels here: the CPU has AVX-512 BF16 or AMX BF16 and
  no cap below AVX512_CORE_BF16. Elsewhere bfloat16 convolutions fall back to slow kernels.
- `fingerprint()`: CPU model, the flags above, core count, machine and TensorFlow version, as benchmarks record.
"""

from __future__ import annotations

import os
import platform

# oneDNN's ISA names in increasing order (its dispatcher-control documentation); a cap admits itself and below.
ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
               "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX", "AVX512_CORE_AMX",
               "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16")
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")
CPUINFO = "/proc/cpuinfo"


def _cpuinfo_field(name: str, path: str = CPUINFO) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            line = next((line for line in handle if line.split(":")[0].strip() == name), "")
    except OSError:
        return ""
    return line.partition(":")[2].strip()


def cpu_flags(path: str = CPUINFO) -> frozenset[str]:
    """The CPU's instruction-set flags (empty when /proc/cpuinfo cannot be read, e.g. not Linux)."""
    return frozenset(_cpuinfo_field("flags", path).split())


def cpu_model(path: str = CPUINFO) -> str:
    """The CPU's model name, or the platform's processor string."""
    return _cpuinfo_field("model name", path) or platform.processor() or platform.machine()


def onednn_isa_cap(environ=None) -> str | None:
    """`ONEDNN_MAX_CPU_ISA` upper-cased, None when unset, empty or ALL."""
    value = (os.environ if environ is None else environ).get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    return None if value in ("", "ALL") else value


def cap_admits(cap: str | None, isa: str) -> bool:
    """Whether oneDNN may use `isa` under `cap` (an unknown cap admits nothing above SSE4.1)."""
    if cap is None:
        return True
    if cap not in ONEDNN_ISAS:
        return isa == "SSE41"
    return ONEDNN_ISAS.index(cap) >= ONEDNN_ISAS.index(isa)


def native_bfloat16(flags: frozenset[str] | None = None, environ=None) -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX BF16) and oneDNN may use it."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in BFLOAT16_FLAGS) and cap_admits(onednn_isa_cap(environ), "AVX512_CORE_BF16")


def isa_summary(flags: frozenset[str] | None = None, environ=None) -> str:
    """A short description of the instruction sets that matter for speed, e.g. "avx2 fma avx512f avx512_bf16"
    (with ", oneDNN capped at AVX2" under ONEDNN_MAX_CPU_ISA)."""
    flags = cpu_flags() if flags is None else flags
    text = " ".join(flag for flag in SPEED_FLAGS if flag in flags) or "no AVX2"
    cap = onednn_isa_cap(environ)
    return text + (f", oneDNN capped at {cap}" if cap else "")


def fingerprint() -> dict:
    """The facts a speed figure depends on: CPU model, speed flags, oneDNN cap, cores, machine, TF version."""
    import tensorflow as tf
    return {"cpu": cpu_model(), "isa": isa_summary(), "cores": os.cpu_count(), "machine": platform.machine(),
            "tensorflow": tf.__version__}
