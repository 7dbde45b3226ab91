"""The SavedModel export: TF Serving layout, reload in process, in a fresh process, through `saved_model_cli
run` and through the session-based loader TF Serving uses fed with a real PredictRequest; same frames as the
in-process model for the same seed; named InvalidArgument errors; versions never overwritten."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import load_script
from tests.support.configs import tiny_config
from tests.support.runs import call_signature, sharpen
from tests.support.videos import contexts


from tfvideo.export import ExportError
from tfvideo.export import saved_model as saved_model_lib

CASES = [  # (batch, context frames, num_samples, horizon, dt, seed)
    (1, 3, 2, 3, 1.0, 0),
    (2, 3, 3, 2, 0.5, 17),
    (3, 4, 1, 1, 0.25, -5),
]


@pytest.fixture(scope="module")
def export(saved_model_export):
    return saved_model_export


@pytest.fixture(scope="module")
def loaded(loaded_saved_model):
    return loaded_saved_model


@pytest.fixture(scope="module")
def in_process(restored_run):
    """The reference: the restored model's `generate` in process, for the same seed."""
    model = restored_run.model

    def sample(context, num_samples, horizon, dt, seed):
        return model.generate(context, num_samples, horizon, dt, seed=seed, include_intermediate=True).numpy()
    return sample


def _case_inputs(batch, length, num_samples, horizon, dt, seed):
    return contexts(batch, length, seed=batch * 10 + length), num_samples, horizon, dt, seed


def test_layout_signatures_and_metadata(export):
    assert export["code"] == 0
    assert sorted(os.listdir(export["base"])) == ["1"]  # no temporary directory left behind
    assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(export["path"]))
    with open(os.path.join(export["path"], saved_model_lib.METADATA_FILE)) as handle:
        meta = json.load(handle)
    assert meta["image_size"] == 64 and meta["channels"] == 1
    assert meta["min_context_frames"] == tiny_config(variant="srvp_bounded").model.inference_frames
    assert meta["step"] == 7 and meta["model"] == "srvp"
    assert set(meta["endpoints"]) == {"predict", "serving_default", "latents", "decode", "content_swap",
                                      "stream_start", "stream_next"}
    assert meta["endpoints"]["predict"]["inputs"]["context"]["shape"] == [-1, -1, -1, -1, -1]


def test_reload_in_process_matches_the_model(loaded, in_process):
    assert {"serving_default", "predict", "latents", "decode", "content_swap"} <= set(loaded.signatures)
    for case in CASES:
        inputs = _case_inputs(*case)
        expected = in_process(*inputs)
        batch, _, num_samples, horizon, dt, _ = case
        assert expected.shape == (batch, num_samples, horizon * round(1 / dt), 64, 64, 1)
        for name in ("serving_default", "predict"):
            np.testing.assert_allclose(call_signature(loaded.signatures[name], *inputs), expected, atol=1e-6)


@pytest.mark.parametrize("overrides,message", [
    (dict(num_samples=0), "num_samples must be a whole number >= 1"),
    (dict(dt=0.4), "dt must be of the form 1/k"),
    (dict(horizon=0), "horizon must be a whole number >= 1"),
    (dict(context=np.zeros((1, 3, 32, 32, 1), np.float32)), "context must be float32 frames"),
    (dict(context=np.zeros((1, 3, 64, 64, 3), np.float32)), "context must be float32 frames"),
    (dict(context=np.full((1, 3, 64, 64, 1), 2.0, np.float32)), r"context values must be finite and lie in \[0, 1\]"),
])
def test_reloaded_signature_rejects_bad_inputs_naming_them(loaded, overrides, message):
    values = dict(context=contexts(1, 3), num_samples=2, dt=1.0, horizon=2, seed=0)
    values.update(overrides)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        call_signature(loaded.signatures["serving_default"], **values)


FRESH_PROCESS = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np, tensorflow as tf
    path, inputs_file, out_file = sys.argv[1:]
    serve = tf.saved_model.load(path).signatures["serving_default"]
    inputs = np.load(inputs_file, allow_pickle=True)["cases"]
    out = {}
    for i, (context, num_samples, horizon, dt, seed) in enumerate(inputs):
        out[str(i)] = serve(context=tf.constant(context), num_samples=tf.constant(num_samples, tf.int32),
                            horizon=tf.constant(horizon, tf.int32), dt=tf.constant(dt, tf.float32),
                            seed=tf.constant(seed, tf.int32))["frames"].numpy()
    try:
        serve(context=tf.constant(inputs[0][0]), num_samples=tf.constant(0), dt=tf.constant(1.0),
              horizon=tf.constant(1), seed=tf.constant(0))
        out["error"] = np.array("no error")
    except tf.errors.InvalidArgumentError as error:
        out["error"] = np.array(error.message)
    np.savez(out_file, **out)
