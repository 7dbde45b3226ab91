"""The measuring tools beside the package: benchmarks/time_tflite.py and benchmarks/avx2_cpuid.c.

time_tflite: times a fixed-shape file's baked request and reports it as JSON; a dynamic-shape, missing or corrupt
file is one error line and exit status 2.
avx2_cpuid: under LD_PRELOAD, CPUID answers without AVX-512, AMX and AVX-VNNI (as NumPy's own feature detection
sees it), keeps AVX2 and FMA, only ever clears bits; /proc/cpuinfo reads without those flags (as tfvideo's `auto`
levers see it) and keeps the rest; a real segmentation fault still reaches the program's handler (Python's
faulthandler) or kills the process.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys

import pytest

from tests.support.cli import REPO, load_script, run_cli
from tfvideo.perf import machine

BATCH, SAMPLES, HORIZON = 2, 3, 4


@pytest.fixture(scope="module")
def fixed_file(tmp_path_factory, trained_run) -> str:
    from tfvideo.export import __main__ as cli
    export_dir = str(tmp_path_factory.mktemp("fixed"))
    assert run_cli(cli, [f"--workdir={trained_run}", "--format=tflite", f"--export_dir={export_dir}",
                         f"--static_shape={BATCH},{SAMPLES},{HORIZON}"]) == 0
    (name,) = [n for n in os.listdir(export_dir) if n.endswith(".tflite")]
    return os.path.join(export_dir, name)


def test_time_tflite_times_the_baked_request(fixed_file, tmp_path, capsys):
    output = tmp_path / "t.json"
    code = load_script("time_tflite", "benchmarks").main([f"--model={fixed_file}", "--repeats=3", "--warmup=0",
                                                           "--threads=1", f"--output={output}"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert json.loads(output.read_text()) == printed
    assert printed["request"] == f"{BATCH}x{SAMPLES}x{HORIZON}" and printed["threads"] == 1
    assert len(printed["calls"]) == 3 and min(printed["calls"]) > 0
    assert printed["generate_s"] == statistics.median(printed["calls"])


@pytest.mark.parametrize("which, message", [("dynamic", "has dynamic shapes"), ("missing", "No TFLite file"),
                                            ("corrupt", "")])
def test_time_tflite_refuses_what_it_cannot_time(which, message, tflite_export, tmp_path, capsys):
    paths = {"dynamic": lambda: tflite_export("none"), "missing": lambda: str(tmp_path / "none.tflite"),
             "corrupt": lambda: str(tmp_path / "bad.tflite")}
    (tmp_path / "bad.tflite").write_bytes(b"not a flatbuffer")
    code = load_script("time_tflite", "benchmarks").main([f"--model={paths[which]()}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


PROBE = r"""
#include <cpuid.h>
#include <stdio.h>
int main(void) {
    unsigned a, b, c, d;
    __cpuid_count(1, 0, a, b, c, d); printf("%u ", c);
    __cpuid_count(7, 0, a, b, c, d); printf("%u %u %u ", b, c, d);
    __cpuid_count(7, 1, a, b, c, d); printf("%u %u\n", a, d);
    return 0;
}
"""
FEATURES = "from numpy._core._multiarray_umath import __cpu_features__ as f; print(f['AVX512F'], f['AVX2'])"


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    """(path of the compiled library, path of the CPUID probe); skipped without gcc or CPUID faulting."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    if "cpuid_fault" not in machine.cpu_flags():
        pytest.skip("this CPU or kernel has no CPUID faulting (cpuid_fault in /proc/cpuinfo)")
    folder = tmp_path_factory.mktemp("cpuid")
    library, probe = str(folder / "avx2_cpuid.so"), str(folder / "probe")
    (folder / "probe.c").write_text(PROBE)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", library, os.path.join(REPO, "benchmarks", "avx2_cpuid.c")],
                   check=True)
    subprocess.run(["gcc", "-O2", "-o", probe, str(folder / "probe.c")], check=True)
    return library, probe


def _run(cmd, library=None):
    env = {**os.environ, "LD_PRELOAD": library} if library else dict(os.environ)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def _registers(probe, library=None):
    ecx1, ebx7, ecx7, edx7, eax71, edx71 = map(int, _run([probe], library).stdout.split())
    return {"ecx1": ecx1, "ebx7": ebx7, "ecx7": ecx7, "edx7": edx7, "eax71": eax71, "edx71": edx71}


def _bit(value, n):
    return (value >> n) & 1


