"""The export benchmark: one table with every variant's size, latencies per request and thread count, time to
the first streamed frame and best-of-N quality next to the float model's (tiny run, tiny requests)."""

import io
import re

import pytest

from tfvideo.benchmarks import export as benchmark


@pytest.mark.slow
def test_benchmark_table_has_every_variant_and_column(trained_run, tmp_path):
    out = io.StringIO()
    found = benchmark.run_benchmark(trained_run, str(tmp_path), ["saved_model", "float32",
                                    "float32_fixed"], runs=1, quality_videos=2, quality_samples=2,
                                    requests=[(1, 2, 3), (2, 3, 2)], out=out)
    text = out.getvalue()
    print(text)
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines[0] == ("| variant | size (MB) | 1x2x3 1 thr (s) | 1x2x3 2 thr (s) | 2x3x2 1 thr (s) | 2x3x2 2 thr (s) | "
                        "first frame (s) | PSNR | SSIM |")
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in lines[2:]}
    assert set(rows) == {"saved_model", "float32", "float32_fixed"}
    assert rows["saved_model"][2] == "-" and rows["float32"][2] != "-"  # TF has one thread setting
    assert all(cell != "-" for cell in rows["float32_fixed"][1:6])  # one fixed file per request
    # float32 files sample the SavedModel's futures: the same best-of-N scores.
    assert all(re.search(r"\([+-]0\.00\)", rows[name][7]) for name in ("float32", "float32_fixed"))
    assert set(found["float32_fixed"].files) == {(1, 2, 3), (2, 3, 2), (1, 2, 7)}  # + the quality request
    assert "load average" in text.lower()


def test_unknown_variant_is_refused(trained_run):
    with pytest.raises(ValueError, match="--variants must be among"):
        benchmark.run_benchmark(trained_run, variants=["float64"])


def test_the_cli_names_every_variant_the_library_knows():
    from tfvideo.benchmarks import export_lib as benchmark_lib
    assert benchmark.VARIANTS == tuple(benchmark_lib.VARIANTS)
    assert set(benchmark.DEFAULT_VARIANTS) <= set(benchmark.VARIANTS)
