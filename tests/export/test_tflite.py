"""TFLite export (builtin ops only) in the LiteRT interpreter: same signature and, for float32, the same frames
as the SavedModel within 1e-4 across batch sizes, context lengths, sample counts, dt and horizons in one
interpreter; float16 and dynamic-range variants run (their errors are printed); the runner script."""

import json
import os
import re

import numpy as np
import pytest

from tests.support.cli import load_script, run_cli
from tests.support.configs import tiny_config
from tests.support.runs import call_signature
from tests.support.videos import contexts
from tfvideo import validation


from tfvideo.utils import video_io
from tfvideo.export import tflite

K = tiny_config(variant="srvp_bounded").model.inference_frames  # SRVP's shortest context
P = tiny_config(variant="srvp_bounded").data.conditioning_frames  # the run's context length

CASES = [  # (batch, context frames, num_samples, dt, horizon, seed): every axis changes at least once
    (1, 3, 1, 1.0, 1, 0),
    (2, 3, 3, 0.5, 2, 5),
    (1, 4, 5, 1.0, 4, -7),
    (3, 5, 2, 0.25, 2, 123456789),
    (1, 3, 1, 1.0, 1, 0),  # back to the first shapes after the interpreter was resized
]


@pytest.fixture(scope="module")
def float32_path(tflite_export):
    return tflite_export("none")


@pytest.fixture(scope="module")
def saved_model(loaded_saved_model):
    return loaded_saved_model.signatures["serving_default"]


def _inputs(batch, length, num_samples, dt, horizon, seed):
    """(context, num_samples, horizon, dt, seed): the order of the runner's (and generate's) arguments."""
    return contexts(batch, length, seed=batch + 7 * length), num_samples, horizon, dt, seed


def _saved(saved_model, context, num_samples, horizon, dt, seed):
    return call_signature(saved_model, context, num_samples, dt=dt, horizon=horizon, seed=seed)


def test_signature_and_metadata(float32_path):
    runner = tflite.TFLiteModel(float32_path)
    assert sorted(runner.interpreter.get_signature_list()) == ["serving_default", "stream_next", "stream_start"]
    details = runner.runner.get_input_details()
    assert set(details) == {"context", "num_samples", "dt", "horizon", "seed"}
    assert list(details["context"]["shape_signature"]) == [-1, -1, 64, 64, 1]
    assert list(runner.runner.get_output_details()) == ["frames"]
    with open(tflite.metadata_path(float32_path)) as handle:
        meta = json.load(handle)
    assert meta["quantize"] == "none" and meta["min_context_frames"] == K and meta["validates_inputs"] is False


def test_float32_matches_the_saved_model_in_one_interpreter(float32_path, saved_model):
    runner = tflite.TFLiteModel(float32_path)
    errors = []
    for case in CASES:
        inputs = _inputs(*case)
        frames = runner(*inputs)
        expected = _saved(saved_model, *inputs)
        batch, _, num_samples, dt, horizon, _ = case
        assert frames.shape == expected.shape == (batch, num_samples, horizon * round(1 / dt), 64, 64, 1)
        errors.append(float(np.abs(frames - expected).max()))
    print(f"TFLite float32 max abs error vs SavedModel per case: {errors}")
    assert max(errors) < 1e-4
    # Same seed, same futures; another seed, other futures.
    inputs = _inputs(*CASES[1])
    np.testing.assert_array_equal(runner(*inputs), runner(*inputs))
    assert np.abs(runner(*inputs[:-1], 6) - runner(*inputs)).max() > 1e-3


def test_float32_gives_the_futures_of_generate(restored_run, float32_path):
    """The LiteRT file and `model.generate` draw the same noise for a seed: the same futures."""
    model = restored_run.model
    runner = tflite.TFLiteModel(float32_path)
    for case in CASES[1:4]:
        context, num_samples, horizon, dt, seed = _inputs(*case)
        expected = model.generate(context, num_samples, horizon, dt, seed=seed, include_intermediate=True).numpy()
        assert np.abs(runner(context, num_samples, horizon, dt, seed) - expected).max() < 1e-4


@pytest.mark.parametrize("quantize", ["float16", "dynamic"])
def test_quantized_variants_run(tflite_export, saved_model, quantize, float32_path):
    path = tflite_export(quantize)
    assert os.path.getsize(path) < os.path.getsize(float32_path)
    runner = tflite.TFLiteModel(path)
    errors = []
    for case in CASES[:3]:
        inputs = _inputs(*case)
        frames = runner(*inputs)
        assert frames.shape == _saved(saved_model, *inputs).shape
        assert np.all(np.isfinite(frames)) and frames.min() >= 0 and frames.max() <= 1
        errors.append(float(np.abs(frames - _saved(saved_model, *inputs)).max()))
    print(f"TFLite {quantize}: {os.path.getsize(path)} bytes; max abs error vs SavedModel per case: {errors}")
    assert max(errors) < 0.1


