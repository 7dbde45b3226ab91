"""Builds the TF Serving REST request body for a tfvideo SavedModel (and optionally sends it).

    python export/rest_request.py --context=video.npy --num_samples=3 --horizon=10 --dt=1 --seed=0 > body.json
    curl -s -X POST -d @body.json http://localhost:8501/v1/models/srvp:predict > response.json

The body uses the columnar form: {"signature_name": ..., "inputs": {"context": [...], "num_samples": 3,
"dt": 1.0, "horizon": 10, "seed": 0}}. The row form ("instances") cannot carry the scalar inputs, which have
no batch dimension. The response is {"outputs": [B][S][F][H][W][C]} (the only output, `frames`).
With --url the script POSTs the body itself and writes the futures as a GIF (--output) or .npy (--save_npy).
--context is read as `python -m tfvideo.predict` reads its --input (a video file, a frame folder or an .npy;
the folder dataset's frame rule at --image_size and --channels); the request and the output paths are checked
before anything is sent (an existing file is replaced only with --overwrite). An action-conditioned export takes
--actions=FILE.npy|.csv (raw [T, A], the reader of `python -m tfvideo.predict --actions`; the same actions for
every video), sent as the `actions` input; with --url the script first asks the server's model metadata
(GET .../metadata) whether the signature takes actions and refuses a missing or unwanted --actions. Exit status 2 with one `error:`
line on bad input or a failed call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

# Runs from a checkout without `pip install -e .` too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", required=True, help="context frames: a video file, a frame folder or .npy")
    parser.add_argument("--image_size", type=int, default=64, help="model frame size (frames are resized to it)")
    parser.add_argument("--channels", type=int, default=1, help="model channels (frames are converted to them)")
    parser.add_argument("--context_frames", type=int, default=None, help="first frames of --context to use")
    parser.add_argument("--num_samples", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--dt", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--signature_name", default="serving_default")
    parser.add_argument("--actions", default=None, help="action-conditioned models only (and required by them): "
                        "raw actions [T, A] as .npy or .csv, row 0 at the first context frame (docs/actions.md)")
    parser.add_argument("--url", default=None, help="e.g. http://localhost:8501/v1/models/srvp:predict")
    parser.add_argument("--output", default=None, help="with --url: GIF of the futures")
    parser.add_argument("--save_npy", default=None, help="with --url: save the frames as .npy")
    parser.add_argument("--timeout", type=float, default=600.0, help="with --url: seconds")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return parser.parse_args(argv)


def metadata_url(url: str) -> str:
    """TF Serving's model metadata URL of a predict URL: .../v1/models/NAME[/versions/N]:predict -> .../metadata."""
    return (url[:-len(":predict")] if url.endswith(":predict") else url.rstrip("/")) + "/metadata"


def takes_actions(args) -> bool:
    """Whether the signature served at --url has an `actions` input (the server's model metadata); without --url,
    whether --actions is given (the server checks the body it gets)."""
    from tfvideo.export import client_lib

    if args.url is None:
        return args.actions is not None
    return client_lib.takes_actions(_call(args, urllib.request.Request(metadata_url(args.url))),
                                    args.signature_name, args.url)


def post(args, body: str):
    """The futures float32 [B, S, F, H, W, C] the server at --url returns for `body`; ClientError when the call
    fails or the answer is not a tfvideo prediction."""
    import numpy as np

    from tfvideo.export import client_lib

    request = urllib.request.Request(args.url, data=body.encode(), headers={"Content-Type": "application/json"})
    answer = _call(args, request)
    if not isinstance(answer, dict) or "outputs" not in answer:
        raise client_lib.ClientError(f"the server at {args.url} returned no 'outputs': {str(answer)[:300]}")
    try:
        return np.asarray(answer["outputs"], np.float32)
    except (TypeError, ValueError) as error:
        raise client_lib.ClientError(f"the server at {args.url} returned outputs that are not frames ({error}).") \
            from None


def _call(args, request):
    """The JSON answer of the server to `request`; ClientError naming --url when the call fails."""
    from tfvideo.export import client_lib

    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:  # TF Serving puts the reason in the body: {"error": "..."}
        detail = error.read().decode("utf-8", "replace").strip()
        raise client_lib.ClientError(f"the server at {args.url} answered HTTP {error.code}: {detail[:500]}") from None
    except (urllib.error.URLError, OSError) as error:  # refused, unknown host, time-out
        reason = getattr(error, "reason", error)
        raise client_lib.ClientError(f"cannot reach {args.url} ({reason}): is tensorflow_model_server running with "
                                     "--rest_api_port, and is --url right?") from None
    except ValueError as error:  # a bad URL, or an answer that is not JSON
        raise client_lib.ClientError(f"--url={args.url}: {error}") from None
    return answer


def main(argv=None, out=sys.stdout) -> int:
    args = parse_args(argv)
    from tfvideo import validation
    from tfvideo.export import client_lib

    try:
        if args.url is None and (args.output or args.save_npy):
            raise client_lib.ClientError("--output and --save_npy write the futures the server returns: give --url "
                                         "too (without it the script prints the request body).")
        client_lib.check_outputs(args.output, args.save_npy, overwrite=args.overwrite)
        validation.finite_number(args.timeout, "--timeout", error=client_lib.ClientError, above=0)
        rule = client_lib.preprocessing(args.image_size, args.channels)
        context = client_lib.read_context(args.context, rule, args.context_frames)
        client_lib.check_request(context, args.num_samples, args.horizon, args.dt, args.seed)
        actions = client_lib.request_actions(args.actions, takes_actions(args), context, args.horizon,
                                             f"the model at {args.url}")
        body = client_lib.rest_body_json(context, args.num_samples, args.horizon, args.dt, args.seed,
                                         args.signature_name, actions)
        if args.url is None:
            out.write(body + "\n")
            return 0
        frames = post(args, body)
        client_lib.write_outputs(context, frames, args.output, args.save_npy)
    except client_lib.ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Received frames {frames.shape}.", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
