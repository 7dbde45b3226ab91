"""Logging and exits shared by tfvideo's CLIs.

Every CLI's `main` is wrapped in `interruptible` (Ctrl-C anywhere in it, start-up included, ends with one line
and exit status 130, no traceback) and its console script / `python -m` entry point is `run_main(main)`.
"""

from __future__ import annotations

import functools
import logging as std_logging
import os
import re
import sys
import threading

from absl import app
from absl import flags
from absl import logging

INTERRUPTED = 130  # exit status after Ctrl-C (128 + SIGINT), as shells report it
BAD_INPUT = 2  # exit status of a usage or input error (`error:` line)


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


def interruptible(message: str = "Interrupted (Ctrl-C)."):
    """Decorator for a CLI's `main(argv) -> int`: a KeyboardInterrupt that `main` does not handle itself prints
    `message` on one line of stderr and returns INTERRUPTED, instead of a traceback."""
    def decorate(main):
        @functools.wraps(main)
        def wrapped(argv):
            try:
                return main(argv)
            except KeyboardInterrupt:
                print(f"\n{message}", file=sys.stderr, flush=True)
                return INTERRUPTED
        return wrapped
    return decorate


def run_main(main, argv=None) -> None:
    """The entry point of a CLI: `absl.app.run(main)`, exiting with the status `main` returns.

    Ctrl-C while absl parses the flags also exits with INTERRUPTED and one line. After an interruption the process
    exits at once even when library threads are still busy (e.g. TFDS download workers retrying), which
    Python's normal exit would wait for.
    """
    try:
        app.run(lambda args: _exit(main(args)), argv=argv, flags_parser=parse_flags)
    except KeyboardInterrupt:
        print("\nInterrupted (Ctrl-C).", file=sys.stderr, flush=True)
        _exit(INTERRUPTED)


def check_no_arguments(argv: list[str]) -> None:
    """A usage error (exit status 2) when arguments that are not flags follow the program name: every option of a
    tfvideo CLI is a --flag. The entry points (`parse_flags`) refuse them first, with one `error:` line; this
    guards a `main` called in process."""
    problem = _stray_arguments(argv)
    if problem:
        raise app.UsageError(f"error: {problem}", exitcode=BAD_INPUT)


def parse_flags(args: list[str]) -> list[str]:
    """absl's flag parsing for `app.run`, with the status of every other bad input: a bad flag (unknown name, value
    of the wrong type, unreadable flagfile) prints one `error:` line and exits with status 2."""
    try:
        argv = flags.FLAGS(args)
    except (flags.Error, UnicodeDecodeError, OSError) as error:  # a flagfile that is not text, or unreadable
        message = re.sub(r"^ERROR:+\s*", "", " ".join(str(error).split()))  # absl's flagfile errors start so
        print(f"error: {message}. Pass --helpshort or --helpfull to see the flags.", file=sys.stderr, flush=True)
        sys.exit(BAD_INPUT)
    problem = _stray_arguments(argv) or flag_like_value(flags.FLAGS)
    if problem:
        print(f"error: {problem}", file=sys.stderr, flush=True)
        sys.exit(BAD_INPUT)
    return argv


def _stray_arguments(argv: list[str]) -> str | None:
    if len(argv) > 1:
        return f"Unexpected arguments {argv[1:]}: every option is a --flag (see --helpfull)."
    return None


def flag_like_value(flag_values=flags.FLAGS) -> str | None:
    """The problem when a given text flag (a path, a name, a list) has a value that starts with "-": the flag was
    given without its value (`--workdir` alone on a flagfile line takes the next line, `--train_steps=1`, as its
    value), so it is refused rather than used as a folder or file name."""
    for name in sorted(set(flag_values)):
        flag = flag_values[name]
        if not flag.present or flag.boolean or flag.flag_type() not in ("string", "comma separated list of strings"):
            continue
        values = flag.value if isinstance(flag.value, list) else [flag.value]
        bad = next((v for v in values if isinstance(v, str) and v.startswith("-")), None)
        if bad is not None:
            return (f"--{name}={bad}: the value looks like a flag (was --{name} given without a value, e.g. alone on "
                    f"a flagfile line?). Give --{name}=VALUE; a name that starts with '-' can be written "
                    f"./{bad}.")
    return None


def _exit(code) -> None:
    if code == INTERRUPTED and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                                   if t is not threading.current_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        std_logging.shutdown()
        os._exit(code)
    sys.exit(code)
