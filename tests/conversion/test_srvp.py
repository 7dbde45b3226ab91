"""SRVP checkpoints of the original code, converted, compute the original's own numbers.

The fixtures (tests/fixtures/original_srvp, README.md there) hold tiny SRVP models of the original code (DCGAN
on SM-MNIST, VGG with skip connections and two Euler steps per frame on KTH) in both PyTorch file formats, and
what the original test path computed from fixed frames and fixed noise."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfvideo import conversion, runs
from tfvideo.conversion import srvp as srvp_conversion
from tfvideo.models import distributions as dist_lib

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "original_srvp")
# model.pt: PyTorch's legacy format (as the authors' files); model_best.pt: the zip format.
CASES = [("dcgan_smmnist", "model.pt"), ("vgg_kth", "model.pt"), ("vgg_kth", "model_best.pt")]
TOLERANCE = dict(rtol=2e-4, atol=2e-5)  # float32 with another order of operations


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """{(fixture, checkpoint): the TrainedModel of the converted run}, converted once per module."""
    cache = {}

    def get(name, checkpoint):
        if (name, checkpoint) not in cache:
            workdir = str(tmp_path_factory.mktemp("converted") / f"{name}_{checkpoint}")
            conversion.convert("srvp", os.path.join(FIXTURES, name), workdir, checkpoint)
            cache[name, checkpoint] = runs.load_trained_model(workdir)
        return cache[name, checkpoint]
    return get


def _expected(name):
    with np.load(os.path.join(FIXTURES, name, "outputs.npz")) as data:
        return {key: data[key] for key in data.files}


def _close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual), expected, err_msg=what, **TOLERANCE)


def _strided(frames, stride):
    return np.asarray(frames)[..., ::stride, ::stride, :]


def _params(normal):
    """Raw parameters [..., 2d] (loc, softplus^-1(scale - 1e-8)) of a Normal made by normal_from_params."""
    scale = np.asarray(normal.scale, np.float64) - dist_lib.MIN_SCALE
    return np.concatenate([np.asarray(normal.loc), np.log(np.expm1(scale))], axis=-1)


def _context_rollout(model, inferred, expected):
    """States [B, Tc, ny] through the context (z from q(z) with the fixture's noise) and prior params there."""
    k = round(1 / model.model_config.dt)
    y = dist_lib.sample_with_noise(inferred["y1"], expected["noise_y1"])
    states, priors = [y], []
    for t in range(inferred["posterior"].shape[1]):
        priors.append(model.prior(y))
        z = dist_lib.sample_with_noise(dist_lib.normal_from_params(inferred["posterior"][:, t]),
                                       expected["noise_z"][:, t])
        y = model.advance(y, z, k)["y"]
        states.append(y)
    return tf.stack(states, axis=1), tf.stack(priors, axis=1)


@pytest.mark.parametrize("name,checkpoint", CASES)
def test_the_converted_model_computes_the_original_numbers(converted, name, checkpoint):
    model = converted(name, checkpoint).model
    expected = _expected(name)
    context = tf.constant(expected["frames"].astype(np.float32) / 255)
    inferred = model.infer(context)
    _close(inferred["encoding"], expected["encoding"], "frame encodings")
    for i in range(4 if model.model_config.skip_connections else 0):
        _close(_strided(inferred["skips"][i], int(expected[f"skip_stride_{i}"])), expected[f"skip_{i}"], f"skip {i}")
    _close(inferred["content"], expected["content"], "content w")
    np.testing.assert_allclose(_params(inferred["y1"]), expected["q_y1"], rtol=1e-3, atol=1e-4, err_msg="q(y_1)")
    _close(inferred["posterior"], expected["q_z"], "q(z_t) parameters")
    states, priors = _context_rollout(model, inferred, expected)
    _close(states, expected["states_context"], "context states")
    _close(priors, expected["p_z_context"], "p(z | y) on the context")
    stride = int(expected["frame_stride"])
    reconstruction = model.decode(states, inferred["content"], inferred["skips"])
    _close(_strided(reconstruction, stride), expected["reconstruction"], "reconstruction")
    noise = {"y1": expected["noise_y1"], "z": expected["noise_z"]}
    horizon, k = expected["states_future"].shape[1], round(1 / model.model_config.dt)
    future = model.sample_states(inferred, 1, horizon, k, noise)
    _close(future, expected["states_future"], "predicted states")
    _close(tf.stack([model.prior(y) for y in [states[:, -1], future[:, 0]]], axis=1), expected["p_z_future"],
           "p(z | y) on the predicted frames")
    frames = model.sample_futures(context, 1, horizon, k, noise)[:, 0]
    _close(_strided(frames, stride), expected["prediction"], "predicted frames")


def test_the_options_map_to_the_run_config(tmp_path):
    options = json.load(open(os.path.join(FIXTURES, "vgg_kth", "config.json")))
    config = srvp_conversion.config_from_options(options)
    model, data = config.model, config.data
    assert (model.model, model.architecture, model.skip_connections, model.initialization) == \
        ("srvp", "vgg", True, "pytorch")
    assert (model.base_channels, model.encoding_size, model.latent_size, model.noise_size) == (1, 6, 3, 4)
    assert (model.inference_hidden_size, model.inference_layers, model.dynamics_hidden_size,
            model.dynamics_layers, model.inference_frames) == (5, 2, 9, 3, 2)
    assert (model.dt, model.obs_scale, model.residual_gain, model.beta_z) == (0.5, 0.2, 1.2, 1.0)
    assert (data.dataset, data.channels, data.seq_len, data.conditioning_frames, data.test_horizon,
            data.test_samples) == ("kth", 1, 5, 3, 37, 100)  # the paper's KTH test: 40 frames
    assert config.train.train_steps == 1_100_000 and config.train.seed == 3
    human = srvp_conversion.config_from_options({**options, "dataset": "human", "nt_cond": 8, "seq_len": 16})
    assert human.data.dataset == "human36m" and human.data.test_horizon == 45
    mmnist = srvp_conversion.config_from_options({**options, "dataset": "smmnist", "deterministic": True,
                                                  "ndigits": 1})
    assert (mmnist.data.deterministic, mmnist.data.num_digits, mmnist.data.test_samples) == (True, 1, 1)
    assert mmnist.data.test_horizon == 97


@pytest.mark.parametrize("change,message", [
    ({"archi": "resnet"}, "architecture"),
    ({"dataset": "ucf"}, "dataset='ucf'"),
    ({"max_speed": 3, "dataset": "smmnist"}, "max_speed=3"),
    ({"subsampling": 4, "dataset": "human"}, "subsampling=4"),
    ({"n_euler_steps": 0}, "n_euler_steps=0"),
    ({"nt_cond": 40}, "nt_cond=40"),
    ({"skipco": "yes"}, "skipco='yes'"),
    ({"nx": 128}, "image_size"),
    ({"new_option": 1}, "new_option"),
    ({"ny": None}, "lacks the option.*ny"),
])
def test_options_it_cannot_map_are_refused_by_name(change, message):
    options = json.load(open(os.path.join(FIXTURES, "vgg_kth", "config.json")))
    with pytest.raises(conversion.ConversionError, match=message):
        srvp_conversion.config_from_options({**options, **change})


def _copy_fixture(tmp_path, name="vgg_kth"):
    folder = tmp_path / "xp"
    shutil.copytree(os.path.join(FIXTURES, name), folder)
    return folder


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other_model", "no_config", "json_list"])
def test_bad_sources_are_refused_and_nothing_is_written(tmp_path, damage):
    folder = _copy_fixture(tmp_path)
    model_file = folder / "model.pt"
    if damage == "truncated":
        model_file.write_bytes(model_file.read_bytes()[:-100])
    elif damage == "garbage":
        model_file.write_bytes(b"not a checkpoint")
    elif damage == "other_model":  # the DCGAN model's file under the VGG model's options
        shutil.copy(os.path.join(FIXTURES, "dcgan_smmnist", "model.pt"), model_file)
    elif damage == "no_config":
        (folder / "config.json").unlink()
    else:
        (folder / "config.json").write_text("[]")
    workdir = tmp_path / "runs" / "converted"
    with pytest.raises(conversion.ConversionError):
        conversion.convert("srvp", str(folder), str(workdir))
    assert not workdir.exists()
    assert not (tmp_path / "runs").exists() or os.listdir(tmp_path / "runs") == []  # no temporary folder left


def test_a_missing_checkpoint_names_those_present(tmp_path):
    with pytest.raises(conversion.ConversionError, match="checkpoints there: model.pt, model_best.pt"):
        srvp_conversion.read(os.path.join(FIXTURES, "vgg_kth"), "model_7.pt")
    with pytest.raises(conversion.ConversionError, match="--checkpoint='../x.pt'"):
        srvp_conversion.read(os.path.join(FIXTURES, "vgg_kth"), "../x.pt")


@pytest.mark.parametrize("change,message", [
    ("drop", "no tensor 'inf_z.bias_hh_l0'"),
    ("add", "1 tensor.*does not use, e.g. extra.weight"),
])
def test_a_missing_or_extra_tensor_is_refused_and_nothing_is_written(tmp_path, monkeypatch, change, message):
    read = srvp_conversion.torch_files.load_state_dict

    def altered(path):
        tensors = read(path)
        if change == "drop":
            del tensors["inf_z.bias_hh_l0"]
        else:
            tensors["extra.weight"] = np.zeros(2, np.float32)
        return tensors

    monkeypatch.setattr(srvp_conversion.torch_files, "load_state_dict", altered)
    workdir = tmp_path / "converted"
    with pytest.raises(conversion.ConversionError, match=message):
        conversion.convert("srvp", os.path.join(FIXTURES, "dcgan_smmnist"), str(workdir))
    assert os.listdir(tmp_path) == []
