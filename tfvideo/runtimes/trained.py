"""`TrainedRun`: a training run's checkpoint as a runtime, sampling through `model.generate`."""

from __future__ import annotations

from tfvideo import runs
from tfvideo.export import lib as export_lib
from tfvideo.runtimes.base import Runtime
from tfvideo.runtimes.errors import ModelError
from tfvideo.runtimes.spec import ModelSpec


class TrainedRun(Runtime):
    """The newest checkpoint of a workdir (or the checkpoint of `step`, or with checkpoint="best" the best
    validation score's), restored strictly (`runs.load_trained_model`), its convolutional networks computing in
    `precision`. `sample_options` go to `model.generate` on every call (HAF-SVG's zeroed_groups)."""

    def __init__(self, workdir: str, step: int | None = None, precision: str = "float32",
                 checkpoint: str = "final"):
        try:
            self.trained = runs.load_trained_model(workdir, step, precision, checkpoint=checkpoint)
        except runs.RunError as error:
            raise ModelError(str(error)) from None
        self.model = self.trained.model
        self.sample_options: dict = {}
        self.metadata = export_lib.export_metadata(self.trained, workdir)
        self.spec = ModelSpec.of_metadata(self.metadata, f"--workdir={workdir} (step {self.trained.step})")

    skips_intermediate = True

    def _sample(self, context, num_samples, horizon, dt, seed, actions=None, include_intermediate=True):
        return self.model.generate(context, num_samples=num_samples, horizon=horizon, dt=dt, seed=seed,
                                   include_intermediate=include_intermediate, actions=actions,
                                   **self.sample_options)

    def origin_problem(self, config, workdir: str) -> str | None:
        return None  # the run itself
