"""Export benchmark: `python -m tfvideo.export.benchmark --workdir=RUN [--num_samples=100 --horizon=20 ...]`.

Exports the run as a SavedModel and as the three TFLite variants (float32, float16, dynamic-range) into
--export_dir (a temporary directory by default), then prints

- the size of each export;
- the latency of one call that samples --num_samples futures of --horizon frames for --num_videos videos
  (median and min of --runs timed calls after one warm-up call), for the SavedModel (reloaded with
  tf.saved_model.load, `serving_default`) and each TFLite variant (LiteRT interpreter, --threads threads);
- the max and mean absolute difference of each TFLite variant's frames from the SavedModel's, same inputs
  and seed.

The context is --num_videos random videos of the run's conditioning length (latency does not depend on the
pixels). Numbers depend on the machine and its load: run it on an idle machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from tfvideo.utils import cli_logging  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402

FORMATS = ("saved_model", "float32", "float16", "dynamic")


CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "workdir", None, "Training run to export and benchmark.")
CLI.define(flags.DEFINE_string, "export_dir", None, "Where to write the exports (default: a temporary directory, "
                                                    "deleted at the end).")
CLI.define(flags.DEFINE_integer, "num_samples", 100, "Futures sampled per video in one call.")
CLI.define(flags.DEFINE_integer, "horizon", 20, "Future frames per sample.")
CLI.define(flags.DEFINE_integer, "num_videos", 1, "Videos per call (the batch size).")
CLI.define(flags.DEFINE_float, "dt", 1.0, "Euler step 1/k (the output has horizon * k frames).")
CLI.define(flags.DEFINE_integer, "runs", 5, "Timed calls per format (after one warm-up call).")
CLI.define(flags.DEFINE_integer, "threads", 2, "LiteRT interpreter threads.")
CLI.define(flags.DEFINE_integer, "seed", 0, "Seed input of the calls.")
CLI.define(flags.DEFINE_list, "formats", list(FORMATS), "Formats to measure: saved_model (always run: the "
                                                         "reference), float32, float16, dynamic (TFLite variants).")


def run_benchmark(workdir: str, export_dir: str | None = None, num_samples: int = 100, horizon: int = 20,
                  batch_size: int = 1, dt: float = 1.0, runs: int = 5, threads: int = 2, seed: int = 0,
                  formats=FORMATS, out=sys.stdout) -> list[dict]:
    """Runs the benchmark and prints its table to `out` (a row as soon as it is measured); returns one dict
    per format. The errors are against the SavedModel's frames, so "saved_model" is always run."""
    import numpy as np
    import tensorflow as tf

    from tfvideo.export import lib
    from tfvideo.export import saved_model as saved_model_lib
    from tfvideo.export import tflite as tflite_lib

    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"--formats must be among {', '.join(FORMATS)}; got {sorted(unknown)}.")
    with tempfile.TemporaryDirectory(prefix="tfvideo_benchmark_") as tmp:
        export_dir = export_dir or tmp
        trained = lib.load_trained_model(workdir)
        model, config = trained.model, trained.config
        metadata = lib.export_metadata(trained, workdir)
        name = f"{config.model.model}_benchmark"
        print(f"Model {config.model.model} from {trained.checkpoint}: {model.count_params():,} parameters; "
              f"{batch_size} video(s) x {num_samples} samples x {horizon} frames, dt={dt:g}, median of {runs} "
              f"runs; LiteRT with {threads} thread(s).", file=out, flush=True)
        rng = np.random.default_rng(0)
        context = rng.uniform(size=(batch_size, config.data.conditioning_frames, model.image_size,
                                    model.image_size, model.channels)).astype(np.float32)
        inputs = dict(num_samples=num_samples, dt=dt, horizon=horizon, seed=seed)

        path, _ = saved_model_lib.export_saved_model(model, export_dir, name, metadata=metadata)
        loaded = tf.saved_model.load(path)
        serve = loaded.signatures["serving_default"]
        tf_inputs = dict(context=tf.constant(context), num_samples=tf.constant(num_samples, tf.int32),
                         dt=tf.constant(dt, tf.float32), horizon=tf.constant(horizon, tf.int32),
                         seed=tf.constant(seed, tf.int32))
        reference, times = _timed(lambda: serve(**tf_inputs)["frames"].numpy(), runs)
        rows = [dict(format="SavedModel", path=path, size=lib._size(path), times=times, max_err=None,
                     mean_err=None)]
        _print_header(out)
        _print_row(rows[0], out)
        for quantize in tflite_lib.QUANTIZATIONS:
            variant = tflite_lib.variant_name(quantize)
            if variant not in formats:
                continue
            file = os.path.join(export_dir, f"{name}_{variant}.tflite")
            tflite_lib.export_tflite(model, file, quantize=quantize, metadata=metadata, overwrite=True)
            runner = tflite_lib.TFLiteModel(file, num_threads=threads)
            frames, times = _timed(lambda: runner(context, **inputs), runs)
            diff = np.abs(frames - reference)
            rows.append(dict(format=f"TFLite {variant}", path=file, size=os.path.getsize(file), times=times,
                             max_err=float(diff.max()), mean_err=float(diff.mean())))
            _print_row(rows[-1], out)
        return rows


def _timed(fn, runs: int):
    result = fn()  # warm-up (tracing, allocation)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, times


def _print_header(out) -> None:
    print("| format | size (MB) | latency median (s) | min (s) | max abs err vs SavedModel | mean abs err |",
          file=out)
    print("|---|---|---|---|---|---|", file=out, flush=True)


def _print_row(row: dict, out) -> None:
    err = "-" if row["max_err"] is None else f"{row['max_err']:.2e}"
    mean = "-" if row["mean_err"] is None else f"{row['mean_err']:.2e}"
    print(f"| {row['format']} | {row['size'] / 1e6:.2f} | {statistics.median(row['times']):.3f} | "
          f"{min(row['times']):.3f} | {err} | {mean} |", file=out, flush=True)


@cli_logging.interruptible()
def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}: every option is a --flag.")
    cli_logging.quiet_logs()
    from tfvideo.export.errors import ExportError
    if not CLI.value("workdir"):
        print("error: --workdir must name a trained run.", file=sys.stderr)
        return 2
    for name in ("num_samples", "horizon", "num_videos", "runs", "threads"):
        if CLI.value(name) < 1:
            print(f"error: --{name} must be >= 1; got {CLI.value(name)}.", file=sys.stderr)
            return 2
    try:
        run_benchmark(*(CLI.value(name) for name in ("workdir", "export_dir", "num_samples", "horizon", "num_videos",
                                                     "dt", "runs", "threads", "seed")),
                      formats=CLI.value("formats"))
    except (ExportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
