"""HAF-SVG's feature aligner against the paper's formulas (section 4.3), and the decoder that uses it."""

import numpy as np
import pytest
import tensorflow as tf

from tfvideo.models import networks
from tfvideo.models.aligner import AlignedFrameDecoder, FeatureAligner

N, H, W, C = 2, 4, 6, 5  # n = 24 positions


def features(seed):
    return tf.random.stateless_normal([N, H, W, C], seed=[seed, 0])


def make_aligner(value_source, scale=1.0):
    aligner = FeatureAligner(C, value_source)
    aligner(features(0), features(1))
    for index, layer in enumerate((aligner.query, aligner.key, aligner.value)):  # away from the ~uniform init
        layer.kernel.assign(tf.random.stateless_normal([C, C], seed=[7, index]) * scale)
    return aligner


def paper_formula(aligner, dec, enc, value_source):
    """Column layout of the paper: F in R^{C x n}, Q = Wq F_dec, K = Wk F_enc, V = Wv F_(dec|enc),
    S = Q^T K, A = row softmax of S, Z = V A^T. A Dense kernel k computes x k, so W = k^T."""
    f_dec = dec.numpy().reshape(N, H * W, C).transpose(0, 2, 1)
    f_enc = enc.numpy().reshape(N, H * W, C).transpose(0, 2, 1)
    wq, wk, wv = (layer.kernel.numpy().T for layer in (aligner.query, aligner.key, aligner.value))
    q, k = wq @ f_dec, wk @ f_enc
    v = wv @ (f_dec if value_source == "decoder" else f_enc)
    s = q.transpose(0, 2, 1) @ k
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    z = v @ a.transpose(0, 2, 1)
    return a, z.transpose(0, 2, 1).reshape(N, H, W, C)


@pytest.mark.parametrize("value_source", ["decoder", "encoder"])
def test_output_is_dec_enc_and_aligned_features_with_rows_summing_to_one(value_source):
    aligner = make_aligner(value_source)
    dec, enc = features(2), features(3)
    out = aligner(dec, enc)
    assert out.shape == (N, H, W, 3 * C)
    np.testing.assert_array_equal(out[..., :C], dec)
    np.testing.assert_array_equal(out[..., C:2 * C], enc)
    attention = aligner.attention(dec, enc).numpy()
    assert attention.shape == (N, H * W, H * W)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
    assert attention.min() >= 0 and attention.max() > 0.5  # not uniform: the test can see a wrong axis
    expected_a, expected_z = paper_formula(aligner, dec, enc, value_source)
    np.testing.assert_allclose(attention, expected_a, atol=1e-5)
    np.testing.assert_allclose(out[..., 2 * C:], expected_z, atol=1e-4)


def test_encoder_values_realign_a_shifted_feature_map():
    """With identity maps and a sharp attention, Z is the encoder map moved to where the decoder sees it."""
    aligner = FeatureAligner(H * W, "encoder")
    codes = tf.reshape(tf.eye(H * W), [1, H, W, H * W])  # a distinct one-hot code per position
    shifted = tf.roll(codes, shift=2, axis=2)  # the decoder sees the same content 2 px to the right
    aligner(shifted, codes)
    aligner.query.kernel.assign(tf.eye(H * W) * 30.0)
    aligner.key.kernel.assign(tf.eye(H * W))
    aligner.value.kernel.assign(tf.eye(H * W))
    aligned = aligner(shifted, codes)[..., 2 * H * W:]
    np.testing.assert_allclose(aligned, shifted, atol=1e-3)


def test_query_reads_the_decoder_and_key_the_encoder():
    """Q = F_dec Wq and K = F_enc Wk, rows of A over encoder positions: with one-hot codes, Wq mapping code c to
    c + 1 and Wk = I, decoder position i attends to the encoder position holding code(F_dec[i]) + 1. Swapping the
    query and key maps, or their inputs, makes it attend elsewhere (code - 1, or rows over decoder positions)."""
    n = H * W
    codes = tf.reshape(tf.eye(n), [1, H, W, n])  # encoder position p holds code p
    decoder = tf.roll(codes, shift=2, axis=2)  # the decoder's positions hold other codes
    aligner = FeatureAligner(n, "decoder")
    aligner(decoder, codes)
    aligner.query.kernel.assign(30.0 * np.roll(np.eye(n, dtype=np.float32), 1, axis=1))  # code c -> c + 1
    aligner.key.kernel.assign(tf.eye(n))
    attention = aligner.attention(decoder, codes).numpy()[0]
    decoder_codes = np.argmax(decoder.numpy().reshape(n, n), axis=-1)
    np.testing.assert_array_equal(np.argmax(attention, axis=-1), (decoder_codes + 1) % n)
    assert attention.max(axis=-1).min() > 0.99


@pytest.mark.parametrize("architecture", ["dcgan", "vgg"])
def test_aligned_decoder_reads_3c_channels_at_the_aligned_levels(architecture):
    nf = 2
    encoder = networks.FrameEncoder(architecture, 6, nf)
    decoder = AlignedFrameDecoder(architecture, 1, nf, aligner_levels=2)
    skips = encoder(tf.random.stateless_uniform([3, 64, 64, 1], seed=[1, 1]))["skips"]
    frames = decoder(tf.random.stateless_normal([3, 6], seed=[2, 2]), skips)
    assert frames.shape == (3, 64, 64, 1)
    for level, block in enumerate(networks._blocks(decoder, decoder._structure, "block")):
        conv = next(layer for layer in block if hasattr(layer, "kernel"))
        in_channels = conv.kernel.shape[-1] if architecture == "dcgan" else conv.kernel.shape[-2]
        skip_channels = skips[level].shape[-1]
        assert skip_channels == nf * 8 // 2 ** level
        assert in_channels == (3 if level < 2 else 2) * skip_channels, level
    with pytest.raises(ValueError, match="skip tensors"):
        decoder(tf.zeros([3, 6]))


def test_aligner_levels_out_of_range():
    with pytest.raises(ValueError, match="aligner_levels"):
        AlignedFrameDecoder("dcgan", 1, 2, aligner_levels=5)
