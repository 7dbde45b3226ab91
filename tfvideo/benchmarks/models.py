"""The model benchmark CLI: `python -m tfvideo.benchmarks.models` (also `python -m tfvideo.benchmark`, the console
script `tfvideo-benchmark`; `python -m tfvideo.bench_models` is its `--compare_models`). What it measures and prints:
`tfvideo.benchmarks.models_lib`.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import config as config_lib  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo import validation  # noqa: E402
from tfvideo.benchmarks import models_lib  # noqa: E402
from tfvideo.benchmarks.models_lib import PARAMETER_CONFIGS, TIMING_CONFIGS  # noqa: E402
from tfvideo.utils import cli_logging, files, memory  # noqa: E402

flags_lib.define_config_flags()
FLAGS = flags.FLAGS
CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_integer, "num_samples", 100, "Futures sampled for one video.")
CLI.define(flags.DEFINE_integer, "horizon", 20, "Future frames per sample.")
CLI.define(flags.DEFINE_integer, "warmup", 2, "Untimed calls before timing (tracing, allocation).")
CLI.define(flags.DEFINE_integer, "repeats", 5, "Timed calls; the median is reported.")
CLI.define(flags.DEFINE_bool, "input", False, "Also measure the input pipeline (needs the dataset).")
CLI.define(flags.DEFINE_multi_string, "variant", [], "FIELD=VALUE[,FIELD=VALUE...]: one A/B variant (repeatable).")
CLI.define(flags.DEFINE_string, "output", None, "Also write the results as JSON to this file.")
CLI.define(flags.DEFINE_bool, "levers", False, "Time `auto` next to every fixed choice of each speed lever "
           "(precision, kernel_grad, fused_batch_norm, jit_compile), interleaved, with the GEMM rate of this machine.")
CLI.define(flags.DEFINE_bool, "profile", False, "Profile the training step and one generate call op by op "
           "(TensorFlow's profiler, --repeats calls each): every kernel's time per call and the largest ops, "
           "instead of the timing table. One config: not with --variant, --levers, --input or --compare_models.")
CLI.define(flags.DEFINE_bool, "compare_models", False, "Compare the papers' models: parameter counts of "
           "--param_configs, then the times of --timing_configs (interleaved) with their ratios to SRVP.")
CLI.define(flags.DEFINE_list, "param_configs", list(PARAMETER_CONFIGS), "With --compare_models: flagfiles (names "
           "in configs/, or paths) whose models' parameters are counted.")
CLI.define(flags.DEFINE_list, "timing_configs", list(TIMING_CONFIGS), "With --compare_models: flagfiles (names "
           "in configs/, or paths) whose models are timed.")
CLI.define(flags.DEFINE_bool, "skip_timing", False, "With --compare_models: parameter counts only.")


def _check_counts() -> None:
    for name in ("num_samples", "horizon", "repeats"):
        validation.positive_int(CLI.value(name), f"--{name}", error=config_lib.ConfigError)
    if CLI.value("warmup") < 0:
        raise config_lib.ConfigError(f"--warmup must be a whole number >= 0; got {CLI.value('warmup')}.")


def _measure() -> dict:
    """The measurements the flags ask for, printed; ConfigError on a bad flag or flagfile."""
    _check_counts()
    counts = (CLI.value(name) for name in ("num_samples", "horizon", "warmup", "repeats"))
    others = [f"--{name}" for name in ("variant", "levers", "input", "compare_models") if CLI.value(name)]
    if CLI.value("profile") and others:
        raise config_lib.ConfigError(f"--profile profiles one config: drop {', '.join(others)}, or drop --profile.")
    if CLI.value("compare_models"):
        return models_lib.compare_models(CLI.value("param_configs"), CLI.value("timing_configs"),
                                         flags_lib.given_config_args(FLAGS), *counts,
                                         timing=not CLI.value("skip_timing"))
    config = flags_lib.config_from_flags(FLAGS)
    if CLI.value("profile"):
        return models_lib.profile_model(config, *counts)
    if CLI.value("levers"):
        if CLI.value("variant") or CLI.value("input"):
            raise config_lib.ConfigError("--levers times its own variants (auto and each fixed choice), without the "
                                         "input pipeline: drop --variant and --input, or drop --levers.")
        return models_lib.measure_levers(config, *counts)
    configs = {text: models_lib.parse_variant(config, text) for text in CLI.value("variant")} or {"run": config}
    runs = models_lib.run_variants(configs, *counts, CLI.value("input"))
    print(models_lib.format_table(runs))
    return runs[0] if len(runs) == 1 else {"variants": runs}


@cli_logging.interruptible()
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    try:
        if CLI.value("output") is not None:  # before the measurements, which would otherwise be lost
            files.check_output_path(CLI.value("output"), overwrite=True)
        results = _measure()
    except (config_lib.ConfigError, files.OutputPathError, memory.MemoryLimitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(results, sort_keys=True))
    if CLI.value("output"):
        files.atomic_write(CLI.value("output"), json.dumps(results, indent=2, sort_keys=True))
    return 0


def run() -> None:
    """The console script `tfvideo-benchmark`."""
    cli_logging.run_main(main)


def run_compare_models() -> None:
    """`run` with --compare_models (`python -m tfvideo.bench_models`)."""
    cli_logging.run_main(main, argv=[sys.argv[0], "--compare_models", *sys.argv[1:]])


if __name__ == "__main__":
    run()
