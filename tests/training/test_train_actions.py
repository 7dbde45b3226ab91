"""Action-conditioned runs on fake BAIR: the paper-style configs parse, training computes the actions' statistics
once and keeps them in the checkpoint, evaluation samples with the test set's actions, and a dataset without
actions is refused before anything is written."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tfvideo import config as config_lib
from tfvideo import flags as flags_lib
from tfvideo import runs
from tfvideo.data import bair, fake_data, registry
from tfvideo.evaluation import eval_lib
from tfvideo.models import actions as actions_lib
from tfvideo.training import checkpointing, train_lib

from tests.support.cli import REPO

NUM_TRAIN, NUM_TEST = 6, 3
TINY = ["--architecture=dcgan", "--base_channels=4", "--encoding_size=5", "--latent_size=6", "--noise_size=7",
        "--inference_hidden_size=8", "--dynamics_hidden_size=9", "--inference_layers=1", "--dynamics_layers=2",
        "--seq_len=4", "--test_horizon=3", "--test_samples=2", "--batch_size=2", "--train_steps=2",
        "--checkpoint_every=2", "--log_every=1", "--num_gif_videos=2", "--num_gif_samples=2"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("bair"))
    fake_data.prepare_fake_tfds(bair.NAME, path, {"train": NUM_TRAIN, "test": NUM_TEST})
    return path


@pytest.mark.parametrize("name, model", [("srvp_bair_actions", "srvp"), ("svglp_bair_actions", "svg")])
def test_paper_configs(name, model):
    config = flags_lib.config_from_flagfile(os.path.join(REPO, "configs", f"{name}.flags"))
    assert (config.model.model, config.model.action_conditioned, config.model.action_size) == (model, True, 4)
    assert (config.data.dataset, config.data.conditioning_frames, config.data.test_horizon,
            config.data.test_samples) == ("bair", 2, 28, 100)


def test_train_then_evaluate_with_actions(data_dir, tmp_path):
    workdir = str(tmp_path / "run")
    config = flags_lib.config_from_flagfile(os.path.join(REPO, "configs", "srvp_bair_actions.flags"),
                                            [*TINY, f"--data_dir={data_dir}", f"--workdir={workdir}",
                                             "--validation_fraction=0.5", "--validation_every=2",
                                             "--validation_videos=2", "--validation_samples=2"])
    assert train_lib.train(config).step == 2
    # Validation sampled the held-out clips with their own actions, and kept the best checkpoint.
    assert os.listdir(os.path.join(workdir, checkpointing.BEST_CHECKPOINT_DIR))

    # The statistics of the run's training stream (fake BAIR's action of frame t of video i is (t, i, 0, 0)).
    with open(os.path.join(workdir, actions_lib.STATS_FILE)) as handle:
        stats = json.load(handle)
    stream = registry.get_data_source(config.data).train_stream(2, seed=config.train.seed, with_actions=True)
    assert stats == actions_lib.compute_statistics(stream)
    assert stats["mean"][0] > 0 and stats["std"][0] > 0 and stats["std"][2:] == [1.0, 1.0]  # constant: not scaled
    restored = runs.load_trained_model(workdir).model
    np.testing.assert_allclose(restored.action_normalizer.statistics()["std"], stats["std"], rtol=1e-6)
    np.testing.assert_allclose(restored.action_normalizer.statistics()["mean"], stats["mean"], rtol=1e-6)

    setup = eval_lib.prepare(workdir, eval_lib.EvalOptions(num_videos=NUM_TEST, batch_size=2))
    seen, predict = {}, setup.predict

    def recording(context, index, actions=None):
        seen[index] = (round(float(context[0, -1, -1, 0]) * 255), actions)  # the video's tag: its background
        return predict(context, index, actions)

    setup.predict = recording
    results = eval_lib.evaluate(workdir, setup=setup)
    assert results["protocol"]["actions"] == "the test set's" and np.isfinite(results["metrics"]["psnr"]["mean"])
    assert len(seen) == NUM_TEST
    for tag, actions in seen.values():  # each video's own actions (t, tag, 0, 0), aligned with its frames
        np.testing.assert_array_equal(actions[:, :2], np.stack([np.arange(5), np.full(5, tag)], axis=1))


def test_dataset_without_actions_is_refused_before_the_workdir(tmp_path):
    workdir = str(tmp_path / "run")
    config = flags_lib.config_from_flagfile(os.path.join(REPO, "configs", "srvp_bair_actions.flags"), [
        *TINY, "--dataset=smmnist", "--channels=1", f"--workdir={workdir}"])
    with pytest.raises(config_lib.ConfigError, match="--dataset=smmnist has no actions"):
        train_lib.train(config)
    assert not os.path.exists(workdir)
