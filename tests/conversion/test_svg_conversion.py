"""SVG-LP checkpoints of the original SVG code, converted, compute the original's own numbers.

The fixtures (tests/fixtures/original_svg, made by make_fixtures.py there from the original code) hold tiny
SVG-LP models with SVG's dcgan_64 and vgg_64 networks, saved as train_svg_lp.py saves them (whole pickled
modules and the options) in both PyTorch file formats, and the original modules' outputs for fixed frames and
fixed noise (batch norm in eval mode)."""

import os
import re
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from tfvideo import conversion, runs
from tfvideo.conversion import common
from tfvideo.conversion import svg as svg_conversion
from tfvideo.utils import torch_files

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "original_svg")
CASES = [(net, fmt) for net in ("dcgan", "vgg") for fmt in ("legacy", "zip")]
TOLERANCE = dict(rtol=2e-4, atol=2e-5)  # float32 with another order of operations


def _file(net, fmt):
    return os.path.join(FIXTURES, f"svglp_{net}_{fmt}.pth")


def _expected(net):
    with np.load(os.path.join(FIXTURES, f"svglp_{net}.npz")) as data:
        return {key: data[key] for key in data.files}


def _videos(expected):
    """The fixture's frames [B, T, 64, 64, C]: its 16x16 levels / 255, each over a 4x4 block."""
    levels = expected["video_levels"].astype(np.float32) / 255
    return tf.constant(np.repeat(np.repeat(levels, 4, axis=2), 4, axis=3))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """{(net, fmt): the TrainedModel of the converted run}, converted once per module."""
    cache = {}

    def get(net, fmt):
        if (net, fmt) not in cache:
            workdir = str(tmp_path_factory.mktemp("converted") / f"{net}_{fmt}")
            conversion.convert("svg", _file(net, fmt), workdir)
            cache[net, fmt] = runs.load_trained_model(workdir)
        return cache[net, fmt]
    return get


def _close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual), expected, err_msg=what, **TOLERANCE)


def _mean_logvar(normal):
    return np.asarray(normal.loc), 2 * np.log(np.asarray(normal.scale, np.float64))


@pytest.mark.parametrize("net, fmt", CASES)
def test_the_options_give_the_original_s_configuration(net, fmt, converted):
    config = converted(net, fmt).config
    expected = _expected(net)
    b, t, _, _, c = expected["video_levels"].shape
    assert (config.model.model, config.model.networks, config.model.architecture) == ("svg", "svg", net)
    assert (config.model.encoding_size, config.model.noise_size) == (expected["encoding"].shape[-1],
                                                                     expected["eps_posterior"].shape[-1])
    assert config.model.base_channels == expected["skip3"].shape[-1] and config.model.skip_connections
    assert (config.data.channels, config.data.seq_len, config.train.batch_size) == (c, t, b)
    assert config.data.conditioning_frames + 2 == t  # n_past = 3, n_future = 2 in the fixtures


@pytest.mark.parametrize("net, fmt", CASES)
def test_converted_model_computes_the_original_s_numbers(net, fmt, converted):
    model = converted(net, fmt).model
    expected = _expected(net)
    videos = _videos(expected)
    encoded = model.encode(videos)
    h = encoded["encoding"]
    _close(h, expected["encoding"], "encoder features")
    for i in range(4):
        _close(encoded["skips"][i][0, 0, ::2, ::2], expected[f"skip{i}"], f"skip {i}")
    q, z = model.posterior(h[:, 1:], noise=tf.constant(expected["eps_posterior"]))
    p, _ = model.prior(h[:, :-1], z=z)
    for name, normal in (("posterior", q), ("prior", p)):
        mean, logvar = _mean_logvar(normal)
        _close(mean, expected[f"{name}_mean"], f"{name} mean")
        _close(logvar, expected[f"{name}_logvar"], f"{name} log variance")
    g = model.predictor(tf.concat([h[:, :-1], z], axis=-1))
    index = model.skip_frame_indices(tf.shape(videos)[1])
    frames = model.decode(g, [tf.gather(s, index, axis=1) for s in encoded["skips"]])
    _close(frames[:, :, ::4, ::4], expected["reconstruction"], "reconstruction")
    terms = model.elbo_terms(videos, tf.constant(expected["eps_posterior"]))
    _close(terms["reconstruction"], expected["mse"], "summed per-pixel MSE")
    _close(terms["kl_z"], expected["kld"], "KL")


