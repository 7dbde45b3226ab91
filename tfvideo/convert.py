"""Conversion CLI: the authors' trained PyTorch models as tfvideo runs.

    python -m tfvideo.convert --from=srvp --source=EXPERIMENT_DIR --workdir=runs/NAME [--checkpoint=model.pt]

A thin main over `tfvideo.conversion.convert`: reads the original options and checkpoint without PyTorch (and
without running anything the file names), maps them to a tfvideo config and variables, and writes a new run
folder (config.json, checkpoints/, converted_from.json) that evaluate, predict and export take as --workdir.
Exit status 0 on success, 2 with one `error:` line on bad input (nothing written), 130 when interrupted.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo.utils import cli_logging  # noqa: E402

CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "from", None, "The original code of the checkpoint: srvp (an experiment folder of "
                                              "the SRVP code).")
CLI.define(flags.DEFINE_string, "source", None, "The original files: for --from=srvp, the experiment folder holding "
                                                "config.json and model.pt.")
CLI.define(flags.DEFINE_string, "workdir", None, "The new run folder to write (must not exist, or be empty).")
CLI.define(flags.DEFINE_string, "checkpoint", None, "For --from=srvp: the checkpoint file of the folder, model.pt "
                                                    "(default), model_best.pt or model_N.pt.")


def _convert(conversion) -> str:
    for name in ("from", "source", "workdir"):
        if not CLI.value(name):
            raise conversion.ConversionError(f"--{name} is required (python -m tfvideo.convert --from=srvp "
                                             "--source=DIR --workdir=runs/NAME).")
    workdir = conversion.convert(CLI.value("from"), CLI.value("source"), CLI.value("workdir"),
                                 CLI.value("checkpoint"))
    return f"Wrote the converted run {workdir}: evaluate, predict or export it with --workdir={workdir}."


@cli_logging.interruptible("Interrupted: nothing was written.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    cli_logging.quiet_logs()
    from tfvideo import conversion
    try:
        print(_convert(conversion), flush=True)
    except conversion.ConversionError as error:
        cli_logging.report_error(error)
        return 2
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
