"""Validation during training: the evaluation metric on held-out clips, and the checkpoint of the best score.

Every `--validation_every` steps training scores the model on the first `--validation_videos` validation clips
of its data source (clips of `--conditioning_frames + --test_horizon` frames from the training items held out by
`tfvideo.data.splits`): for each clip, `--validation_samples` futures of `--test_horizon` frames are sampled from
its conditioning frames (max(1, 128 // samples) clips per call, the call from clip i with seed
`noise.draw_seed(VALIDATION_SEED, i)`, so every validation of a run samples alike), the future with the best mean PSNR over the predicted frames is
kept (`metrics.best_of_samples`, the evaluation protocol), and the score is the mean of those PSNRs over the
clips (dB, higher is better). SRVP's `train.py` computes the same average and minimises its negative; it picks the
best future by PSNR over the reconstructed conditioning frames too. Sampling with explicit seeds draws nothing from
the model's seed generators, so a run trains the same with or without validation.

`BestCheckpoint` keeps the weights of the best score so far in `<workdir>/best_checkpoint/` (one checkpoint,
written with `RunCheckpoint`'s crash-safe rules, holding the score beside the weights), so a resumed run keeps its
best and `python -m tfvideo.evaluate --checkpoint=best` evaluates it.
"""

from __future__ import annotations

import math

from absl import logging
import numpy as np
import tensorflow as tf

from tfvideo.evaluation import metrics
from tfvideo.models import noise
from tfvideo.training import checkpointing
from tfvideo.training import summaries
from tfvideo.utils import memory

VALIDATION_SEED = 0  # the futures of the clips from clip i on: seed noise.draw_seed(VALIDATION_SEED, i)
SCORE_VARIABLE = "validation_score"  # the score's name in a best checkpoint
FUTURES_PER_CALL = 128  # clips x samples sampled per `generate` call: bounds the memory of one call


def validation_score(model, videos: np.ndarray, conditioning_frames: int, num_samples: int,
                     actions: np.ndarray | None = None) -> float:
    """Mean over clips of the PSNR (dB) of the best of `num_samples` futures (see the module docstring).

    Args:
      model: a VideoPredictor.
      videos: float32 [N, conditioning_frames + F, H, W, C] in [0, 1], N >= 1, F >= 1.
      actions: raw float32 [N, conditioning_frames + F, A] of an action-conditioned model, else None.
    """
    horizon = videos.shape[1] - conditioning_frames
    batch = max(1, FUTURES_PER_CALL // num_samples)
    total = 0.0
    for first in range(0, len(videos), batch):
        clips = videos[first:first + batch]
        given = {} if actions is None else {"actions": actions[first:first + batch]}
        futures = model.generate(clips[:, :conditioning_frames], num_samples=num_samples, horizon=horizon,
                                 seed=noise.draw_seed(VALIDATION_SEED, first), **given)  # [B, S, F, H, W, C]
        values = metrics.psnr(futures, clips[:, None, conditioning_frames:])  # [B, S, F]
        total += float(tf.reduce_sum(metrics.best_of_samples(values, "max")["mean"]))
    return total / len(videos)


class BestCheckpoint:
    """The weights of the best validation score so far, in <workdir>/best_checkpoint/ (the newest one kept).

    Attributes:
      best: the best score so far (None before the first validation of the run).
      best_step: the step of that score.
    """

    def __init__(self, workdir: str, model, owner: bool = True):
        self._score = tf.Variable(-math.inf, dtype=tf.float64, trainable=False, name=SCORE_VARIABLE)
        self.state = checkpointing.RunCheckpoint(workdir, model, max_to_keep=1, owner=owner,
                                                 subdir=checkpointing.BEST_CHECKPOINT_DIR,
                                                 extra={SCORE_VARIABLE: self._score})
        # Created now, out of any strategy scope, on every worker (see distribute.saving_checkpoint).
        self.state.checkpoint.save_counter  # noqa: B018 - the property creates the variable
        self.best: float | None = None
        self.best_step: int | None = None

    def restore_score(self) -> float | None:
        """Reads the score of the best checkpoint on disk (a resumed run keeps its best); the model is unchanged.
        An unreadable best checkpoint is reported and replaced at the next validation."""
        if self.state.owner:
            self.state.remove_partial_writes()
        try:
            path = self.state.newest_readable()
        except checkpointing.WorkdirError as error:
            logging.warning("%s The next validation writes a new best checkpoint.", error)
            return None
        if path is not None:
            reader = tf.train.load_checkpoint(path)
            self.best = float(reader.get_tensor(f"{SCORE_VARIABLE}/.ATTRIBUTES/VARIABLE_VALUE"))
            self.best_step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
        return self.best

    def offer(self, score: float, step: int) -> bool:
        """Saves the model's weights as the best checkpoint when `score` beats the best so far; returns whether."""
        if self.best is not None and not score > self.best:
            return False
        self._score.assign(score)
        self.state.save(step)
        self.best, self.best_step = float(score), int(step)
        return True


def clips_bytes(config) -> int:
    """Bytes of the float32 held-out clips a run's validations hold (at most `--validation_videos`; 0 without
    validation)."""
    data, tc = config.data, config.train
    if not tc.validation_every or not data.validation_fraction:
        return 0
    length = data.conditioning_frames + data.test_horizon
    return tc.validation_videos * length * data.image_size ** 2 * data.channels * memory.FLOAT32


class Validator:
    """Training's periodic validation: the held-out clips, the settings and the best checkpoint of a run."""

    def __init__(self, source, config, best: BestCheckpoint):
        """source: the run's DataSource; config: its Config; best: its BestCheckpoint (score restored)."""
        tc, data = config.train, config.data
        self.num_videos = min(tc.validation_videos, source.num_validation_videos)
        self.every = tc.validation_every if self.num_videos else 0
        self.samples, self.conditioning_frames = tc.validation_samples, data.conditioning_frames
        self.best, self._source, self._videos, self._actions = best, source, None, None
        self.with_actions = bool(config.model.action_conditioned)
        if tc.validation_every and not self.num_videos:
            logging.info("No validation score: --dataset=%s holds no validation clips (--validation_fraction=%g).",
                         data.dataset, data.validation_fraction)
    def due(self, step: int) -> bool:
        return bool(self.every) and step % self.every == 0

    def validate(self, model, step: int, writer) -> float:
        """Scores `model` at `step`, logs the score to TensorBoard (validation/psnr, validation/best_psnr) and keeps
        the weights in the best checkpoint when it is the best so far; returns the score."""
        if self._videos is None:
            clips = self._source.validation_videos(self.num_videos, **({"with_actions": True} if self.with_actions
                                                                       else {}))
            self._videos, self._actions = (clips["frames"], clips["actions"]) if self.with_actions else (clips, None)
        score = validation_score(model, self._videos, self.conditioning_frames, self.samples, self._actions)
        improved = self.best.offer(score, step)
        summaries.write_scalars(writer, {"validation/psnr": score, "validation/best_psnr": self.best.best}, step)
        print(f"Validation at step {step}: PSNR {score:.3f} dB on {self.num_videos} held-out clips (best of "
              f"{self.samples}); best {self.best.best:.3f} dB at step {self.best.best_step}"
              + (" (saved)" if improved else ""), flush=True)
        return score
