"""Input pipeline throughput: `python -m tfvideo.data.benchmark --flagfile=configs/kth.flags --data_dir=DIR`.

Measures, for the configured dataset: the time to open the data source (`open_s`: first run includes building
frame caches), the first training batch (`first_batch_s`), training windows per second over `--batches`
batches after `--warmup` (`train_windows_per_s`), and test videos per second (`test_videos_per_s`). With
`--fake`, generated source files in the dataset's real layout and frame geometry are prepared in a temporary
folder first (for machines without the real data; the figures then say `"data": "fake"`). Prints a table and
JSON (also written to `--output`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

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


def run_benchmark(data_config, batch_size: int, batches: int = 20, warmup: int = 3, test_videos: int = 64) -> dict:
    """Throughput figures of `data_config`'s pipeline (see the module docstring)."""
    from tfvideo.data import registry  # pylint: disable=g-import-not-at-top

    start = time.perf_counter()
    source = registry.get_data_source(data_config)
    open_s = time.perf_counter() - start
    iterator = iter(source.train_stream(batch_size, seed=0, start_index=0))
    start = time.perf_counter()
    next(iterator)
    first_batch_s = time.perf_counter() - start
    for _ in range(max(0, warmup - 1)):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
    train_s = time.perf_counter() - start
    num_test = min(test_videos, source.num_test_videos)
    start = time.perf_counter()
    read = sum(len(b) for b in source.test_batches(min(32, max(1, num_test)), 0, num_test))
    test_s = time.perf_counter() - start
    return {"dataset": data_config.dataset, "description": source.description, "batch_size": batch_size,
            "window_shape": list(batch.shape[1:]), "open_s": round(open_s, 3), "first_batch_s": round(first_batch_s, 3),
            "train_windows_per_s": round(batches * batch_size / train_s, 1),
            "train_batch_ms": round(1000 * train_s / batches, 1),
            "test_videos_per_s": round(read / max(test_s, 1e-9), 1), "cpu_count": os.cpu_count()}


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
    from tfvideo.data import errors, fake_data, mnist_digits  # pylint: disable=g-import-not-at-top

    fake_root = None
    try:
        config = flags_lib.config_from_flags(FLAGS)
        _check_options(config, config_lib.ConfigError)
        fake_root = tempfile.mkdtemp(prefix="tfvideo_data_bench_") if CLI.value("fake") else None
        data = config.data
        if fake_root:
            clip_len = max(data.seq_len, data.conditioning_frames + data.test_horizon)
            data_dir = fake_data.make_fake_dataset(data.dataset, fake_root, clip_len, scale=CLI.value("fake_scale"))
            data = config.replace(data={"data_dir": data_dir}).data
        result = run_benchmark(data, config.train.batch_size, CLI.value("batches"), CLI.value("warmup"),
                               CLI.value("test_videos"))
    except (config_lib.ConfigError, errors.DatasetUnavailableError, mnist_digits.DigitsUnavailableError,
            files.OutputPathError, memory.MemoryLimitError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if fake_root:
            shutil.rmtree(fake_root, ignore_errors=True)
    result["data"] = "fake" if fake_root else "real"
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
