"""Tests for tfvideo.data.frame_store: storage, reproducible/resumable windows and fixed test clips."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tfvideo.data import frame_store

LENGTHS = (3, 9, 6, 2)  # video 3 is too short for the windows below
SHAPE = (4, 5, 2)  # H, W, C


def _videos():
    """Videos whose every pixel encodes (video, frame): value = 40 * video + frame."""
    for v, length in enumerate(LENGTHS):
        values = (40 * v + np.arange(length, dtype=np.uint8))[:, None, None, None]
        yield frame_store.StoreVideo(f"video{v}", 10 + v, np.broadcast_to(values, (length, *SHAPE)).copy())


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return frame_store.build_store(_videos(), str(tmp_path_factory.mktemp("cache") / "store"), notes=["a note"])


def test_disk_store_matches_memory_store(store):
    memory = frame_store.build_store(_videos())
    assert isinstance(store.frames, np.memmap) and not isinstance(memory.frames, np.memmap)
    np.testing.assert_array_equal(np.asarray(store.frames), memory.frames)
    np.testing.assert_array_equal(store.offsets, [0, 3, 12, 18, 20])
    assert store.names == memory.names == ("video0", "video1", "video2", "video3")
    assert store.groups.tolist() == [10, 11, 12, 13] and store.notes == ("a note",)
    assert store.frame_shape == SHAPE and store.lengths.tolist() == list(LENGTHS)
    np.testing.assert_array_equal(store.clip(1, 2, 3)[:, 0, 0, 0], [42, 43, 44])


def test_cache_written_atomically_and_reloaded(store, tmp_path):
    directory = tmp_path / "c"
    frame_store.build_store(_videos(), str(directory))
    assert sorted(os.listdir(tmp_path)) == ["c"]  # no temporary directory left behind
    assert sorted(os.listdir(directory)) == [frame_store.FRAMES_FILE, frame_store.INDEX_FILE]
    with open(directory / frame_store.FRAMES_FILE, "r+b") as file:  # truncated cache: ignored, not trusted
        file.truncate(10)
    assert frame_store.load_store(str(directory)) is None
    assert frame_store.load_store(str(tmp_path / "absent")) is None


def test_mixed_frame_shapes_rejected():
    videos = [frame_store.StoreVideo("a", 0, np.zeros((2, 4, 5, 1), np.uint8)),
              frame_store.StoreVideo("b", 0, np.zeros((2, 5, 4, 1), np.uint8))]
    with pytest.raises(ValueError, match="differs"):
        frame_store.build_store(videos)


def _decode(batch):
    """(video, start) of each window of a float batch [B, T, H, W, C], checking frames are consecutive."""
    values = np.rint(batch[:, :, 0, 0, 0] * 255).astype(int)
    assert np.all(np.diff(values, axis=1) == 1)
    return [divmod(int(v), 40) for v in values[:, 0]]


def test_window_stream_shapes_values_and_index(store):
    stream = frame_store.window_stream(store, batch_size=3, seq_len=4, seed=5)
    batches = [b.numpy() for b in stream.take(4)]
    assert all(b.shape == (3, 4, *SHAPE) and b.dtype == np.float32 for b in batches)
    assert all(0.0 <= b.min() and b.max() <= 1.0 for b in batches)
    windows = [w for b in batches for w in _decode(b)]
    expected = [frame_store.window_index(store, 4, 5, i) for i in range(12)]
    assert windows == expected
    assert {video for video, _ in windows} <= {1, 2}  # only videos with >= 4 frames
    assert all(start + 4 <= LENGTHS[video] for video, start in windows)


def test_window_stream_resumes_exactly_and_depends_on_seed(store):
    full = np.concatenate([b.numpy() for b in frame_store.window_stream(
        store, batch_size=2, seq_len=3, seed=1).take(5)])
    resumed = np.concatenate([b.numpy() for b in frame_store.window_stream(
        store, batch_size=2, seq_len=3, seed=1, start_index=4).take(3)])
    np.testing.assert_array_equal(resumed, full[4:])
    other = np.concatenate([b.numpy() for b in frame_store.window_stream(
        store, batch_size=2, seq_len=3, seed=2).take(5)])
    assert not np.array_equal(other, full)


def test_window_stream_rejects_impossible_lengths(store):
    with pytest.raises(ValueError, match="No video has 10 frames"):
        frame_store.window_stream(store, batch_size=1, seq_len=10)


def test_random_clips_deterministic_prefix_stable_and_valid(store):
    clips = frame_store.random_clips(store, 5, 20, seed=42)
    np.testing.assert_array_equal(clips, frame_store.random_clips(store, 5, 20, seed=42))
    np.testing.assert_array_equal(clips[:7], frame_store.random_clips(store, 5, 7, seed=42))
    assert set(clips[:, 0]) <= {1, 2} and all(s + 5 <= LENGTHS[v] for v, s in clips)
    assert not np.array_equal(clips, frame_store.random_clips(store, 5, 20, seed=43))
    assert frame_store.random_clips(store, 50, 3).shape == (0, 2)


def test_first_clips_and_clip_videos(store):
    clips = frame_store.first_clips(store, 3)
    np.testing.assert_array_equal(clips, [[0, 0], [1, 0], [2, 0]])
    videos = frame_store.clips_to_videos(store, clips, 3)
    assert videos.shape == (3, 3, *SHAPE) and videos.dtype == np.float32
    np.testing.assert_allclose(videos[:, :, 0, 0, 0] * 255, [[0, 1, 2], [40, 41, 42], [80, 81, 82]], atol=1e-4)
