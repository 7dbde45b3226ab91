"""Tests for tfvideo.training.validation: the validation score, the best checkpoint, training's periodic validation
and `evaluate --checkpoint=best`."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.support.configs import tiny_config
from tfvideo import runs
from tfvideo.models import build_model, noise
from tfvideo.training import checkpointing, train_lib, validation


class _FixedFutures:
    """A stand-in VideoPredictor whose futures are the truth plus sample-dependent offsets."""

    def __init__(self, videos, offsets, conditioning_frames):
        self.videos, self.offsets, self.conditioning_frames = videos, offsets, conditioning_frames
        self.calls = []

    def generate(self, context, num_samples, horizon, seed=None, **actions):
        first = int(np.flatnonzero([np.array_equal(context[0], v[:self.conditioning_frames])
                                    for v in self.videos])[0])
        self.calls.append((len(context), seed, *[a[:, 0, 0].tolist() for a in actions.values()]))
        truth = self.videos[first:first + len(context), self.conditioning_frames:]
        assert truth.shape[1] == horizon
        offsets = self.offsets[first:first + len(context), :num_samples]  # [B, S, F]
        return tf.constant(np.clip(truth[:, None] + offsets[..., None, None, None], 0, 1), tf.float32)


def test_score_is_the_mean_over_clips_of_the_best_futures_psnr():
    rng = np.random.default_rng(0)
    videos = rng.uniform(0.2, 0.8, (5, 6, 4, 3, 2)).astype(np.float32)  # 5 clips, 2 + 4 frames
    offsets = rng.uniform(0.01, 0.1, (5, 3, 4)).astype(np.float32)  # clip, sample, predicted frame
    model = _FixedFutures(videos, offsets, conditioning_frames=2)
    score = validation.validation_score(model, videos, conditioning_frames=2, num_samples=3)
    psnr = 10 * np.log10(1 / offsets.astype(np.float64) ** 2)  # [5, 3, 4]: a constant offset's PSNR
    expected = np.mean([psnr[v, np.argmax(psnr[v].mean(axis=1))].mean() for v in range(5)])
    np.testing.assert_allclose(score, expected, rtol=1e-5)
    assert [size for size, *_ in model.calls] == [5]  # 128 // 3 clips per call
    model.calls.clear()
    validation.validation_score(model, videos, conditioning_frames=2, num_samples=64)
    # 128 // 64 clips per call, the call from clip i seeded with draw i (noise.draw_seed) of VALIDATION_SEED
    assert model.calls == [(2, 0), (2, noise.draw_seed(0, 2)), (1, noise.draw_seed(0, 4))]
    model.calls.clear()
    actions = np.arange(5 * 6 * 4, dtype=np.float32).reshape(5, 6, 4)  # an action-conditioned model's clips
    validation.validation_score(model, videos, conditioning_frames=2, num_samples=64, actions=actions)
    assert model.calls == [(2, 0, [0.0, 24.0]), (2, noise.draw_seed(0, 2), [48.0, 72.0]),
                           (1, noise.draw_seed(0, 4), [96.0])]  # each clip's own actions


def test_best_checkpoint_keeps_the_best_score_across_reopening(tmp_path):
    config = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(config)
    model = build_model(config)
    best = validation.BestCheckpoint(config.train.workdir, model)
    assert best.restore_score() is None
    first = [v.numpy() for v in model.trainable_variables]
    assert best.offer(12.5, 3)
    for variable in model.trainable_variables:
        variable.assign(variable + 1.0)
    assert not best.offer(12.0, 6) and not best.offer(12.5, 9)  # not better: the weights of step 3 stay
    os.makedirs(os.path.join(best.state.directory, "ckpt-12_temp"))  # a save killed midway
    reopened = validation.BestCheckpoint(config.train.workdir, build_model(config))
    assert reopened.restore_score() == 12.5 and reopened.best_step == 3
    assert not glob.glob(os.path.join(best.state.directory, "*_temp"))
    assert [os.path.basename(p) for p in glob.glob(os.path.join(best.state.directory, "ckpt-*.index"))] == [
        "ckpt-3.index"]
    loaded = runs.load_trained_model(config.train.workdir, checkpoint="best")
    assert loaded.step == 3
    np.testing.assert_array_equal(loaded.model.trainable_variables[0].numpy(), first[0])
    assert reopened.offer(13.0, 9) and validation.BestCheckpoint(config.train.workdir, model).restore_score() == 13.0


def test_an_unreadable_best_checkpoint_is_replaced_not_fatal(tmp_path):
    config = tiny_config(str(tmp_path / "run"))
    model = build_model(config)
    best = validation.BestCheckpoint(config.train.workdir, model)
    best.offer(10.0, 3)
    for name in glob.glob(os.path.join(best.state.directory, "ckpt-3.data-*")):
        with open(name, "r+b") as handle:
            handle.write(b"\0" * 64)
    again = validation.BestCheckpoint(config.train.workdir, model)
    assert again.restore_score() is None and again.offer(1.0, 6)


def test_evaluating_the_best_checkpoint_of_a_run_without_one_says_why(tmp_path):
    config = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(config)
    with pytest.raises(runs.RunError, match="No best checkpoint .* not been validated yet"):
        runs.load_trained_model(config.train.workdir, checkpoint="best")
    with pytest.raises(runs.RunError, match="without --checkpoint=best"):
        runs.load_trained_model(config.train.workdir, step=3, checkpoint="best")


@pytest.mark.slow
def test_training_validates_periodically_keeps_the_best_and_a_resumed_run_keeps_it(tmp_path, capsys):
    settings = dict(validation_every=2, validation_videos=3, validation_samples=2, train_steps=4, checkpoint_every=2)
    config = tiny_config(str(tmp_path / "run"), data=dict(validation_fraction=0.5), train=settings)
    train_lib.train(config)
    printed = capsys.readouterr().out
    assert printed.count("Validation at step") == 2 and "on 3 held-out clips (best of 2)" in printed
    best = validation.BestCheckpoint(config.train.workdir, build_model(config))
    score = best.restore_score()
    assert best.best_step in (2, 4) and np.isfinite(score)
    events = glob.glob(os.path.join(config.train.workdir, "tensorboard", "*"))
    tags = {value.tag for path in events for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value}
    assert {"validation/psnr", "validation/best_psnr"} <= tags
    train_lib.train(config.replace(train=dict(train_steps=5)))  # resumed: no validation at step 5
    assert f"Best validation score so far: {score:.3f} dB at step {best.best_step}" in capsys.readouterr().out
    quiet = tiny_config(str(tmp_path / "quiet"), data=dict(validation_fraction=0.5),
                        train={**settings, "validation_every": 0})
    train_lib.train(quiet)  # validating draws nothing from the run's generators: the same weights without it
    assert "Validation at step" not in capsys.readouterr().out
    assert not os.path.exists(os.path.join(quiet.train.workdir, checkpointing.BEST_CHECKPOINT_DIR))
    validated, plain = (tf.train.load_checkpoint(os.path.join(c.train.workdir, "checkpoints", "ckpt-4"))
                        for c in (config, quiet))
    names = [n for n in validated.get_variable_to_shape_map() if n.startswith("model/")]
    assert names and all(np.array_equal(validated.get_tensor(n), plain.get_tensor(n)) for n in names)


def test_a_dataset_without_validation_clips_is_never_validated(tmp_path):
    from tfvideo.data import registry
    config = tiny_config(str(tmp_path / "run"), data=dict(validation_fraction=0.0), train=dict(validation_every=1))
    source = registry.get_data_source(config.data)
    validator = validation.Validator(source, config, validation.BestCheckpoint(config.train.workdir,
                                                                               build_model(config)))
    assert source.num_validation_videos == 0 and not any(validator.due(step) for step in range(1, 5))
