"""The client scripts of export/ with an action-conditioned export: --actions (predict's .npy/.csv reader) goes to
the `actions` input, the served model's signature metadata says whether it is needed, and a missing or unwanted
--actions is one `error:` line."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import load_script
from tests.support.configs import tiny_config
from tests.support.runs import sharpen
from tests.support.videos import contexts
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.export import tflite as tflite_lib
from tfvideo.models import build_model

A, CONTEXT, HORIZON, SAMPLES, SEED = 3, 3, 2, 2, 5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = build_model(tiny_config(variant="srvp_bounded", model={"action_conditioned": True, "action_size": A}))
    model.action_normalizer.set_statistics([0.5, -1.0, 2.0], [0.1, 0.2, 0.3])  # small std: actions weigh in
    sharpen(model, {"frames": contexts(4, 5, seed=3),
                                 "actions": np.random.default_rng(4).normal(size=(4, 5, A)).astype(np.float32)}, 10)
    metadata = {"image_size": 64, "channels": 1, "min_context_frames": model.min_context_frames(),
                "dt_supported": True, "action_size": A}
    folder = tmp_path_factory.mktemp("exports")
    path, _ = saved_model_lib.export_saved_model(model, str(folder), "srvp", metadata=metadata)
    tflite = tflite_lib.export_tflite(model, str(folder / "srvp_float32.tflite"), metadata=metadata)
    return {"model": model, "path": path, "tflite": tflite}


@pytest.fixture()
def files(tmp_path):
    """context.npy [5, 64, 64, 1] and its actions [6, A] as actions.csv (and .npy)."""
    np.save(tmp_path / "context.npy", contexts(1, 5, seed=2)[0])
    acts = np.random.default_rng(3).normal(size=(6, A)).astype(np.float32)
    np.savetxt(tmp_path / "actions.csv", acts, delimiter=",", fmt="%.9g")
    np.save(tmp_path / "actions.npy", acts)
    return tmp_path


def _expected(exported, files, reverse=False):
    """model.generate's futures for the files (with the actions in reverse order: other futures)."""
    context = np.load(files / "context.npy")[None, :CONTEXT]
    acts = np.load(files / "actions.npy")[None, ::-1 if reverse else 1]
    return exported["model"].generate(context, SAMPLES, HORIZON, 1.0, seed=SEED, include_intermediate=True,
                                      actions=acts).numpy()


def _argv(files, *extra):
    return [f"--context={files / 'context.npy'}", f"--context_frames={CONTEXT}", f"--num_samples={SAMPLES}",
            f"--horizon={HORIZON}", f"--seed={SEED}", *extra]


def _one_error(code, err, message):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def _signature_defs(path):
    """The served signatures as TF Serving's model metadata gives them (SignatureDefMap with proto field names)."""
    from google.protobuf import json_format
    from tensorflow_serving.apis import get_model_metadata_pb2

    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in meta_graph.signature_def.items():
        signatures.signature_def[name].CopyFrom(signature)
    return {"metadata": {"signature_def": json_format.MessageToDict(signatures, preserving_proto_field_name=True)}}


class _Serving(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST API over the SavedModel loaded in process: GET .../metadata and POST ...:predict."""
    loaded = metadata = None

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._reply(200, self.metadata)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature = self.loaded.signatures[body["signature_name"]]
        specs = signature.structured_input_signature[1]
        try:
            frames = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()})["frames"]
        except TypeError as error:  # a missing or unknown input
            return self._reply(400, {"error": str(error)})
        return self._reply(200, {"outputs": frames.numpy().tolist()})

    def _reply(self, status, payload):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(exported):
    handler = type("Handler", (_Serving,), {"loaded": tf.saved_model.load(exported["path"]),
                                            "metadata": _signature_defs(exported["path"])})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1/models/srvp:predict"
    httpd.shutdown()
    httpd.server_close()


def test_rest_sends_the_actions_and_gets_generates_futures(exported, files, server, capsys):
    script = load_script("rest_request")
    assert script.main(_argv(files, f"--actions={files / 'actions.csv'}", f"--url={server}",
                             f"--save_npy={files / 'f.npy'}")) == 0, capsys.readouterr().err
    np.testing.assert_allclose(np.load(files / "f.npy"), _expected(exported, files), atol=1e-5)
    _one_error(script.main(_argv(files, f"--url={server}")), capsys.readouterr().err,
               "is action-conditioned: give its actions with --actions=FILE.npy|.csv")
    assert script.main(_argv(files, f"--actions={files / 'actions.npy'}")) == 0  # no --url: the body alone
    body = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(body["inputs"]["actions"], np.load(files / "actions.npy")[None], rtol=1e-6)


def test_grpc_request_carries_the_actions_the_served_signature_takes(exported, files, monkeypatch, capsys):
    script = load_script("grpc_client")
    metadata = _signature_defs(exported["path"])
    monkeypatch.setattr(script, "served_metadata", lambda args: metadata)
    args = script.parse_args(_argv(files, f"--actions={files / 'actions.npy'}", f"--output={files / 'f.gif'}"))
    _, request = script.read_request(args)
    signature = tf.saved_model.load(exported["path"]).signatures[request.model_spec.signature_name]
    served = signature(**{name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()})
    np.testing.assert_allclose(served["frames"].numpy(), _expected(exported, files), atol=1e-5)
    _one_error(script.main(_argv(files, f"--output={files / 'f.gif'}")), capsys.readouterr().err,
               "the model srvp at localhost:8500 is action-conditioned: give its actions")
    without = json.loads(json.dumps(metadata).replace('"actions"', '"unused"'))  # an export without actions
    monkeypatch.setattr(script, "served_metadata", lambda args: without)
    _one_error(script.main(_argv(files, f"--actions={files / 'actions.npy'}", f"--output={files / 'f.gif'}")),
               capsys.readouterr().err, "--actions: the model srvp at localhost:8500 takes no actions")


def test_tflite_runner_takes_actions_and_refuses_a_missing_or_bad_file(exported, files, capsys):
    script = load_script("run_tflite")
    base = [f"--model={exported['tflite']}", f"--output={files / 'f.gif'}", "--overwrite"]
    assert script.main(_argv(files, *base, f"--actions={files / 'actions.csv'}", f"--save_npy={files / 'f.npy'}")) \
        == 0, capsys.readouterr().err
    np.testing.assert_allclose(np.load(files / "f.npy"), _expected(exported, files), atol=1e-4)
    assert np.abs(_expected(exported, files, reverse=True) - _expected(exported, files)).max() > 1e-3  # 10 x atol
    _one_error(script.main(_argv(files, *base)), capsys.readouterr().err, "is action-conditioned: give its actions")
    np.savetxt(files / "short.csv", np.zeros((3, A)), delimiter=",")  # needs CONTEXT - 1 + HORIZON = 4 rows
    _one_error(script.main(_argv(files, *base, f"--actions={files / 'short.csv'}")), capsys.readouterr().err,
               "--actions=")
    np.savetxt(files / "wide.csv", np.zeros((6, A + 1)), delimiter=",")
    _one_error(script.main(_argv(files, *base, f"--actions={files / 'wide.csv'}")), capsys.readouterr().err,
               "A=3")
