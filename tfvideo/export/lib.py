"""Export library: load a trained run (`tfvideo.runs`, strictly: every model variable matched both ways), then
write a SavedModel or TFLite file. Every failure raises ExportError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

from tfvideo import runs
from tfvideo.export import calibration
from tfvideo.export import provenance
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import static_shape as static_shape_lib
from tfvideo.export import signatures
from tfvideo.export import tflite as tflite_lib
from tfvideo.export.errors import ExportError
from tfvideo.runs import TrainedModel
from tfvideo.utils import locks

FORMATS = ("saved_model", "tflite")


@dataclasses.dataclass
class ExportResult:
    format: str
    path: str  # SavedModel version directory or .tflite file
    size_bytes: int
    endpoints: list[str]
    version: int | None = None  # SavedModel version
    quantize: str | None = None  # TFLite variant
    static_shape: dict | None = None  # fixed-shape TFLite: the baked request (StaticShape fields)


def load_trained_model(workdir: str, step: int | None = None) -> TrainedModel:
    """`runs.load_trained_model`, raising ExportError when the run cannot be loaded."""
    try:
        return runs.load_trained_model(workdir, step)
    except runs.RunError as error:
        raise ExportError(str(error)) from None


def export(workdir: str, export_dir: str, format: str = "saved_model", quantize: str = "none",
           model_name: str | None = None, version: int | None = None, overwrite: bool = False,
           extra_endpoints: bool = True, static_shape: str | None = None, dt: float | None = None,
           calibration_videos: int = calibration.DEFAULT_CALIBRATION_VIDEOS) -> ExportResult:
    """Restores `workdir` strictly and exports it; see `python -m tfvideo.export --help`.

    saved_model: `<export_dir>/<model_name>/<version>/` (TF Serving layout; the next free version unless given;
    an existing version is never overwritten). tflite: `<export_dir>/<model_name>_<variant>.tflite` and its
    metadata `<...>.tflite.json` (an existing file is only replaced with overwrite=True); `static_shape`
    "BATCH,SAMPLES,HORIZON" bakes that request, dt (default: the training dt) and the run's context length in
    (`tfvideo.export.static_shape`); quantize="int8" calibrates on `calibration_videos` training clips.
    """
    if format == "saved_model" and (static_shape or dt is not None):
        raise ExportError("--static_shape and --dt apply to --format=tflite only; a SavedModel takes any shape.")
    if static_shape is None and dt is not None:
        raise ExportError("--dt is baked into fixed-shape files only (with --static_shape); the dynamic-shape file "
                          "takes dt as an input.")
    if format not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}; got {format!r}.")
    if quantize not in tflite_lib.QUANTIZATIONS:
        raise ExportError(f"--quantize must be one of {', '.join(tflite_lib.QUANTIZATIONS)}; got {quantize!r}.")
    if format == "saved_model" and quantize != "none":
        raise ExportError("--quantize applies to --format=tflite only; a SavedModel keeps float32 weights.")
    if not export_dir:
        raise ExportError("--export_dir must name the directory to export to.")
    trained = load_trained_model(workdir)
    model_name = model_name or trained.config.model.model
    if not model_name or os.sep in model_name or model_name in (".", ".."):
        raise ExportError(f"--model_name must be a plain directory name; got {model_name!r}.")
    metadata = export_metadata(trained, workdir)
    if format == "saved_model":
        target = os.path.join(export_dir, model_name, str(version)) if version is not None else None
        with _owning(target):  # an auto version is claimed by an atomic rename (saved_model_lib._publish)
            path, version = saved_model_lib.export_saved_model(trained.model, export_dir, model_name,
                                                               version=version, metadata=metadata,
                                                               extra_endpoints=extra_endpoints)
        names = [e.name for e in signatures.endpoints(trained.model, extras=extra_endpoints)]
        return ExportResult("saved_model", path, _size(path), ["serving_default", *names], version=version)
    model, config = trained.model, trained.config
    dt = config.model.dt if dt is None else dt
    shape = None if static_shape is None else \
        static_shape_lib.parse(static_shape, config.data.conditioning_frames, dt, model)
    path = os.path.join(export_dir, f"{model_name}_{tflite_lib.variant_name(quantize, shape)}.tflite")
    with _owning(path):  # one export per file: else the file and its metadata could come from two exports
        representative = None
        if quantize == "int8":
            contexts = calibration.training_contexts(config, calibration_videos, config.data.conditioning_frames)
            representative = calibration.representative_dataset(model, contexts, shape,
                                                                 config.data.test_horizon, dt)
        tflite_lib.export_tflite(model, path, quantize=quantize, metadata=metadata, overwrite=overwrite,
                                 static_shape=shape, representative=representative)
    names = [e.name for e in tflite_lib.tflite_endpoints(model, shape)]
    return ExportResult("tflite", path, _size(path), names, quantize=quantize,
                        static_shape=None if shape is None else shape.to_json())


@contextlib.contextmanager
def _owning(target: str | None):
    """Owns the export's file or version folder `target` for the block (`locks.hold_file`); ExportError when another
    live export writes it. None: nothing to own."""
    if target is None:
        yield
        return
    try:
        with locks.hold_file(target, "export", "--export_dir"):
            yield
    except locks.LockError as error:
        raise ExportError(str(error)) from None


def export_metadata(trained: TrainedModel, workdir: str) -> dict:
    """What a client needs besides the signatures: frame geometry, context length, dt support, the run."""
    model = trained.model
    return {
        "model": trained.config.model.model,
        "image_size": model.image_size,
        "channels": model.channels,
        "min_context_frames": model.min_context_frames(),
        "training_dt": trained.config.model.dt,
        "dt_supported": bool(model.continuous_time),
        "action_size": model.model_config.action_size if model.model_config.action_conditioned else 0,
        "checkpoint": trained.checkpoint,
        **provenance.record(trained.config, trained.step, os.path.abspath(workdir)),  # the run it comes from
    }


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
