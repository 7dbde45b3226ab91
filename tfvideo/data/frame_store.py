"""Random access to the decoded frames of many videos, and the reproducible windows drawn from them.

A `FrameStore` holds every frame of a set of videos in one uint8 array [N, H, W, C] (in memory, or memory-mapped
from a cache directory written once), with `offsets` [V + 1] marking where each video starts. That makes any
window of any video one slice away, so training windows can be drawn independently per element:

- A window or clip of `length` frames with `stride` s takes stored frames start, start + s, ...,
  start + s * (length - 1): it spans `span(length, s)` stored frames and may start at any frame. Stride 1 (KTH,
  folders) takes consecutive frames; Human3.6M keeps every frame at 50 fps and takes one in 8, from any start.
- Training element i of a stream with seed s uses `np.random.default_rng([s, i])` to pick a video uniformly
  among those spanning a window, then a start uniformly among its valid starts (SRVP's sampling). The stream
  therefore depends only on (store, seq_len, stride, videos, seed), and starting at `start_index` gives exactly
  the elements start_index, start_index + 1, ... of the stream that starts at 0 (resumption).
- Fixed test clips: `scripted_clips` (drawn as SRVP's test-set scripts draw them, e.g. KTH's and Human3.6M's
  1000 clips with seed 42) or `first_clips` (the first frames of every video long enough).

Cache directory layout: `frames.u8` (raw uint8 frames, C order) and `index.json` (shape, offsets, names,
groups, notes). It is written to a temporary directory and renamed into place, so a crash never leaves a
half-written cache behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Any, Callable, Iterable, NamedTuple

from absl import logging
import numpy as np
import tensorflow as tf

from tfvideo.data import exit_guard

FRAMES_FILE = "frames.u8"
INDEX_FILE = "index.json"
FORMAT_VERSION = 1
_EXIT_GUARD = exit_guard.ExitGuard()  # lets the process exit while a stream is alive


class StoreVideo(NamedTuple):
    """One video to put in a store: uint8 frames [T, H, W, C], an id and a group (person, subject, or -1)."""

    name: str
    group: int
    frames: np.ndarray


@dataclasses.dataclass(frozen=True)
class FrameStore:
    """Frames of V videos.

    Attributes:
      frames: uint8 [N, H, W, C] (np.ndarray or read-only np.memmap), every video's frames one after another.
      offsets: int64 [V + 1]; video v is frames[offsets[v]:offsets[v + 1]].
      names: V video ids.
      groups: int64 [V] (e.g. KTH person, Human3.6M subject; -1 when not applicable).
      notes: messages recorded while building (e.g. files skipped), repeated when a cached store is loaded.
    """

    frames: np.ndarray
    offsets: np.ndarray
    names: tuple[str, ...]
    groups: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def num_videos(self) -> int:
        return len(self.names)

    @property
    def lengths(self) -> np.ndarray:
        """int64 [V]: frames per video."""
        return np.diff(self.offsets)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return tuple(self.frames.shape[1:])

    def video(self, index: int) -> np.ndarray:
        """uint8 [T, H, W, C] frames of video `index`."""
        return self.frames[self.offsets[index]:self.offsets[index + 1]]

    def clip(self, index: int, start: int, length: int, stride: int = 1) -> np.ndarray:
        """uint8 [length, H, W, C]: frames start, start + stride, ..., start + stride * (length - 1) of video
        `index`."""
        end = start + span(length, stride)
        if start < 0 or end > self.lengths[index]:
            raise ValueError(f"Clip [{start}, {end}) outside video {index} of {self.lengths[index]} frames.")
        first = self.offsets[index] + start
        return np.asarray(self.frames[first:first + span(length, stride):stride])


def span(length: int, stride: int = 1) -> int:
    """Stored frames covered by `length` frames taken one in `stride`: stride * (length - 1) + 1."""
    if length < 1 or stride < 1:
        raise ValueError(f"length and stride must be >= 1; got {length}, {stride}.")
    return stride * (length - 1) + 1


def span_text(length: int, stride: int = 1) -> str:
    """The stored frames `length` frames need, in words: '20 frames' or '121 frames (16 taken one in 8)'."""
    taken = f" ({length} taken one in {stride})" if stride > 1 else ""
    return f"{span(length, stride)} frames{taken}"


def build_store(videos: Iterable[StoreVideo], directory: str | None = None,
                notes: Iterable[str] = ()) -> FrameStore:
    """Collects `videos` into a FrameStore; with `directory`, writes it there (atomically) and memory-maps it.

    Videos with no frame are dropped. All videos must share the frame shape [H, W, C].
    `notes` is read after `videos` is exhausted (so a generator may append to it while yielding).
    """
    if directory is None:
        return _build_in_memory(videos, notes)
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(directory) + ".tmp-", dir=parent)
    try:
        index = _write_frames(videos, os.path.join(tmp, FRAMES_FILE))
        index["notes"] = list(notes)
        with open(os.path.join(tmp, INDEX_FILE), "w", encoding="utf-8") as file:
            json.dump(index, file)
        try:
            os.replace(tmp, directory)
        except OSError:  # another process wrote the same cache meanwhile: keep theirs
            if load_store(directory) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    store = load_store(directory)
    if store is None:
        raise OSError(f"Could not read back the frame cache written to {directory}.")
    return store


def _build_in_memory(videos: Iterable[StoreVideo], notes: Iterable[str]) -> FrameStore:
    chunks, names, groups, offsets = [], [], [], [0]
    for video in videos:
        if len(video.frames):
            _check_shape(video, chunks[0].shape[1:] if chunks else None)
            chunks.append(np.asarray(video.frames, np.uint8))
            names.append(video.name)
            groups.append(video.group)
            offsets.append(offsets[-1] + len(video.frames))
    frames = np.concatenate(chunks) if chunks else np.zeros((0, 1, 1, 1), np.uint8)
    return FrameStore(frames, np.asarray(offsets, np.int64), tuple(names), np.asarray(groups, np.int64),
                      tuple(notes))


def _check_shape(video: StoreVideo, expected) -> None:
    if video.frames.ndim != 4 or video.frames.dtype != np.uint8:
        raise ValueError(f"{video.name}: frames must be uint8 [T, H, W, C]; got {video.frames.dtype} "
                         f"{video.frames.shape}.")
    if expected is not None and tuple(video.frames.shape[1:]) != tuple(expected):
        raise ValueError(f"{video.name}: frame shape {video.frames.shape[1:]} differs from {tuple(expected)}.")


def _write_frames(videos: Iterable[StoreVideo], path: str) -> dict:
    names, groups, offsets, shape = [], [], [0], None
    with open(path, "wb") as file:
        for video in videos:
            if not len(video.frames):
                continue
            _check_shape(video, shape)
            shape = tuple(int(d) for d in video.frames.shape[1:])
            file.write(np.ascontiguousarray(video.frames, np.uint8).tobytes())
            names.append(video.name)
            groups.append(int(video.group))
            offsets.append(offsets[-1] + len(video.frames))
    return {"format": FORMAT_VERSION, "frame_shape": list(shape or (1, 1, 1)), "offsets": offsets,
            "names": names, "groups": groups}


def load_store(directory: str) -> FrameStore | None:
    """Memory-maps a store written by `build_store`; None if there is no complete one in `directory`."""
    index_path, frames_path = os.path.join(directory, INDEX_FILE), os.path.join(directory, FRAMES_FILE)
    if not (os.path.isfile(index_path) and os.path.isfile(frames_path)):
        return None
    try:
        with open(index_path, encoding="utf-8") as file:
            index = json.load(file)
        shape = (index["offsets"][-1], *index["frame_shape"])
        if index.get("format") != FORMAT_VERSION or os.path.getsize(frames_path) != int(np.prod(shape)):
            logging.warning("Ignoring the frame cache in %s: wrong format or size (it will be rebuilt).", directory)
            return None
        frames = (np.memmap(frames_path, dtype=np.uint8, mode="r", shape=shape) if shape[0]
                  else np.zeros(shape, np.uint8))
    except (OSError, ValueError, KeyError) as err:
        logging.warning("Ignoring the unreadable frame cache in %s (%s).", directory, err)
        return None
    return FrameStore(frames, np.asarray(index["offsets"], np.int64), tuple(index["names"]),
                      np.asarray(index["groups"], np.int64), tuple(index.get("notes", ())))


# ------------------------------------------------------------------------------------------------- windows


def eligible_videos(store: FrameStore, length: int, stride: int = 1,
                    videos: np.ndarray | None = None) -> np.ndarray:
    """int64 [K]: indices (in increasing order) of the videos spanning `length` frames taken one in `stride`.

    videos: only these video indices are candidates (e.g. KTH's training videos without the held-out ones).
    """
    candidates = np.arange(store.num_videos) if videos is None else np.unique(np.asarray(videos, np.int64))
    return candidates[store.lengths[candidates] >= span(length, stride)].astype(np.int64)


def window_index(store: FrameStore, seq_len: int, seed: int, element: int, eligible: np.ndarray | None = None,
                 stride: int = 1) -> tuple[int, int]:
    """(video, start) of training element `element` of the stream with `seed` (see the module docstring).

    eligible: the candidate videos, `eligible_videos(store, seq_len, stride)` when None.
    """
    eligible = eligible_videos(store, seq_len, stride) if eligible is None else eligible
    rng = np.random.default_rng([seed, element])
    video = int(eligible[rng.integers(len(eligible))])
    start = int(rng.integers(store.lengths[video] - span(seq_len, stride) + 1))
    return video, start


def window_stream(store: FrameStore, *, batch_size: int, seq_len: int, seed: int = 0, start_index: int = 0,
                  stride: int = 1, videos: np.ndarray | None = None,
                  num_parallel_calls: int | None = None) -> tf.data.Dataset:
    """Endless, reproducible stream of training windows of `seq_len` frames taken one in `stride`.

    videos: draw only from these video indices (all when None).

    Returns:
      tf.data.Dataset of float32 [batch_size, seq_len, H, W, C] in [0, 1]; batch b holds elements
      start_index + b * batch_size + (0 .. batch_size - 1).
    """
    if batch_size < 1 or seq_len < 1 or stride < 1 or seed < 0 or start_index < 0:
        raise ValueError(f"batch_size, seq_len and stride must be >= 1, seed and start_index >= 0; got "
                         f"{batch_size}, {seq_len}, {stride}, {seed}, {start_index}.")
    eligible = eligible_videos(store, seq_len, stride, videos)
    if not len(eligible):
        raise ValueError(f"No video has {span_text(seq_len, stride)} (longest: "
                         f"{int(store.lengths.max(initial=0))}).")
    shape = [batch_size, seq_len, *store.frame_shape]
    _EXIT_GUARD.register()

    def make_batch(elements: np.ndarray) -> np.ndarray:
        out = np.empty(shape, np.uint8)
        for row, element in enumerate(elements):
            video, start = window_index(store, seq_len, seed, int(element), eligible, stride)
            out[row] = store.clip(video, start, seq_len, stride)
        return out

    def guarded(elements: np.ndarray) -> np.ndarray:
        return _EXIT_GUARD.run(make_batch, lambda: np.zeros(shape, np.uint8), elements)

    def load(elements: tf.Tensor) -> tf.Tensor:
        frames = tf.numpy_function(guarded, [elements], tf.uint8, stateful=False, name="frame_store_windows")
        return tf.cast(tf.ensure_shape(frames, shape), tf.float32) / 255.0

    dataset = tf.data.Dataset.range(start_index, np.iinfo(np.int64).max).batch(batch_size, drop_remainder=True)
    dataset = dataset.map(load, num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


# ------------------------------------------------------------------------------------ test and validation clips


def random_clips(store: FrameStore, length: int, num_clips: int, seed: int, *, stride: int = 1,
                 videos: np.ndarray | None = None) -> np.ndarray:
    """int64 [num_clips, 2] (video, start): clips of `length` frames taken one in `stride`, drawn like windows
    from `np.random.default_rng(seed)` (e.g. the validation clips of the videos held out for validation).

    Clip j's video is uniform among the videos spanning a clip (of `videos`, all when None), its start uniform
    among the valid ones; draws are sequential (video then start, clip after clip), so the first k clips do not
    depend on num_clips. [0, 2] when no video spans a clip.
    """
    eligible = eligible_videos(store, length, stride, videos)
    if not len(eligible):
        return np.zeros((0, 2), np.int64)
    draw = np.random.default_rng(seed).integers
    clips = np.empty((num_clips, 2), np.int64)
    for j in range(num_clips):
        video = eligible[draw(len(eligible))]
        clips[j] = video, draw(store.lengths[video] - span(length, stride) + 1)
    return clips


def scripted_clips(store: FrameStore, length: int, num_clips: int, seed: int, pick_video: Callable[[Any], str],
                   candidates: Iterable[str], *, stride: int = 1) -> tuple[np.ndarray, int]:
    """Test clips drawn as SRVP's `make_test_set` scripts draw them: (clips int64 [num_clips, 2], skipped draws).

    `np.random.RandomState(seed)` (the generator behind `np.random.seed(seed)` + `np.random.randint`), clip
    after clip: `pick_video(rng)` draws the clip's video and returns its name (the dataset's own draw, e.g.
    KTH's action, person, trial), then `rng.randint(T - span + 1)` its start, T being that video's frames.

    A drawn video missing from the store or shorter than the clip's span is where the original script stops
    with an error (no start is drawn); here that draw is skipped and the next video drawn, so the clips equal
    the original's exactly when nothing is skipped. `candidates`: every name `pick_video` may return; when
    none of them is in the store with enough frames, no clip is drawn ([0, 2]).
    """
    index = {name: v for v, name in enumerate(store.names)}
    needed = span(length, stride)
    if not any(name in index and store.lengths[index[name]] >= needed for name in candidates):
        return np.zeros((0, 2), np.int64), 0
    rng = np.random.RandomState(seed)
    clips, skipped = [], 0
    while len(clips) < num_clips:
        video = index.get(pick_video(rng), -1)
        if video < 0 or store.lengths[video] < needed:
            skipped += 1
            continue
        clips.append((video, rng.randint(store.lengths[video] - needed + 1)))
    if skipped:
        logging.warning("Test clips: %s.", skipped_note(skipped))
    return np.asarray(clips, np.int64).reshape(-1, 2), skipped


def skipped_note(skipped: int) -> str:
    """What `skipped` draws of `scripted_clips` mean for the test set (a description's and results' note)."""
    return (f"{skipped} draw(s) of an absent or too short test video skipped (the original script stops there), "
            "so these test clips are not the original's")


def first_clips(store: FrameStore, length: int) -> np.ndarray:
    """int64 [K, 2]: (video, 0) for every video with >= length frames, in store order."""
    eligible = eligible_videos(store, length)
    return np.stack([eligible, np.zeros_like(eligible)], axis=1)


def clips_to_videos(store: FrameStore, clips: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """float32 [len(clips), length, H, W, C] in [0, 1]: each clip's frames taken one in `stride`."""
    out = np.empty((len(clips), length, *store.frame_shape), np.float32)
    for row, (video, start) in enumerate(clips):
        out[row] = store.clip(int(video), int(start), length, stride)
    out /= np.float32(255.0)
    return out
