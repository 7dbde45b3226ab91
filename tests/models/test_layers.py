import importlib
import inspect
import pkgutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfvideo.models
import tfvideo.perf
from tfvideo.models import aligner, layers, networks, svg
from tfvideo.perf import batch_norm, conv_ops
from tests.support.models import plain_settings


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


def _layer_classes():
    """Every keras Layer (and Model) subclass defined in tfvideo.models and tfvideo.perf."""
    found = []
    for package in (tfvideo.models, tfvideo.perf):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                      if issubclass(c, keras.layers.Layer) and c.__module__ == module.__name__]
    return found


def test_every_layer_and_model_class_is_registered():
    classes = _layer_classes()
    assert {"MLP", "FrameEncoder", "FeatureAligner", "BatchNormalization", "SRVP", "SVG", "HAFSVG"} <= {
        c.__name__ for c in classes}
    unregistered = [c.__qualname__ for c in classes
                    if keras.saving.get_registered_object(f"tfvideo>{c.__name__}") is not c]
    assert not unregistered, unregistered


@pytest.mark.parametrize("layer", [
    layers.MLP(7, 3, 4, kernel_initializer=keras.initializers.Orthogonal(gain=1.2), name="mlp"),
    layers.ContentEncoder(5),
    networks.FrameEncoder("vgg", encoding_size=6, base_channels=3),
    networks.FrameDecoder("dcgan", channels=2, base_channels=3, skip_connections=True),
    aligner.FeatureAligner(6, value_source="encoder"),
    aligner.AlignedFrameDecoder("dcgan", channels=2, base_channels=3, aligner_levels=2, value_source="encoder"),
    svg.GaussianLSTM(5, 3),
    svg.GroupedGaussianLSTM(5, 3, num_groups=2),
    svg.FramePredictor(5, 6, num_layers=3),
    batch_norm.BatchNormalization(momentum=0.8, fused=True),
    conv_ops.Conv2D(4, 3, kernel_grad="gemm"),
    conv_ops.Conv2DTranspose(4, 3, strides=2, kernel_grad="gemm"),
], ids=lambda layer: type(layer).__name__)
def test_layer_serialization_round_trip(layer):
    """keras.saving.serialize / deserialize (what a .keras file stores) rebuild the same class and config."""
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()
    assert plain_settings(again) == plain_settings(layer)
