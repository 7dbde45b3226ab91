"""The run record: nothing in a workdir is written until the configuration is known to fit what is there."""

import hashlib
import os
import shutil

from tests.support.cli import run_train
from tests.support.configs import TINY_FLAGS, TINY_MODEL


def _snapshot(directory) -> dict:
    """{relative path: sha256} of every file under `directory` (and its empty folders)."""
    out = {}
    for root, dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, directory)] = hashlib.sha256(handle.read()).hexdigest()
        out.update({os.path.relpath(os.path.join(root, d), directory) + "/": "dir" for d in dirs})
    return out


def test_lost_config_json_and_checkpoints_of_another_configuration_change_nothing(tmp_path, capsys, caplog):
    """config.json is gone, the checkpoints stay: another configuration is refused from the checkpoint's variables
    and writes nothing (no config.json); the run's own configuration resumes and records config.json again."""
    workdir = tmp_path / "run"
    own = [*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=2", "--checkpoint_every=2"]
    assert run_train(own) == 0
    os.remove(workdir / "config.json")
    os.makedirs(workdir / "checkpoints" / "ckpt-9_temp")  # a partial write: removed only by a run that fits
    before = _snapshot(workdir)
    capsys.readouterr()
    other = [*own, f"--latent_size={TINY_MODEL['latent_size'] + 1}"]
    assert run_train(other) == 2
    err = capsys.readouterr().err
    assert "ckpt-2 does not match this model" in err and "use another --workdir" in err
    assert _snapshot(workdir) == before
    with caplog.at_level("WARNING"):
        assert run_train([*own, "--train_steps=3"]) == 0
    assert "Resuming from checkpoint at step 2" in capsys.readouterr().out
    assert "config.json was missing" in caplog.text
    assert os.path.isfile(workdir / "config.json") and not os.path.exists(workdir / "checkpoints" / "ckpt-9_temp")
    assert run_train(other) == 2  # config.json now names the run's configuration
    assert f"model.latent_size: {TINY_MODEL['latent_size']} -> {TINY_MODEL['latent_size'] + 1}" in \
        capsys.readouterr().err


def test_a_run_whose_checkpoints_vanished_says_it_starts_from_scratch(tmp_path, capsys):
    workdir = tmp_path / "run"
    argv = [*TINY_FLAGS, f"--workdir={workdir}", "--train_steps=1", "--checkpoint_every=1"]
    assert run_train(argv) == 0
    assert "starts from scratch" not in capsys.readouterr().out  # a new run
    first = {name: sorted(os.listdir(workdir / name)) for name in ("samples", "tensorboard")}
    shutil.rmtree(workdir / "checkpoints")
    assert run_train(argv) == 0
    out = capsys.readouterr().out
    assert f"No checkpoint in {workdir / 'checkpoints'}: the run in {workdir} starts from scratch (step 0)." in out
    # the earlier run's GIFs and events are set aside, not mixed with the new run's
    (previous,) = os.listdir(workdir / "previous")
    assert f"Moved the outputs of the earlier run (no checkpoint is left of it) to {workdir / 'previous' / previous}" \
        in out
    assert {name: sorted(os.listdir(workdir / "previous" / previous / name)) for name in first} == first
    assert len(os.listdir(workdir / "tensorboard")) == 1 and os.listdir(workdir / "samples") == first["samples"]
    assert not set(os.listdir(workdir / "tensorboard")) & set(first["tensorboard"])
    assert sorted(os.listdir(workdir)) == ["checkpoints", "config.json", "previous", "samples", "tensorboard"]


def test_a_refused_new_run_leaves_no_directory_behind(tmp_path, capsys):
    """The frame size the models cannot use is refused by the config, before the workdir is created."""
    workdir = tmp_path / "new" / "run"
    assert run_train([*TINY_FLAGS, f"--workdir={workdir}", "--image_size=48"]) == 2
    assert "--image_size=48 is not supported" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "new")
