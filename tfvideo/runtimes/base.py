"""`Runtime`: a model that samples futures, with one sampling method for every kind of model (see the package
docstring)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfvideo.export import provenance
from tfvideo.models import InvalidInputError
from tfvideo.runtimes.errors import ModelError
from tfvideo.runtimes.spec import ModelSpec


class Runtime:
    """A model that samples futures: `spec` says what it takes, `metadata` is its run's export metadata (what
    `python -m tfvideo.export` writes beside the model; for a workdir what an export of it would write)."""

    spec: ModelSpec
    metadata: dict
    # `_sample(context, num_samples, horizon, dt, seed, actions=None)` returns every Euler step's frame; a runtime
    # that can leave the intermediate ones out itself (`TrainedRun`) takes include_intermediate=False too.
    skips_intermediate = False

    def sample(self, context: np.ndarray, num_samples: int, horizon: int, dt: float, seed: int,
               actions: np.ndarray | None = None, include_intermediate: bool = True) -> np.ndarray:
        """context float32 [B, T, H, W, C] in [0, 1] (and raw actions [B, >= T - 1 + horizon, A] for an
        action-conditioned model), dt = 1/k, an int32 seed -> float32 futures [B, S, F, H, W, C] in [0, 1],
        F = horizon * k (every Euler step's frame), or horizon (the frames at the training frame rate) without
        `include_intermediate`. The same inputs and seed give the same futures from every runtime. ModelError
        when the model refuses the inputs or runs out of memory."""
        extra = {} if actions is None else {"actions": actions}
        if not include_intermediate and self.skips_intermediate:
            extra["include_intermediate"] = False
        try:
            frames = np.asarray(self._sample(context, num_samples, horizon, dt, seed, **extra), np.float32)
        except (tf.errors.ResourceExhaustedError, MemoryError):
            raise ModelError(f"{self.spec.source} ran out of memory sampling {num_samples} futures at once: ask for "
                             "fewer futures per call (predict: lower --batch_samples).") from None
        except (InvalidInputError, tf.errors.InvalidArgumentError) as error:
            raise ModelError(f"{self.spec.source} refused the inputs: {first_line(error)}") from None
        if include_intermediate or frames.shape[2] == horizon:
            return frames
        k = frames.shape[2] // horizon  # an export returns every Euler step's frame: keep each k-th, t = 1, 2, ...
        return frames[:, :, k - 1::k]

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None):
        raise NotImplementedError  # pragma: no cover - abstract

    def origin_problem(self, config, workdir: str) -> str | None:
        """Why this model is not of the run `config` in `workdir` (its metadata names another run, or none), or
        None when it is (`export.provenance.origin_problem`)."""
        return provenance.origin_problem(self.metadata, config, workdir, self.spec.source)

    def origin(self) -> dict:
        """The run this model comes from, as its metadata names it: {"run_fingerprint", "workdir", "step"}."""
        return {key: self.metadata.get(key) for key in (provenance.FINGERPRINT_KEY, "workdir", "step")}

    def check_request(self, batch: int, context_frames: int, num_samples: int, horizon: int, dt: float) -> None:
        """ModelError when the model cannot answer this request whatever its values (a fixed-shape file asked
        another shape); a model with dynamic shapes answers every request."""


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
