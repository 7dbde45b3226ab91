"""SRVP's `initialization` option: "keras" keeps the Keras-default weights bit for bit; "pytorch" draws the
original code's distributions (nn.Linear's and nn.LSTM's U(+-1/sqrt(fan_in)), two LSTM biases, independent
draws per weight) and keeps the residual function orthogonal with zero biases."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.support.cli import REPO
from tests.support.configs import tiny_config
from tfvideo import config as config_lib
from tfvideo.models import build_model
from tfvideo.models import layers

# Widths distinct per axis and large enough for variance estimates (kernels of 960 to 6,400 entries); two
# hidden layers of equal shape in f and p(z|y).
STATS_MODEL = dict(encoding_size=24, inference_hidden_size=40, dynamics_hidden_size=36, dynamics_layers=4,
                   initialization="pytorch")
# sha256 over (name, shape, bytes) of every weight of build_model(tiny_config()) after keras.utils.set_random_seed(0),
# in a new process whose Python RNG is first set to argv[1], with the model modules imported before the seeding
# ("early") or by build_model ("late").
_HASH_SCRIPT = """
import hashlib, random, sys
random.seed(int(sys.argv[1]))
if sys.argv[2] == "early":
    import tfvideo.models.networks, tfvideo.models.srvp, tfvideo.models.aligner
import keras, numpy as np
from tests.support.configs import tiny_config
from tfvideo.models import build_model
keras.utils.set_random_seed(0)
model = build_model(tiny_config())
digest = hashlib.sha256()
for weight in model.weights:
    digest.update(f"{weight.name}{tuple(weight.shape)}".encode())
    digest.update(np.asarray(weight.numpy()).tobytes())
