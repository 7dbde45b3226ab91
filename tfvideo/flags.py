"""absl flags for the CLIs, one per config field (same name), and their freezing into a `Config`.

Defaults are the SRVP paper's Stochastic Moving MNIST settings, but for --initialization and --adam_update (Keras');
`configs/*.flags` list only what differs.
"""

from __future__ import annotations

from absl import flags

from tfvideo import config as config_lib


def define_config_flags(flag_values=flags.FLAGS) -> None:
    """Defines one flag per config field (every model's fields, DataConfig's and TrainConfig's), its help the
    field's description (`config_lib.help_text`); idempotent."""
    for fields in config_lib.config_fields().values():
        for field in fields:
            if field.name not in flag_values:
                _define(field.name, field.default, config_lib.help_text(field), flag_values)


def _define(name: str, default, help_text: str, flag_values) -> None:
    if isinstance(default, bool):
        flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
    elif isinstance(default, int):
        flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
    elif isinstance(default, float):
        flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
    else:
        flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def config_from_flags(flag_values=flags.FLAGS) -> config_lib.Config:
    """Freezes parsed flags into a validated Config (raises ConfigError with the flag name on bad values).

    A flag not given on the command line (or in a flagfile) takes the config field's default, not the flag's:
    another CLI imported into the same process may have defined a flag of the same name first (e.g. --dt)."""
    given = {section: {f.name: flag_values[f.name].value for f in fields if flag_values[f.name].present}
             for section, fields in config_lib.config_fields().items()}
    return config_lib.Config().replace(**given).validate()


def given_config_args(flag_values=flags.FLAGS) -> list[str]:
    """The config flags given on the command line (or in a flagfile), as arguments, e.g. ["--batch_size=16"]."""
    names = [f.name for fields in config_lib.config_fields().values() for f in fields]
    return [flag_values[name].serialize() for name in names if name in flag_values and flag_values[name].present]


def config_from_flagfile(path: str, args: list[str] | tuple[str, ...] = ()) -> config_lib.Config:
    """The validated Config of a flagfile (e.g. configs/svg_bair.flags) with `args` given after it (e.g.
    ["--batch_size=16"]), read apart from the process's flags. ConfigError when the flagfile cannot be read."""
    values = flags.FlagValues()
    define_config_flags(values)
    try:
        values(["tfvideo", f"--flagfile={path}", *args])
    except flags.Error as error:
        given = f" with {' '.join(args)}" if args else ""
        raise config_lib.ConfigError(f"Cannot read the flagfile {path!r}{given}: {error}") from None
    return config_from_flags(values)


class SharedFlag(flags.Flag):
    """A flag name that CLIs imported into one process define with different types (benchmark's boolean
    --input, predict's path --input). It keeps the raw text given (`--name=text`, or "true" / "false" for
    `--name` / `--noname`), which each CLI's `CliFlags.value` parses with its own flag's parser."""

    def __init__(self, name: str):
        super().__init__(flags.ArgumentParser(), flags.ArgumentSerializer(), name, None,
                         "Defined by several tfvideo CLIs with different types; see each CLI's --help.", boolean=True)


class CliFlags:
    """One CLI's own flags in the process-wide absl FLAGS.

    tfvideo's CLIs share one flag namespace when several are imported into one process (tests, notebooks), and
    they use some of the same names with different defaults (--warmup, --dt, --workdir, ...). `define` skips a
    name that is already defined, and `value(name)` returns the flag's value when it was given on the command
    line, else THIS CLI's default, whichever module defined the flag first. A name already defined with another
    type becomes a `SharedFlag`, whose text `value` parses as this CLI defined it.
    """

    def __init__(self, flag_values=flags.FLAGS):
        self.flag_values = flag_values
        self.defaults: dict = {}
        self.own = flags.FlagValues()  # this CLI's flags as it defines them (their parsers read shared flags)

    def define(self, kind, name: str, default, help_text: str, **kwargs) -> None:
        """`kind` is an absl DEFINE_* function; `kwargs` go to it (e.g. `enum_values=` for DEFINE_enum)."""
        self.defaults[name] = default
        kind(name, default, help=help_text, flag_values=self.own, **kwargs)
        if name not in self.flag_values:
            kind(name, default, help=help_text, flag_values=self.flag_values, **kwargs)
        elif not isinstance(self.flag_values[name], SharedFlag) and \
                not _same_kind(self.flag_values[name], self.own[name]):
            delattr(self.flag_values, name)
            flags.DEFINE_flag(SharedFlag(name), flag_values=self.flag_values)

    def value(self, name: str):
        flag = self.flag_values[name]
        if not flag.present and name in self.defaults:
            return self.defaults[name]
        if isinstance(flag, SharedFlag) and name in self.defaults:
            try:
                return self.own[name].parser.parse(flag.value)
            except ValueError as error:
                raise flags.IllegalFlagValueError(f"--{name}={flag.value}: {error}") from None
        return flag.value

    def given(self, name: str) -> bool:
        """Whether --name was given on the command line (or in a flagfile)."""
        return bool(self.flag_values[name].present)


def _same_kind(a: flags.Flag, b: flags.Flag) -> bool:
    """Whether two flags parse the same texts the same way (same parser type, boolean-ness and enum values)."""
    return type(a.parser) is type(b.parser) and a.boolean == b.boolean and \
        getattr(a.parser, "enum_values", None) == getattr(b.parser, "enum_values", None)