@pytest.mark.parametrize("net, fmt", CASES)
def test_converted_model_generates_the_original_s_frames(net, fmt, converted):
    model = converted(net, fmt).model
    expected = _expected(net)
    past = model.conditioning_frames
    horizon = expected["generated"].shape[1]
    frames = model.sample_futures(_videos(expected)[:, :past], 1, horizon, 1,
                                  {"z": tf.constant(expected["eps_generation"])})
    _close(frames[:, 0, :, ::4, ::4], expected["generated"], "generated frames")


def _rewritten(tmp_path, name, change):
    """A copy of the zip fixture whose pickle went through `change(bytes) -> bytes`."""
    source, target = _file("dcgan", "zip"), str(tmp_path / name)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, change(data) if item.filename.endswith("data.pkl") else data)
    return target


@pytest.mark.parametrize("what, change, message", [
    ("another callable", lambda data: data.replace(b"argparse\nNamespace\n", b"os\nsystem\n"), "names os.system"),
    ("a damaged file", lambda data: data[:len(data) // 2], "Cannot read"),
])
def test_a_file_it_cannot_read_is_refused_and_nothing_is_written(what, change, message, tmp_path):
    path = _rewritten(tmp_path, "bad.pth", change)
    workdir = tmp_path / "run"
    with pytest.raises(conversion.ConversionError, match=message):
        conversion.convert("svg", path, str(workdir))
    assert not workdir.exists() and sorted(os.listdir(tmp_path)) == ["bad.pth"], what


@pytest.mark.parametrize("option, value, message", [
    ("data_thread2", 5, "opt has option(s) tfvideo cannot map: data_thread2"),
    ("last_frame_skip", True, "option last_frame_skip=True cannot be mapped"),
    ("posterior_rnn_layers", 2, "option posterior_rnn_layers=2 cannot be mapped"),
    ("dataset", "mmnist", "option dataset='mmnist' has no tfvideo dataset"),
])
def test_an_option_it_cannot_map_is_named(option, value, message):
    options = svg_conversion.read(_file("dcgan", "zip")).options
    with pytest.raises(conversion.ConversionError, match=re.escape(message)):
        svg_conversion.config_from_options({**options, option: value})


def test_a_missing_tensor_is_named():
    from tfvideo.models import build_model
    original = svg_conversion.read(_file("vgg", "legacy"))
    del original.tensors["prior.logvar_net.bias"]
    with pytest.raises(conversion.ConversionError, match="prior.logvar_net.bias"):
        svg_conversion.map_variables(build_model(original.config), original.tensors)


def test_old_pytorch_parameters_and_variables_are_unwrapped():
    """PyTorch < 0.4 pickles parameters and variables as their classes called on the tensor: records here."""
    def record(class_name, *args):
        return type(class_name.rsplit(".", 1)[-1], (torch_files.PickledRecord,), {"class_name": class_name})(*args)
    weight, hidden = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)
    linear = record("torch.nn.modules.linear.Linear")
    linear.state = {"_parameters": {"weight": record("torch.nn.parameter.Parameter", weight, True), "bias": None},
                    "_buffers": {}, "_modules": {}}
    net = record("models.lstm.lstm")
    net.state = {"_parameters": {}, "_buffers": {}, "_modules": {"embed": linear},
                 "hidden": [record("torch.autograd.variable.Variable", hidden)]}
    tensors = svg_conversion.module_tensors(net, "frame_predictor", "f.pth")
    assert list(tensors) == ["frame_predictor.embed.weight"]  # no bias, no saved hidden state
    np.testing.assert_array_equal(tensors["frame_predictor.embed.weight"], weight)
