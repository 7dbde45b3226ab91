"""The client scripts of export/ (run_tflite.py, grpc_client.py, rest_request.py) on hostile input: one `error:`
line and exit code 2 for an unreadable context, an output they cannot write (checked before any work), numbers
out of range, and a server that cannot be reached; no traceback, no file left behind."""

from __future__ import annotations

import http.server
import json
import os
import threading

import numpy as np
import pytest

from tests.support.cli import load_script
from tests.support.videos import contexts


SCRIPTS = ("run_tflite", "grpc_client", "rest_request")


@pytest.fixture()
def files(tmp_path):
    """A good context (.npy of 5 frames and the same as .mp4), a corrupt mp4 and a plain file."""
    from tfvideo.data import fake_data
    context = contexts(1, 5)[0]
    np.save(tmp_path / "context.npy", context)
    fake_data.write_video(str(tmp_path / "context.mp4"), np.round(context * 255).astype(np.uint8))
    (tmp_path / "broken.mp4").write_bytes(os.urandom(3000))
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "exists.gif").write_bytes(b"GIF89a")
    return tmp_path


def _run(script: str, argv: list[str], capsys) -> tuple[int, str, str]:
    code = load_script(script).main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_error(code, err, message):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert message in lines[0], lines[0]


def _base(script: str, path, model: str | None = None) -> list[str]:
    """Arguments of a request that would be fine apart from the case's change."""
    if script == "run_tflite":
        return [f"--model={model}", f"--context={path / 'context.npy'}", f"--output={path / 'out.gif'}"]
    if script == "grpc_client":
        return [f"--context={path / 'context.npy'}", "--server=127.0.0.1:1", "--timeout=20",
                f"--output={path / 'out.gif'}"]
    return [f"--context={path / 'context.npy'}", "--url=http://127.0.0.1:1/v1/models/srvp:predict", "--timeout=20",
            f"--output={path / 'out.gif'}"]


CASES = {
    "missing context": (["--context={p}/none.npy"], "no such file or folder"),
    "corrupt context": (["--context={p}/broken.mp4"], "cannot read the clip"),
    "not a clip": (["--context={p}/a_file"], "not a clip tfvideo reads"),
    "output below a file": (["--output={p}/a_file/out.gif"], "is a file, not a folder"),
    "existing output": (["--output={p}/exists.gif"], "already exists: pass --overwrite"),
    "output not a gif": (["--output={p}/out.png"], "writes a .gif file here"),
    "npy not .npy": (["--save_npy={p}/frames.bin"], "writes a .npy file here"),
    "zero samples": (["--num_samples=0"], "--num_samples must be a whole number >= 1"),
    "huge request": (["--num_samples=2147483647", "--horizon=2147483647"], "of memory, but only"),
    "dt": (["--dt=0.3"], "--dt must be of the form 1/k"),
    "seed": (["--seed=2147483648"], "--seed must be an int32"),
    "too few frames": (["--context_frames=9"], "has 5 frame(s); 9 context frame(s) from frame 0 need 9"),
}
SCRIPT_CASES = {
    "run_tflite": {"fps": (["--fps=0"], "--fps must be a finite number > 0"),
                   "threads": (["--threads=0"], "--threads must be a whole number >= 1")},
    "grpc_client": {"timeout": (["--timeout=nan"], "--timeout must be a finite number > 0"),
                    "channels": (["--channels=2"], "--channels must be 1 (grayscale) or 3 (RGB)"),
                    "image size": (["--image_size=0"], "--image_size must be a whole number >= 1"),
                    "unreachable": ([], "the server at 127.0.0.1:1 answered UNAVAILABLE")},
    "rest_request": {"timeout": (["--timeout=-1"], "--timeout must be a finite number > 0"),
                     "unreachable": ([], "cannot reach http://127.0.0.1:1/v1/models/srvp:predict"),
                     "output without url": (["--url="], "give --url too")},
}
ALL = [(script, case) for script in SCRIPTS for case in [*CASES, *SCRIPT_CASES[script]]]


@pytest.mark.parametrize("script,case", ALL)
def test_bad_input_is_one_error_line_and_exit_2(script, case, files, capsys, tflite_export):
    model = tflite_export() if script == "run_tflite" else None
    changes, message = {**CASES, **SCRIPT_CASES[script]}[case]
    argv = _base(script, files, model) + [c.format(p=files) for c in changes]
    if "--url=" in argv:
        argv = [a for a in argv if not a.startswith("--url")]
    before = sorted(os.listdir(files))
    code, _, err = _run(script, argv, capsys)
    _assert_one_error(code, err, message)
    assert sorted(os.listdir(files)) == before  # nothing written, nothing damaged


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_output_is_checked_before_any_sampling_or_request(script, files, capsys, monkeypatch):
    """An unwritable output stops the script before it loads a model or calls a server."""
    from tfvideo.export import tflite

    def never(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(tflite, "TFLiteModel", never)
    module = load_script(script)
    for name in ("send", "post"):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, never)
    argv = _base(script, files, "model.tflite") + [f"--output={files}/a_file/out.gif"]
    code = module.main(argv)
    _assert_one_error(code, capsys.readouterr().err, "is a file, not a folder")


class _FakeServing(http.server.BaseHTTPRequestHandler):
    """Answers a REST predict with zeros of the requested shape, or with TF Serving's error body; its model metadata
    names a predict signature without actions."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        inputs = {name: {} for name in ("context", "num_samples", "dt", "horizon", "seed")}
        self._reply(200, {"metadata": {"signature_def": {"signature_def": {"serving_default": {"inputs": inputs}}}}})

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs = body["inputs"]
        if self.path.endswith("/bad:predict"):
            self._reply(400, {"error": "assertion failed: [num_samples must be a whole number >= 1]"})
        elif self.path.endswith("/text:predict"):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not json</html>")
        else:
            context = np.asarray(inputs["context"])
            shape = (context.shape[0], inputs["num_samples"], inputs["horizon"], *context.shape[2:])
            self._reply(200, {"outputs": np.full(shape, 0.5).tolist()})

    def _reply(self, status, payload):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture()
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _FakeServing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1/models"
    httpd.shutdown()
    httpd.server_close()


def test_rest_writes_what_the_server_returns_and_names_its_errors(server, files, capsys):
    argv = [f"--context={files / 'context.mp4'}", "--num_samples=2", "--horizon=3", "--context_frames=4"]
    code, out, err = _run("rest_request", argv + [f"--url={server}/srvp:predict", f"--output={files / 'f.gif'}",
                                                  f"--save_npy={files / 'f.npy'}"], capsys)
    assert code == 0, err
    assert "Received frames (1, 2, 3, 64, 64, 1)" in out and np.load(files / "f.npy").shape == (1, 2, 3, 64, 64, 1)
    code, _, err = _run("rest_request", argv + [f"--url={server}/bad:predict"], capsys)
    _assert_one_error(code, err, "answered HTTP 400: {\"error\": \"assertion failed: [num_samples must")
    code, _, err = _run("rest_request", argv + [f"--url={server}/text:predict"], capsys)
    _assert_one_error(code, err, f"--url={server}/text:predict")
    np.save(files / "actions.npy", np.zeros((8, 4), np.float32))
    code, _, err = _run("rest_request", argv + [f"--url={server}/srvp:predict", f"--actions={files / 'actions.npy'}"],
                        capsys)  # the served signature has no `actions` input
    _assert_one_error(code, err, f"--actions: the model at {server}/srvp:predict takes no actions")
