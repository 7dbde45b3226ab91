"""SVG-LP's and HAF-SVG's `initialization`: "pytorch" starts every layer from the original SVG code's
distribution (its `init_weights` over PyTorch's defaults), compared per layer kind with the statistics of the
original modules recorded in tests/fixtures/original_svg/svglp_init.json (made by make_init_fixture.py there);
"keras" keeps Keras' defaults for the Linear and LSTM layers."""

import json
import os

import keras
import numpy as np
import pytest

from tests.support.configs import tiny_config
from tfvideo.models import build_model
from tfvideo.models import layers

with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "original_svg",
                       "svglp_init.json")) as _f:
    ORIGINAL = json.load(_f)
_SIZES = ORIGINAL["sizes"]
# The fixture's sizes (the LSTMs' uniform bound is 1/sqrt(rnn_size)); base_channels small, as the convolutions'
# N(0, 0.02) does not depend on their width.
SIZES = dict(encoding_size=_SIZES["g_dim"], noise_size=_SIZES["z_dim"], rnn_size=_SIZES["rnn_size"],
             predictor_layers=_SIZES["predictor_rnn_layers"], base_channels=6)
_PLAIN = {"kernel": "weight", "bias": "bias"}
_BATCH_NORM = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_LSTM = {"kernel": "weight_ih", "recurrent_kernel": "weight_hh", "input_bias": "bias_ih", "recurrent_bias": "bias_hh"}


def _model(model: str, architecture: str, initialization: str = "pytorch", **extra):
    keras.utils.set_random_seed(0)
    return build_model(tiny_config(model=dict(model=model, networks="svg", architecture=architecture,
                                              skip_connections=True, initialization=initialization,
                                              **SIZES, **extra)))


def _torch_class(layer) -> tuple[str, dict]:
    """The original's module class of a tfvideo layer and its weight names; "unmatched <class>" for a layer the
    original has no counterpart of (e.g. Keras' one-bias LSTMCell)."""
    for cls, name, names in ((keras.layers.Conv2DTranspose, "ConvTranspose2d", _PLAIN),
                             (keras.layers.Conv2D, "Conv2d", _PLAIN),
                             (keras.layers.BatchNormalization, "BatchNorm2d", _BATCH_NORM),
                             (layers.PyTorchLSTMCell, "LSTMCell", _LSTM),
                             (keras.layers.Dense, "Linear", _PLAIN)):
        if isinstance(layer, cls):
            return name, names
    return f"unmatched {type(layer).__name__}", {}


def _weights_by_kind(model) -> dict[str, list]:
    """Every weight of `model` (but the seed generators' states) under its original kind "<class>.<name>"."""
    kinds, covered = {}, set()
    for layer in model._flatten_layers(include_self=False):
        if any(True for _ in layer._flatten_layers(include_self=False)) or not layer.weights:
            continue  # containers: their leaves hold the weights
        cls, names = _torch_class(layer)
        for weight in layer.weights:
            name = weight.path.split("/")[-1]
            kinds.setdefault(f"{cls}.{names.get(name, name)}", []).append(weight)
            covered.add(id(weight))
    left = [w.path for w in model.weights if id(w) not in covered and "seed_generator" not in w.path]
    assert not left, left
    return kinds


def _mismatch(values: np.ndarray, ref: dict) -> str | None:
    """Why `values` do not look drawn from the distribution whose statistics `ref` records (None if they do).
    Tolerances: 4 standard errors of the std, 5 of the mean, and for 1,000+ values the kurtosis within 0.4
    (normal 3, uniform 1.8); a bounded (uniform) kind must stay within 1% of the original's largest value."""
    values = values.astype(np.float64).ravel()
    if ref["constant"] is not None:
        return None if np.all(values == ref["constant"]) else f"not all {ref['constant']}"
    n, std = values.size, values.std()
    problems = []
    if abs(std / ref["std"] - 1) > 0.02 + 4 / np.sqrt(2 * n):
        problems.append(f"std {std:.4g} vs {ref['std']:.4g}")
    if abs(values.mean() - ref["mean"]) > 5 * ref["std"] / np.sqrt(n):
        problems.append(f"mean {values.mean():.4g} vs {ref['mean']:.4g}")
    kurtosis = np.mean((values - values.mean()) ** 4) / std ** 4 if std > 0 else 0.0
    if n >= 1000 and abs(kurtosis - ref["kurtosis"]) > 0.4:
        problems.append(f"kurtosis {kurtosis:.3g} vs {ref['kurtosis']:.3g}")
    if ref["kurtosis"] < 2.4 and np.abs(values).max() > 1.01 * ref["max_abs"]:
        problems.append(f"max |w| {np.abs(values).max():.4g} above the bound {ref['max_abs']:.4g}")
    return "; ".join(problems) or None


def _mismatches(model) -> list[str]:
    """Each weight, then each kind's weights pooled (tighter), set beside the original's statistics."""
    found = []
    for kind, weights in sorted(_weights_by_kind(model).items()):
        ref = ORIGINAL["kinds"].get(kind)
        if ref is None:
            found.append(f"{kind}: no such kind in the original ({[w.path for w in weights]})")
            continue
        for weight in weights:
            problem = _mismatch(np.asarray(weight.numpy()), ref)
            found += [f"{weight.path}: {problem}"] if problem else []
        problem = _mismatch(np.concatenate([np.asarray(w.numpy()).ravel() for w in weights]), ref)
        found += [f"{kind} pooled: {problem}"] if problem else []
    return found


@pytest.mark.parametrize("architecture", ["dcgan", "vgg"])
def test_svg_lp_starts_from_the_originals_distribution_in_every_layer(architecture):
    model = _model("svg", architecture)
    assert set(_weights_by_kind(model)) == set(ORIGINAL["kinds"])  # every kind of the original, no other
    assert _mismatches(model) == []


def test_hafsvg_groups_and_aligner_start_as_svg_s_linear_and_lstm_layers():
    """Each group's posterior and prior are initialised as SVG's gaussian_lstm; the aligner's projections, which
    have no original, start as the convolutions and Linear kernels, N(0, 0.02)."""
    model = _model("hafsvg", "dcgan", num_groups=2, feature_aligner=True)
    kinds = _weights_by_kind(model)
    assert sum("aligner" in w.path for w in kinds["Linear.weight"]) == 3 * 4  # Wq, Wk, Wv at the 4 levels
    assert sum("/group2/" in w.path for w in kinds["LSTMCell.weight_ih"]) == 2  # the posterior's and the prior's
    assert _mismatches(model) == []


def test_keras_initialization_is_not_the_originals():
    """The default keeps Keras' Linear and LSTM layers: glorot-uniform kernels and one-bias LSTMCells, which the
    comparison tells apart from the original's (so that it can fail)."""
    model = _model("svg", "dcgan", initialization="keras")
    problems = _mismatches(model)
    assert any(p.startswith("unmatched LSTMCell.") for p in problems), problems
    assert any(p.startswith("Linear.weight pooled: std") for p in problems), problems
    assert not any(p.startswith(("Conv", "BatchNorm")) for p in problems), problems  # the same in both settings
