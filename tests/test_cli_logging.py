"""CLIs quiet INFO logs unless --verbosity is given."""

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
