"""HAF-SVG's feature aligner (Lin et al., IJCAI 2020, section 4.3) and the decoder that uses it.

At a decoder resolution with C channels and n = h * w positions, features as rows [n, C]:

    Q = F_dec Wq,  K = F_enc Wk                              [n, C]  (F_enc: the last observed frame's encoder features)
    A = softmax(Q K^T) over the last axis                    [n, n]  (row i: decoder position i over encoder positions)
    V = F_dec Wv  (as printed in the paper)  or  F_enc Wv  (`value_source="encoder"`)   [n, C]
    Z = A V                                                  [n, C]  (the paper's Z = V A^T in its column layout)
    output = concat[F_dec, F_enc, Z]                         [n, 3C]

Wq, Wk, Wv are linear maps (1x1 convolutions without bias) to C channels: the paper gives no embedding size,
so none is reduced. No 1/sqrt(C) temperature: eq. 5 has none. Their weights start like every convolution
of the model, N(0, 0.02), so the attention starts close to uniform.

`AlignedFrameDecoder` puts an aligner in place of the plain skip concatenation [F_dec, F_enc] at the
`aligner_levels` deepest skip levels (all 4 in the paper: "multi-level features" of the last observed frame);
the finer levels, if any, keep plain skips. The attention matrix has (h * w)^2 entries per frame: 1024^2 at
DCGAN's finest level (32x32), 4096^2 at VGG's (64x64, 64 MiB per decoded frame in float32).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.models import networks
from tfvideo.models.layers import init_weights_normal, track_layers, tracked_layers


@keras.saving.register_keras_serializable(package="tfvideo")
class FeatureAligner(keras.layers.Layer):
    """Aligns the encoder features of the last observed frame to the decoder features of the current frame.

    call(decoder_features, encoder_features), both [N, h, w, C] -> [N, h, w, 3C] = [F_dec, F_enc, Z].
    """

    precision_role = "float32"  # stays float32 inside a mixed-precision decoder (tfvideo.perf.precision)

    def __init__(self, channels: int, value_source: str = "decoder", **kwargs):
        super().__init__(**kwargs)
        if value_source not in config_lib.ALIGNER_VALUES:
            raise ValueError(f"value_source must be one of {config_lib.ALIGNER_VALUES}; got {value_source!r}.")
        self.channels = channels
        self.value_source = value_source
        dense = lambda name: keras.layers.Dense(channels, use_bias=False, kernel_initializer=init_weights_normal(),
                                                name=name)
        self.query = dense("query")
        self.key = dense("key")
        self.value = dense("value")

    def attention(self, decoder_features, encoder_features):
        """A [N, n, n], n = h * w: row i is the softmax over encoder positions of q_i . k_j (rows sum to 1)."""
        q = _flatten_positions(self.query(decoder_features))
        k = _flatten_positions(self.key(encoder_features))
        return tf.nn.softmax(tf.matmul(q, k, transpose_b=True), axis=-1)

    def call(self, decoder_features, encoder_features):
        attention = self.attention(decoder_features, encoder_features)
        source = decoder_features if self.value_source == "decoder" else encoder_features
        aligned = tf.matmul(attention, _flatten_positions(self.value(source)))
        aligned = tf.reshape(aligned, tf.shape(decoder_features))
        return tf.concat([decoder_features, encoder_features, aligned], axis=-1)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "value_source": self.value_source}


def _flatten_positions(features):
    """[N, h, w, C] -> [N, h * w, C]."""
    shape = tf.shape(features)
    return tf.reshape(features, [shape[0], shape[1] * shape[2], features.shape[-1]])


@keras.saving.register_keras_serializable(package="tfvideo")
class AlignedFrameDecoder(networks.FrameDecoder):
    """`FrameDecoder` with skip connections whose `aligner_levels` deepest levels go through a FeatureAligner.

    Same blocks and call signature as `FrameDecoder(..., skip_connections=True)`; a block fed by an aligner
    reads 3C channels instead of 2C. Skip level i (deepest first) has base_channels * 8 / 2^i channels for both
    the DCGAN and the VGG families.
    """

    def __init__(self, architecture: str = "dcgan", channels: int = 1, base_channels: int = 64,
                 aligner_levels: int = config_lib.NUM_SKIP_LEVELS, value_source: str = "decoder",
                 networks: str = "srvp", **kwargs):
        kwargs.pop("skip_connections", None)
        super().__init__(architecture, channels, base_channels, skip_connections=True, networks=networks, **kwargs)
        if not 1 <= aligner_levels <= config_lib.NUM_SKIP_LEVELS:
            raise ValueError(f"aligner_levels must be in 1..{config_lib.NUM_SKIP_LEVELS}; got {aligner_levels}.")
        self.aligner_levels = aligner_levels
        self.value_source = value_source
        track_layers(self, "aligner", [FeatureAligner(base_channels * 8 // 2 ** i, value_source, name=f"aligner{i}")
                                       for i in range(aligner_levels)])

    @property
    def aligners(self) -> list[FeatureAligner]:
        return tracked_layers(self, "aligner", self.aligner_levels)

    def call(self, inputs, skips=None, training=False):
        """inputs [N, D]; skips: the encoder's 4 skip tensors with leading dim N -> frames [N, 64, 64, C]."""
        if skips is None:
            raise ValueError("The aligned decoder needs the skip tensors of the last observed frame.")
        # The FrameDecoder's blocks, driven with an aligner in place of the concatenation at the deepest levels.
        h = keras.ops.reshape(inputs, (-1, 1, 1, inputs.shape[-1]))
        h = networks._apply(networks._blocks(self, self._structure, "stem")[0], h, training)
        aligners = self.aligners
        for i, block in enumerate(networks._blocks(self, self._structure, "block")):
            h = aligners[i](h, skips[i]) if i < len(aligners) else keras.ops.concatenate([h, skips[i]], axis=-1)
            h = networks._apply(block, h, training)
        return keras.ops.sigmoid(networks._float32(h))  # float32 frames under a mixed precision policy too

    def get_config(self):
        return {**super().get_config(), "aligner_levels": self.aligner_levels, "value_source": self.value_source}
