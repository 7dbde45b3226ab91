"""The export benchmark's measurements (CLI: `python -m tfvideo.benchmarks.export`, also
`python -m tfvideo.export.benchmark`).

For each variant of a trained run, side by side: file size; the latency of one call at 1 and 2 interpreter
threads for each request shape (median of --runs calls, the variants interleaved call by call so that a change of
load on a shared machine hits them alike); the time to the first streamed frame (`stream_start` + one
`stream_next`, 2 threads, the first request's batch and samples); and best-of-N PSNR/SSIM on the run's test set
by the evaluation protocol (the `evaluate` function the caller passes to `measure_quality`: the CLI passes
`tfvideo.evaluation.eval_lib.evaluate`, with `--tflite` for the TFLite files), next to the float model's.

Variants: saved_model (the float reference, TensorFlow's own thread pool: one figure, under the 2-thread
columns), float32 / float16 / dynamic / int8 (dynamic-shape TFLite) and float32_fixed / float16_fixed / int8_fixed
(fixed-shape files, one per request shape, `--static_shape`).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time

import numpy as np
import tensorflow as tf

from tfvideo.export import calibration, lib, signatures
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import static_shape as static_shape_lib
from tfvideo.export import tflite as tflite_lib

VARIANTS = {"saved_model": None, "float32": ("none", False), "float16": ("float16", False),
            "dynamic": ("dynamic", False), "int8": ("int8", False), "float32_fixed": ("none", True),
            "float16_fixed": ("float16", True), "int8_fixed": ("int8", True)}
REQUESTS = ((1, 10, 10), (1, 100, 20))  # (videos, samples, horizon)
THREADS = (1, 2)


@dataclasses.dataclass
class Variant:
    name: str
    files: dict  # request (or "any") -> path
    size: int = 0
    latency: dict = dataclasses.field(default_factory=dict)  # (request, threads) -> [seconds]
    first_frame: list = dataclasses.field(default_factory=list)
    quality: dict = dataclasses.field(default_factory=dict)  # psnr, ssim


def export_variants(trained, workdir: str, export_dir: str, names, requests, dt: float, calibration_videos: int):
    """{name: Variant} with the files of every variant written to `export_dir`."""
    model, config = trained.model, trained.config
    metadata = lib.export_metadata(trained, workdir)
    contexts = None
    variants = {}
    for name in names:
        if VARIANTS[name] is None:
            path, _ = saved_model_lib.export_saved_model(model, export_dir, "benchmark", metadata=metadata)
            variants[name] = Variant(name, {"any": path}, lib._size(path))
            continue
        quantize, fixed = VARIANTS[name]
        if quantize == "int8" and contexts is None:
            contexts = calibration.training_contexts(config, calibration_videos, config.data.conditioning_frames)
        shapes = [static_shape_lib.StaticShape(*r, config.data.conditioning_frames, dt) for r in requests] \
            if fixed else [None]
        files = {}
        for shape in shapes:
            path = os.path.join(export_dir, f"benchmark_{tflite_lib.variant_name(quantize, shape)}.tflite")
            representative = None if quantize != "int8" else calibration.representative_dataset(
                model, contexts, shape, config.data.test_horizon, dt)
            tflite_lib.export_tflite(model, path, quantize, metadata, overwrite=True, static_shape=shape,
                                     representative=representative)
            files["any" if shape is None else (shape.batch, shape.num_samples, shape.horizon)] = path
        variants[name] = Variant(name, files, os.path.getsize(next(iter(files.values()))))
        print(f"  exported {name}: {', '.join(os.path.basename(p) for p in files.values())}", flush=True)
    return variants


def _callers(variant: Variant, request, threads: int, context, dt: float, seed: int):
    """(call, first_frame) functions of `variant` for `request`, or None where it cannot answer it."""
    _, num_samples, horizon = request
    if variant.name == "saved_model":
        if threads != max(THREADS):
            return None
        loaded = tf.saved_model.load(variant.files["any"])
        sig = {name: loaded.signatures[name] for name in ("serving_default", signatures.STREAM_START,
                                                          signatures.STREAM_NEXT)}
        inputs = dict(context=tf.constant(context), num_samples=tf.constant(num_samples), dt=tf.constant(dt),
                      seed=tf.constant(seed))

        def first():
            state = sig[signatures.STREAM_START](**inputs)
            return sig[signatures.STREAM_NEXT](**state)[signatures.FRAME].numpy()
        return (lambda: sig["serving_default"](**inputs, horizon=tf.constant(horizon))["frames"].numpy()), first
    path = variant.files.get("any", variant.files.get(tuple(request)))
    if path is None:
        return None
    runner = tflite_lib.TFLiteModel(path, num_threads=threads)
    call = lambda: runner(context, num_samples, horizon, dt, seed)
    first = (lambda: runner.stream_next(runner.stream_start(context, num_samples, dt=dt, seed=seed))[0]) \
        if runner.streams else None
    return call, first


def measure_latency(variants: dict, requests, context_frames: int, image_shape, dt: float, runs: int, seed: int = 0):
    """Fills `latency` (and `first_frame` for the first request at 2 threads), variants interleaved per call."""
    rng = np.random.default_rng(0)
    for request in requests:
        context = rng.uniform(size=(request[0], context_frames, *image_shape)).astype(np.float32)
        for threads in THREADS:
            callers = {name: _callers(v, request, threads, context, dt, seed) for name, v in variants.items()}
            callers = {name: c for name, c in callers.items() if c is not None}
            streaming = request == requests[0] and threads == max(THREADS)
            for call, first in callers.values():  # warm-up: tracing, allocation, delegate preparation
                call()
                if streaming and first:
                    first()
            for _ in range(runs):
                for name, (call, first) in callers.items():
                    variants[name].latency.setdefault((tuple(request), threads), []).append(_seconds(call))
                    if streaming and first:
                        variants[name].first_frame.append(_seconds(first))
            print(f"  measured {request} at {threads} thread(s); load average {load_average()}", flush=True)


def measure_quality(variants: dict, evaluate, num_samples: int, output_dir: str) -> None:
    """Fills each variant's `quality` with its best-of-num_samples PSNR/SSIM by `evaluate(tflite, horizon,
    output_dir)` -> {"psnr": mean, "ssim": mean} (tflite: the variant's file, None for the SavedModel; horizon:
    a fixed-shape file's, None for the run's test horizon). Fixed-shape variants without a file of 1 video x
    num_samples are left out."""
    for name, variant in variants.items():
        path, horizon = None, None
        if name != "saved_model":
            path = variant.files.get("any")
            if path is None:  # a fixed-shape file of the evaluation's request
                candidates = [p for r, p in variant.files.items() if r[:2] == (1, num_samples)]
                if not candidates:
                    continue
                path = candidates[-1]
                horizon = next(r[2] for r, p in variant.files.items() if p == path)
        variant.quality = evaluate(path, horizon, os.path.join(output_dir, f"quality_{name}"))
        print(f"  quality of {name}: PSNR {variant.quality['psnr']:.3f}, SSIM {variant.quality['ssim']:.4f}",
              flush=True)


def table(variants: dict, requests) -> str:
    """The markdown table of the measurements (latency: median seconds of the interleaved calls)."""
    columns = [(tuple(r), t) for r in requests for t in THREADS]
    head = ["variant", "size (MB)", *[f"{'x'.join(map(str, r))} {t} thr (s)" for r, t in columns],
            "first frame (s)", "PSNR", "SSIM"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    reference = variants.get("saved_model")
    for variant in variants.values():
        cells = [variant.name, f"{variant.size / 1e6:.2f}"]
        cells += [_median(variant.latency.get(c)) for c in columns]
        cells.append(_median(variant.first_frame))
        for metric, digits in (("psnr", 2), ("ssim", 4)):
            value = variant.quality.get(metric)
            cell = "-" if value is None else f"{value:.{digits}f}"
            if value is not None and reference is not None and reference.quality and variant is not reference:
                cell += f" ({value - reference.quality[metric]:+.{digits}f})"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median(values) -> str:
    return "-" if not values else f"{statistics.median(values):.3f}"


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())
