"""Declarative serving functions: what a model exports besides the generic `predict`.

A model lists them in `VideoPredictor.extra_serving_functions()`. Each is a plain function over inputs that
are already validated, with a description of those inputs and of its outputs; `tfvideo.export.signatures`
turns it into an exported endpoint (input signature, in-graph checks, static frame shapes). The models do not
import the export package.

Input kinds, and what the function receives for each (by keyword, under the input's name):

    frames  float32 videos [B, T, H, W, C] in [0, 1], T >= model.min_context_frames() (H, W, C static)
    count   int32 scalar >= 1 (num_samples, horizon)
    dt      float32 scalar 1/k; the function receives `steps_per_frame`, the int32 k, in its place
    seed    int32 scalar, any value
    states  float32 [B, S, F, size] latent states
    actions float32 [B, >= T - 1 + horizon, A] raw actions (`tfvideo.models.actions`), for the `predict` of an
            action-conditioned model
"""

from __future__ import annotations

import dataclasses
from typing import Callable

INPUT_KINDS = ("frames", "count", "dt", "seed", "states", "actions")


@dataclasses.dataclass(frozen=True)
class ServingInput:
    """One input: its name in the signature, its kind, and the checks beyond its kind's."""

    name: str
    kind: str
    same_batch_as: str | None = None  # another input whose batch size (first axis) this one must have
    size: int | None = None  # states: the size of the last axis

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"Unknown serving input kind {self.kind!r}; expected one of {INPUT_KINDS}.")


@dataclasses.dataclass(frozen=True)
class ServingFunction:
    """`fn(**inputs) -> {output name: tensor}` exported as the endpoint `name`; `outputs` documents each output."""

    name: str
    fn: Callable
    inputs: tuple[ServingInput, ...]
    description: str
    outputs: dict[str, str]


CONTEXT = ServingInput("context", "frames")
# The sampling inputs of `predict`, in its order: num_samples, horizon, dt, seed (as `VideoPredictor.generate`).
SAMPLING = (ServingInput("num_samples", "count"), ServingInput("horizon", "count"), ServingInput("dt", "dt"),
            ServingInput("seed", "seed"))
# The last input of an action-conditioned model's `predict`.
ACTIONS = ServingInput("actions", "actions", same_batch_as="context")


@dataclasses.dataclass(frozen=True)
class StreamingFunctions:
    """Frame-by-frame sampling, for an app that shows frames as they come: the futures of `predict` for the same
    inputs and seed, one Euler step (one decoded frame) per `next` call.

    start(context, num_samples, steps_per_frame, seed) -> state: {name: tensor}, after the context (no frame
        decoded yet); the inputs as `predict`'s (validated, steps_per_frame the int32 k of dt = 1/k).
    next(state) -> (frame float32 [B, S, H, W, C] in [0, 1], the next state): frame j of `predict`'s output.
    state: {name: (dtype name, shape)} of the state tensors; None in a shape stands for N = B * S rows.
    takes_actions: an action-conditioned model's: start also takes `actions` [B, >= T - 1, A] (the context's), and
        next(state, action [B, A]) the action of the frame it steps into.
    """

    start: Callable
    next: Callable
    state: dict[str, tuple[str, tuple]]
    takes_actions: bool = False
