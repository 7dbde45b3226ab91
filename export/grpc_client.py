"""gRPC client of a tfvideo model served by tensorflow_model_server (tensorflow-serving-api).

    python export/grpc_client.py --server=localhost:8500 --model_name=srvp --context=video.npy \
        --num_samples=3 --horizon=10 --dt=0.5 --seed=0 --output=futures.gif

Sends a PredictRequest to the `serving_default` signature (or --signature_name) and writes the returned
`frames` [B, S, horizon * k, H, W, C] as a GIF (and .npy with --save_npy). `build_request` is what tests
feed to a session-loaded SavedModel, the code path of the server. --context is read as `python -m
tfvideo.predict` reads its --input (a video file, a frame folder or an .npy; the folder dataset's frame rule at
--image_size and --channels); the request and the output paths are checked before anything is sent (an existing
file is replaced only with --overwrite). An action-conditioned export takes --actions=FILE.npy|.csv (raw [T, A],
the reader of `python -m tfvideo.predict --actions`; the same actions for every video), sent as the `actions`
input; the script first asks the server's model metadata (GetModelMetadata) whether the signature takes actions
and refuses a missing or unwanted --actions. Exit status 2 with one `error:` line on bad input or a failed call.
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
    parser.add_argument("--context", required=True, help="context frames: a video file, a frame folder or .npy")
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--context_frames", type=int, default=None)
    parser.add_argument("--num_samples", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--dt", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--actions", default=None, help="action-conditioned models only (and required by them): "
                        "raw actions [T, A] as .npy or .csv, row 0 at the first context frame (docs/actions.md)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--output", default="futures.gif", help="GIF to write")
    parser.add_argument("--save_npy", default=None)
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return parser.parse_args(argv)


def build_request(args, context, actions=None):
    from tfvideo.export import client_lib
    return client_lib.predict_request(args.model_name, context, args.num_samples, args.horizon, args.dt,
                                      args.seed, signature_name=args.signature_name, version=args.version,
                                      actions=actions)


def served_metadata(args) -> dict:
    """The served model's signatures as `client_lib.takes_actions` reads them (GetModelMetadata)."""
    from google.protobuf import json_format
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = args.model_name
    if args.version is not None:
        request.model_spec.version.value = int(args.version)
    request.metadata_field.append("signature_def")
    response = _rpc(args, "GetModelMetadata", request)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    return {"metadata": {"signature_def": json_format.MessageToDict(signatures, preserving_proto_field_name=True)}}


def read_request(args):
    """(context [B, T, H, W, C], PredictRequest) after every host-side check; ClientError otherwise."""
    from tfvideo import validation
    from tfvideo.export import client_lib

    client_lib.check_outputs(args.output, args.save_npy, overwrite=args.overwrite)
    validation.finite_number(args.timeout, "--timeout", error=client_lib.ClientError, above=0)
    if args.version is not None:
        validation.positive_int(args.version, "--version", error=client_lib.ClientError)
    rule = client_lib.preprocessing(args.image_size, args.channels)
    context = client_lib.read_context(args.context, rule, args.context_frames)
    client_lib.check_request(context, args.num_samples, args.horizon, args.dt, args.seed)
    takes = client_lib.takes_actions(served_metadata(args), args.signature_name, args.server)
    actions = client_lib.request_actions(args.actions, takes, context, args.horizon, f"the model {args.model_name} "
                                         f"at {args.server}")
    return context, build_request(args, context, actions)


def _rpc(args, method: str, request):
    """The answer of the PredictionService `method` to `request`; ClientError naming the server when it fails."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from tfvideo.export import client_lib

    options = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]
    with grpc.insecure_channel(args.server, options=options) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            return getattr(stub, method)(request, timeout=args.timeout)
        except grpc.RpcError as error:  # INVALID_ARGUMENT names the bad input
            hint = (f": is tensorflow_model_server running with its gRPC port at {args.server} (--server)?"
                    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) else "")
            raise client_lib.ClientError(f"the server at {args.server} answered {error.code().name}: "
                                         f"{error.details()}{hint}") from None


def send(args, request):
    """The response's frames; ClientError naming the server when the call fails."""
    import tensorflow as tf

    from tfvideo.export import client_lib

    response = _rpc(args, "Predict", request)
    if "frames" not in response.outputs:
        raise client_lib.ClientError(f"the server at {args.server} returned no 'frames' output (outputs: "
                                     f"{', '.join(response.outputs) or 'none'}): is --signature_name a predict "
                                     "signature of a tfvideo export?")
    return tf.make_ndarray(response.outputs["frames"])


def main(argv=None) -> int:
    args = parse_args(argv)
    from tfvideo.export import client_lib

    try:
        context, request = read_request(args)
        frames = send(args, request)
        client_lib.write_outputs(context, frames, args.output, args.save_npy)
    except ValueError as error:  # ClientError, and a malformed --server that grpc refuses
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Received frames {frames.shape}; wrote {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
