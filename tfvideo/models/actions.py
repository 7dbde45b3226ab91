"""Action conditioning (`--action_conditioned`): the actions' normalisation and their index convention.

Index convention, shared by every model and every road (training, `generate`, evaluation, export):

    actions float32 [B, T, A] are aligned with the frames: a_t is the action taken at frame x_t, the one that
    moves the scene from x_t to x_{t+1}. So the transition into frame t + 1 reads a_t; a clip of T frames uses
    a_0 .. a_{T-2} (its last action moves beyond the clip and is not read).

With SRVP's k Euler steps per frame (dt = 1/k), the action of a frame is held over its k steps, as z is.
For `generate(context, actions=...)` with Tc context frames and N predicted ones, actions [B, >= Tc - 1 + N, A]:
the Tc - 1 context transitions read a_0 .. a_{Tc-2}, predicted frame j (1..N) reads a_{Tc-2+j}; later entries
are ignored (so a whole clip's actions, [B, Tc + N, A], can be given as they come). The action at a frame is
the same whatever dt: `include_intermediate` frames between two frames share it.

Normalisation: the models read (a - mean) / std, with mean and std [A] the per-dimension statistics of the
training set, computed once at the start of a run (`compute_statistics` over the first batches of the training
pipeline), written to `<workdir>/action_stats.json`, and held by the model (`ActionNormalizer`, non-trainable
variables) so every checkpoint, SavedModel and TFLite file carries them: callers always give raw actions.
"""

from __future__ import annotations

import json
import os

import keras
import numpy as np
import tensorflow as tf

STATS_FILE = "action_stats.json"
STATS_BATCHES = 50  # training batches whose actions give the statistics
MIN_STD = 1e-6  # a dimension whose std is below this never varies: it is centred, not scaled (std 1)
FILE_EXTENSIONS = (".npy", ".csv")  # files of raw actions [T, A]: `read_actions_file`


@keras.saving.register_keras_serializable(package="tfvideo")
class ActionNormalizer(keras.layers.Layer):
    """(a - mean) / std with the training set's statistics, non-trainable variables [A] (0 and 1 until set)."""

    def __init__(self, action_size: int, **kwargs):
        super().__init__(**kwargs)
        self.action_size = int(action_size)
        self.mean = self.add_weight(name="mean", shape=(self.action_size,), initializer="zeros", trainable=False)
        self.std = self.add_weight(name="std", shape=(self.action_size,), initializer="ones", trainable=False)

    def call(self, actions):
        """actions [..., A] -> normalised [..., A]."""
        return (tf.cast(actions, tf.float32) - self.mean) / self.std

    def set_statistics(self, mean, std) -> None:
        self.mean.assign(np.asarray(mean, np.float32))
        self.std.assign(scale(std))

    def statistics(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean.numpy()], "std": [float(v) for v in self.std.numpy()]}

    def get_config(self):
        return {**super().get_config(), "action_size": self.action_size}


def scale(std) -> np.ndarray:
    """The divisor of each dimension: its std, or 1 where the std is below MIN_STD (a dimension that never varied in
    training would otherwise turn any other value into a huge one)."""
    std = np.asarray(std, np.float32)
    return np.where(std < MIN_STD, np.float32(1.0), std)


def split_batch(data):
    """(videos [B, T, H, W, C], actions [B, T, A] or None) of a training batch: videos, or {"frames", "actions"}."""
    if isinstance(data, dict):
        return data["frames"], data["actions"]
    return data, None


def at(actions, t):
    """Action t [N, A] of actions [N, T, A] (None stays None)."""
    return None if actions is None else actions[:, t]


def with_action(inputs, action):
    """inputs [N, D] with the action [N, A] concatenated on the last axis (inputs alone without an action)."""
    return inputs if action is None else tf.concat([inputs, tf.cast(action, inputs.dtype)], axis=-1)


