"""Frame encoders and decoders for 64x64 frames (DCGAN and VGG families), shared by every model.

Architectures follow SVG / SRVP (Denton & Fergus 2018; Franceschi et al. 2020), channels-last:

- DCGAN encoder: conv4 s2 (nf, no BN), conv4 s2 BN (2nf, 4nf, 8nf), conv4 valid -> encoding, BN, tanh.
  LeakyReLU(0.2) after each hidden block. Skip tensors: the four block outputs at 32, 16, 8, 4 px.
- VGG encoder: [2x conv3 nf] pool [2x conv3 2nf] pool [3x conv3 4nf] pool [3x conv3 8nf] pool conv4 valid.
  Skip tensors: the four block outputs at 64, 32, 16, 8 px.
- Decoders mirror them (transposed convolutions / nearest upsampling), input a flat vector seen as a 1x1
  map, sigmoid output in [0, 1]. With skip connections each block's input is concat[h, skip].

`networks` picks whose version of these families is built (config field `networks`):

- "srvp": SRVP's, as above: convolutions without bias, no batch norm on the DCGAN encoder's first convolution.
- "svg": SVG's own dcgan_64 / vgg_64: every convolution (and transposed convolution, the decoder's last one
  included) has a bias, and the DCGAN encoder's first convolution has batch norm too; otherwise the same layers.

Weights ~ N(0, 0.02), biases 0, BN gamma ~ N(1, 0.02) as in the reference codes' init_weights
(`layers.init_weights_normal`), whatever the model's `initialization`. Batch norm:
momentum 0.9 and epsilon 1e-5 (PyTorch's 0.1 and 1e-5); its moving variance is updated with the biased batch
variance as Keras does, where PyTorch uses the unbiased one, n / (n - 1) larger with n = batch * H * W values per
channel: below 0.1% at the SRVP paper's batch sizes (tfvideo/perf/batch_norm.py has the figures).
Skip lists are ordered from the deepest (smallest) tensor to the shallowest, the decoder's order.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.perf import batch_norm as batch_norm_lib
from tfvideo.perf import conv_ops
from tfvideo.models.layers import init_weights_normal, track_layers, tracked_layers

IMAGE_SIZE = config_lib.IMAGE_SIZE


def check_networks(networks: str) -> str:
    """`networks` if it is one of config.NETWORKS ("srvp", "svg"), else ValueError."""
    if networks not in config_lib.NETWORKS:
        raise ValueError(f"Unknown networks {networks!r}; expected one of {', '.join(config_lib.NETWORKS)}.")
    return networks


def _conv_block(filters: int, kernel: int, strides: int = 1, padding: str = "same", *, batch_norm: bool = True,
                activation: str | None = "leaky_relu", transpose: bool = False,
                use_bias: bool = False) -> list[keras.layers.Layer]:
    conv_cls = conv_ops.Conv2DTranspose if transpose else conv_ops.Conv2D  # Keras' layers (+ optional GEMM grad)
    layers = [conv_cls(filters, kernel, strides=strides, padding=padding, use_bias=use_bias,
                       kernel_initializer=init_weights_normal())]
    if batch_norm:
        layers.append(batch_norm_lib.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                                        gamma_initializer=init_weights_normal(1.0),
                                                        synchronized=_several_replicas()))  # Keras' (+ optional fusion)
    if activation == "leaky_relu":
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
    elif activation is not None:
        layers.append(keras.layers.Activation(activation))
    return layers


def _several_replicas() -> bool:
    """True when built under a tf.distribute strategy with several replicas: batch-norm moments are then
    all-reduced over the global batch (synchronized batch norm), as on one device (tfvideo.training.distribute)."""
    return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1


def _track_blocks(owner, groups: dict[str, list[list]]) -> dict[str, list[int]]:
    """Stores each group's blocks (lists of layers) as attributes <group><i>_<j>; returns the layer counts."""
    return {name: [track_layers(owner, f"{name}{i}", block) for i, block in enumerate(blocks)]
            for name, blocks in groups.items()}


def _blocks(owner, structure: dict[str, list[int]], name: str) -> list[list]:
    return [tracked_layers(owner, f"{name}{i}", count) for i, count in enumerate(structure[name])]


def _float32(x):
    """x as float32 (the identity for float32 x): the networks' outputs under a mixed precision policy."""
    return keras.ops.cast(x, "float32")


def _apply(layers: list[keras.layers.Layer], x, training):
    """x through `layers`; an inference pass (training=False) uses the faster forward ops of
    `conv_ops.edge_forward` for the transposed convolutions (same math)."""
    with conv_ops.edge_forward(active=training is False):
        for layer in layers:
            x = layer(x, training=training) if isinstance(layer, keras.layers.BatchNormalization) else layer(x)
    return x


