"""CLIs quiet INFO logs unless --verbosity is given."""

import logging as std_logging
import sys

from absl import flags
from absl import logging

from tfvideo.utils import cli_logging


def test_quiet_unless_verbosity_given():
    values = flags.FlagValues()
    values.mark_as_parsed()
    flags.DEFINE_integer("verbosity", 0, "log level", flag_values=values)
    before = logging.get_verbosity()
    try:
        logging.set_verbosity(logging.INFO)
        cli_logging.quiet_logs(values)
        assert logging.get_verbosity() == logging.WARNING
        logging.set_verbosity(logging.INFO)
        values(["prog", "--verbosity=0"])
        cli_logging.quiet_logs(values)
        assert logging.get_verbosity() == logging.INFO
    finally:
        logging.set_verbosity(before)


def test_report_error_prints_once_and_logs_only_to_a_log_file(capsys, tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(cli_logging.logging, "error", lambda fmt, *args: logged.append(fmt % args))
    handler = logging.get_absl_handler().python_handler
    monkeypatch.setattr(handler, "stream", sys.stderr)
    cli_logging.report_error(ValueError("--batch_size must be >= 1; got 0."))
    assert capsys.readouterr().err == "error: --batch_size must be >= 1; got 0.\n" and logged == []
    with open(tmp_path / "log.txt", "w") as log_file:  # --log_dir: absl writes to a file
        monkeypatch.setattr(handler, "stream", log_file)
        cli_logging.report_error(ValueError("--data_dir /nope does not exist."))
    assert capsys.readouterr().err == "error: --data_dir /nope does not exist.\n"
    assert logged == ["--data_dir /nope does not exist."]


def _record(level, pathname):
    return std_logging.LogRecord("absl", level, pathname, 1, "message", None, None)


def test_library_info_hidden_unless_verbosity_given(monkeypatch):
    values = flags.FlagValues()
    values.mark_as_parsed()
    flags.DEFINE_integer("verbosity", 0, "log level", flag_values=values)
    handler = logging.get_absl_handler()
    monkeypatch.setattr(handler, "filters", [])
    values(["prog", "--verbosity=0"])
    cli_logging.quiet_tensorflow_logs(values)
    assert handler.filters == []
    values.unparse_flags()
    values.mark_as_parsed()
    cli_logging.quiet_tensorflow_logs(values)
    cli_logging.quiet_tensorflow_logs(values)  # idempotent
    assert len(handler.filters) == 1
    saver = "/usr/lib/python3/site-packages/tensorflow/python/checkpoint/functional_saver.py"
    assert not handler.filter(_record(std_logging.INFO, saver))
    assert handler.filter(_record(std_logging.WARNING, saver))
    assert not handler.filter(_record(std_logging.INFO, "/site-packages/keras/src/trainers/trainer.py"))
    assert handler.filter(_record(std_logging.INFO, "/work/tfvideo/checkpointing.py"))
