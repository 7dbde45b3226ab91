import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfvideo.models import networks


@pytest.mark.parametrize("architecture, skip_sizes", [("dcgan", [4, 8, 16, 32]), ("vgg", [8, 16, 32, 64])])
def test_encoder_decoder_shapes(architecture, skip_sizes):
    enc = networks.FrameEncoder(architecture, encoding_size=6, base_channels=2)
    frames = tf.random.uniform([3, 64, 64, 5])
    out = enc(frames, training=True)
    assert out["encoding"].shape == (3, 6)
    assert [s.shape[1] for s in out["skips"]] == skip_sizes
    assert [s.shape[-1] for s in out["skips"]] == [16, 8, 4, 2]
    assert np.all(np.abs(out["encoding"]) <= 1.0)  # tanh
    dec = networks.FrameDecoder(architecture, channels=5, base_channels=2, skip_connections=True)
    image = dec(tf.random.normal([3, 7]), out["skips"], training=True)
    assert image.shape == (3, 64, 64, 5)
    assert float(tf.reduce_min(image)) >= 0.0 and float(tf.reduce_max(image)) <= 1.0


def test_decoder_refuses_missing_skips():
    dec = networks.FrameDecoder("dcgan", channels=1, base_channels=2, skip_connections=True)
    with pytest.raises(ValueError, match="skip"):
        dec(tf.zeros([1, 4]))


def test_unknown_architecture():
    with pytest.raises(ValueError, match="resnet"):
        networks.FrameEncoder("resnet")


def test_get_config_round_trip():
    dec = networks.FrameDecoder("vgg", channels=3, base_channels=4, skip_connections=True, name="d")
    again = networks.FrameDecoder.from_config(dec.get_config())
    assert again.get_config() == dec.get_config()


ORIGINAL_SVG = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "original_svg")


def _count(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("architecture, channels", [("dcgan", 1), ("vgg", 3)])
def test_svg_networks_have_the_original_s_parameters(architecture, channels):
    """networks="svg" has as many weights and batch-norm statistics as the original SVG dcgan_64 / vgg_64 at
    nf = 2, counted with PyTorch by tests/fixtures/original_svg/make_fixtures.py; SRVP's versions have fewer."""
    counted = np.load(os.path.join(ORIGINAL_SVG, f"svglp_{architecture}.npz"))
    g_dim = counted["encoding"].shape[-1]
    for networks_name, same in (("svg", True), ("srvp", False)):
        enc = networks.FrameEncoder(architecture, g_dim, 2, networks=networks_name)
        out = enc(tf.zeros([2, 64, 64, channels]))
        dec = networks.FrameDecoder(architecture, channels, 2, skip_connections=True, networks=networks_name)
        dec(tf.zeros([2, g_dim]), out["skips"])
        for part, layer in (("encoder", enc), ("decoder", dec)):
            ours = (_count(layer.trainable_weights), _count(layer.non_trainable_weights))
            theirs = (int(counted[f"trainable_{part}"]), int(counted[f"buffer_{part}"]))
            assert (ours == theirs) == same, (networks_name, part, ours, theirs)


@pytest.mark.parametrize("architecture", ["dcgan", "vgg"])
def test_svg_networks_put_biases_on_every_convolution_and_batch_norm_on_the_first(architecture):
    enc = networks.FrameEncoder(architecture, 6, 2, networks="svg")
    dec = networks.FrameDecoder(architecture, 3, 2, networks="svg")
    out = enc(tf.random.uniform([2, 64, 64, 3]))
    assert out["encoding"].shape == (2, 6) and [s.shape[-1] for s in out["skips"]] == [16, 8, 4, 2]
    assert dec(tf.random.normal([2, 6])).shape == (2, 64, 64, 3)
    kinds = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    convolutions = [layer for net in (enc, dec) for layer in net._flatten_layers() if isinstance(layer, kinds)]
    assert sum(isinstance(layer, keras.layers.Conv2DTranspose) for layer in convolutions) >= 2  # stem, frame layer
    assert all(layer.use_bias for layer in convolutions)
    first_block = networks._blocks(enc, enc._structure, "block")[0]
    assert isinstance(first_block[1], keras.layers.BatchNormalization)


def test_unknown_networks():
    with pytest.raises(ValueError, match="Unknown networks 'svg2'; expected one of srvp, svg"):
        networks.FrameDecoder("dcgan", networks="svg2")


def test_get_config_round_trip_keeps_the_networks():
    enc = networks.FrameEncoder("dcgan", 6, 2, networks="svg")
    again = networks.FrameEncoder.from_config(enc.get_config())
    assert again.networks == "svg" and again.get_config() == enc.get_config()
