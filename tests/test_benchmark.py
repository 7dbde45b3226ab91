from absl import flags

from tfvideo import benchmark
from conftest import tiny_config


def test_run_benchmark_reports_every_figure():
    results = benchmark.run_benchmark(tiny_config(), num_samples=3, horizon=2, warmup=1, repeats=1)
    assert results["params"] > 0 and results["train_step_ms"] > 0 and results["generate_s"] > 0
    assert results["peak_memory_mb"] > 0 and results["num_samples"] == 3 and results["horizon"] == 2
    table = benchmark.format_table(results)
    assert "3 x 2 frames" in table and f"{results['params']:,}" in table


def test_main_rejects_bad_counts(capsys):
    flags.FLAGS.unparse_flags()
    argv = flags.FLAGS(["benchmark", "--num_samples=0"])
    try:
        assert benchmark.main(argv) == 2
    finally:
        flags.FLAGS.unparse_flags()
    assert "--num_samples must be >= 1" in capsys.readouterr().err
