"""gRPC client of a tfvideo model served by tensorflow_model_server (tensorflow-serving-api).

    python export/grpc_client.py --server=localhost:8500 --model_name=srvp --context=video.npy \
        --num_samples=3 --horizon=10 --dt=0.5 --seed=0 --output=futures.gif

Sends a PredictRequest to the `serving_default` signature (or --signature_name) and writes the returned
`frames` [B, S, horizon * k, H, W, C] as a GIF (and .npy with --save_npy). `build_request` is what tests
feed to a session-loaded SavedModel, the code path of the server.
"""

from __future__ import annotations

import argparse
import os
import sys

# Runs from a checkout without `pip install -e .` too.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="localhost:8500", help="host:port of the gRPC API")
    parser.add_argument("--model_name", default="srvp", help="name in models.config")
    parser.add_argument("--version", type=int, default=None, help="model version (default: the server's latest)")
    parser.add_argument("--signature_name", default="serving_default")
    parser.add_argument("--context", required=True, help="context frames: .npy or .gif")
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--context_frames", type=int, default=None)
    parser.add_argument("--num_samples", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--dt", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--output", default="futures.gif", help="GIF to write")
    parser.add_argument("--save_npy", default=None)
    return parser.parse_args(argv)


def build_request(args, context):
    from tfvideo.export import client_lib
    return client_lib.predict_request(args.model_name, context, args.num_samples, args.dt, args.horizon,
                                      args.seed, signature_name=args.signature_name, version=args.version)


def main(argv=None) -> int:
    args = parse_args(argv)
    import grpc
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from tfvideo.export import client_lib

    try:
        context = client_lib.read_context(args.context, args.image_size, args.channels, args.context_frames)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    request = build_request(args, context)
    options = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]
    with grpc.insecure_channel(args.server, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=args.timeout)
        except grpc.RpcError as error:  # INVALID_ARGUMENT names the bad input
            print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
            return 2
    frames = tf.make_ndarray(response.outputs["frames"])
    client_lib.write_samples_gif(args.output, context, frames)
    if args.save_npy:
        np.save(args.save_npy, frames)
    print(f"Received frames {frames.shape}; wrote {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
