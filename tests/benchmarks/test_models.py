import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from absl import flags

from tests.support.cli import REPO, run_cli
from tests.support.configs import TINY_FLAGS, tiny_config
from tests.support.markers import needs_bfloat16
from tfvideo.benchmarks import models as benchmark_cli, models_lib as benchmark
from tfvideo import config as config_lib
from tfvideo.models import build_model


def test_run_benchmark_reports_every_figure():
    results = benchmark.run_benchmark(tiny_config(), num_samples=3, horizon=2, warmup=1, repeats=1, with_input=True)
    assert results["params"] > 0 and results["train_step_ms"] > 0 and results["generate_s"] > 0
    assert results["peak_memory_mb"] > 0 and results["num_samples"] == 3 and results["horizon"] == 2
    assert results["train_traces"] == 1 and results["generate_traces"] == 1  # no retracing
    assert results["input_ms_per_batch"] > 0 and results["stream_step_ms"] > 0
    table = benchmark.format_table(results)
    assert "3 x 2 frames" in table and f"{results['params']:,}" in table and "load average" in table
    assert results["gemm_gflops_per_s"] > 0 and "float32 GEMM" in table and "% of GEMM" in table
    # SRVP decodes the 3 x 2 futures and encodes the context: a generate call is not free of convolutions
    assert results["generate_gflop"] > 0 and results["train_step_gflop"] > results["generate_gflop"]
    assert results["train_step_gflops_per_s"] == pytest.approx(
        results["train_step_gflop"] / (results["train_step_ms"] / 1000.0))
    assert results["speed_levers"].startswith("Speed levers: oneDNN ")


def test_an_action_conditioned_config_is_timed_with_actions(tmp_path):
    """The random batch and the generate call carry actions, and --input streams the data's actions."""
    from tfvideo.data import bair, fake_data
    fake_data.prepare_fake_tfds(bair.NAME, str(tmp_path), {"train": 4, "test": 2})
    config = tiny_config(model={"action_conditioned": True, "action_size": 4},
                         data={"dataset": "bair", "data_dir": str(tmp_path), "channels": 3, "seq_len": 5,
                               "conditioning_frames": 3, "test_horizon": 2}, train={"batch_size": 2})
    results = benchmark.run_benchmark(config, num_samples=2, horizon=3, warmup=1, repeats=1, with_input=True)
    assert results["train_step_ms"] > 0 and results["generate_s"] > 0 and results["generate_gflop"] > 0
    assert results["input_ms_per_batch"] > 0 and results["stream_step_ms"] > 0


@needs_bfloat16
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


def test_levers_time_auto_beside_every_fixed_choice(capsys):
    from tfvideo.perf import speed
    configs, notes = speed.lever_variants(tiny_config(train={"precision": "float32", "kernel_grad": "native"}))
    assert list(configs)[0] == "auto" and configs["auto"].train.precision == "auto"
    assert configs["auto"].train.kernel_grad == "auto"
    expected = {f"{field}={str(v).lower()}" for field, values in speed.FIXED_CHOICES.items() for v in values}
    timed_or_noted = set(configs) | {note.split(" ")[0] for note in notes}
    assert timed_or_noted == expected | {"auto"}
    assert configs["kernel_grad=gemm"].train.kernel_grad == "gemm" and configs["kernel_grad=gemm"].train.precision \
        == "auto"
    assert configs["jit_compile=true"].train.jit_compile is True


def test_auto_verdicts_compare_the_best_repeats_of_auto_and_of_the_fastest_fixed_choice():
    run = lambda name, steps, generates: {"variant": name, "train_step_all_ms": steps, "generate_all_s": generates}
    verdicts = benchmark.auto_verdicts([run("auto", [100.0, 150.0], [2.0, 2.1]), run("a", [98.0, 99.0], [1.0, 1.02]),
                                        run("b", [120.0, 121.0], [3.0, 3.0])])
    assert verdicts[0].startswith("auto training step: best 100 vs 98 for a (x1.02, noise 5%): within noise")
    assert verdicts[1].startswith("auto generate: best 2 vs 1 for a (x2.00, noise 5%): SLOWER than")
    # a fixed choice whose own repeats spread by 30% widens the noise band
    noisy = benchmark.auto_verdicts([run("auto", [120.0], [1.0]), run("a", [100.0, 130.0], [1.0])])
    assert "(x1.20, noise 30%): within noise" in noisy[0]


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
        return benchmark_cli.main(flags.FLAGS(["benchmark", *argv])), capsys.readouterr()
    finally:
        flags.FLAGS.unparse_flags()


def test_main_rejects_bad_counts_and_variants(capsys):
    code, captured = _main(["--num_samples=0"], capsys)
    assert code == 2 and "--num_samples must be a whole number >= 1" in captured.err
    code, captured = _main(["--variant=precision=half"], capsys)
    assert code == 2 and "Unknown --precision='half'" in captured.err
    code, captured = _main(["--levers", "--variant=precision=float32"], capsys)
    assert code == 2 and "--levers times its own variants" in captured.err


def test_main_writes_json_with_the_issue_keys(tmp_path, capsys):
    output = tmp_path / "bench.json"
    code, captured = _main([*TINY_FLAGS, "--num_samples=2", "--horizon=2", "--warmup=1", "--repeats=1",
                            f"--output={output}"], capsys)
    config = tiny_config()
    assert code == 0 and f"train step (batch {config.train.batch_size}, {config.data.seq_len} frames)" in captured.out
    results = json.loads(output.read_text())
    assert {"train_step_ms", "generate_s", "peak_memory_mb", "params"} <= set(results)
    assert list(tmp_path.iterdir()) == [output]  # written atomically: no temporary file left


