"""The one road from a trained model to its futures: a run folder (--workdir), an exported SavedModel
(--saved_model) or a TFLite file (--tflite), behind one interface that `evaluate` and `predict` both use.

- `open_runtime` opens exactly one of them: `TrainedRun` (`trained`), `SavedModelRuntime` or `TFLiteRuntime`
  (`exports`);
- each has a `spec` (`ModelSpec`, `spec`: frame geometry, context length, dt support and the preprocessing of the
  run's data; for a workdir what an export of the run would write in its metadata), its `metadata`, and one
  sampling method, `sample(context, num_samples, horizon, dt, seed, actions=None, include_intermediate=True)` ->
  float32 frames [B, S, horizon * k, H, W, C] (dt = 1/k; [B, S, horizon, ...] without include_intermediate);
- all three sample with the model's seeded noise (`tfvideo.models.noise`), so the same inputs and seed give the
  same futures from each: exactly from a SavedModel, to float32 rounding from LiteRT. Several calls from one user
  seed take their seeds from `noise.draw_seed`.

Every failure raises `ModelError` (a ValueError) naming the flag and the fix.
"""

from __future__ import annotations

from tfvideo.runtimes.base import Runtime
from tfvideo.runtimes.errors import ModelError
from tfvideo.runtimes.exports import SavedModelRuntime, TFLiteRuntime, saved_model_dir
from tfvideo.runtimes.spec import ModelSpec
from tfvideo.runtimes.trained import TrainedRun

__all__ = ["ModelError", "ModelSpec", "Runtime", "SavedModelRuntime", "TFLiteRuntime", "TrainedRun", "open_runtime",
           "saved_model_dir"]


def open_runtime(*, workdir: str | None = None, step: int | None = None, saved_model: str | None = None,
                 tflite: str | None = None, precision: str = "float32", checkpoint: str = "final") -> Runtime:
    """The runtime of exactly one of `workdir` (with `step` or `checkpoint`, and the sampling `precision`),
    `saved_model` and `tflite`; ModelError otherwise."""
    given = [name for name, value in (("--workdir", workdir), ("--saved_model", saved_model), ("--tflite", tflite))
             if value]
    if len(given) != 1:
        got = f"got {' and '.join(given)}" if given else "got none"
        raise ModelError(f"Give exactly one model: --workdir=RUN (a trained run), --saved_model=DIR or "
                         f"--tflite=FILE (exports of python -m tfvideo.export); {got}.")
    if step is not None and not workdir:
        raise ModelError("--step picks a checkpoint of --workdir; an export holds one model.")
    if precision != "float32" and not workdir:
        raise ModelError(f"--precision={precision} applies to a --workdir's checkpoint: an export keeps the "
                         "precision it was exported with. Drop --precision.")
    if checkpoint != "final" and not workdir:
        raise ModelError(f"--checkpoint={checkpoint} picks the run's weights: an export holds its own. Drop "
                         "--checkpoint.")
    if workdir:
        return TrainedRun(workdir, step, precision, checkpoint)
    if saved_model:
        return SavedModelRuntime(saved_model)
    return TFLiteRuntime(tflite)
