"""The pieces every config section is made of: `ConfigError`, `field` (a default and its one description), and the
checks of a field's value (a choice, a count, a float32), each message naming the flag and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfvideo import validation

INT64_MAX = validation.INT64_MAX
_STEP_COUNTS = frozenset({"train_steps", "checkpoint_every", "log_every", "video_every", "max_nonfinite_steps",
                          "lr_burnin_steps", "lr_decay_steps"})  # bounded by INT64_MAX, other counts by int32


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the fix."""


def field(default: Any, help: str, choices: tuple[str, ...] = ()) -> Any:  # noqa: A002 - absl's word
    """A config field: its default, its description (the help of its flag, `tfvideo.flags`) and, for a field
    naming one of a few things, the `choices` (checked by `check_choices`)."""
    metadata = {"help": help, **({"choices": tuple(choices)} if choices else {})}
    return dataclasses.field(default=default, metadata=metadata)


def check_choices(section) -> None:
    """ConfigError naming the first field of `section` (a config dataclass) whose value is not one of its
    `choices`."""
    for item in dataclasses.fields(section):
        choices = item.metadata.get("choices")
        if choices:
            check_choice(item.name, getattr(section, item.name), choices)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"Unknown --{name}={value!r}; expected one of: {', '.join(choices)}.")


def check_float32(name: str, value: Any, positive: bool) -> None:
    """ConfigError unless `value` is a finite number that float32, the models' dtype, holds: > 0 and not below the
    smallest normal float32 when `positive`, else >= 0."""
    float32 = np.finfo(np.float32)
    validation.finite_number(value, f"--{name}", error=ConfigError, maximum=float(float32.max),
                             **({"minimum": float(float32.tiny)} if positive else {"minimum": 0.0}))


def check_positive_int(name: str, value: Any) -> None:
    """Counts of steps are int64s (the step counter); every other count is an int32, as TensorFlow shapes are."""
    maximum = INT64_MAX if name in _STEP_COUNTS else validation.INT32_MAX
    validation.positive_int(value, f"--{name}", error=ConfigError, maximum=maximum)


def as_flag(name: str, value: Any) -> str:
    """How `value` of field `name` reads on a command line: --name=value, or --name / --noname for a bool."""
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no{name}"
    return f"--{name}={value}"


def json_type(value: Any) -> str:
    """How a JSON value reads in an error, e.g. "a list []" or "null"."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a whole number",
             float: "a number"}
    return f"{names.get(type(value), type(value).__name__)} {repr(value)[:60]}"


def check_json_type(name: str, value: Any, default: Any) -> None:
    """ConfigError unless `value` has the JSON type of the field's `default`: a boolean, a whole number, a number
    (whole or not), a string, or (a default of None: data_dir) a string or null."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "a boolean"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    else:
        ok, kind = isinstance(value, str) or (default is None and value is None), "a string"
    if not ok:
        raise ConfigError(f"field {name} must be {kind}; got {json_type(value)}.")