""")


@pytest.mark.slow
def test_reload_in_a_fresh_process(export, in_process, tmp_path):
    cases = [_case_inputs(*case) for case in CASES]
    inputs_file, out_file = tmp_path / "inputs.npz", tmp_path / "out.npz"
    array = np.empty(len(cases), dtype=object)
    array[:] = cases
    np.savez(inputs_file, cases=array)
    script = tmp_path / "load.py"
    script.write_text(FRESH_PROCESS)
    subprocess.run([sys.executable, str(script), export["path"], str(inputs_file), str(out_file)], check=True,
                   timeout=300)
    out = np.load(out_file)
    for i, inputs in enumerate(cases):
        np.testing.assert_allclose(out[str(i)], in_process(*inputs), atol=1e-6)
    assert "num_samples must be a whole number >= 1" in str(out["error"])


@pytest.mark.slow
def test_saved_model_cli_run(export, in_process, tmp_path):
    """`saved_model_cli run` loads the SavedModel with the session-based loader of TF Serving."""
    context, num_samples, horizon, dt, seed = _case_inputs(2, 3, 2, 2, 0.5, 3)
    np.save(tmp_path / "context.npy", context)
    command = ["saved_model_cli", "run", "--dir", export["path"], "--tag_set", "serve", "--signature_def",
               "serving_default", "--inputs", f"context={tmp_path / 'context.npy'}",
               "--input_exprs", f"num_samples={num_samples};dt={dt};horizon={horizon};seed={seed}",
               "--outdir", str(tmp_path / "out")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(command, check=True, capture_output=True, timeout=300, env=env)
    frames = np.load(tmp_path / "out" / "frames.npy")
    np.testing.assert_allclose(frames, in_process(context, num_samples, horizon, dt, seed), atol=1e-6)


def test_predict_request_through_the_session_loader(export, in_process, tmp_path):
    """What tensorflow_model_server does with a PredictRequest: a TF1 session loads the SavedModel, the request's
    TensorProtos are fed to the signature's input tensors and its output tensor is fetched."""
    grpc_client = load_script("grpc_client")
    context, num_samples, horizon, dt, seed = _case_inputs(2, 3, 3, 2, 0.5, 11)
    np.save(tmp_path / "context.npy", context)
    args = grpc_client.parse_args([f"--context={tmp_path / 'context.npy'}",
                                   "--model_name=srvp", f"--num_samples={num_samples}", f"--dt={dt}",
                                   f"--horizon={horizon}", f"--seed={seed}"])
    request = grpc_client.build_request(args, context)
    assert request.model_spec.name == "srvp" and request.model_spec.signature_name == "serving_default"

    def serve(request):
        with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], export["path"])
            signature = meta_graph.signature_def[request.model_spec.signature_name]
            feed = {signature.inputs[name].name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            return session.run(signature.outputs["frames"].name, feed)

    np.testing.assert_allclose(serve(request), in_process(context, num_samples, horizon, dt, seed), atol=1e-6)
    request.inputs["num_samples"].CopyFrom(tf.make_tensor_proto(np.int32(0)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be a whole number >= 1"):
        serve(request)


def _tree_digest(path):
    digest = hashlib.sha256()
    for root, _, names in sorted(os.walk(path)):
        for name in sorted(names):
            with open(os.path.join(root, name), "rb") as handle:
                digest.update(name.encode() + handle.read())
    return digest.hexdigest()


def test_existing_versions_are_never_overwritten(export, restored_run):
    model = restored_run.model
    before = _tree_digest(export["path"])
    with pytest.raises(ExportError, match="already exists; exported versions are never overwritten"):
        saved_model_lib.export_saved_model(model, export["export_dir"], "srvp", version=1)
    assert _tree_digest(export["path"]) == before
    path, version = saved_model_lib.export_saved_model(model, export["export_dir"], "srvp", extra_endpoints=False)
    try:
        assert version == 2 and path == os.path.join(export["base"], "2")
        assert _tree_digest(export["path"]) == before
        assert sorted(os.listdir(export["base"])) == ["1", "2"]
        assert set(tf.saved_model.load(path).signatures) == {"serving_default", "predict"}
    finally:
        import shutil
        shutil.rmtree(path)  # keep version 1 the only one for the other tests


@pytest.mark.slow
@pytest.mark.parametrize("name", ["svg", "hafsvg"])
def test_svg_family_saved_model_reloads_with_the_same_frames(name, tmp_path):
    """SVG-LP and HAF-SVG export through the same SavedModel path; the reloaded signature gives the futures of
    `model.generate` for the same seed, and rejects dt != 1 naming the model's discrete time."""
    import keras
    from tfvideo.models import build_model

    keras.utils.set_random_seed(1)
    model = build_model(tiny_config(variant=name))
    sharpen(model)  # frames that depend visibly on the seed, so that the comparisons can fail
    path, version = saved_model_lib.export_saved_model(model, str(tmp_path), name)
    assert version == 1 and path == os.path.join(str(tmp_path), name, "1")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    context, num_samples, horizon, dt, seed = _case_inputs(2, 3, 2, 3, 1.0, 9)
    got = call_signature(signature, context, num_samples, horizon, dt, seed)
    expected = model.generate(context, num_samples, horizon, dt, seed=seed).numpy()
    assert got.shape == (2, 2, 3, 64, 64, 1)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Another seed, other futures: z moves the tiny nets' frames by ~1e-3, float rounding by ~1e-6.
    assert np.abs(call_signature(signature, context, num_samples, horizon, dt, seed + 1) - got).max() > 1e-4
    with pytest.raises(tf.errors.InvalidArgumentError, match="discrete-time model"):
        call_signature(signature, context, num_samples, horizon, 0.5, seed)
