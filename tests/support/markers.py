"""Skip markers for what this machine cannot run (bfloat16 or float16 kernels under an emulated oneDNN cap)."""

from __future__ import annotations

import pytest


def _runs_here(policy: str) -> bool:
    from tfvideo.perf import precision
    try:
        precision.check_supported(policy)
    except ValueError:
        return False
    return True


# For tests that run bfloat16 kernels: skipped only where TensorFlow would abort on them (ONEDNN_MAX_CPU_ISA capped
# below AVX-512 on an AVX-512 CPU, as when emulating an AVX2 CPU's oneDNN kernels); real AVX2 CPUs run them.
needs_bfloat16 = pytest.mark.skipif(not _runs_here("mixed_bfloat16"), reason="oneDNN capped below AVX-512 on an AVX-512 "
                                    "CPU: TensorFlow would abort on bfloat16 (tfvideo.perf.precision.check_supported)")
# The same for float16, which TensorFlow hands to oneDNN on CPUs with AVX-512 FP16 or AMX FP16.
needs_float16 = pytest.mark.skipif(not _runs_here("mixed_float16"), reason="oneDNN capped below AVX512_CORE_FP16 on a "
                                   "CPU with AVX-512 FP16: TensorFlow would abort on float16 "
                                   "(tfvideo.perf.precision.check_supported)")
