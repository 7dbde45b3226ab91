"""Skip markers for what this machine cannot run (bfloat16 kernels)."""

from __future__ import annotations

import pytest


def _bfloat16_runs_here() -> bool:
    from tfvideo.perf import precision
    try:
        precision.check_supported("mixed_bfloat16")
    except ValueError:
        return False
    return True


# For tests that run bfloat16 kernels: skipped only where TensorFlow would abort on them (ONEDNN_MAX_CPU_ISA capped
# below AVX-512 on an AVX-512 CPU, as when emulating an AVX2 CPU's oneDNN kernels); real AVX2 CPUs run them.
needs_bfloat16 = pytest.mark.skipif(not _bfloat16_runs_here(), reason="oneDNN capped below AVX-512 on an AVX-512 "
                                    "CPU: TensorFlow would abort on bfloat16 (tfvideo.perf.precision.check_supported)")
