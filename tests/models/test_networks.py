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