def test_cpuid_answers_as_an_avx2_cpu(shim):
    library, probe = shim
    real, masked = _registers(probe), _registers(probe, library)
    for name in real:
        assert masked[name] & ~real[name] == 0, f"{name}: the library set a bit the CPU does not have"
    assert _bit(masked["ebx7"], 5) == _bit(real["ebx7"], 5) and _bit(masked["ecx1"], 12) == _bit(real["ecx1"], 12)
    assert _bit(masked["ebx7"], 16) == 0 and _bit(masked["ecx7"], 11) == 0   # AVX512F, AVX512_VNNI
    assert _bit(masked["eax71"], 5) == 0 and _bit(masked["eax71"], 4) == 0   # AVX512_BF16, AVX_VNNI
    assert _bit(masked["edx7"], 24) == 0 and _bit(masked["edx7"], 23) == 0   # AMX_TILE, AVX512_FP16
    if _bit(real["ebx7"], 16):
        assert masked != real


def test_a_library_in_the_process_sees_no_avx512(shim):
    library, _ = shim
    real = _run([sys.executable, "-c", FEATURES]).stdout.split()
    masked = _run([sys.executable, "-c", FEATURES], library).stdout.split()
    assert masked == ["False", real[1]], (real, masked)


def test_proc_cpuinfo_reads_without_the_masked_flags(shim):
    library, _ = shim
    read = "from tfvideo.perf import machine; print(' '.join(sorted(machine.cpu_flags())))"
    real = set(_run([sys.executable, "-c", read]).stdout.split())
    masked = set(_run([sys.executable, "-c", read], library).stdout.split())
    assert masked and masked <= real and {"avx2", "fma"} & real <= masked
    assert not [flag for flag in masked if flag.startswith(("avx512", "amx", "avx_vnni"))]
    if "avx512f" in real:
        assert masked != real
    processors = "print(sum(line.startswith('processor') for line in open('/proc/cpuinfo')))"
    assert _run([sys.executable, "-c", processors], library).stdout == _run([sys.executable, "-c", processors]).stdout


def test_a_real_segfault_reaches_the_programs_handler_or_kills(shim):
    library, _ = shim
    crash = "import ctypes; ctypes.string_at(0)"
    handled = _run([sys.executable, "-c", "import faulthandler; faulthandler.enable(); " + crash], library)
    assert handled.returncode != 0 and "Segmentation fault" in handled.stderr, handled.stderr
    assert _run([sys.executable, "-c", crash], library).returncode == -11


def _tf_run(step_ms, generate_s, load):
    return {"variant": "run", "train_step_ms": step_ms, "generate_s": generate_s, "gemm_gflops_per_s": 200.0,
            "train_step_gflops_per_s": 300.0 / (step_ms / 1000), "generate_gflops_per_s": 400.0 / generate_s,
            "load_before_process": load}


def test_side_by_side_table_sets_each_column_against_the_original():
    script = load_script("side_by_side", "benchmarks")
    work = {"step": 300.0, "generate": 400.0}
    tf_runs = [_tf_run(2000.0, 3.0, 0.5), _tf_run(4000.0, 5.0, 0.6)]   # medians: 3.0 s and 4.0 s
    original = [{"train_step_ms": 5000.0, "generate_s": 9.0, "generate_batched_s": 8.0, "load_before_process": 1.5},
                {"train_step_ms": 7000.0, "generate_s": 8.0, "generate_batched_s": 10.0, "load_before_process": 1.6}]
    tflite = {"/x/int8.tflite": [{"generate_s": 1.0, "load_before_process": 0.7},
                                 {"generate_s": 3.0, "load_before_process": 0.8}]}
    table = script.markdown(script._columns(tf_runs, original, tflite, work), work)
    header, _, step, generate, loads = table.split("\n\n")[0].splitlines()
    assert header == "| | tfvideo auto | LiteRT int8.tflite | original (PyTorch) |"
    # Times and rates are medians over rounds (rates per round: 150 and 75, 133 and 80, 400 and 133); the
    # original's sampling is, per round, the faster of its two ways (8.0 and 8.0).
    assert step.split(" | ")[1:] == ["3.00 s (x0.50; 112 GFLOP/s, 56% of GEMM)", "-", "6.00 s |"]
    assert generate.split(" | ")[1:] == ["4.00 s (x0.50; 107 GFLOP/s, 53% of GEMM)",
                                         "2.00 s (x0.25; 267 GFLOP/s, 133% of GEMM)", "8.00 s |"]
    assert loads.endswith("| 0.5, 0.6 | 0.7, 0.8 | 1.5, 1.6 |")
    assert table.endswith("float32 GEMM (2048^2, TensorFlow): 200 GFLOP/s.")
