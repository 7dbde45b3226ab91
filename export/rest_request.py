"""Builds the TF Serving REST request body for a tfvideo SavedModel (and optionally sends it).

    python export/rest_request.py --context=video.npy --num_samples=3 --horizon=10 --dt=1 --seed=0 > body.json
    curl -s -X POST -d @body.json http://localhost:8501/v1/models/srvp:predict > response.json

The body uses the columnar form: {"signature_name": ..., "inputs": {"context": [...], "num_samples": 3,
"dt": 1.0, "horizon": 10, "seed": 0}}. The row form ("instances") cannot carry the scalar inputs, which have
no batch dimension. The response is {"outputs": [B][S][F][H][W][C]} (the only output, `frames`).
With --url the script POSTs the body itself and writes the futures as a GIF (--output) or .npy (--save_npy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request

# Runs from a checkout without `pip install -e .` too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", required=True, help="context frames: .npy or .gif")
    parser.add_argument("--image_size", type=int, default=64, help="model frame size (for .gif resizing)")
    parser.add_argument("--channels", type=int, default=1, help="model channels (for .gif conversion)")
    parser.add_argument("--context_frames", type=int, default=None, help="first frames of --context to use")
    parser.add_argument("--num_samples", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--dt", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signature_name", default="serving_default")
    parser.add_argument("--url", default=None, help="e.g. http://localhost:8501/v1/models/srvp:predict")
    parser.add_argument("--output", default=None, help="with --url: GIF of the futures")
    parser.add_argument("--save_npy", default=None, help="with --url: save the frames as .npy")
    return parser.parse_args(argv)


def main(argv=None, out=sys.stdout) -> int:
    args = parse_args(argv)
    import numpy as np

    from tfvideo.export import client_lib

    try:
        context = client_lib.read_context(args.context, args.image_size, args.channels, args.context_frames)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    body = client_lib.rest_body_json(context, args.num_samples, args.dt, args.horizon, args.seed,
                                     args.signature_name)
    if args.url is None:
        out.write(body + "\n")
        return 0
    request = urllib.request.Request(args.url, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        frames = np.asarray(json.loads(response.read())["outputs"], np.float32)
    if args.output:
        client_lib.write_samples_gif(args.output, context, frames)
    if args.save_npy:
        np.save(args.save_npy, frames)
    print(f"Received frames {frames.shape}.", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
