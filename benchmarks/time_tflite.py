"""Time one fixed-shape LiteRT file's request, as a column beside `benchmarks/side_by_side.py`'s.

    python benchmarks/time_tflite.py --model=exports/srvp_int8_1x100x20.tflite [--threads=2] [--repeats=3] \
        [--warmup=1] [--output=FILE]

The file must be a fixed-shape export (`python -m tfvideo.export --format=tflite --static_shape=B,S,H ...`): its
baked request (B videos, S futures of H frames) is called on random context frames in [0, 1] with the LiteRT
interpreter at --threads threads. Prints one JSON line, also written to --output: {"generate_s": median seconds
per call, "calls": [...], "request": "BxSxH", "threads", "cpu", "isa", "load_before"}. Exit status 2 with one
`error:` line for a missing, unreadable or dynamic-shape file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def time_file(path: str, threads: int, repeats: int, warmup: int) -> dict:
    """{"generate_s", "calls", "request", "threads"} of the file's baked request; ValueError for a dynamic file."""
    import numpy as np

    from tfvideo.export import tflite as tflite_lib
    model = tflite_lib.TFLiteModel(path, num_threads=threads)
    shape = model.static_shape
    if shape is None:
        raise ValueError(f"{path} has dynamic shapes; time a fixed-shape export (--static_shape=B,S,H).")
    frames = (shape["batch"], shape["context_frames"], model.image_size, model.image_size, model.channels)
    context = np.random.default_rng(0).uniform(size=frames).astype(np.float32)
    for _ in range(warmup):
        model(context)
    calls = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(context)
        calls.append(time.perf_counter() - start)
    return {"generate_s": statistics.median(calls), "calls": calls, "threads": threads,
            "request": f"{shape['batch']}x{shape['num_samples']}x{shape['horizon']}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a fixed-shape .tflite export")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.warmup < 0:
        print("error: --threads and --repeats must be >= 1 and --warmup >= 0.", file=sys.stderr)
        return 2
    from tfvideo.export.errors import ExportError
    from tfvideo.perf import machine
    load = os.getloadavg()[0]
    try:
        result = time_file(args.model, args.threads, args.repeats, args.warmup)
    except (ExportError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result.update(cpu=machine.cpu_model(), isa=machine.isa_summary(), load_before=load)
    line = json.dumps(result)
    print(line)
    if args.output:
        try:
            with open(args.output, "w") as handle:
                handle.write(line + "\n")
        except OSError as error:
            print(f"error: cannot write --output={args.output}: {error.strerror}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
