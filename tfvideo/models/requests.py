"""The one check of a sampling request: S futures of N frames at dt = 1/k from Tc context frames, for a model.

`check` holds every rule, each with one wording (the problem, then the fix):

- num_samples S and horizon N are whole numbers >= 1 (`validation.positive_int`);
- dt is 1/k for a whole number k from 1 to `validation.MAX_STEPS_PER_FRAME`, and 1 for a discrete-time model
  (`validation.frame_steps`; the exported graph asserts the same rule in the same words, `tfvideo.export.checks`);
- the context has at least the model's `min_context_frames`.

Callers give the names of the values as their users spell them (`flags=True`: "--num_samples", else "num_samples"),
the exception class they raise (as `tfvideo.models.actions.read_actions_file` does), and what they know of the
model: a built model (`for_model`), or the facts an export's metadata records (`continuous_time`,
`min_context_frames`). dt in float32 (`precision`) repeats the exported signatures' arithmetic, so a host accepts
exactly what the graph accepts.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfvideo import validation


@dataclasses.dataclass(frozen=True)
class SamplingRequest:
    """A checked request: S futures of horizon * k frames (k Euler steps per frame) from context_frames frames."""

    num_samples: int
    horizon: int
    dt: float
    steps_per_frame: int  # k of dt = 1/k
    context_frames: int | None  # None: not known when checked (e.g. the context is not read yet)

    @property
    def num_frames(self) -> int:
        """Predicted frames per future, F = horizon * k."""
        return self.horizon * self.steps_per_frame


def check(num_samples, horizon, dt, context_frames=None, *, continuous_time: bool, min_context_frames: int = 1,
          who: str = "this model", flags: bool = False, error: type[ValueError] = ValueError,
          precision=np.float64, context_name: str = "context_frames") -> SamplingRequest:
    """The request of `num_samples` futures of `horizon` frames at `dt`, from `context_frames` frames (None: not
    checked), for a model with (or without) `continuous_time` reading at least `min_context_frames`; `error`
    naming the value (and `who`, the model) otherwise. `context_name` names the context length (a Python caller
    given frames [B, T, ...]: "context length T")."""
    name = (lambda value: f"--{value}") if flags else (lambda value: value)
    num_samples = validation.positive_int(num_samples, name("num_samples"), error=error)
    horizon = validation.positive_int(horizon, name("horizon"), error=error)
    k = validation.frame_steps(dt, name("dt"), continuous_time=continuous_time, who=who, error=error,
                               precision=precision)
    if context_frames is not None:
        context_frames = validation.positive_int(context_frames, name(context_name), error=error)
        if context_frames < min_context_frames:
            raise error(f"{name(context_name)}={context_frames}: {who} needs at least {min_context_frames} "
                        f"context frames (it infers its state from them). Give at least {min_context_frames}.")
    return SamplingRequest(num_samples, horizon, float(dt), k, context_frames)


def for_model(model, num_samples, horizon, dt=None, context_frames=None, **options) -> SamplingRequest:
    """`check` for a built `VideoPredictor` (`continuous_time`, `min_context_frames()`); dt None takes the model's
    training dt. `options` go to `check` (who, flags, error, precision)."""
    options.setdefault("who", f"model '{model.model_config.model}'")
    return check(num_samples, horizon, model.model_config.dt if dt is None else dt, context_frames,
                 continuous_time=model.continuous_time, min_context_frames=model.min_context_frames(), **options)
