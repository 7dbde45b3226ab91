import keras
import numpy as np
import tensorflow as tf

from tfvideo.models import layers


def test_content_encoder_is_permutation_invariant():
    content = layers.ContentEncoder(hidden_size=5)
    enc = tf.random.normal([2, 4, 3], seed=3)
    w = content(enc)
    assert w.shape == (2, 5)
    np.testing.assert_allclose(w, content(tf.gather(enc, [2, 0, 3, 1], axis=1)), atol=1e-6)
    assert not np.allclose(w, content(enc[:, :3]))  # but it does depend on the frames


def test_run_cell_static_and_dynamic_agree_and_are_causal():
    cell = keras.layers.LSTMCell(4)
    x = tf.random.normal([2, 5, 3], seed=2)
    state = layers.lstm_zero_state(cell, 2)
    static = layers.run_cell(cell, x, state)
    dynamic = tf.function(lambda v: layers.run_cell(cell, v, state),
                          input_signature=[tf.TensorSpec([2, None, 3])])(x)
    assert static.shape == (2, 5, 4)
    np.testing.assert_allclose(static, dynamic, atol=1e-6)
    changed = tf.concat([x[:, :3], x[:, 3:] + 1.0], axis=1)
    out = layers.run_cell(cell, changed, state)
    np.testing.assert_allclose(out[:, :3], static[:, :3], atol=1e-6)  # outputs before t=3 ignore the future
    assert not np.allclose(out[:, 3:], static[:, 3:])


def test_mlp_shapes_and_config():
    mlp = layers.MLP(7, 3, 4, kernel_initializer=keras.initializers.Orthogonal(gain=1.2))
    assert mlp(tf.zeros([2, 5])).shape == (2, 3)
    assert len(mlp.dense_layers) == 4
    again = layers.MLP.from_config(mlp.get_config())
    assert again.get_config() == mlp.get_config()
