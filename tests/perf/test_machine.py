"""What the CPU can do: /proc/cpuinfo flags, oneDNN's ISA cap, native bfloat16."""

import pytest

from tfvideo.perf import machine

ZEN3 = "processor : 0\nmodel name : AMD EPYC 7B13\nflags : fpu sse4_1 avx avx2 fma\n"
ZEN4 = "processor : 0\nmodel name : AMD EPYC 9B14\nflags : fpu avx2 fma avx512f avx512_vnni avx512_bf16\n"
SAPPHIRE = "model name : Intel Xeon\nflags : avx2 avx512f amx_tile amx_bf16\n"


@pytest.fixture
def cpuinfo(tmp_path):
    def write(text):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return str(path)
    return write


def test_flags_and_model_are_read_from_cpuinfo(cpuinfo, tmp_path):
    path = cpuinfo(ZEN4)
    assert machine.cpu_flags(path) == {"fpu", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"}
    assert machine.cpu_model(path) == "AMD EPYC 9B14"
    assert machine.cpu_flags(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize("text, environ, expected", [
    (ZEN3, {}, False),                                              # AVX2 only
    (ZEN4, {}, True),                                               # AVX-512 BF16
    (SAPPHIRE, {}, True),                                           # AMX BF16
    (ZEN4, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, False),                  # capped below BF16
    (ZEN4, {"ONEDNN_MAX_CPU_ISA": "avx512_core_vnni"}, False),      # one step below, any case
    (ZEN4, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, True),
    (ZEN4, {"ONEDNN_MAX_CPU_ISA": "ALL"}, True),
    (ZEN4, {"ONEDNN_MAX_CPU_ISA": "NONSENSE"}, False),              # an unknown cap admits nothing fast
])
def test_native_bfloat16_needs_the_instructions_and_no_onednn_cap_below_them(cpuinfo, text, environ, expected):
    assert machine.native_bfloat16(machine.cpu_flags(cpuinfo(text)), environ) is expected


def test_isa_summary_names_the_speed_flags_and_the_cap(cpuinfo):
    flags = machine.cpu_flags(cpuinfo(ZEN4))
    assert machine.isa_summary(flags, {}) == "avx2 fma avx512f avx512_vnni avx512_bf16"
    assert machine.isa_summary(flags, {"ONEDNN_MAX_CPU_ISA": "avx2"}).endswith(", oneDNN capped at AVX2")
    assert machine.isa_summary(frozenset({"sse2"}), {}) == "no AVX2"