def test_host_checks_and_unchecked_calls(float32_path):
    runner = tflite.TFLiteModel(float32_path)
    context = contexts(1, 3)
    with pytest.raises(ValueError, match="dt must be of the form 1/k"):
        runner(context, 2, 2, 0.3, 0)
    with pytest.raises(ValueError, match=f"context needs at least {K} frames"):
        runner(context[:, :1], 2, 2, 1.0, 0)
    with pytest.raises(ValueError, match="context must be float32 frames"):
        runner(context[..., :32, :32, :], 2, 2, 1.0, 0)
    unchecked = tflite.TFLiteModel(float32_path, check=False)
    np.testing.assert_array_equal(unchecked(context, 2, 2, 1.0, 0), runner(context, 2, 2, 1.0, 0))


def test_existing_file_is_not_replaced_without_overwrite(trained_run, saved_model_export, float32_path, capsys):
    from tfvideo.export import __main__ as cli
    before = os.path.getmtime(float32_path)
    argv = [f"--workdir={trained_run}", "--format=tflite",
            f"--export_dir={saved_model_export['export_dir']}"]
    assert run_cli(cli, argv) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert os.path.getmtime(float32_path) == before


def test_run_tflite_script_writes_a_gif(float32_path, tmp_path, capsys):
    script = load_script("run_tflite")
    context = contexts(2, P + 1)
    np.save(tmp_path / "context.npy", context)
    out = tmp_path / "futures.gif"
    assert script.main([f"--model={float32_path}", f"--context={tmp_path / 'context.npy'}", "--num_samples=2",
                        "--horizon=3", "--dt=0.5", "--seed=4", f"--output={out}",
                        f"--save_npy={tmp_path / 'frames.npy'}"]) == 0
    assert "Sampled 2 futures of 6 frames for 2 video(s)" in capsys.readouterr().out
    frames = np.load(tmp_path / "frames.npy")
    # The metadata's conditioning length P is the default context: the first P of the P + 1 frames.
    np.testing.assert_array_equal(frames, tflite.TFLiteModel(float32_path)(context[:, :P], 2, 3, 0.5, 4))
    gif = video_io.read_gif(str(out))
    assert gif.shape[0] == P + 6 and gif.shape[1] == 2 * 2 * (64 + 4)  # context + 3 * 2 frames; 2 rows
    # A GIF context (RGB, any size) is converted to the model's channels and frame size.
    video_io.write_gif(str(tmp_path / "context.gif"), video_io.to_uint8_rgb(context[0]), scale=2)
    assert script.main([f"--model={float32_path}", f"--context={tmp_path / 'context.gif'}", f"--context_frames={K}",
                        f"--output={tmp_path / 'from_gif.gif'}", "--horizon=2"]) == 0
    assert video_io.read_gif(str(tmp_path / "from_gif.gif")).shape[0] == K + 2
    assert script.main([f"--model={float32_path}", f"--context={tmp_path / 'context.npy'}", "--num_samples=0",
                        f"--output={tmp_path / 'bad.gif'}"]) == 2
    assert "num_samples must be a whole number >= 1" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["svg", "hafsvg"])
def test_other_models_export_through_the_same_contract(name):
    """SVG-LP and HAF-SVG plug in through `noise_shapes` + `sample_futures`: same signature, seeded (the futures
    of `model.generate`), only dt=1 (discrete time), and their TFLite conversion matches too."""
    import keras
    import tensorflow as tf
    from tfvideo.export import checks, signatures
    from tfvideo.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(tiny_config(variant=name))
    (endpoint,) = signatures.endpoints(model)
    fn = endpoint.tf_function()
    call = lambda context, num_samples, horizon, dt, seed: call_signature(
        lambda **kw: fn(kw["context"], kw["num_samples"], kw["horizon"], kw["dt"], kw["seed"]), context, num_samples,
        horizon, dt, seed)
    inputs = _inputs(2, 3, 2, 1.0, 3, 4)
    frames = call(*inputs)
    assert frames.shape == (2, 2, 3, 64, 64, 1)
    np.testing.assert_array_equal(call(*inputs), frames)
    np.testing.assert_allclose(model.generate(inputs[0], 2, 3, seed=4).numpy(), frames, atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(
            validation.discrete_time_message("dt", f"this {name} model"))):
        call(*inputs[:3], 0.5, *inputs[4:])
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_content=tflite.convert(model))
    out = interpreter.get_signature_runner("serving_default")(
        **checks.check_inputs(*inputs, image_size=64, channels=1, min_context_frames=1, dt_supported=False))
    assert np.abs(out["frames"] - frames).max() < 1e-4
