"""Logging shared by tfvideo's CLIs."""

from __future__ import annotations

from absl import flags
from absl import logging


def quiet_logs(flag_values=flags.FLAGS) -> None:
    """INFO logs of tracing and saving drown a CLI's result: show warnings and errors unless --verbosity was
    given on the command line."""
    if not flag_values["verbosity"].present:
        import tensorflow as tf
        logging.set_verbosity(logging.WARNING)
        tf.get_logger().setLevel("WARNING")
