import json

import pytest
from absl import flags

from tfvideo import benchmark
from tfvideo import config as config_lib
from conftest import tiny_config


def test_run_benchmark_reports_every_figure():
    results = benchmark.run_benchmark(tiny_config(), num_samples=3, horizon=2, warmup=1, repeats=1, with_input=True)
    assert results["params"] > 0 and results["train_step_ms"] > 0 and results["generate_s"] > 0
    assert results["peak_memory_mb"] > 0 and results["num_samples"] == 3 and results["horizon"] == 2
    assert results["train_traces"] == 1 and results["generate_traces"] == 1  # no retracing
    assert results["input_ms_per_batch"] > 0 and results["stream_step_ms"] > 0
    table = benchmark.format_table(results)
    assert "3 x 2 frames" in table and f"{results['params']:,}" in table and "load average" in table


def test_variants_are_timed_interleaved_with_their_own_settings():
    runs = benchmark.run_variants({"a": tiny_config(train={"precision": "float32", "fused_batch_norm": False}),
                                   "b": tiny_config(train={"precision": "mixed_bfloat16", "fused_batch_norm": True})},
                                  num_samples=2, horizon=2, warmup=1, repeats=2)
    assert [r["variant"] for r in runs] == ["a", "b"] and [r["precision"] for r in runs] == ["float32",
                                                                                         "mixed_bfloat16"]
    assert runs[1]["levers"]["fused_batch_norm_layers"] == 8 and runs[0]["levers"]["fused_batch_norm_layers"] == 0
    assert all(len(r["train_step_all_ms"]) == 2 and len(r["generate_all_s"]) == 2 for r in runs)
    lines = benchmark.format_table(runs).splitlines()
    assert lines[0].split() == ["variant", "a", "b"]


def test_parse_variant_types_values_and_names_bad_ones():
    config = tiny_config()
    parsed = benchmark.parse_variant(config, "precision=mixed_bfloat16, jit_compile=true,batch_size=4,base_channels=3")
    assert (parsed.train.precision, parsed.train.jit_compile, parsed.train.batch_size, parsed.model.base_channels) \
        == ("mixed_bfloat16", True, 4, 3)
    for text, message in [("precision", "not FIELD=VALUE"), ("speed=2", "not FIELD=VALUE"),
                          ("batch_size=big", "not a valid int"), ("jit_compile=maybe", "not a valid bool"),
                          ("precision=half", "Unknown --precision='half'")]:
        with pytest.raises(config_lib.ConfigError, match=message):
            benchmark.parse_variant(config, text)


def _main(argv, capsys):
    flags.FLAGS.unparse_flags()
    try:
        return benchmark.main(flags.FLAGS(["benchmark", *argv])), capsys.readouterr()
    finally:
        flags.FLAGS.unparse_flags()


def test_main_rejects_bad_counts_and_variants(capsys):
    code, captured = _main(["--num_samples=0"], capsys)
    assert code == 2 and "--num_samples must be >= 1" in captured.err
    code, captured = _main(["--variant=precision=half"], capsys)
    assert code == 2 and "Unknown --precision='half'" in captured.err


def test_main_writes_json_with_the_issue_keys(tmp_path, capsys):
    tiny = ["--num_digits=1", "--base_channels=2", "--encoding_size=6", "--latent_size=3", "--noise_size=4",
            "--inference_hidden_size=5", "--inference_layers=2", "--dynamics_hidden_size=7", "--dynamics_layers=2",
            "--inference_frames=2", "--seq_len=5", "--conditioning_frames=3", "--batch_size=2"]
    output = tmp_path / "bench.json"
    code, captured = _main([*tiny, "--num_samples=2", "--horizon=2", "--warmup=1", "--repeats=1",
                            f"--output={output}"], capsys)
    assert code == 0 and "train step (batch 2, 5 frames)" in captured.out
    results = json.loads(output.read_text())
    assert {"train_step_ms", "generate_s", "peak_memory_mb", "params"} <= set(results)
    assert list(tmp_path.iterdir()) == [output]  # written atomically: no temporary file left
