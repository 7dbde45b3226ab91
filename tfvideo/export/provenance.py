"""Where an export came from: the run's fingerprint, step and workdir, recorded in its metadata (the SavedModel's
assets.extra/tfvideo_metadata.json, the TFLite file's .tflite.json), and the check that a file is of a given run.

A run's fingerprint is a hash of the config fields that define its model and data (every field but
`config.RESUMABLE_FIELDS`; the model section holds the fields of the run's model only), so a run
resumed with another --train_steps keeps it and a run of another latent size, dataset or seed has another one.
"""

from __future__ import annotations

import hashlib
import json

from tfvideo import config as config_lib

FINGERPRINT_KEY = "run_fingerprint"


def fingerprint(config: config_lib.Config) -> str:
    """16 hex digits identifying the run-defining fields of `config` (see the module docstring)."""
    values = config.to_dict()
    kept = {f"{section}.{key}": value for section in config_lib.SECTIONS for key, value in values[section].items()
            if f"{section}.{key}" not in config_lib.RESUMABLE_FIELDS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def record(config: config_lib.Config, step: int, workdir: str) -> dict:
    """The metadata entries naming the run an export comes from."""
    return {FINGERPRINT_KEY: fingerprint(config), "step": int(step), "workdir": workdir,
            "config": json.loads(config.to_json())}


def origin_problem(metadata: dict, config: config_lib.Config, workdir: str, flag: str) -> str | None:
    """Why the export whose metadata is `metadata` (given as `flag`, e.g. "--tflite=FILE") is not of the run
    `config` in `workdir`, or None when it is. An export without metadata has no known origin: a problem too."""
    own = fingerprint(config)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("config"), dict):
        return (f"{flag} does not say which run it was exported from (no metadata file next to it, or one without "
                f"the run's config), so it cannot be checked against --workdir={workdir} (run {own})")
    try:
        origin = config_lib.Config.from_dict(metadata["config"]).validate()
        theirs = fingerprint(origin)
    except (config_lib.ConfigError, TypeError, ValueError, KeyError) as error:
        return f"{flag}: its metadata holds an unreadable run config ({error})"
    if theirs == own:
        return None
    differences = config_lib.run_defining_differences(config, origin)[:3]
    return (f"{flag} was exported from another run ({metadata.get('workdir')}, step {metadata.get('step')}, run "
            f"{theirs}) than --workdir={workdir} (run {own})"
            + (f"; they differ in {', '.join(differences)}" if differences else ""))