def required_length(context_length, horizon):
    """Actions a model reads for Tc context frames and N predicted ones: Tc - 1 + N."""
    return context_length - 1 + horizon


def check_actions(actions, *, conditioned: bool, action_size: int, batch_size: int, length: int, who: str,
                  error=ValueError):
    """float32 actions [B, >= length, A] (or None for a model without actions); `error` naming the problem.

    An action-conditioned model (`who`: "this SRVP model", "this exported model") needs them, one without
    refuses them; shapes must match the context's batch and the model's action size A, and every value must be
    finite.
    """
    if not conditioned:
        if actions is not None:
            raise error(f"actions were given, but {who} is not action-conditioned (trained without "
                        "--action_conditioned): drop actions, or train a model with --action_conditioned.")
        return None
    expected = f"[B={batch_size}, >= {length} (context frames - 1 + horizon), A={action_size}]"
    if actions is None:
        raise error(f"{who} is action-conditioned: give actions {expected}, raw (not normalised), "
                    "a_t moving frame t to t + 1.")
    try:
        actions = np.asarray(actions, np.float32) if not isinstance(actions, tf.Tensor) else actions
        actions = tf.convert_to_tensor(actions, tf.float32)
    except (TypeError, ValueError) as problem:
        raise error(f"actions must be a float array {expected}: {problem}") from None
    shape = tuple(actions.shape)
    if len(shape) != 3 or shape[0] != batch_size or shape[2] != action_size or shape[1] < length:
        raise error(f"actions must have shape {expected}; got {list(shape)}.")
    if not bool(tf.reduce_all(tf.math.is_finite(actions))):
        raise error("actions hold NaN or Inf values: give finite actions.")
    return actions


def compute_statistics(stream: tf.data.Dataset, num_batches: int = STATS_BATCHES) -> dict[str, list[float]]:
    """{"mean", "std"} [A] of the actions of the first `num_batches` batches of a {"frames", "actions"} stream."""
    total = total_sq = None
    count = 0
    for batch in stream.take(num_batches):
        flat = tf.reshape(tf.cast(batch["actions"], tf.float64), [-1, batch["actions"].shape[-1]]).numpy()
        total = flat.sum(0) if total is None else total + flat.sum(0)
        total_sq = (flat ** 2).sum(0) if total_sq is None else total_sq + (flat ** 2).sum(0)
        count += flat.shape[0]
    if not count:
        raise ValueError("The training stream gave no actions to compute their statistics.")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in scale(std)]}


def write_statistics(workdir: str, stats: dict) -> str:
    """Writes `<workdir>/action_stats.json` atomically; returns its path."""
    from tfvideo.utils import files  # pylint: disable=g-import-not-at-top

    path = os.path.join(workdir, STATS_FILE)
    files.atomic_write(path, json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return path


def read_actions_file(path: str, action_size: int | None, needed: int, error=ValueError) -> np.ndarray:
    """float32 raw actions [>= needed, A] of a .npy or .csv file [T, A] (a .csv: comma-separated numbers, no
    header, lines starting with # skipped); `action_size` None takes A from the file. Raises error(message),
    the message naming the file and the problem."""
    try:
        if path.lower().endswith(".npy"):
            values = np.load(path, allow_pickle=False)
        else:
            values = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except OSError as problem:
        raise error(f"--actions={path}: cannot read it ({problem.strerror or problem}).") from None
    except ValueError as problem:
        raise error(f"--actions={path}: not an array of numbers ({str(problem).splitlines()[0]}).") from None
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
        raise error(f"--actions={os.path.basename(path)}: must hold numbers [T, {action_size}] (one row per "
                    f"frame); got an array of shape {values.shape} and dtype {values.dtype}.")
    action_size = values.shape[1] if action_size is None else action_size
    checked = check_actions(values[None], conditioned=True, action_size=action_size, batch_size=1, length=needed,
                            who="the model", error=lambda message: error(f"--actions={path}: {message}"))
    return checked.numpy()[0]
