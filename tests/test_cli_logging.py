"""CLIs quiet INFO logs unless --verbosity is given."""

import sys

from absl import flags
from absl import logging

from tfvideo import cli_logging


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
