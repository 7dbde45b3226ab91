"""SavedModel export in the layout TF Serving loads: `<export_dir>/<model_name>/<version>/`.

Written with `keras.export.ExportArchive` (`add_endpoint` + `write_out`): unlike `tf.saved_model.save` of a
tf.Module holding a Keras 3 model, it loads in the session-based loader of TF Serving and `saved_model_cli`.
The archive is written to a hidden temporary directory beside the versions and renamed into place, so a
server watching `<export_dir>/<model_name>` never sees a half-written version, and an existing version is never
overwritten. `assets.extra/tfvideo_export.json` describes the model (frame size, context length, endpoints).
"""

from __future__ import annotations

import json
import os
import shutil

import keras
import tensorflow as tf

from tfvideo import validation
from tfvideo.export import signatures
from tfvideo.export.errors import ExportError

METADATA_FILE = os.path.join("assets.extra", "tfvideo_export.json")


def existing_versions(base: str) -> list[int]:
    """Integer version directories in `base` (what TF Serving would serve), sorted."""
    if not os.path.isdir(base):
        return []
    return sorted(int(name) for name in os.listdir(base)
                  if name.isdigit() and os.path.isdir(os.path.join(base, name)))


def build_archive(model, extra_endpoints: bool = True) -> tuple[keras.export.ExportArchive, list]:
    """An ExportArchive with `predict` (aliased `serving_default`) and the model's extra endpoints."""
    archive = keras.export.ExportArchive()
    endpoints = signatures.endpoints(model, validate=True, static_frames=False, extras=extra_endpoints)
    for endpoint in endpoints:
        archive.add_endpoint(endpoint.name, endpoint.fn, endpoint.input_signature)
    # write_out registers the first endpoint (predict) as "serving_default" too.
    return archive, endpoints


def export_saved_model(model, export_dir: str, model_name: str, version: int | None = None,
                       metadata: dict | None = None, extra_endpoints: bool = True) -> tuple[str, int]:
    """Writes the SavedModel to `<export_dir>/<model_name>/<version>`; returns (path, version).

    version None takes the next integer after the existing versions (1 for the first). A given version that
    already exists raises ExportError: published versions are never overwritten.
    """
    if version is not None:  # TF Serving's versions are int64s
        validation.positive_int(version, "--version", error=ExportError, maximum=validation.INT64_MAX)
    base = os.path.join(export_dir, model_name)
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as error:
        raise ExportError(f"Cannot create {base!r} ({error.strerror}); choose another --export_dir.") from None
    if version is not None and os.path.exists(os.path.join(base, str(version))):
        raise ExportError(f"{os.path.join(base, str(version))} already exists; exported versions are never "
                          f"overwritten. Omit --version to write version {_next(base)}, or pass an unused one.")
    tmp = os.path.join(base, f".tmp-export-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive, endpoints = build_archive(model, extra_endpoints)
        try:
            archive.write_out(tmp, verbose=False)
            meta = dict(metadata or {})
            meta["endpoints"] = {e.name: _describe(e) for e in endpoints}
            meta["endpoints"]["serving_default"] = {"same_as": endpoints[0].name}
            os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
            with open(os.path.join(tmp, METADATA_FILE), "w") as handle:
                json.dump(meta, handle, indent=2, sort_keys=True)
        except (tf.errors.OpError, OSError) as error:  # a full disk, lost permissions
            reason = error.message if isinstance(error, tf.errors.OpError) else (error.strerror or str(error))
            reason = reason.strip().splitlines()[-1][-200:] if reason.strip() else type(error).__name__
            raise ExportError(f"Cannot write the SavedModel in {base} ({reason}); nothing was published. Free disk "
                              "space or choose another --export_dir.") from None
        return _publish(tmp, base, version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _next(base: str) -> int:
    versions = existing_versions(base)
    return versions[-1] + 1 if versions else 1


def _publish(tmp: str, base: str, version: int | None) -> tuple[str, int]:
    """Renames `tmp` to `base/<version>` atomically; with version None retries on a concurrent export."""
    for _ in range(100):
        chosen = _next(base) if version is None else version
        final = os.path.join(base, str(chosen))
        if not os.path.exists(final):
            try:
                os.rename(tmp, final)  # fails if another export created a non-empty `final` meanwhile
                return final, chosen
            except OSError:
                pass
        if version is not None:
            raise ExportError(f"{final} already exists; exported versions are never overwritten.")
    raise ExportError(f"Could not find a free version in {base}.")


def _describe(endpoint) -> dict:
    return {
        "description": endpoint.description,
        "inputs": {spec.name: {"dtype": spec.dtype.name, "shape": _shape(spec.shape)}
                   for spec in endpoint.input_signature},
        "outputs": endpoint.outputs,
    }


def _shape(shape) -> list | None:
    return None if shape.rank is None else [d if d is not None else -1 for d in shape.as_list()]
