"""`VideoPredictor`: the contract every tfvideo model fulfils, and the parts they share.

A model subclasses `VideoPredictor` and implements:

- `compute_loss_terms(videos, training) -> dict[str, Tensor]`: scalar loss terms averaged over the batch;
  the key "loss" is what is minimised, every term is tracked as a metric and logged.
- `noise_shapes(batch_size, num_samples, context_length, num_steps) -> dict[str, Tensor]`: shapes of the
  standard-normal noise that one call of `sample_futures` consumes.
- `sample_futures(context, num_samples, horizon, steps_per_frame, noise, include_intermediate) -> Tensor`:
  a pure function of its inputs and the weights, so that exporters can feed their own noise.
- `config_class`: its config section (a `tfvideo.config.ModelConfig`), which says whether the configured model
  has continuous time (`continuous_time`: dt = 1/k) and how many context frames it reads (`min_context_frames`).

and may declare exported functions of its own besides `predict` with `extra_serving_functions()`, and
frame-by-frame sampling with `streaming_functions()`.

The public `generate` validates its inputs (the request by `tfvideo.models.requests`), takes an int32 seed (given, or drawn from the model's seed
generator) and calls a compiled `sample_seeded`: the noise hashed from the seed (`tfvideo.models.noise`), then
`sample_futures`. The exported `predict` signature runs the same `sample_seeded`, so a seed gives the same
futures in Python, TF Serving and LiteRT. One traced graph serves every batch size, sample count, horizon and dt.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import keras
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo import validation
from tfvideo.models import actions as actions_lib
from tfvideo.models import noise as noise_lib
from tfvideo.models import requests
from tfvideo.models import serving
from tfvideo.models import guarded_step


class InvalidInputError(ValueError):
    """A user-given tensor or argument is invalid; the message names it and says what is expected."""


@keras.saving.register_keras_serializable(package="tfvideo")
class VideoPredictor(keras.Model):
    """Base class of tfvideo's models. Videos are float32 [B, T, H, W, C] with values in [0, 1]."""

    loss_term_names: tuple[str, ...] = ("loss",)
    config_class: type[config_lib.ModelConfig] = config_lib.ModelConfig  # each model's own section

    def __init__(self, model_config: config_lib.ModelConfig, image_size: int = 64, channels: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.model_config = model_config
        self.image_size = image_size
        self.channels = channels
        self.noise_seed = keras.random.SeedGenerator(name="noise_seed")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_term_names}
        self._compiled_samplers = {}  # sorted option names -> tf.function of sample_seeded
        # --action_conditioned: the training set's action statistics (tfvideo.models.actions), None otherwise
        self.action_normalizer = actions_lib.ActionNormalizer(model_config.action_size, name="action_normalizer") \
            if model_config.action_conditioned else None

    # ----------------------------------------------------------------------------------------- contract
    def compute_loss_terms(self, videos, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def noise_shapes(self, batch_size, num_samples, context_length, num_steps):  # pragma: no cover
        raise NotImplementedError

    def sample_futures(self, context, num_samples, horizon, steps_per_frame, noise,
                       include_intermediate=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def min_context_frames(self) -> int:
        """The fewest context frames the model predicts from (its config's `min_context_frames`)."""
        return self.model_config.min_context_frames

    @property
    def continuous_time(self) -> bool:
        """Whether the model samples at any dt = 1/k (its config's `continuous_time`), or at dt = 1 only."""
        return self.model_config.continuous_time

    def extra_serving_functions(self) -> list[serving.ServingFunction]:
        """The model's own exported functions besides `predict` (`tfvideo.models.serving`); none by default."""
        return []

    def streaming_functions(self) -> serving.StreamingFunctions | None:
        """Frame-by-frame sampling (`tfvideo.models.serving.StreamingFunctions`), exported as the `stream_start`
        and `stream_next` signatures; None (the default) when the model has none."""
        return None

    # ----------------------------------------------------------------------------------------- Keras
    @property
    def metrics(self):
        return list(self._trackers.values())

    def call(self, videos, training=False):
        """Loss terms of a batch of videos [B, T, H, W, C]; see `compute_loss_terms`."""
        return self.compute_loss_terms(videos, training=training)

    def train_step(self, data):
        """One ELBO gradient step on a batch [B, T, H, W, C].

        The guarded update of `tfvideo.models.guarded_step`: a step whose loss is not finite, or whose
        gradients are not finite or so large that their squares overflow, is skipped (weights, batch-norm
        statistics and optimizer state untouched; the seed generators move on).
        Returns the running mean of each loss term over the applied steps, and "skipped" (1.0 when this
        step was skipped).
        """
        videos = data[0] if isinstance(data, (tuple, list)) else data
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        result = guarded_step.forward_backward(self, videos)
        skipped = guarded_step.guarded_update(
            result["safe"],
            apply=lambda: guarded_step.apply_gradients(self, result["grads"], result["terms"]),
            restore=lambda: guarded_step.restore_statistics(self, result["saved"]),
            optimizer=self.optimizer)
        return guarded_step.step_logs(self, skipped)

    def test_step(self, data):
        videos = data[0] if isinstance(data, (tuple, list)) else data
        return self._track(self.compute_loss_terms(videos, training=False))

    def _track(self, terms):
        for name, value in terms.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def initialize(self, sequence_length: int | None = None) -> "VideoPredictor":
        """Creates every variable by running the model once on zeros [2, T, H, W, C]; returns self."""
        length = sequence_length or self.min_context_frames() + 1
        zeros = tf.zeros([2, length, self.image_size, self.image_size, self.channels])
        options = {}
        if self.action_normalizer is not None:
            options["actions"] = tf.zeros([2, length, self.model_config.action_size])
            self.compute_loss_terms({"frames": zeros, "actions": options["actions"]}, training=False)
        else:
            self.compute_loss_terms(zeros, training=False)
        self.sample_futures(zeros, 1, 1, 1, self.draw_noise(2, 1, length, length, seed=0), **options)
        for tracker in self._trackers.values():
            tracker.reset_state()
        self.built = True
        return self

    def get_config(self):
        return {**super().get_config(), "model_config": dataclasses.asdict(self.model_config),
                "image_size": self.image_size, "channels": self.channels}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        model_config = config_lib.model_section(config.pop("model_config"))
        return cls(model_config, **config)

    def get_build_config(self):
        """What `build_from_config` needs: a `.keras` reload builds the model from its config, then creates its
        variables with `build_from_config` before it loads their values."""
        return {"sequence_length": self.min_context_frames() + 1}

    def build_from_config(self, config):
        self.initialize(config["sequence_length"])

    # ----------------------------------------------------------------------------------------- sampling
    def sampling_seed(self, seed=None) -> tf.Tensor:
        """The int32 scalar seed of the sampling noise: `seed` (a whole number in int32 range, or an int32 scalar
        tensor), or for None a fresh one drawn from the model's `noise_seed` generator."""
        if seed is None:
            return keras.random.randint((), validation.INT32_MIN, validation.INT32_MAX, dtype="int32",
                                        seed=self.noise_seed)
        if isinstance(seed, tf.Tensor) and seed.dtype == tf.int32 and seed.shape.rank == 0:
            return seed
        return tf.constant(validation.int32_seed(seed, "seed", error=InvalidInputError), tf.int32)

    def draw_noise(self, batch_size, num_samples, context_length, num_steps, seed=None) -> dict[str, tf.Tensor]:
        """The standard-normal noise of `sample_futures` (names and shapes from `noise_shapes`), hashed from
        `seed` (see `sampling_seed`) by `tfvideo.models.noise`: each element depends only on the seed and its
        coordinates, so a longer horizon or more samples keep the earlier draws."""
        shapes = self.noise_shapes(batch_size, num_samples, context_length, num_steps)
        return noise_lib.seeded_noise(shapes, self.sampling_seed(seed))

    def sample_seeded(self, context, num_samples, horizon, steps_per_frame, seed, **options) -> tf.Tensor:
        """`sample_futures` with the noise `draw_noise` gives for `seed` (an int32 scalar tensor): what
        `generate` and the exported `predict` signature run. `options` go to `sample_futures`."""
        shape = tf.shape(context)
        noise = self.draw_noise(shape[0], num_samples, shape[1], shape[1] - 1 + horizon, seed=seed)
        return self.sample_futures(context, num_samples, horizon, steps_per_frame, noise, **options)

    def generate(self, context, num_samples: int = 1, horizon: int = 10, dt: float | None = None,
                 seed: int | None = None, include_intermediate: bool = False, actions=None) -> tf.Tensor:
        """Samples futures of `context` in one batched pass.

        Args:
          context: float [B, T, H, W, C] in [0, 1], the conditioning frames (T >= `min_context_frames()`).
          num_samples: S >= 1 futures per video.
          horizon: N >= 1 future frames, at the training frame rate.
          dt: Euler step 1/k of the predicted frames (default: the training dt). The context is always
            integrated at the training dt, as in the SRVP code. Discrete-time models accept only 1.
          seed: an int32 (-2**31 .. 2**31 - 1) for reproducible samples, the same futures as the exported
            signatures give for it; None draws a seed from the model's seed generator.
          include_intermediate: with dt = 1/k, also return the k - 1 frames between two frames.
          actions: action-conditioned models only (and required by them): raw float actions
            [B, >= Tc - 1 + N, A], a_t moving frame t to t + 1, held over the k Euler steps of a frame
            (`tfvideo.models.actions` gives the convention); the same seed and actions give the same futures.

        Returns:
          float32 [B, S, F, H, W, C] in [0, 1], F = N, or N * k with `include_intermediate`.
        """
        return self.generate_with(context, num_samples, horizon, dt, seed,
                                  include_intermediate=bool(include_intermediate), actions=actions)

    def generate_with(self, context, num_samples, horizon, dt, seed, **options) -> tf.Tensor:
        """`generate`, with `options` passed on to `sample_futures` (e.g. HAF-SVG's zeroed_groups); one compiled
        sampler per set of option names, traced once per set of option values. An `actions` option is checked by
        `validate_actions` and left out when None."""
        context = self.validate_videos(context, "context")
        request = requests.for_model(self, num_samples, horizon, dt, context.shape[1], error=InvalidInputError,
                                     context_name="context length T")
        num_samples, horizon, k = request.num_samples, request.horizon, request.steps_per_frame
        actions = self.validate_actions(options.pop("actions", None), context, horizon)
        if actions is not None:
            options["actions"] = actions
        self._check_output_memory(context.shape[0] or 1, num_samples, request.num_frames)
        seed = self.sampling_seed(seed)
        key = tuple(sorted(options))
        if key not in self._compiled_samplers:
            self._compiled_samplers[key] = tf.function(self.sample_seeded, reduce_retracing=True)
        return self._compiled_samplers[key](context, tf.constant(num_samples), tf.constant(horizon), tf.constant(k),
                                            seed, **options)

    def _check_output_memory(self, batch: int, num_samples: int, frames: int) -> None:
        """InvalidInputError, before any work, when the futures float32 [batch, num_samples, frames, H, W, C] cannot
        fit in the memory available (`tfvideo.utils.memory`), e.g. horizon=2**31-1."""
        from tfvideo.utils import memory
        needed = memory.sampling_bytes(batch, num_samples, frames, self.image_size, self.channels)
        problem = memory.memory_problem(needed, memory.available_bytes(), f"{batch} x num_samples={num_samples} "
                                        f"futures of {frames} frames", "lower num_samples or horizon")
        if problem:
            raise InvalidInputError(problem)

    def generate_tracing_count(self) -> int:
        """How many graphs `generate` traced (one serves every batch size, sample count, horizon, dt and seed)."""
        return sum(sampler.experimental_get_tracing_count() for sampler in self._compiled_samplers.values())

    def model_actions(self, actions, num_samples=1):
        """What the dynamics read: raw actions [B, T, A] normalised and repeated for S samples, [B*S, T, A] (row
        b*S + s); None for a model without actions. ValueError when an action-conditioned model gets None."""
        if self.action_normalizer is None:
            return None
        if actions is None:
            raise ValueError(f"Model '{self.model_config.model}' is action-conditioned: it needs actions.")
        return tf.repeat(self.action_normalizer(actions), num_samples, axis=0)

    # ----------------------------------------------------------------------------------------- validation
    def validate_actions(self, actions, context, horizon: int):
        """float32 actions [B, >= Tc - 1 + horizon, A] for context [B, Tc, ...] (None for a model without
        actions), or InvalidInputError (`tfvideo.models.actions.check_actions`)."""
        return actions_lib.check_actions(
            actions, conditioned=self.action_normalizer is not None, action_size=self.model_config.action_size,
            batch_size=int(context.shape[0]), length=actions_lib.required_length(int(context.shape[1]), horizon),
            who=f"this {type(self).__name__} model", error=InvalidInputError)

    def validate_videos(self, videos, name: str = "videos", min_length: int = 1) -> tf.Tensor:
        """Checks rank, frame size, channels, length and the [0, 1] range; returns float32 [B, T, H, W, C]."""
        try:
            videos = tf.convert_to_tensor(videos)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"{name} must be an array of frames [B, T, H, W, C]: {error}") from None
        expected = (self.image_size, self.image_size, self.channels)
        if videos.shape.rank != 5:
            raise InvalidInputError(
                f"{name} must have rank 5 [batch, time, height, width, channels] = [B, T, {expected[0]}, "
                f"{expected[1]}, {expected[2]}]; got shape {videos.shape}. Add a batch axis with x[None] for "
                "a single video.")
        if tuple(videos.shape[2:]) != expected:
            raise InvalidInputError(f"{name} frames must be {expected} (height, width, channels) for this model; "
                                    f"got {tuple(videos.shape[2:])}. Resize the frames or retrain at that size.")
        if not (videos.dtype.is_floating or videos.dtype.is_integer):
            raise InvalidInputError(f"{name} must be float frames in [0, 1]; got dtype {videos.dtype.name}.")
        if videos.dtype.is_integer:
            raise InvalidInputError(f"{name} has integer dtype {videos.dtype.name}; convert to float32 in [0, 1] "
                                    "(e.g. frames / 255).")
        if videos.shape[0] == 0 or videos.shape[1] is not None and videos.shape[1] < min_length:
            raise InvalidInputError(f"{name} needs at least 1 video and {min_length} frames; got shape "
                                    f"{videos.shape}.")
        if tf.executing_eagerly():  # before the cast: float64 values just above 1 would round to 1
            low, high = float(tf.reduce_min(videos)), float(tf.reduce_max(videos))
            if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 1.0:
                raise InvalidInputError(f"{name} values must lie in [0, 1]; got min {low:g}, max {high:g}. "
                                        "Scale uint8 frames with frames / 255.")
        return tf.cast(videos, tf.float32)


def per_example(draw, shape, *args, **kwargs) -> tf.Tensor:
    """`draw(shape, *args, **kwargs)`, a seeded keras.random op drawing rows [N, ...], as on one device.

    Under a tf.distribute strategy with R replicas, each replica draws the rows of the whole global batch
    [R * N, ...] and keeps its own slice: example i of the global batch gets the random numbers it gets on one
    device, and no two replicas share theirs. Without a strategy this is `draw(shape, ...)` itself.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return draw(shape, *args, **kwargs)
    shape = tf.convert_to_tensor(shape)
    rows = shape[0]
    full = draw(tf.concat([[rows * context.num_replicas_in_sync], shape[1:]], axis=0), *args, **kwargs)
    start = tf.cast(context.replica_id_in_sync_group, rows.dtype) * rows
    return full[start:start + rows]

