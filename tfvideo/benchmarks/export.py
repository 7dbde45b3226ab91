"""Export benchmark: `python -m tfvideo.benchmarks.export --workdir=RUN [--variants=... --runs=5 ...]` (also
`python -m tfvideo.export.benchmark`, the console script `tfvideo-export-benchmark`).

Exports the run as every variant asked (--variants; see `tfvideo.benchmarks.export_lib`) into --export_dir (a
temporary directory by default) and prints, side by side in one table: each file's size; the latency of one call
at 1 and 2 LiteRT threads for 1 video x 10 samples x 10 frames and 1 x 100 x 20 (median of --runs calls, the
variants interleaved call by call); the time to the first streamed frame (1 x 10, 2 threads); and best-of-N
PSNR/SSIM on the first --quality_videos test videos (N = --quality_samples, the run's test horizon; the evaluation
protocol of `python -m tfvideo.evaluate`), with the difference from the float model (the saved_model row). The
machine's load averages are printed with the figures: run it on an idle machine.
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo.utils import cli_logging  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402

# The names of export_lib.VARIANTS (which says how each is exported), here without importing TensorFlow.
VARIANTS = ("saved_model", "float32", "float16", "dynamic", "int8", "float32_fixed", "float16_fixed", "int8_fixed")
DEFAULT_VARIANTS = ("saved_model", "float32", "float16", "float32_fixed", "int8_fixed")

CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "workdir", None, "Training run to export and benchmark.")
CLI.define(flags.DEFINE_string, "export_dir", None, "Where to write the exports (default: a temporary directory, "
                                                    "deleted at the end).")
CLI.define(flags.DEFINE_list, "variants", list(DEFAULT_VARIANTS), f"Variants to measure, among {', '.join(VARIANTS)} "
                                                                  "(saved_model is the quality reference).")
CLI.define(flags.DEFINE_float, "dt", 1.0, "Euler step 1/k of every request (the output has horizon * k frames).")
CLI.define(flags.DEFINE_integer, "runs", 5, "Timed calls per variant and request (after one warm-up call).")
CLI.define(flags.DEFINE_integer, "quality_videos", 50, "Test videos of the quality columns (0: no quality columns).")
CLI.define(flags.DEFINE_integer, "quality_samples", 100, "Samples per test video (best of N) of the quality columns.")
CLI.define(flags.DEFINE_integer, "calibration_videos", 256, "int8 variants: training clips to calibrate on.")


def run_benchmark(workdir: str, export_dir: str | None = None, variants=DEFAULT_VARIANTS, dt: float = 1.0,
                  runs: int = 5, quality_videos: int = 50, quality_samples: int = 100,
                  calibration_videos: int = 256, requests=None, out=sys.stdout) -> dict:
    """Exports, measures and prints the table to `out`; returns {name: export_lib.Variant}. `requests`:
    (videos, samples, horizon) of the latency columns (default: export_lib.REQUESTS)."""
    from tfvideo.benchmarks import export_lib
    from tfvideo.export import lib

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"--variants must be among {', '.join(VARIANTS)}; got {', '.join(variants) or 'none'}.")
    with tempfile.TemporaryDirectory(prefix="tfvideo_benchmark_") as tmp:
        export_dir = export_dir or tmp
        trained = lib.load_trained_model(workdir)
        config = trained.config
        requests = [tuple(r) for r in (requests or export_lib.REQUESTS)]
        quality_request = (1, quality_samples, config.data.test_horizon)
        fixed_requests = requests + ([quality_request] if quality_videos and quality_request not in requests else [])
        print(f"Model {config.model.model} from {trained.checkpoint}: {trained.model.count_params():,} parameters; "
              f"dt={dt:g}; median of {runs} interleaved calls; load average {export_lib.load_average()}.",
              file=out, flush=True)
        found = export_lib.export_variants(trained, workdir, export_dir, variants, fixed_requests, dt,
                                              calibration_videos)
        image = (trained.model.image_size, trained.model.image_size, trained.model.channels)
        export_lib.measure_latency(found, requests, config.data.conditioning_frames, image, dt, runs)
        if quality_videos:
            export_lib.measure_quality(found, evaluator(workdir, quality_videos, quality_samples), quality_samples,
                                          export_dir)
        print(export_lib.table(found, requests), file=out)
        print(f"Load average at the end: {export_lib.load_average()}.", file=out, flush=True)
        return found


def evaluator(workdir: str, num_videos: int, num_samples: int):
    """evaluate(tflite, horizon, output_dir) -> {"psnr", "ssim"}: the means of `python -m tfvideo.evaluate` on the
    first num_videos test videos of the run, best of num_samples (the quality columns of `export_lib`)."""
    from tfvideo.evaluation import eval_lib

    def evaluate(tflite, horizon, output_dir) -> dict:
        options = eval_lib.EvalOptions(num_samples=num_samples, num_videos=num_videos, horizon=horizon, tflite=tflite,
                                       output_dir=output_dir)
        results = eval_lib.evaluate(workdir, options)
        return {metric: results["metrics"][metric]["mean"] for metric in ("psnr", "ssim")}
    return evaluate


@cli_logging.interruptible()
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    cli_logging.quiet_logs()
    from tfvideo.export.errors import ExportError
    if not CLI.value("workdir"):
        print("error: --workdir must name a trained run.", file=sys.stderr)
        return 2
    for name in ("runs", "quality_samples", "calibration_videos"):
        if CLI.value(name) < 1:
            print(f"error: --{name} must be >= 1; got {CLI.value(name)}.", file=sys.stderr)
            return 2
    from tfvideo.evaluation.eval_lib import EvalError
    try:
        run_benchmark(*(CLI.value(name) for name in ("workdir", "export_dir", "variants", "dt", "runs",
                                                     "quality_videos", "quality_samples", "calibration_videos")))
    except (ExportError, EvalError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
