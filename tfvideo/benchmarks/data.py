"""Input pipeline throughput CLI: `python -m tfvideo.benchmarks.data --flagfile=configs/kth.flags --data_dir=DIR`
(also `python -m tfvideo.data.benchmark`, the console script `tfvideo-data-benchmark`). What it measures:
`tfvideo.benchmarks.data_lib`. Prints a table and JSON (also written to `--output`).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo import validation  # noqa: E402
from tfvideo.utils import cli_logging, files, memory  # noqa: E402

flags_lib.define_config_flags()
FLAGS = flags.FLAGS
CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_integer, "batches", 20, "Timed training batches.")
CLI.define(flags.DEFINE_integer, "warmup", 3, "Untimed training batches first (pipeline start-up, autotuning).")
CLI.define(flags.DEFINE_integer, "test_videos", 64, "Test videos read for the test throughput.")
CLI.define(flags.DEFINE_bool, "fake", False, "Benchmark on generated source files in the dataset's layout.")
CLI.define(flags.DEFINE_integer, "fake_scale", 2, "With --fake: multiplies the number of generated videos.")
CLI.define(flags.DEFINE_string, "output", None, "Also write the results as JSON to this file.")


def _check_options(config, error) -> None:
    """`error` for counts out of range; OutputPathError for an --output that cannot be written; MemoryLimitError for
    a batch that cannot fit in memory. All before any data is read."""
    for name in ("batches", "test_videos", "fake_scale"):
        validation.positive_int(CLI.value(name), f"--{name}", error=error)
    if CLI.value("warmup") < 0:
        raise error(f"--warmup must be a whole number >= 0; got {CLI.value('warmup')}.")
    if CLI.value("output") is not None:  # before the measurements, which would otherwise be lost
        files.check_output_path(CLI.value("output"), overwrite=True)
    memory.check_fits(memory.training_bytes(config), f"A training batch of --batch_size={config.train.batch_size} "
                      f"videos x --seq_len={config.data.seq_len} frames", "lower --batch_size or --seq_len")


@cli_logging.interruptible()
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    from tfvideo import config as config_lib  # pylint: disable=g-import-not-at-top
    from tfvideo.benchmarks import data_lib  # pylint: disable=g-import-not-at-top
    from tfvideo.data import errors, mnist_digits  # pylint: disable=g-import-not-at-top

    try:
        config = flags_lib.config_from_flags(FLAGS)
        _check_options(config, config_lib.ConfigError)
        result = data_lib.measure(config, CLI.value("batches"), CLI.value("warmup"), CLI.value("test_videos"),
                                  CLI.value("fake"), CLI.value("fake_scale"))
    except (config_lib.ConfigError, errors.DatasetUnavailableError, mnist_digits.DigitsUnavailableError,
            files.OutputPathError, memory.MemoryLimitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(result))
    output = CLI.value("output")
    if output:
        files.atomic_write(output, json.dumps(result, indent=2))
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
