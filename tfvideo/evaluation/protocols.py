"""The papers' test protocols per model and dataset, and why an evaluation departs from them.

`results.comparability` lists these notes in results.json. A protocol is the one of the paper that reports the
model on the dataset: SRVP (Franceschi et al. 2020) for `srvp`; SVG-LP and HAF-SVG (Denton & Fergus 2018; Lin et
al. 2020, which sets SVG-LP beside HAF-SVG with one protocol) for `svg` and `hafsvg`:

| model | dataset | conditioning + predicted frames | test dt | best of |
|---|---|---|---|---|
| srvp | smmnist (stochastic) | 5 + 20 | 1 | 100 |
| srvp | smmnist --deterministic | 5 + 95 | 1 | 1 |
| srvp | kth | 10 + 30 | 1/2 | 100 |
| srvp | human36m | 8 + 45 | 1/2 | 100 |
| srvp | bair | 2 + 28 | 1/2 | 100 |
| svg, hafsvg | smmnist (either bounce) | 5 + 25 | - | 100 |
| svg, hafsvg | kth | 10 + 20 | - | 100 |
| svg, hafsvg | bair | 2 + 28 | - | 100 |

SRVP's test dt is its training dt (two Euler steps per frame on KTH, Human3.6M and BAIR); SVG-LP and HAF-SVG
have no dt. No paper evaluates on a user's folder of videos (`folder`) or on the TFDS Moving MNIST test set
(`moving_mnist`), nor the SVG family on Human3.6M.
"""

from __future__ import annotations

from typing import NamedTuple


class PaperProtocol(NamedTuple):
    """A paper's test protocol for one model family on one dataset."""

    paper: str
    conditioning_frames: int
    horizon: int
    dt: float | None  # None: the model has no dt
    num_samples: int  # futures per test video, best of N


SRVP_PAPER = "SRVP paper (Franceschi et al. 2020)"
SVG_PAPERS = "SVG-LP / HAF-SVG papers (Denton & Fergus 2018; Lin et al. 2020)"
UNUSED_DATASETS = {"folder": "a folder of your own videos", "moving_mnist": "the TFDS Moving MNIST test set"}
_SRVP = {"smmnist": PaperProtocol(SRVP_PAPER, 5, 20, 1.0, 100),
         "smmnist_deterministic": PaperProtocol(SRVP_PAPER, 5, 95, 1.0, 1),
         "kth": PaperProtocol(SRVP_PAPER, 10, 30, 0.5, 100),
         "human36m": PaperProtocol(SRVP_PAPER, 8, 45, 0.5, 100),
         "bair": PaperProtocol(SRVP_PAPER, 2, 28, 0.5, 100)}
_SVG = {"smmnist": PaperProtocol(SVG_PAPERS, 5, 25, None, 100),
        "kth": PaperProtocol(SVG_PAPERS, 10, 20, None, 100),
        "bair": PaperProtocol(SVG_PAPERS, 2, 28, None, 100)}
_BY_MODEL = {"srvp": _SRVP, "svg": _SVG, "hafsvg": _SVG}


def paper_protocol(model: str, dataset: str, deterministic: bool = False) -> PaperProtocol | None:
    """The protocol of the paper reporting `model` on `dataset` (see the module docstring), None when none does."""
    table = _BY_MODEL.get(model, {})
    if model == "srvp" and dataset == "smmnist" and deterministic:
        return table["smmnist_deterministic"]
    return table.get(dataset)


def protocol_notes(spec: dict) -> list[str]:
    """Why an evaluation's `spec` (eval_lib's: model, dataset, conditioning_frames, horizon, dt, num_samples;
    dt None for a baseline) departs from the paper protocol of its model and dataset (empty when it does not)."""
    dataset = spec["dataset"]["name"]
    if dataset in UNUSED_DATASETS:
        return [f"Evaluated on {UNUSED_DATASETS[dataset]} (--dataset={dataset}), which no paper used: there is no "
                "published number to compare with."]
    paper = paper_protocol(spec["model"], dataset, bool(spec["dataset"]["config"].get("deterministic")))
    if paper is None:
        return [f"No paper reports --model={spec['model']} on --dataset={dataset}: there is no published number to "
                "compare with."]
    notes = []
    given = (spec["conditioning_frames"], spec["horizon"])
    if given != (paper.conditioning_frames, paper.horizon):
        notes.append(f"{given[0]} conditioning + {given[1]} predicted frames; the {paper.paper} protocol on "
                     f"{dataset} is {paper.conditioning_frames} + {paper.horizon} (--conditioning_frames, "
                     "--horizon).")
    if spec["dt"] is None:  # a baseline: no sampling, no dt
        return notes
    if paper.dt is not None and spec["dt"] != paper.dt:
        notes.append(f"Sampled with dt = {spec['dt']:g}; the {paper.paper} protocol on {dataset} uses dt = "
                     f"{paper.dt:g} (--dt).")
    if spec["num_samples"] != paper.num_samples:
        notes.append(f"Best of {spec['num_samples']} futures per video; the {paper.paper} protocol is best of "
                     f"{paper.num_samples} (--num_samples).")
    return notes
