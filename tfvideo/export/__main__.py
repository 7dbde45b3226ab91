"""Export CLI: `python -m tfvideo.export --workdir=RUN --format=saved_model|tflite --export_dir=DIR`.

A thin main over `tfvideo.export.lib.export`: restores the run's newest checkpoint strictly, then writes

- saved_model: DIR/<model_name>/<version>/ (TF Serving layout; the next free version unless --version);
- tflite: DIR/<model_name>_<float32|float16|dynamic|int8>[_<BxSxH>].tflite and its metadata .tflite.json
  (--quantize; --static_shape=B,S,H for a fixed-shape file).

Exit status 0 on success, 2 with an `error:` line on a usage or export error.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo.utils import cli_logging  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402


CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "workdir", None, "Training run to export (the --workdir given to tfvideo.train).")
CLI.define(flags.DEFINE_string, "export_dir", None, "Directory to export to. SavedModel: <export_dir>/<model_name>/"
                                                    "<version>/, the layout TF Serving loads.")
CLI.define(flags.DEFINE_enum, "format", "saved_model", "Export format.", enum_values=["saved_model", "tflite"])
CLI.define(flags.DEFINE_enum, "quantize", "none", "TFLite: none (float32), float16 (weights), dynamic (dynamic-range "
                                                  "int8 weights) or int8 (full-integer convolutions, calibrated on "
                                                  "the run's training data).",
           enum_values=["none", "float16", "dynamic", "int8"])
CLI.define(flags.DEFINE_string, "static_shape", None, "TFLite: BATCH,SAMPLES,HORIZON baked into a fixed-shape file "
                                                      "(with dt and the run's context length); default: dynamic "
                                                      "shapes.")
CLI.define(flags.DEFINE_float, "dt", None, "With --static_shape: the baked Euler step 1/k (default: the training dt).")
CLI.define(flags.DEFINE_integer, "calibration_videos", 256, "--quantize=int8: training clips of the run's dataset "
                                                            "to calibrate on.")
CLI.define(flags.DEFINE_string, "model_name", None, "Model name in the export path (default: the run's --model).")
CLI.define(flags.DEFINE_integer, "version", None, "SavedModel version; default: the next free integer. An existing "
                                                  "version is never overwritten.")
CLI.define(flags.DEFINE_bool, "overwrite", False, "TFLite: replace an existing file of the same name.")
CLI.define(flags.DEFINE_bool, "extra_endpoints", True, "SavedModel: also export the model's extra signatures "
                                                       "(SRVP: latents, decode, content_swap).")


@cli_logging.interruptible("Interrupted (Ctrl-C): nothing was exported.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    cli_logging.quiet_logs()
    from tfvideo.export import lib
    from tfvideo.export import static_shape as static_shape_lib
    from tfvideo.export.errors import ExportError
    if not CLI.value("workdir"):
        print("error: --workdir must name the training run to export.", file=sys.stderr)
        return 2
    try:
        result = lib.export(CLI.value("workdir"), CLI.value("export_dir"), format=CLI.value("format"),
                            quantize=CLI.value("quantize"), model_name=CLI.value("model_name"),
                            version=CLI.value("version"), overwrite=CLI.value("overwrite"),
                            extra_endpoints=CLI.value("extra_endpoints"), static_shape=CLI.value("static_shape"),
                            dt=CLI.value("dt"), calibration_videos=CLI.value("calibration_videos"))
    except ExportError as error:
        cli_logging.report_error(error)
        return 2
    what = f"version {result.version}" if result.format == "saved_model" else f"quantize={result.quantize}"
    if result.static_shape:
        what += ", fixed shape " + static_shape_lib.StaticShape(**result.static_shape).describe()
    print(f"Exported {result.format} ({what}, {result.size_bytes / 1e6:.2f} MB) to {result.path}; signatures: "
          f"{', '.join(result.endpoints)}.", flush=True)
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
