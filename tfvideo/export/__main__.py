"""Export CLI: `python -m tfvideo.export --workdir=RUN --format=saved_model|tflite --export_dir=DIR`.

A thin main over `tfvideo.export.lib.export`: restores the run's newest checkpoint strictly, then writes

- saved_model: DIR/<model_name>/<version>/ (TF Serving layout; the next free version unless --version);
- tflite: DIR/<model_name>_<float32|float16|dynamic>.tflite and its metadata .tflite.json (--quantize).

Exit status 0 on success, 2 with an `error:` line on a usage or export error.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from tfvideo import cli_logging  # noqa: E402

FLAGS = flags.FLAGS


def _define(kind, name, *args, **kwargs):
    """Defines a flag unless another tfvideo CLI loaded in this process already did (e.g. --workdir)."""
    if name not in FLAGS:
        kind(name, *args, **kwargs)


def define_flags() -> None:
    _define(flags.DEFINE_string, "workdir", None, "Training run to export (the --workdir given to tfvideo.train).")
    _define(flags.DEFINE_string, "export_dir", None, "Directory to export to. SavedModel: <export_dir>/<model_name>/"
                                                     "<version>/, the layout TF Serving loads.")
    _define(flags.DEFINE_enum, "format", "saved_model", ["saved_model", "tflite"], "Export format.")
    _define(flags.DEFINE_enum, "quantize", "none", ["none", "float16", "dynamic"],
            "TFLite weights: none (float32), float16, or dynamic (dynamic-range int8).")
    _define(flags.DEFINE_string, "model_name", None, "Model name in the export path (default: the run's --model).")
    _define(flags.DEFINE_integer, "version", None, "SavedModel version; default: the next free integer. An existing "
                                                   "version is never overwritten.")
    _define(flags.DEFINE_bool, "overwrite", False, "TFLite: replace an existing file of the same name.")
    _define(flags.DEFINE_bool, "extra_endpoints", True, "SavedModel: also export the model's extra signatures "
                                                        "(SRVP: latents, decode, content_swap).")


define_flags()



def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}: every option is a --flag (see --helpfull).")
    cli_logging.quiet_logs()
    from tfvideo.export import lib
    from tfvideo.export.errors import ExportError
    if not FLAGS.workdir or not FLAGS["workdir"].present:  # another CLI's flag definition may give a default
        print("error: --workdir must name the training run to export.", file=sys.stderr)
        return 2
    try:
        result = lib.export(FLAGS.workdir, FLAGS.export_dir, format=FLAGS.format, quantize=FLAGS.quantize,
                            model_name=FLAGS.model_name, version=FLAGS.version, overwrite=FLAGS.overwrite,
                            extra_endpoints=FLAGS.extra_endpoints)
    except ExportError as error:
        cli_logging.report_error(error)
        return 2
    what = f"version {result.version}" if result.format == "saved_model" else f"quantize={result.quantize}"
    print(f"Exported {result.format} ({what}, {result.size_bytes / 1e6:.2f} MB) to {result.path}; signatures: "
          f"{', '.join(result.endpoints)}.", flush=True)
    return 0


def run() -> None:
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