# ------------------------------------------------------------------------------------------------ --compare_models


def _tiny_flagfile(tmp_path, name="tiny"):
    path = tmp_path / f"{name}.flags"
    path.write_text("\n".join(TINY_FLAGS) + "\n")
    return str(path)


def _printed_counts(out: str) -> dict[str, int]:
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): int(cells[3].strip().replace(",", "")) for cells in rows[1:]}


def test_compare_models_prints_the_parameter_counts_of_each_flagfile(tmp_path, capsys):
    """A name in configs/ and a path; config flags on the command line apply to both (here --latent_size)."""
    tiny, output = _tiny_flagfile(tmp_path), tmp_path / "compare.json"
    code = run_cli(benchmark_cli, ["--compare_models", "--skip_timing", f"--param_configs=smmnist,{tiny}",
                                   "--latent_size=4", f"--output={output}"])
    assert code == 0
    smmnist = config_lib.Config().replace(model={"latent_size": 4, "initialization": "pytorch"})  # as the flagfile
    expected = {"smmnist": build_model(smmnist.validate()),
                tiny: build_model(tiny_config(model={"latent_size": 4}))}
    assert _printed_counts(capsys.readouterr().out) == {name: m.count_params() for name, m in expected.items()}
    results = json.loads(output.read_text())
    assert [row["parameters"] for row in results["parameters"]] == [m.count_params() for m in expected.values()]
    assert "variants" not in results


def test_compare_models_times_every_model_on_one_batch_size_with_ratios_to_srvp(tmp_path, monkeypatch, capsys):
    timed = []

    def fake_run_variants(configs, num_samples, horizon, warmup, repeats):
        timed.append({name: c.train.batch_size for name, c in configs.items()})
        return [{"variant": name, "model": model, "train_step_ms": step, "generate_s": generate}
                for name, (model, step, generate) in zip(configs, [("srvp", 10.0, 1.0), ("svg", 25.0, 4.0)])]

    monkeypatch.setattr(benchmark, "run_variants", fake_run_variants)
    monkeypatch.setattr(benchmark, "parameter_counts", lambda configs: [])
    monkeypatch.setattr(benchmark, "format_table", lambda runs: "")
    srvp, other = _tiny_flagfile(tmp_path, "a"), _tiny_flagfile(tmp_path, "b")
    results = benchmark.compare_models([], [srvp, other], num_samples=2, horizon=2, warmup=1, repeats=1)
    assert f"{other} / SRVP: training step x2.50, generate x4.00" in capsys.readouterr().out
    benchmark.compare_models([], [srvp], ["--batch_size=3"], num_samples=2, horizon=2, warmup=1, repeats=1)
    assert timed == [{srvp: benchmark.COMPARE_BATCH_SIZE, other: benchmark.COMPARE_BATCH_SIZE}, {srvp: 3}]
    assert [r["variant"] for r in results["variants"]] == [srvp, other]


def test_compare_models_names_a_missing_flagfile(capsys):
    assert run_cli(benchmark_cli, ["--compare_models", "--param_configs=no_such_config"]) == 2
    err = capsys.readouterr().err
    assert "Cannot read the flagfile" in err and os.path.join("configs", "no_such_config.flags") in err


def test_python_m_bench_models_runs_the_comparison(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-m", "tfvideo.bench_models", "--skip_timing",
                             f"--param_configs={_tiny_flagfile(tmp_path)}"], capture_output=True, text=True,
                            timeout=300, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(_printed_counts(result.stdout).values()) == [build_model(tiny_config()).count_params()]


# ------------------------------------------------------------------------------------------------ --profile


def test_profile_times_every_convolution_of_the_step_and_of_generate(tmp_path, capsys):
    output = tmp_path / "profile.json"
    code, captured = _main([*TINY_FLAGS, "--profile", "--precision=float32", "--kernel_grad=native",
                            "--num_samples=2", "--horizon=2", "--warmup=1", "--repeats=1", f"--output={output}"], capsys)
    assert code == 0 and "training step:" in captured.out and "generate:" in captured.out
    profile = json.loads(output.read_text())["profile"]
    config = tiny_config()
    model = build_model(config)
    data = config.data
    model.compute_loss_terms(tf.zeros([1, data.seq_len, data.image_size, data.image_size, data.channels]))
    layers = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
              if type(layer).__name__ in ("Conv2D", "Conv2DTranspose")]
    # the encoder's head and the decoder's stem (one position in or out) are MatMuls (tfvideo.perf.conv_ops)
    convolutions = sum(1 for layer in layers if layer.gemm_positions != 1)
    assert 0 < convolutions < len(layers)
    from tfvideo.perf.op_profile import kernel_family

    def ops(kind, family):
        return sum(k["ops_per_call"] for name, k in profile[kind]["kernels"].items() if kernel_family(name) == family)
    # every convolution's kernel gradient once per step
    assert ops("train_step", "Conv2DBackpropFilter") == convolutions
    assert 0 < profile["train_step"]["convolution_share"] <= 1 and profile["generate"]["wall_ms_per_call"] > 0
    step = profile["train_step"]
    assert step["convolution_gflops_per_s"] == pytest.approx(
        step["convolution_gflop"] / (step["convolution_ms_per_call"] / 1000.0))
    assert "convolution layers:" in captured.out and "% of the float32 GEMM" in captured.out


def test_profile_refuses_the_options_that_time_several_configs(capsys):
    code, captured = _main([*TINY_FLAGS, "--profile", "--levers"], capsys)
    assert code == 2 and "--profile profiles one config: drop --levers" in captured.err
    code, captured = _main([*TINY_FLAGS, "--profile", "--compare_models"], capsys)
    assert code == 2 and "drop --compare_models" in captured.err
