"""Runs a tfvideo TFLite export in the LiteRT interpreter and writes the sampled futures as a GIF.

    python export/run_tflite.py --model=exports/srvp_float32.tflite --context=video.mp4 \
        --num_samples=3 --horizon=10 --dt=0.5 --seed=0 --output=futures.gif [--save_npy=futures.npy]

--context: a video file (mp4, avi, gif, ...), a folder of frames or an .npy ([T, H, W, C] or [B, T, H, W, C],
floats in [0, 1] or uint8), read as `python -m tfvideo.predict` reads its --input: through the preprocessing of
the run (from the metadata file beside the model). The first --context_frames frames are used (default: the
training run's conditioning frames, from the metadata file, else every frame). The GIF shows one row per video:
the context (green border), then one column per sample (red border). The outputs are checked before sampling
(an existing file is replaced only with --overwrite) and the inputs on the host (TFLite drops the SavedModel's
in-graph checks). An action-conditioned model takes --actions=FILE.npy|.csv (raw [T, A], the reader of
`python -m tfvideo.predict --actions`; the same actions for every video). Exit status 2 with one `error:` line on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys

# Runs from a checkout without `pip install -e .` too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help=".tflite file written by python -m tfvideo.export")
    parser.add_argument("--context", required=True, help="context frames: a video file, a frame folder or .npy")
    parser.add_argument("--context_frames", type=int, default=None, help="frames of --context to condition on")
    parser.add_argument("--num_samples", type=int, default=None, help="default: 3 (a fixed-shape file: its own)")
    parser.add_argument("--horizon", type=int, default=None, help="future frames at the training frame rate "
                        "(default: 10; a fixed-shape file: its own)")
    parser.add_argument("--dt", type=float, default=None, help="Euler step 1/k: horizon * k frames are written "
                        "(default: 1; a fixed-shape file: its own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--actions", default=None, help="action-conditioned models only (and required by them): "
                        "raw actions [T, A] as .npy or .csv, row 0 at the first context frame (docs/actions.md)")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads")
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--output", required=True, help="GIF to write")
    parser.add_argument("--save_npy", default=None, help="also save the frames [B, S, F, H, W, C] as .npy")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return parser.parse_args(argv)


def _request(model, args) -> dict:
    """num_samples, horizon and dt: the flags given, else the file's baked ones (fixed shape) or 3, 10 and 1."""
    defaults = model.static_shape or {"num_samples": 3, "horizon": 10, "dt": 1.0}
    return {name: defaults[name] if getattr(args, name) is None else getattr(args, name)
            for name in ("num_samples", "horizon", "dt")}


def main(argv=None) -> int:
    args = parse_args(argv)
    from tfvideo import validation
    from tfvideo.export import client_lib
    from tfvideo.export.errors import ExportError
    from tfvideo.export.tflite import TFLiteModel

    try:
        client_lib.check_outputs(args.output, args.save_npy, overwrite=args.overwrite)
        validation.finite_number(args.fps, "--fps", error=client_lib.ClientError, above=0, maximum=100)
        if args.threads is not None:
            validation.positive_int(args.threads, "--threads", error=client_lib.ClientError, maximum=1024)
        model = TFLiteModel(args.model, num_threads=args.threads)
        num_frames = args.context_frames
        if num_frames is None:
            num_frames = model.metadata.get("config", {}).get("data", {}).get("conditioning_frames")
        rule = client_lib.preprocessing(model.image_size, model.channels, model.metadata)
        context = client_lib.read_context(args.context, rule, num_frames)
        request = _request(model, args)  # a fixed-shape file's own shape unless asked otherwise
        client_lib.check_request(context, request["num_samples"], request["horizon"], request["dt"], args.seed,
                                 dt_supported=model.dt_supported)
        actions = client_lib.request_actions(args.actions, bool(model.action_size), context, request["horizon"],
                                             f"--model={args.model}", model.action_size)
        start = time.perf_counter()
        frames = model(context, **request, seed=args.seed, actions=actions)  # a fixed-shape file refuses another shape
        elapsed = time.perf_counter() - start
        client_lib.write_outputs(context, frames, args.output, args.save_npy, fps=args.fps)
    except (ExportError, ValueError, RuntimeError) as error:  # LiteRT reports failed allocations as RuntimeError
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Sampled {frames.shape[1]} futures of {frames.shape[2]} frames for {frames.shape[0]} video(s) in "
          f"{elapsed:.2f} s; wrote {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