print(type(model.posterior_lstm).__name__, digest.hexdigest())
"""


@pytest.fixture(scope="module")
def pytorch_model():
    keras.utils.set_random_seed(0)
    return build_model(tiny_config(model=STATS_MODEL))


def _pytorch_dense_layers(model) -> list:
    return [model.content.project, model.content.output_layer, *model.initial_state_posterior.dense_layers,
            model.posterior_head, *model.prior.dense_layers]


def _assert_uniform(values: np.ndarray, bound: float, name: str) -> None:
    """Inside [-bound, bound]; for 900+ entries also the variance bound^2 / 3 (sampling error ~3%) and mean 0."""
    assert np.abs(values).max() <= bound, name
    if values.size >= 900:
        assert values.var() == pytest.approx(bound ** 2 / 3, rel=0.15), name
        assert abs(values.mean()) < 5 * bound / np.sqrt(3 * values.size), name
        assert np.abs(values).max() > 0.95 * bound, name  # the whole interval is used, not a narrower one


def _weights_digest(python_seed: int, imports: str) -> list[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(python_seed), imports],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()[-2:]


def test_keras_initialization_is_the_default_and_depends_on_the_seed_only():
    """The same weights for keras.utils.set_random_seed(0) whatever the Python RNG did before and whenever the
    model modules were imported (a module-level initializer would draw its seed at import)."""
    assert config_lib.Config().model.initialization == "keras"
    early, late = _weights_digest(1, "early"), _weights_digest(2, "late")
    assert early[0] == "LSTMCell" and early == late


@pytest.mark.parametrize("model_name", ["srvp", "hafsvg"])
def test_keras_initialization_draws_every_kernel_and_scale_independently(model_name):
    """No two convolution kernels, dense kernels or batch-norm scales of the same shape start equal (a shared
    initializer object gives every layer the same draw)."""
    keras.utils.set_random_seed(0)
    overrides = dict(dynamics_layers=4) if model_name == "srvp" else dict(predictor_layers=3)
    model = build_model(tiny_config(model=dict(model=model_name, skip_connections=True, **overrides)))
    weights = [w for w in model.weights if w.path.split("/")[-1] in ("kernel", "gamma")]
    pairs = [(a, b) for i, a in enumerate(weights) for b in weights[i + 1:] if tuple(a.shape) == tuple(b.shape)]
    assert len(pairs) >= 3, [w.path for w in weights]  # hidden layers of f and p(z|y), equal-width BN scales
    equal = [(a.path, b.path) for a, b in pairs if np.array_equal(a.numpy(), b.numpy())]
    assert not equal, equal


def test_pytorch_linear_layers_draw_kernel_and_bias_from_the_fan_in_uniform(pytorch_model):
    dense_layers = _pytorch_dense_layers(pytorch_model)
    assert len(dense_layers) == 2 + 2 + 1 + 4 and all(isinstance(l, layers.PyTorchDense) for l in dense_layers)
    for layer in dense_layers:
        bound = 1.0 / np.sqrt(layer.kernel.shape[0])
        _assert_uniform(layer.kernel.numpy(), bound, layer.kernel.path)
        _assert_uniform(layer.bias.numpy(), bound, layer.bias.path)
        assert np.abs(layer.bias.numpy()).max() > 0.5 * bound, layer.bias.path  # not Keras' zero bias


def test_pytorch_lstm_has_four_uniform_weights_and_two_trainable_biases(pytorch_model):
    cell = pytorch_model.posterior_lstm
    assert isinstance(cell, layers.PyTorchLSTMCell) and cell.units == 40
    names = {w.path.split("/")[-1]: w for w in cell.trainable_weights}
    assert set(names) == {"kernel", "recurrent_kernel", "input_bias", "recurrent_bias"}
    assert names["kernel"].shape == (24, 160) and names["recurrent_kernel"].shape == (40, 160)
    for name, weight in names.items():
        _assert_uniform(weight.numpy(), 1.0 / np.sqrt(40), name)  # 1/sqrt(hidden), not 1/sqrt(24)
    assert names["kernel"].numpy().var() == pytest.approx(1 / (3 * 40), rel=0.15)


def test_every_pytorch_weight_is_an_independent_draw(pytorch_model):
    """No weight starts as a rescaled copy of another's first entries (one integer-seeded initializer shared by
    several weights would do that)."""
    weights = [w for l in _pytorch_dense_layers(pytorch_model) for w in (l.kernel, l.bias)]
    weights += list(pytorch_model.posterior_lstm.weights) + [l.kernel for l in pytorch_model.transition.dense_layers]
    heads = [w.numpy().ravel()[:6] for w in weights]  # the smallest weight, q(y_1)'s output bias, has 6
    heads = [h / np.abs(h).max() for h in heads]
    for i in range(len(heads)):
        for j in range(i + 1, len(heads)):
            assert not np.allclose(heads[i], heads[j], atol=1e-3), (weights[i].path, weights[j].path)


def test_pytorch_residual_function_stays_orthogonal_with_zero_biases(pytorch_model):
    gain = pytorch_model.model_config.residual_gain
    for layer in pytorch_model.transition.dense_layers:
        kernel = layer.kernel.numpy()
        gram = kernel.T @ kernel if kernel.shape[0] >= kernel.shape[1] else kernel @ kernel.T
        np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-5, err_msg=layer.kernel.path)
        np.testing.assert_array_equal(layer.bias.numpy(), 0.0)


def test_pytorch_lstm_cell_computes_the_lstm_gates_in_order_i_f_g_o():
    """Outputs of the gate equations written out in numpy, and of a keras LSTMCell (same gate order) whose one
    bias is the sum of the two."""
    rng = np.random.default_rng(0)
    x, h, c = (rng.normal(size=shape).astype(np.float32) for shape in ((2, 3), (2, 5), (2, 5)))
    cell = layers.PyTorchLSTMCell(5)
    cell.build((None, 3))
    for weight in cell.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    out, (h_new, c_new) = cell(tf.constant(x), [tf.constant(h), tf.constant(c)])
    gates = x @ cell.kernel.numpy() + cell.input_bias.numpy() + h @ cell.recurrent_kernel.numpy() \
        + cell.recurrent_bias.numpy()
    i, f, g, o = np.split(gates, 4, axis=-1)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))
    expected_c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(c_new, expected_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_new, sigmoid(o) * np.tanh(expected_c), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out, h_new)
    reference = keras.layers.LSTMCell(5)
    reference.build((None, 3))
    reference.set_weights([cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                           cell.input_bias.numpy() + cell.recurrent_bias.numpy()])
    ref_out, (_, ref_c) = reference(tf.constant(x), [tf.constant(h), tf.constant(c)])
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_new, ref_c, rtol=1e-5, atol=1e-6)


def test_both_lstm_biases_receive_the_same_gradient(pytorch_model):
    videos = tf.random.stateless_uniform([2, 5, 64, 64, 1], seed=[1, 2])
    cell = pytorch_model.posterior_lstm
    with tf.GradientTape() as tape:
        loss = pytorch_model.compute_loss_terms(videos, training=True)["loss"]
    grad_ih, grad_hh = tape.gradient(loss, [cell.input_bias, cell.recurrent_bias])
    assert np.abs(grad_ih.numpy()).max() > 0
    np.testing.assert_allclose(grad_ih, grad_hh, rtol=1e-6, atol=1e-9)


def test_unknown_initialization_is_rejected_by_the_layers():
    with pytest.raises(ValueError, match="Unknown initialization 'torch'; expected one of keras, pytorch"):
        layers.MLP(4, 2, 2, initialization="torch")
    with pytest.raises(ValueError, match="takes no kernel_initializer"):
        layers.PyTorchDense(3, kernel_initializer="zeros")


@pytest.mark.parametrize("layer", [
    layers.PyTorchDense(4, activation="relu", name="dense"),
    layers.PyTorchLSTMCell(3),
    layers.MLP(7, 3, 4, initialization="pytorch"),
    layers.MLP(7, 3, 2, kernel_initializer=keras.initializers.Orthogonal(gain=1.2), initialization="pytorch"),
    layers.ContentEncoder(5, initialization="pytorch"),
], ids=lambda layer: f"{type(layer).__name__}-{layer.name}")
def test_pytorch_layers_round_trip_through_keras_serialization(layer):
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert getattr(again, "initialization", "pytorch") == "pytorch"


def test_run_cell_steps_the_pytorch_cell_alike_with_static_and_dynamic_time():
    cell = layers.PyTorchLSTMCell(4)
    x = tf.random.normal([2, 5, 3], seed=2)
    state = layers.lstm_zero_state(cell, 2)
    static = layers.run_cell(cell, x, state)
    dynamic = tf.function(lambda v: layers.run_cell(cell, v, state), input_signature=[tf.TensorSpec([2, None, 3])])
    assert static.shape == (2, 5, 4)
    np.testing.assert_allclose(static, dynamic(x), atol=1e-6)
    np.testing.assert_array_equal(static[:, 0], cell(x[:, 0], state)[0])
