"""Training CLI: `python -m tfvideo.train --flagfile=configs/quickstart.flags [--workdir=...]`.

Parses flags, freezes them into a Config and calls `train_lib.train`. Rerunning the same command resumes.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo.utils import cli_logging  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402

flags_lib.define_config_flags()
FLAGS = flags.FLAGS


@cli_logging.interruptible("Interrupted (Ctrl-C); rerun the same command to resume.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    from tfvideo import config as config_lib
    from tfvideo.training import checkpointing, train_lib
    from tfvideo.data import errors as data_errors, mnist_digits
    from tfvideo.utils import memory
    cli_logging.quiet_tensorflow_logs()
    try:
        config = flags_lib.config_from_flags(FLAGS)
        result = train_lib.train(config)
    except (config_lib.ConfigError, checkpointing.WorkdirError, mnist_digits.DigitsUnavailableError,
            data_errors.DatasetUnavailableError, FloatingPointError, memory.MemoryLimitError) as error:
        cli_logging.report_error(error)
        return 2
    if result.metrics:
        terms = ", ".join(f"{k}={v:.4g}" for k, v in result.metrics.items())
        print(f"Finished at step {result.step}: {terms}", flush=True)
    return 130 if result.interrupted else 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