@keras.saving.register_keras_serializable(package="tfvideo")
class FrameEncoder(keras.layers.Layer):
    """Encodes frames [N, 64, 64, C] in [0, 1] into encodings [N, encoding_size] and skip tensors."""

    precision_role = "mixed"  # tfvideo.perf.precision.apply_precision gives it the mixed dtype policy

    def __init__(self, architecture: str = "dcgan", encoding_size: int = 128, base_channels: int = 64,
                 networks: str = "srvp", **kwargs):
        super().__init__(**kwargs)
        self.architecture = architecture
        self.encoding_size = encoding_size
        self.base_channels = base_channels
        self.networks = check_networks(networks)
        nf = base_channels
        svg = networks == "svg"
        conv = functools.partial(_conv_block, use_bias=svg)
        if architecture == "dcgan":
            blocks = [
                conv(nf, 4, 2, batch_norm=svg),
                conv(nf * 2, 4, 2),
                conv(nf * 4, 4, 2),
                conv(nf * 8, 4, 2),
            ]
            head = conv(encoding_size, 4, 1, "valid", activation="tanh")
        elif architecture == "vgg":
            pool = keras.layers.MaxPooling2D
            blocks = [
                conv(nf, 3) + conv(nf, 3),
                [pool(2)] + conv(nf * 2, 3) + conv(nf * 2, 3),
                [pool(2)] + conv(nf * 4, 3) + conv(nf * 4, 3) + conv(nf * 4, 3),
                [pool(2)] + conv(nf * 8, 3) + conv(nf * 8, 3) + conv(nf * 8, 3),
            ]
            head = [pool(2)] + conv(encoding_size, 4, 1, "valid", activation="tanh")
        else:
            raise ValueError(f"Unknown architecture {architecture!r}; expected 'dcgan' or 'vgg'.")
        self._structure = _track_blocks(self, {"block": blocks, "head": [head]})

    def call(self, frames, training=False):
        """frames [N, 64, 64, C] -> {"encoding": [N, E], "skips": list of 4 [N, h_i, w_i, c_i], deepest first}."""
        h = frames
        skips = []
        for block in _blocks(self, self._structure, "block"):
            h = _apply(block, h, training)
            skips.append(h)
        h = _apply(_blocks(self, self._structure, "head")[0], h, training)
        # float32 out under a mixed precision policy (tfvideo.perf.precision): only the convolutions run in 16 bits.
        h, skips = _float32(h), [_float32(s) for s in skips]
        return {"encoding": keras.ops.reshape(h, (-1, self.encoding_size)), "skips": skips[::-1]}

    def get_config(self):
        return {**super().get_config(), "architecture": self.architecture, "encoding_size": self.encoding_size,
                "base_channels": self.base_channels, "networks": self.networks}


@keras.saving.register_keras_serializable(package="tfvideo")
class FrameDecoder(keras.layers.Layer):
    """Decodes vectors [N, D] (and optional skips) into frames [N, 64, 64, channels] in [0, 1]."""

    precision_role = "mixed"  # tfvideo.perf.precision.apply_precision gives it the mixed dtype policy

    def __init__(self, architecture: str = "dcgan", channels: int = 1, base_channels: int = 64,
                 skip_connections: bool = False, networks: str = "srvp", **kwargs):
        super().__init__(**kwargs)
        self.architecture = architecture
        self.channels = channels
        self.base_channels = base_channels
        self.skip_connections = skip_connections
        self.networks = check_networks(networks)
        nf = base_channels
        conv = functools.partial(_conv_block, use_bias=networks == "svg")
        if architecture == "dcgan":
            stem = conv(nf * 8, 4, 1, "valid", transpose=True)
            blocks = [
                conv(nf * 4, 4, 2, transpose=True),
                conv(nf * 2, 4, 2, transpose=True),
                conv(nf, 4, 2, transpose=True),
                conv(channels, 4, 2, batch_norm=False, activation=None, transpose=True),
            ]
        elif architecture == "vgg":
            up = keras.layers.UpSampling2D
            stem = conv(nf * 8, 4, 1, "valid", transpose=True) + [up(2)]
            blocks = [
                conv(nf * 8, 3) + conv(nf * 8, 3) + conv(nf * 4, 3) + [up(2)],
                conv(nf * 4, 3) + conv(nf * 4, 3) + conv(nf * 2, 3) + [up(2)],
                conv(nf * 2, 3) + conv(nf, 3) + [up(2)],
                conv(nf, 3) + conv(channels, 3, batch_norm=False, activation=None, transpose=True),
            ]
        else:
            raise ValueError(f"Unknown architecture {architecture!r}; expected 'dcgan' or 'vgg'.")
        self._structure = _track_blocks(self, {"stem": [stem], "block": blocks})

    def call(self, inputs, skips=None, training=False):
        """inputs [N, D]; skips: None or the encoder's 4 skip tensors with leading dim N -> [N, 64, 64, C]."""
        if self.skip_connections != (skips is not None):
            raise ValueError(f"This decoder was built with skip_connections={self.skip_connections} but "
                             f"{'no' if skips is None else 'some'} skip tensors were given.")
        h = keras.ops.reshape(inputs, (-1, 1, 1, inputs.shape[-1]))
        h = _apply(_blocks(self, self._structure, "stem")[0], h, training)
        for i, block in enumerate(_blocks(self, self._structure, "block")):
            if skips is not None:
                h = keras.ops.concatenate([h, skips[i]], axis=-1)
            h = _apply(block, h, training)
        return keras.ops.sigmoid(_float32(h))  # float32 frames under a mixed precision policy too

    def get_config(self):
        return {**super().get_config(), "architecture": self.architecture, "channels": self.channels,
                "base_channels": self.base_channels, "skip_connections": self.skip_connections,
                "networks": self.networks}
