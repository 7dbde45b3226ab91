"""Edge TFLite files: fixed-shape variants (`--static_shape`), streaming signatures and full-integer int8.

Fixed shape: the file loads in LiteRT with the baked input shapes, gives the frames of the dynamic-shape file and
of the SavedModel for the same seed (float32), and its host runner refuses any other request naming both shapes.
Streaming: `stream_start` + `stream_next` give `predict`'s frames one at a time, in TF and in LiteRT.
int8: converts on the tiny run, runs, documented shapes, frames in [0, 1] and correlated with float32.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import load_script, run_cli
from tests.support.configs import tiny_config
from tests.support.runs import call_signature
from tests.support.videos import contexts


from tfvideo.export import signatures, static_shape, tflite
from tfvideo.export.errors import ExportError

P = tiny_config(variant="srvp_bounded").data.conditioning_frames  # the run's context length, baked into fixed
# shape files
BATCH, SAMPLES, HORIZON, DT = 2, 3, 2, 0.5  # a different size on every axis; 4 output frames


def _export(tmp_path_factory, trained_run, *flags) -> str:
    """Path of the .tflite file `python -m tfvideo.export --format=tflite FLAGS` wrote."""
    from tfvideo.export import __main__ as cli
    export_dir = str(tmp_path_factory.mktemp("edge"))
    assert run_cli(cli, [f"--workdir={trained_run}", "--format=tflite", f"--export_dir={export_dir}", *flags]) == 0
    (name,) = [n for n in os.listdir(export_dir) if n.endswith(".tflite")]
    return os.path.join(export_dir, name)


@pytest.fixture(scope="module")
def fixed_path(tmp_path_factory, trained_run):
    return _export(tmp_path_factory, trained_run, f"--static_shape={BATCH},{SAMPLES},{HORIZON}", f"--dt={DT}")


@pytest.fixture(scope="module")
def dynamic_path(tflite_export):
    return tflite_export("none")


def test_fixed_shape_file_has_the_documented_signatures(fixed_path):
    assert os.path.basename(fixed_path) == f"srvp_float32_{BATCH}x{SAMPLES}x{HORIZON}_dt1-2.tflite"
    runner = tflite.TFLiteModel(fixed_path)
    details = runner.runner.get_input_details()
    assert set(details) == {"context", "seed"}
    assert list(details["context"]["shape_signature"]) == [BATCH, P, 64, 64, 1]
    assert list(runner.runner.get_output_details()["frames"]["shape_signature"]) == [BATCH, SAMPLES, 4, 64, 64, 1]
    with open(tflite.metadata_path(fixed_path)) as handle:
        meta = json.load(handle)
    assert meta["static_shape"] == {"batch": BATCH, "num_samples": SAMPLES, "horizon": HORIZON, "context_frames": P,
                                    "dt": DT}
    assert meta["inputs"]["context"]["shape"] == [BATCH, P, 64, 64, 1]
    assert set(meta["signatures"]) == {"serving_default", "stream_start", "stream_next"}
    # Every tensor of predict is static: nothing left for a runtime resize.
    assert all(-1 not in d["shape_signature"] for d in runner.interpreter.get_tensor_details())


def test_fixed_shape_matches_the_dynamic_file_and_the_saved_model(loaded_saved_model, fixed_path, dynamic_path):
    context = contexts(BATCH, P, seed=11)
    fixed = tflite.TFLiteModel(fixed_path)
    for seed in (0, -9):
        frames = fixed(context, seed=seed)
        assert frames.shape == (BATCH, SAMPLES, 4, 64, 64, 1)
        dynamic = tflite.TFLiteModel(dynamic_path)(context, SAMPLES, HORIZON, DT, seed)
        saved = call_signature(loaded_saved_model.signatures["serving_default"], context, SAMPLES,
                               HORIZON, DT, seed)
        print(f"seed {seed}: fixed vs dynamic {np.abs(frames - dynamic).max():.2e}, vs SavedModel "
              f"{np.abs(frames - saved).max():.2e}")
        assert np.abs(frames - dynamic).max() < 1e-4 and np.abs(frames - saved).max() < 1e-4
    assert np.abs(fixed(context, seed=1) - fixed(context, seed=0)).max() > 1e-3


def test_fixed_shape_refuses_other_requests(fixed_path, tmp_path, capsys):
    fixed = tflite.TFLiteModel(fixed_path)
    context = contexts(BATCH, P)
    for call, named in [(lambda: fixed(context, SAMPLES + 1), "num_samples=4 where it needs num_samples=3"),
                        (lambda: fixed(context[:1]), "batch=1 where it needs batch=2"),
                        (lambda: fixed(context, dt=1.0, horizon=3), "horizon=3, dt=1.0 where it needs horizon=2, "
                                                                     "dt=0.5"),
                        (lambda: fixed(contexts(BATCH, P + 1)), f"context frames={P + 1} where it needs context "
                                                                f"frames={P}")]:
        with pytest.raises(ValueError, match="fixed shape") as error:
            call()
        assert named in str(error.value), str(error.value)
    # export/run_tflite.py refuses with one error line.
    np.save(tmp_path / "context.npy", context[:1])
    script = load_script("run_tflite")
    assert script.main([f"--model={fixed_path}", f"--context={tmp_path / 'context.npy'}", "--num_samples=3",
                        "--horizon=2", "--dt=0.5", f"--output={tmp_path / 'out.gif'}"]) == 2
    assert "fixed shape (2 video(s) of" in capsys.readouterr().err


def test_check_request_names_every_difference():
    baked = static_shape.StaticShape(1, 10, 10, 5, 1.0).to_json()
    static_shape.check_request(baked, (1, 5, 64, 64, 1), None, None, None)
    static_shape.check_request(baked, (1, 5, 64, 64, 1), 10, 10, 1.0)
    with pytest.raises(ValueError, match=r"got num_samples=100, horizon=20 where it needs num_samples=10, horizon=10"):
        static_shape.check_request(baked, (1, 5, 64, 64, 1), 100, 20, 1.0)


@pytest.mark.parametrize("text", ["1,10", "1,0,10", "a,b,c", "1,10,10,4"])
def test_static_shape_flag_is_checked(restored_run, text):
    model = restored_run.model
    with pytest.raises(ExportError, match="--static_shape must be BATCH,SAMPLES,HORIZON"):
        static_shape.parse(text, P, 1.0, model)
    with pytest.raises(ExportError, match="--dt"):
        static_shape.parse("1,2,3", P, 0.3, model)


def _stream(next_fn, state, count):
    frames = []
    for _ in range(count):
        frame, state = next_fn(state)
        frames.append(frame)
    return np.stack(frames, axis=2)


def test_streaming_in_tf_gives_predicts_frames(loaded_saved_model):
    loaded = loaded_saved_model
    context = contexts(BATCH, P, seed=4)
    expected = call_signature(loaded.signatures["serving_default"], context, SAMPLES, 3, DT, 5)
    state = loaded.signatures["stream_start"](context=tf.constant(context), num_samples=tf.constant(SAMPLES),
                                              dt=tf.constant(DT), seed=tf.constant(5))

    def next_fn(state):
        out = {k: v.numpy() for k, v in loaded.signatures["stream_next"](**state).items()}
        return out.pop("frame"), {k: tf.constant(v) for k, v in out.items()}

    np.testing.assert_allclose(_stream(next_fn, state, 6), expected, atol=1e-6)


@pytest.mark.parametrize("which", ["dynamic", "fixed"])
def test_streaming_in_litert_gives_the_files_frames(which, fixed_path, dynamic_path):
    runner = tflite.TFLiteModel(fixed_path if which == "fixed" else dynamic_path)
    context = contexts(BATCH, P, seed=6)
    expected = runner(context, SAMPLES, HORIZON, DT, 8)
    streamed = np.stack(list(runner.stream(context, SAMPLES, HORIZON, DT, 8)), axis=2)
    np.testing.assert_allclose(streamed, expected, atol=1e-6)
    first, state = runner.stream_next(runner.stream_start(context, SAMPLES, dt=DT, seed=8))
    assert first.shape == (BATCH, SAMPLES, 64, 64, 1) and int(state["state_step"]) == 1


@pytest.mark.slow
def test_int8_conversion_of_the_tiny_model(tmp_path_factory, trained_run, dynamic_path):
    from tfvideo.export import quantization
    path = _export(tmp_path_factory, trained_run, "--quantize=int8", "--static_shape=1,2,3", "--calibration_videos=8")
    assert os.path.basename(path) == "srvp_int8_1x2x3.tflite"
    with open(path, "rb") as handle:
        counts = quantization.int8_op_counts(handle.read())
    print(f"int8 op counts (ops, with int8 activations): {counts}")
    assert all(counts[op][0] == counts[op][1] > 0 for op in quantization.INT8_OPS)  # every convolution in int8
    for op in ("FULLY_CONNECTED", "ADD", "MUL", "LOG", "EXP", "TANH", "LOGISTIC"):  # latent networks, noise: float
        assert counts[op][1] == 0, op
    runner = tflite.TFLiteModel(path)
    context = contexts(1, P, seed=2)
    frames = runner(context, seed=3)
    assert frames.shape == (1, 2, 3, 64, 64, 1) and frames.min() >= 0 and frames.max() <= 1
    reference = tflite.TFLiteModel(dynamic_path)(context, 2, 3, 1.0, 3)
    correlation = np.corrcoef(frames.ravel(), reference.ravel())[0, 1]
    print(f"int8 vs float32: correlation {correlation:.3f}, max abs diff {np.abs(frames - reference).max():.3f}")
    assert correlation > 0.5
    assert os.path.getsize(path) < 0.6 * os.path.getsize(dynamic_path)


def test_int8_needs_calibration_data(restored_run):
    with pytest.raises(ExportError, match="--quantize=int8 needs calibration data"):
        tflite.convert(restored_run.model, "int8")


def test_dt_and_static_shape_apply_to_tflite_only(tmp_path_factory, trained_run, capsys):
    from tfvideo.export import __main__ as cli
    workdir, export_dir = trained_run, str(tmp_path_factory.mktemp("refused"))
    assert run_cli(cli, [f"--workdir={workdir}", "--format=saved_model", f"--export_dir={export_dir}",
                         "--static_shape=1,2,3"]) == 2
    assert "--static_shape and --dt apply to --format=tflite only" in capsys.readouterr().err
    assert run_cli(cli, [f"--workdir={workdir}", "--format=tflite", f"--export_dir={export_dir}", "--dt=0.5"]) == 2
    assert "--dt is baked into fixed-shape files only" in capsys.readouterr().err
    assert os.listdir(export_dir) == []
