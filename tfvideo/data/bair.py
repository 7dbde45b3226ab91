"""BAIR robot pushing (Ebert et al. 2017) through TFDS `bair_robot_pushing_small`: 30-frame 64x64 RGB videos.

View: `image_aux1` (the papers' camera) or `image_main` (`--bair_view`). Actions (float32 [30, 4]) are kept:
`train_dataset(..., with_actions=True)` and `test_set(..., with_actions=True)` return them aligned with the frames.

Training stream (reproducible and resumable without decoding the skipped part): the train split is read in
its prepared order, without decoding images. Epoch e (of N videos) rotates that order by an offset drawn from
(seed, e), cuts it into blocks of `block_size` videos and permutes each block with a stateless shuffle seeded by
(seed, e, block). Element i of the stream is the i-th video of that sequence (epoch i // N); its window start is
drawn from (seed, i), and only the window's frames are decoded. Starting at `start_index` skips undecoded
records, then continues exactly as the stream that starts at 0. Nothing depends on TF's global seed.

Hold-out: `splits.holdout_split` of the train videos in prepared order (`--validation_fraction`, 5% as SRVP);
training streams the kept ones, validation clips are the first frames of the held-out ones.

Test set: the 256 test videos in prepared order, first `conditioning_frames + test_horizon` (<= 30) frames.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo.data import splits, tfds_store
from tfvideo.data.errors import DatasetUnavailableError
from tfvideo.data.registry import DataSource

NAME = "bair_robot_pushing_small"
VIEWS = config_lib.BAIR_VIEWS
FRAMES = 30
ACTION_SIZE = 4  # numbers per action
FRAME_SIZE = 64
BLOCK_SIZE = 512  # videos per shuffled block (~100 MB of PNG strings)
URL = "http://rail.eecs.berkeley.edu/datasets/bair_robot_pushing_dataset_v0.tar"
_DOMAIN_ROTATE, _DOMAIN_BLOCK, _DOMAIN_WINDOW = 0, 1, 2

MISSING = (
    f"BAIR robot pushing is not prepared. Prepare TFDS '{NAME}' (it downloads ~30 GB from {URL}) on a machine "
    "with internet:\n"
    "  python -m tfvideo.data.prepare --dataset=bair --data_dir=DIR\n"
    f"then train with --data_dir=DIR (DIR must contain {NAME}/2.0.0/).")


def builder(data_dir: str | None):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    return tfds.builder(NAME, data_dir=data_dir)


def encoded_examples(tfds_builder, split: str, view: str) -> tf.data.Dataset:
    """Undecoded videos in prepared order: {"frames": string [30] (PNG), "actions": float32 [30, 4]}."""
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    if view not in VIEWS:
        raise config_lib.ConfigError(f"Unknown BAIR view {view!r}; expected one of: {', '.join(VIEWS)}.")
    decoders = tfds.decode.PartialDecoding({view: True, "action": True}, decoders={view: tfds.decode.SkipDecoding()})
    dataset = tfds_builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)
    return dataset.map(lambda ex: {"frames": ex[view], "actions": ex["action"]})


def num_examples(tfds_builder, dataset: tf.data.Dataset, split: str) -> int:
    """Videos in a split: the dataset's cardinality, else TFDS's split info, else a count."""
    count = int(dataset.cardinality())
    if count < 0:
        try:
            count = int(tfds_builder.info.splits[split].num_examples)
        except (KeyError, ValueError, TypeError):
            count = -1
    if count <= 0:
        count = int(dataset.reduce(np.int64(0), lambda n, _: n + 1))
    if count <= 0:
        raise DatasetUnavailableError(f"TFDS {NAME} split {split!r} is empty.")
    return count


def _decode_window(example, start, length: int, image_size: int, with_actions: bool):
    strings = example["frames"][start:start + length]
    frames = tf.map_fn(lambda s: tf.io.decode_png(s, channels=3), strings,
                       fn_output_signature=tf.TensorSpec([FRAME_SIZE, FRAME_SIZE, 3], tf.uint8))
    frames = tf.cast(frames, tf.float32) / 255.0
    if image_size != FRAME_SIZE:
        frames = tf.image.resize(frames, [image_size, image_size], method="area")
    frames = tf.ensure_shape(frames, [length, image_size, image_size, 3])
    if not with_actions:
        return frames
    return {"frames": frames, "actions": tf.ensure_shape(example["actions"][start:start + length], [length, 4])}


def _epoch(base: tf.data.Dataset, epoch, seed: int, count: int, block_size: int) -> tf.data.Dataset:
    """One epoch of `base` (count videos): rotated by a seeded offset, then shuffled within blocks."""
    block_size = min(block_size, count)
    offset = tf.random.stateless_uniform([], seed=tf.stack([seed * 4 + _DOMAIN_ROTATE, epoch]), minval=0,
                                         maxval=block_size, dtype=tf.int64)
    rotated = base.skip(offset).concatenate(base.take(offset))

    def shuffle_block(block_index, block):
        size = tf.shape(block["actions"], out_type=tf.int64)[0]
        key = tf.stack([seed * 4 + _DOMAIN_BLOCK, epoch * (1 << 24) + block_index])
        order = tf.random.experimental.stateless_shuffle(tf.range(size), seed=key)
        return tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(lambda t: tf.gather(t, order), block))

    return rotated.batch(block_size).enumerate().flat_map(shuffle_block)


def train_dataset(tfds_builder, *, view: str, batch_size: int, seq_len: int, seed: int = 0, start_index: int = 0,
                  image_size: int = FRAME_SIZE, with_actions: bool = False, block_size: int = BLOCK_SIZE,
                  videos: np.ndarray | None = None) -> tf.data.Dataset:
    """Endless training stream (see the module docstring), of the train videos `videos` (indices in prepared
    order; all when None).

    Returns:
      tf.data.Dataset of float32 [batch_size, seq_len, image_size, image_size, 3] in [0, 1], or with_actions:
      {"frames": that, "actions": float32 [batch_size, seq_len, 4]}.
    """
    if not 1 <= seq_len <= FRAMES or batch_size < 1 or seed < 0 or start_index < 0:
        raise ValueError(f"Need 1 <= seq_len <= {FRAMES}, batch_size >= 1, seed and start_index >= 0; got "
                         f"{seq_len}, {batch_size}, {seed}, {start_index}.")
    base, count = train_videos(tfds_builder, view, videos)
    first_epoch, skip = divmod(start_index, count)

    def indexed_epoch(epoch):
        return _epoch(base, epoch, seed, count, block_size).enumerate().map(
            lambda position, example: (epoch * count + position, example))

    def window(index, example):
        start = tf.random.stateless_uniform([], seed=tf.stack([seed * 4 + _DOMAIN_WINDOW, index]), minval=0,
                                            maxval=FRAMES - seq_len + 1, dtype=tf.int64)
        return _decode_window(example, start, seq_len, image_size, with_actions)

    dataset = tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max // (2 * count)).flat_map(indexed_epoch)
    dataset = dataset.skip(skip).map(window, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def train_videos(tfds_builder, view: str, videos: np.ndarray | None = None) -> tuple[tf.data.Dataset, int]:
    """(undecoded train videos `videos` in prepared order, all when None; how many there are)."""
    base = encoded_examples(tfds_builder, "train", view)
    count = num_examples(tfds_builder, base, "train")
    if videos is None:
        return base, count
    keep = tf.constant(np.isin(np.arange(count), videos))
    return base.enumerate().filter(lambda index, _: keep[index]).map(lambda _, example: example), \
        int(keep.numpy().sum())


def validation_set(tfds_builder, *, view: str, length: int, videos: np.ndarray, num_videos: int | None = None,
                   image_size: int = FRAME_SIZE, with_actions: bool = False) -> np.ndarray | dict:
    """float32 [min(num_videos, len(videos)), length, image_size, image_size, 3]: the first `length` frames of
    the train videos `videos` (held out for validation), in prepared order; with_actions: {"frames": that,
    "actions": float32 [..., length, 4]}."""
    base, count = train_videos(tfds_builder, view, videos)
    clips = base.take(count if num_videos is None else num_videos).map(
        lambda ex: _decode_window(ex, 0, length, image_size, True)).batch(256)
    batches = list(clips.as_numpy_iterator())
    frames = np.concatenate([b["frames"] for b in batches]) if batches else np.zeros(
        (0, length, image_size, image_size, 3), np.float32)
    if not with_actions:
        return frames
    actions = np.concatenate([b["actions"] for b in batches]) if batches else np.zeros((0, length, 4), np.float32)
    return {"frames": frames, "actions": actions.astype(np.float32)}


def test_set(tfds_builder, *, view: str, length: int, start: int = 0, end: int | None = None,
             image_size: int = FRAME_SIZE, with_actions: bool = False) -> tf.data.Dataset:
    """Test videos start..end-1 in prepared order, first `length` frames (unbatched)."""
    dataset = encoded_examples(tfds_builder, "test", view).skip(start)
    if end is not None:
        dataset = dataset.take(max(0, end - start))
    return dataset.map(lambda ex: _decode_window(ex, 0, length, image_size, with_actions),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def data_source(cfg: config_lib.DataConfig) -> DataSource:
    """The `--dataset=bair` DataSource (see the module docstring)."""
    tfds_store.check_channels("BAIR robot pushing", cfg.channels, 3)
    tfds_store.check_image_size("BAIR robot pushing", cfg.image_size, FRAME_SIZE)
    length = cfg.conditioning_frames + cfg.test_horizon
    for name, value in (("--seq_len", cfg.seq_len), ("--conditioning_frames + --test_horizon", length)):
        if value > FRAMES:
            raise config_lib.ConfigError(f"BAIR videos have {FRAMES} frames: {name} = {value} is too long.")
    tfds_builder = builder(cfg.data_dir)
    tfds_store.require_prepared(tfds_builder, MISSING)
    num_test = num_examples(tfds_builder, encoded_examples(tfds_builder, "test", cfg.bair_view), "test")
    num_train = num_examples(tfds_builder, encoded_examples(tfds_builder, "train", cfg.bair_view), "train")
    split = splits.holdout_split(num_train, cfg.validation_fraction)  # items: the train videos, prepared order
    common = dict(view=cfg.bair_view, image_size=cfg.image_size)
    num_validation = min(len(split["validation"]), splits.NUM_VALIDATION_CLIPS)

    def train_stream(batch_size: int, seed: int = 0, start_index: int = 0,
                     with_actions: bool = False) -> tf.data.Dataset:
        return train_dataset(tfds_builder, batch_size=batch_size, seq_len=cfg.seq_len, seed=seed,
                             start_index=start_index, videos=split["train"], with_actions=with_actions, **common)

    def validation_videos(num_videos: int | None = None, with_actions: bool = False) -> np.ndarray | dict:
        count = num_validation if num_videos is None else min(int(num_videos), num_validation)
        return validation_set(tfds_builder, length=length, videos=split["validation"], num_videos=count,
                              with_actions=with_actions, **common)

    def test_batches(batch_size: int, start: int = 0, num_videos: int | None = None,
                     with_actions: bool = False) -> Iterator[np.ndarray | dict]:
        if batch_size < 1 or start < 0:
            raise ValueError(f"batch_size must be >= 1 and start >= 0; got {batch_size}, {start}.")
        end = num_test if num_videos is None else min(int(num_videos), num_test)
        if start < end:
            yield from test_set(tfds_builder, length=length, start=start, end=end, with_actions=with_actions,
                                **common).batch(batch_size).as_numpy_iterator()

    def test_videos(num_videos: int | None = None, start: int = 0) -> np.ndarray:
        batches = list(test_batches(256, start, num_videos))
        empty = np.zeros((0, length, cfg.image_size, cfg.image_size, 3), np.float32)
        return np.concatenate(batches) if batches else empty

    description = (f"BAIR robot pushing (TFDS {NAME} in {tfds_builder.data_dir}), view {cfg.bair_view}, "
                   f"{len(split['train'])} of {num_train} train videos ({len(split['validation'])} held out for "
                   f"validation, --validation_fraction={cfg.validation_fraction:g}), {num_test} test videos of "
                   f"{length} frames, {cfg.image_size}px")
    return DataSource(train_stream=train_stream, test_videos=test_videos, description=description,
                      num_test_videos=num_test, test_batches=test_batches,
                      validation_videos=validation_videos if num_validation else None,
                      num_validation_videos=num_validation, action_size=ACTION_SIZE)
