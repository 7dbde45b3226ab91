"""An export's origin (tfvideo.export.provenance): the run fingerprint keeps what resuming may change and changes
with what defines the run; `origin_problem` names both runs and the fields they differ in."""

import json
import os

import pytest

from tests.support.configs import tiny_config
from tfvideo import config as config_lib
from tfvideo.export import provenance


def test_the_fingerprint_ignores_resumable_fields_and_fields_the_model_does_not_read():
    config = tiny_config("a")
    same = [config.replace(train={"train_steps": 99, "workdir": "b", "log_every": 3}),
            config.replace(data={"test_horizon": 7, "data_dir": "/elsewhere"})]
    assert {provenance.fingerprint(c) for c in same} == {provenance.fingerprint(config)}
    svg = tiny_config("a", model={"model": "svg"})
    flat = svg.to_dict()
    flat["model"]["latent_size"] = 20  # an SRVP field at its default, as the flat config.json files held them
    assert provenance.fingerprint(config_lib.Config.from_dict(flat)) == provenance.fingerprint(svg)


@pytest.mark.parametrize("model, expected", [("srvp", "42ffbc976989eb47"), ("svg", "1e5b9a2269268f45"),
                                             ("hafsvg", "89b3ac395e1c226a")])
def test_runs_of_flat_config_json_files_keep_their_fingerprint(model, expected):
    """The fingerprints of tests/fixtures/config_json/flat_*.json as the code that wrote them computed them: exports
    of runs from before the per-model config sections still match their runs."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "config_json", f"flat_{model}.json")
    with open(path) as handle:
        assert provenance.fingerprint(config_lib.Config.from_json(handle.read())) == expected


@pytest.mark.parametrize("change", [{"model": {"latent_size": 5}}, {"train": {"seed": 3}},
                                    {"data": {"seq_len": 14}}, {"model": {"beta_z": 0.5}}],
                         ids=["latent_size", "seed", "seq_len", "beta_z"])
def test_the_fingerprint_changes_with_a_run_defining_field(change):
    config = tiny_config("a")
    assert provenance.fingerprint(config.replace(**change)) != provenance.fingerprint(config)


def test_origin_problem_names_both_runs_and_the_differences():
    config, other = tiny_config("a"), tiny_config("b", model={"latent_size": 5})
    metadata = json.loads(json.dumps(provenance.record(other, 4, "/runs/b")))  # as read back from the file
    assert provenance.origin_problem(provenance.record(config, 2, "/x"), config, "a", "--tflite=F") is None
    problem = provenance.origin_problem(metadata, config, "/runs/a", "--tflite=F")
    assert problem.startswith(f"--tflite=F was exported from another run (/runs/b, step 4, run "
                              f"{provenance.fingerprint(other)}) than --workdir=/runs/a (run "
                              f"{provenance.fingerprint(config)})")
    assert f"model.latent_size: {config.model.latent_size} -> 5" in problem
    assert "does not say which run" in provenance.origin_problem({}, config, "a", "--tflite=F")
