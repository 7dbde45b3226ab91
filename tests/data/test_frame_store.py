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


def _pick_by_name(rng):
    """A dataset's own video draw, as a make_test_set script would write it: one randint, then a name."""
    return ("video0", "video1", "video2", "video3", "absent")[rng.randint(5)]


def test_scripted_clips_follow_the_scripts_draws_and_skip_absent_or_short_videos(store):
    """np.random.RandomState(seed): the video by the dataset's draw, then randint(T - span + 1); a draw of a
    video that is absent or too short (4 frames taken one in 2 span 7: only video1 has them) draws no start."""
    candidates = ("video0", "video1", "video2", "video3", "absent")
    clips, skipped = frame_store.scripted_clips(store, 4, 20, 7, _pick_by_name, candidates, stride=2)
    rng, expected, expected_skipped = np.random.RandomState(7), [], 0
    while len(expected) < 20:
        name = candidates[rng.randint(5)]
        if name != "video1":
            expected_skipped += 1
            continue
        expected.append((1, rng.randint(9 - 7 + 1)))
    np.testing.assert_array_equal(clips, expected)
    assert skipped == expected_skipped > 0 and "not the original's" in frame_store.skipped_note(skipped)
    clips, skipped = frame_store.scripted_clips(store, 3, 30, 42, _pick_by_name, candidates)
    rng, expected = np.random.RandomState(42), []
    while len(expected) < 30:
        name = candidates[rng.randint(5)]
        if name in ("video0", "video1", "video2"):
            video = int(name[-1])
            expected.append((video, rng.randint(LENGTHS[video] - 3 + 1)))
    np.testing.assert_array_equal(clips, expected)
    assert {v for v, _ in clips} == {0, 1, 2} and all(s + 3 <= LENGTHS[v] for v, s in clips)
    empty, _ = frame_store.scripted_clips(store, 50, 3, 42, _pick_by_name, candidates)
    assert empty.shape == (0, 2)


def test_first_clips_and_clip_videos(store):
    clips = frame_store.first_clips(store, 3)
    np.testing.assert_array_equal(clips, [[0, 0], [1, 0], [2, 0]])
    videos = frame_store.clips_to_videos(store, clips, 3)
    assert videos.shape == (3, 3, *SHAPE) and videos.dtype == np.float32
    np.testing.assert_allclose(videos[:, :, 0, 0, 0] * 255, [[0, 1, 2], [40, 41, 42], [80, 81, 82]], atol=1e-4)


def _decode_strided(batch, stride):
    """(video, start) of each window of a float batch, checking its frames are `stride` stored frames apart."""
    values = np.rint(batch[:, :, 0, 0, 0] * 255).astype(int)
    assert np.all(np.diff(values, axis=1) == stride)
    return [divmod(int(v), 40) for v in values[:, 0]]


def test_span_and_strided_clip(store):
    assert frame_store.span(3, 2) == 5 and frame_store.span(16, 8) == 121 and frame_store.span(4) == 4
    np.testing.assert_array_equal(store.clip(1, 2, 3, stride=3)[:, 0, 0, 0], [42, 45, 48])
    with pytest.raises(ValueError, match="outside video 1"):
        store.clip(1, 3, 3, stride=3)  # frames 3, 6, 9 of a 9-frame video
    assert frame_store.span_text(16, 8) == "121 frames (16 taken one in 8)"


def test_window_stream_with_stride_starts_anywhere_and_stays_inside(store):
    stride, seq_len = 2, 3  # span 5: videos 1 (9 frames, starts 0-4) and 2 (6 frames, starts 0-1)
    batches = [b.numpy() for b in frame_store.window_stream(store, batch_size=8, seq_len=seq_len, seed=3,
                                                            stride=stride).take(8)]
    windows = [w for b in batches for w in _decode_strided(b, stride)]
    assert windows == [frame_store.window_index(store, seq_len, 3, i, stride=stride) for i in range(64)]
    assert {video for video, _ in windows} == {1, 2}
    assert all(start + stride * (seq_len - 1) < LENGTHS[video] for video, start in windows)
    assert {start for video, start in windows if video == 1} == {0, 1, 2, 3, 4}  # odd starts too


def test_stride_one_windows_keep_their_draws(store):
    """Stride 1 (KTH, folders): video uniform among those long enough, then start; as drawn before strides."""
    eligible = [1, 2]
    for element in range(20):
        rng = np.random.default_rng([5, element])
        video = eligible[rng.integers(2)]
        expected = (video, int(rng.integers(LENGTHS[video] - 4 + 1)))
        assert frame_store.window_index(store, 4, 5, element) == expected


def test_window_stream_restricted_to_videos(store):
    stream = frame_store.window_stream(store, batch_size=6, seq_len=2, seed=0, videos=np.array([2, 3]))
    windows = [w for b in stream.take(3) for w in _decode(b.numpy())]
    assert {video for video, _ in windows} == {2, 3}
    with pytest.raises(ValueError, match="No video has 4 frames"):
        frame_store.window_stream(store, batch_size=1, seq_len=4, videos=np.array([0, 3]))


def test_clips_to_videos_with_stride(store):
    clips = np.array([[1, 0], [1, 4], [2, 1]])
    videos = frame_store.clips_to_videos(store, clips, 3, stride=2)
    assert videos.shape == (3, 3, *SHAPE)
    np.testing.assert_allclose(videos[:, :, 0, 0, 0] * 255, 40 * clips[:, :1] + clips[:, 1:] + [0, 2, 4],
                               atol=1e-4)
