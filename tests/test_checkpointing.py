import json
import os

import pytest

from tfvideo import checkpointing
from conftest import tiny_config


def test_prepare_workdir_records_config_and_accepts_resumable_changes(tmp_path):
    cfg = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(cfg)
    saved = json.loads(open(tmp_path / "run" / "config.json").read())
    assert saved["model"]["latent_size"] == 3
    longer = cfg.replace(train={"train_steps": 100})
    checkpointing.prepare_workdir(longer)  # extending a run is fine
    assert checkpointing.load_run_config(str(tmp_path / "run")).train.train_steps == 100


def test_prepare_workdir_refuses_another_configuration(tmp_path):
    cfg = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(cfg)
    with pytest.raises(checkpointing.WorkdirError, match="model.noise_size: 4 -> 5"):
        checkpointing.prepare_workdir(cfg.replace(model={"noise_size": 5}))


def test_corrupt_config_and_missing_run(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{not json")
    with pytest.raises(checkpointing.WorkdirError, match="not a tfvideo config"):
        checkpointing.prepare_workdir(tiny_config(str(tmp_path / "run")))
    with pytest.raises(checkpointing.WorkdirError, match="not a tfvideo training run"):
        checkpointing.load_run_config(str(tmp_path / "empty"))


def test_restore_of_a_different_model_is_refused(tmp_path):
    from tfvideo.models import build_model
    workdir = str(tmp_path / "run")
    state = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir)))
    state.save(3)
    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-3.index"))
    other = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir, model={"latent_size": 4})))
    with pytest.raises(checkpointing.WorkdirError, match="does not match this model"):
        other.restore_latest()
    again = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir)))
    assert again.restore_latest() == 3
