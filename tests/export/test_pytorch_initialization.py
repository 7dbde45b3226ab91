"""A tiny SRVP with initialization="pytorch" (PyTorchDense layers and the two-bias PyTorchLSTMCell) trains and
converts to TFLite builtins, giving generate's futures in the LiteRT interpreter."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tests.support.runs import call_signature
from tests.support.videos import contexts
from tfvideo.export import checks, signatures, tflite
from tfvideo.models import build_model
from tfvideo.models import layers
from tfvideo.training import checkpointing

STEPS = 40  # Adam steps on one batch


@pytest.mark.slow
def test_pytorch_initialised_srvp_trains_and_converts_to_tflite_builtins():
    keras.utils.set_random_seed(0)
    config = tiny_config(variant="srvp_bounded", model={"initialization": "pytorch", "obs_scale": 0.2})
    model = build_model(config)
    cell = model.posterior_lstm
    assert isinstance(cell, layers.PyTorchLSTMCell)
    batch = tf.constant(contexts(config.train.batch_size, config.data.seq_len, seed=5))
    seeds = checkpointing.seed_generator_states(model)
    start = [s.numpy() for s in seeds]

    def loss():
        for variable, value in zip(seeds, start):
            variable.assign(value)
        return float(model.compute_loss_terms(batch, training=False)["loss"])

    before, biases = loss(), [cell.input_bias.numpy(), cell.recurrent_bias.numpy()]
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(tf.data.Dataset.from_tensors(batch).repeat(STEPS), verbose=0, shuffle=False)
    after = loss()
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert np.isfinite(after) and after < before, (before, after)
    # Equal gradients and equal Adam states: both biases move by the same amount, their sum twice as far.
    moved = [cell.input_bias.numpy() - biases[0], cell.recurrent_bias.numpy() - biases[1]]
    assert np.abs(moved[0]).max() > 1e-3
    np.testing.assert_allclose(moved[0], moved[1], atol=1e-6)

    inputs = (contexts(2, 3, seed=9), 2, 3, 0.5, 4)  # (context, num_samples, horizon, dt, seed)
    fn = signatures.predict_endpoint(model).tf_function()
    frames = call_signature(
        lambda **kw: fn(kw["context"], kw["num_samples"], kw["horizon"], kw["dt"], kw["seed"]), inputs[0], 2, 3, 0.5,
        4)
    expected = model.generate(inputs[0], 2, 3, dt=0.5, seed=4, include_intermediate=True).numpy()
    np.testing.assert_allclose(expected, frames, atol=1e-6)
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_content=tflite.convert(model))  # TFLITE_BUILTINS only, else ExportError
    out = interpreter.get_signature_runner(tflite.SIGNATURE)(
        **checks.check_inputs(*inputs, image_size=64, channels=1, min_context_frames=model.min_context_frames(),
                              dt_supported=True))
    assert np.abs(out["frames"] - frames).max() < 1e-4
