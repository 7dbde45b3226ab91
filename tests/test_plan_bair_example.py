"""examples/plan_bair.py on a tiny action-conditioned SavedModel: candidates ranked by their score in one batched
request, the throughput printed, and bad input one `error:` line."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

from tests.support.cli import REPO
from tests.support.configs import tiny_config
from tfvideo.export import saved_model as saved_model_lib
from tfvideo.models import build_model

A = 3


def _example():
    spec = importlib.util.spec_from_file_location("plan_bair", os.path.join(REPO, "examples", "plan_bair.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    config = tiny_config(model={"action_conditioned": True, "action_size": A, "residual_gain": 0.5},
                         data={"conditioning_frames": 3})
    model = build_model(config)
    metadata = {"image_size": 64, "channels": 1, "min_context_frames": model.min_context_frames(),
                "dt_supported": True, "training_dt": 1.0, "action_size": A, "config": json.loads(config.to_json())}
    root = tmp_path_factory.mktemp("plan")
    path, _ = saved_model_lib.export_saved_model(model, str(root / "exports"), "srvp", metadata=metadata,
                                                 extra_endpoints=False)
    clip = np.random.default_rng(0).uniform(size=(4, 64, 64, 1)).astype(np.float32)
    np.save(root / "clip.npy", clip)
    return {"path": path, "clip": str(root / "clip.npy")}


def test_track_finds_a_shifted_region():
    frame = np.zeros((20, 30, 1))
    frame[5:9, 12:18] = np.arange(24).reshape(4, 6, 1)
    assert _example().track(frame[5:9, 12:18], np.roll(frame, (3, -4), axis=(0, 1))).tolist() == [10.5, 9.5]


def test_plan_ranks_candidates_and_reports_throughput(export, capsys):
    example = _example()
    argv = [f"--saved_model={export['path']}", f"--clip={export['clip']}", "--region=10,12,22,20", "--goal=40,30",
            "--candidates=5", "--horizon=2", "--num_samples=2", "--top=5"]
    assert example.main(argv) == 0
    out = capsys.readouterr().out
    assert "candidates per second" in out
    rows = [line.split() for line in out.splitlines()[2:]]
    distances = [float(row[2]) for row in rows]
    assert len(rows) == 5 and distances == sorted(distances) and sorted(int(r[1]) for r in rows) == list(range(5))


@pytest.mark.parametrize("bad, message", [
    ("--region=10,12,9,20", "--region=10,12,9,20 is not a box"),
    ("--goal=1", "--goal must be 2 whole numbers"),
    ("--candidates=0", "must be >= 1"),
])
def test_bad_input_is_one_error_line(export, capsys, bad, message):
    argv = [f"--saved_model={export['path']}", f"--clip={export['clip']}", "--region=10,12,22,20", "--goal=40,30",
            "--horizon=2", bad]
    assert _example().main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1
