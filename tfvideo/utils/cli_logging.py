"""Logging shared by tfvideo's CLIs."""

from __future__ import annotations

import logging as std_logging
import os
import sys

from absl import flags
from absl import logging


def quiet_logs(flag_values=flags.FLAGS) -> None:
    """INFO logs of tracing and saving drown a CLI's result: show warnings and errors unless --verbosity was
    given on the command line."""
    if not flag_values["verbosity"].present:
        import tensorflow as tf
        logging.set_verbosity(logging.WARNING)
        tf.get_logger().setLevel("WARNING")


def quiet_tensorflow_logs(flag_values=flags.FLAGS) -> None:
    """Keeps tfvideo's INFO logs (data, checkpoints) but hides the INFO chatter of TensorFlow and Keras (one
    "Sharding callback duration" line per checkpoint) unless --verbosity was given on the command line."""
    if flag_values["verbosity"].present:
        return
    handler = logging.get_absl_handler()
    if not any(isinstance(f, _LibraryInfoFilter) for f in handler.filters):
        handler.addFilter(_LibraryInfoFilter())


class _LibraryInfoFilter(std_logging.Filter):
    """Drops records below WARNING that come from files of the tensorflow, keras or tensorflow_datasets
    packages."""

    PACKAGES = ("tensorflow", "keras", "tensorflow_datasets")

    def filter(self, record) -> bool:
        if record.levelno >= std_logging.WARNING:
            return True
        parts = os.path.normpath(record.pathname).split(os.sep)
        return not any(package in parts for package in self.PACKAGES)


def report_error(error) -> None:
    """Prints `error: <message>` to stderr once. The absl log gets it too only when it goes to a file
    (--log_dir), where it would otherwise be missing; on the terminal it would be a second copy."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    stream = getattr(logging.get_absl_handler().python_handler, "stream", None)
    if stream is not None and stream not in (sys.stderr, sys.__stderr__):
        logging.error("%s", error)
