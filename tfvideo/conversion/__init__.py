"""Checkpoints of the original PyTorch codes -> tfvideo run folders (`python -m tfvideo.convert`).

`convert(kind, source, workdir, checkpoint=None)` reads the original files with the converter `CONVERTERS[kind]`
and writes an ordinary tfvideo run folder (`common.write_run`) that `runs.load_trained_model`, evaluate,
predict and export read as a trained run. A converter is a module with

- `read(source, checkpoint) -> common.Original`: the tfvideo Config of the original options and the file's
  tensors (ConversionError naming the file or the option it cannot map);
- `map_variables(model, tensors) -> list[common.Mapped]`: every variable of the model built from that Config,
  from the tensors (checked in both directions by `common.assign_all`).
"""

from __future__ import annotations

import os

from tfvideo import config as config_lib
from tfvideo.conversion import common
from tfvideo.conversion import srvp

CONVERTERS = {"srvp": srvp}
ConversionError = common.ConversionError


def convert(kind: str, source: str, workdir: str, checkpoint: str | None = None) -> str:
    """Converts `source` (read by converter `kind`) into the new run folder `workdir`; returns the workdir.
    ConversionError (nothing written) on bad input: see the converters and `common`."""
    from tfvideo.models import build_model  # TensorFlow, after the cheap checks
    if kind not in CONVERTERS:
        raise ConversionError(f"--from={kind!r}: expected one of {', '.join(sorted(CONVERTERS))}.")
    common.check_workdir(workdir)
    converter = CONVERTERS[kind]
    original = converter.read(source, checkpoint)
    config = original.config.replace(train={"workdir": workdir})
    try:
        model = build_model(config.validate())
    except (config_lib.ConfigError, ValueError) as error:
        raise ConversionError(f"the converted config builds no tfvideo model: {error}") from None
    common.assign_all(model, original.tensors, converter.map_variables(model, original.tensors),
                      original.source_file)
    provenance = {"converter": kind, "source": os.path.abspath(original.source_file),
                  "sha256": common.sha256(original.source_file), "options": original.options,
                  "step": common.CONVERTED_STEP}
    return common.write_run(config, model, provenance)
