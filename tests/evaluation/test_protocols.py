"""protocols.py: the papers' test protocols per model and dataset, and the notes on an evaluation departing from them."""

import pytest

from tfvideo.evaluation import protocols


def spec(model="srvp", dataset="kth", conditioning_frames=10, horizon=30, dt=0.5, num_samples=100,
         deterministic=False):
    """The fields of an eval_lib spec that protocol_notes reads."""
    return {"model": model, "conditioning_frames": conditioning_frames, "horizon": horizon, "dt": dt,
            "num_samples": num_samples,
            "dataset": {"name": dataset, "config": {"deterministic": deterministic}}}


@pytest.mark.parametrize("model,dataset,deterministic,expected", [
    ("srvp", "smmnist", False, (5, 20, 1.0, 100)),
    ("srvp", "smmnist", True, (5, 95, 1.0, 1)),
    ("srvp", "kth", False, (10, 30, 0.5, 100)),
    ("srvp", "human36m", False, (8, 45, 0.5, 100)),
    ("srvp", "bair", False, (2, 28, 0.5, 100)),
    ("svg", "smmnist", False, (5, 25, None, 100)),
    ("hafsvg", "smmnist", True, (5, 25, None, 100)),
    ("hafsvg", "kth", False, (10, 20, None, 100)),
    ("svg", "bair", False, (2, 28, None, 100))])
def test_paper_protocols(model, dataset, deterministic, expected):
    assert tuple(protocols.paper_protocol(model, dataset, deterministic))[1:] == expected


def test_the_papers_own_protocols_have_no_note():
    assert protocols.protocol_notes(spec()) == []
    assert protocols.protocol_notes(spec("hafsvg", "kth", 10, 20, 1.0)) == []  # SVG-LP / HAF-SVG have no dt
    assert protocols.protocol_notes(spec("srvp", "smmnist", 5, 95, 1.0, 1, deterministic=True)) == []
    assert protocols.protocol_notes(spec(horizon=20, dt=None, num_samples=1)) == [  # a baseline: frames only
        "10 conditioning + 20 predicted frames; the SRVP paper (Franceschi et al. 2020) protocol on kth is 10 + 30 "
        "(--conditioning_frames, --horizon)."]


@pytest.mark.parametrize("changes,flag", [
    (dict(conditioning_frames=9), "--conditioning_frames"),
    (dict(horizon=20), "--horizon"),
    (dict(dt=1.0), "--dt"),
    (dict(num_samples=10), "--num_samples")])
def test_each_departure_from_the_protocol_is_a_note(changes, flag):
    notes = protocols.protocol_notes(spec(**changes))
    assert len(notes) == 1 and flag in notes[0] and "SRVP paper" in notes[0]


@pytest.mark.parametrize("model,dataset,words", [
    ("srvp", "folder", "a folder of your own videos"),
    ("srvp", "moving_mnist", "the TFDS Moving MNIST test set"),
    ("svg", "human36m", "No paper reports --model=svg on --dataset=human36m")])
def test_datasets_no_paper_used_are_a_note(model, dataset, words):
    notes = protocols.protocol_notes(spec(model, dataset))
    assert len(notes) == 1 and words in notes[0] and "no published number" in notes[0].replace("there is no", "no")
