"""Tests for tfvideo.data.human36m: our TFDS builder on tiny fake 1000x1000 videos, and the source."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.support.configs import tiny_config, tiny_data_config
from tfvideo import config as config_lib
from tfvideo.data import fake_data, frame_store, human36m, prepare, registry, splits, tfds_store
from tfvideo.data.errors import DatasetUnavailableError

NUM_FRAMES = 40  # all kept; windows of 3 frames span 17 of them (starts 0-23), test clips of 4 span 25 (0-15)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m")
    manual = root / "manual"
    fake_data.write_human36m_videos(str(manual), subjects=(1,), cameras=("54138969", "55011271"),
                                    num_frames=NUM_FRAMES)
    fake_data.write_human36m_videos(str(manual), subjects=(9, 11), num_frames=NUM_FRAMES)
    fake_data.write_human36m_videos(str(manual), subjects=(1,), actions=("Walking_ALL",), num_frames=3)  # ignored
    fake_data.write_corrupt_file(str(manual / "S5" / "Videos" / "Eating.54138969.mp4"))  # skipped
    builder = human36m.Human36m(data_dir=str(root / "data"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def _data_config(builder, **overrides):
    data = dict(dataset="human36m", data_dir=os.path.dirname(os.path.dirname(builder.data_dir)), channels=3,
                seq_len=3, conditioning_frames=2, test_horizon=2)
    return tiny_data_config(**{**data, **overrides})


def test_builder_keeps_every_frame_crops_and_splits_by_subject(prepared):
    for split, expected in (("train", {"S1/Walking 1.54138969", "S1/Walking 1.55011271"}),
                            ("test", {"S9/Walking 1.54138969", "S11/Walking 1.54138969"})):
        examples = list(tfds.as_numpy(prepared.as_dataset(split=split)))
        assert {ex["name"].decode() for ex in examples} == expected  # corrupt S5 and "_ALL" videos left out
        for ex in examples:
            subject = int(ex["subject"])
            assert ex["video"].shape == (NUM_FRAMES, 64, 64, 3) and ex["camera"].decode() in ex["name"].decode()
            # Inside the crop box the background is 20 * subject; outside it is white. The bottom-right corner
            # of a correct crop shows background (the moving square never reaches it in these frames).
            assert np.all(np.abs(ex["video"][:, -2:, -2:].astype(int) - 20 * subject) <= 6)
            assert ex["video"].max() >= 240  # the square is there


def test_find_videos_reads_subject_from_folders(tmp_path):
    for rel in ("S7/Videos/Sitting 1.1.mp4", "x/S8/sub/Phoning.2.mp4", "S9/Videos/Sitting_ALL.1.mp4",
                "loose.mp4", "S1/notes.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    found = [(s, os.path.relpath(p, tmp_path)) for s, p in human36m.find_videos(str(tmp_path))]
    assert found == [(7, "S7/Videos/Sitting 1.1.mp4"), (8, "x/S8/sub/Phoning.2.mp4")]


def test_source_shapes_membership_and_determinism(prepared):
    cfg = _data_config(prepared)
    source = registry.get_data_source(cfg)
    batch = next(iter(source.train_stream(2, seed=3))).numpy()
    assert batch.shape == (2, 3, 64, 64, 3) and 0.0 <= batch.min() and batch.max() <= 1.0
    assert np.all(np.abs(batch[:, :, -1, -1] * 255 - 20) <= 6)  # training windows: subject 1 only
    test = source.test_videos(40)
    assert test.shape == (40, 4, 64, 64, 3) and source.num_test_videos == human36m.NUM_TEST_CLIPS
    corner = np.rint(test[:, 0, -1, -1, 0] * 255)
    assert set(np.abs(corner[:, None] - [180, 220]).argmin(axis=1)) == {0, 1}  # subjects 9 and 11, nothing else
    assert np.all(np.abs(corner[:, None] - [180, 220]).min(axis=1) <= 6)
    np.testing.assert_array_equal(test, registry.get_data_source(cfg).test_videos(40))
    with pytest.raises(config_lib.ConfigError, match="--channels=3"):
        registry.get_data_source(_data_config(prepared, channels=1))


def test_missing_data_and_manual_dir_messages(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="license-gated") as info:
        registry.get_data_source(tiny_config(data=dict(dataset="human36m", channels=3,
                                                       data_dir=str(tmp_path))).data)
    assert human36m.URL in str(info.value) and "--manual_dir" in str(info.value)
    config = tiny_config(data=dict(dataset="human36m", channels=3, data_dir=str(tmp_path / "data")))
    with pytest.raises(DatasetUnavailableError, match="pass their folder as --manual_dir") as info:
        prepare.prepare(config, manual_dir=None)  # no manual dir: refused before TFDS is asked
    assert "register at" in str(info.value)


def _positions(store, clips):
    """[(video, start)] of each clip [N, T, H, W, C] in [0, 1]: where in the store its frames are, 8 apart.

    The fake videos of one subject show the same frames, so a clip may be found in several of them (at the same
    start); each video's own frames are distinct.
    """
    found = []
    for clip in np.rint(clips * 255).astype(np.uint8):
        firsts = np.flatnonzero(np.all(np.asarray(store.frames) == clip[0], axis=(1, 2, 3)))
        places = []
        for first in firsts:
            video = int(np.searchsorted(store.offsets, first, side="right") - 1)
            start = int(first - store.offsets[video])
            if start + 8 * (len(clip) - 1) < store.lengths[video] and np.array_equal(
                    clip, store.video(video)[start:start + 8 * len(clip):8]):
                places.append((video, start))
        assert len({start for _, start in places}) == 1, "frames 8 apart, inside one video, at one start"
        found.append(places)
    return found


def test_windows_take_one_frame_in_8_from_any_start(prepared):
    source = registry.get_data_source(_data_config(prepared))
    train = tfds_store.cached_store(prepared, "train", image_size=64, group_key="subject")
    windows = np.concatenate([b.numpy() for b in source.train_stream(16, seed=1).take(4)])
    starts = [places[0][1] for places in _positions(train, windows)]
    assert {s % 8 for s in starts} - {0} and max(starts) > 8  # not only frames 0, 8, 16, ...
    assert "one frame in 8" in source.description


def test_test_clips_are_the_originals_draws_one_frame_in_8(prepared):
    """The first clips equal those of SRVP's make_test_set: np.random.seed(42), a video among the test videos
    in name order, a start among the 40 - 25 + 1 valid ones, then frames start, start + 8, ..."""
    source = registry.get_data_source(_data_config(prepared))
    test = tfds_store.cached_store(prepared, "test", image_size=64, group_key="subject")
    clips = source.test_videos(60)
    rng, names = np.random.RandomState(42), sorted(test.names)  # ["S11/Walking 1...", "S9/Walking 1..."]
    expected = []
    for _ in range(60):
        video = test.names.index(names[rng.randint(len(names))])
        expected.append((video, rng.randint(test.lengths[video] - frame_store.span(4, 8) + 1)))
    assert _positions(test, clips) == [[place] for place in expected]
    assert {start % 8 for _, start in expected} - {0}


def test_training_leaves_out_the_videos_held_out_by_name(prepared):
    train_store = tfds_store.cached_store(prepared, "train", image_size=64, group_key="subject")
    split = human36m.validation_split(train_store.names, 0.5)
    by_name = np.asarray(sorted(range(train_store.num_videos),
                                key=lambda i: human36m.original_file_name(train_store.names[i])))
    listed = splits.holdout_split(train_store.num_videos, 0.5)
    assert split["validation"].tolist() == sorted(by_name[listed["validation"]].tolist()) and len(split["train"])
    source = registry.get_data_source(_data_config(prepared, validation_fraction=0.5))
    expected = frame_store.window_stream(train_store, batch_size=6, seq_len=3, seed=4, stride=human36m.FRAME_STRIDE,
                                         videos=split["train"])
    np.testing.assert_array_equal(next(iter(source.train_stream(6, seed=4))).numpy(), next(iter(expected)).numpy())
    clips = source.validation_videos(3)
    assert clips.shape == (3, 4, 64, 64, 3) and source.num_validation_videos == 1000
    assert f"{len(split['train'])} of {train_store.num_videos} train videos" in source.description


def test_test_clips_draw_among_all_test_videos_in_the_originals_file_order():
    """SRVP's make_test_set, written out: np.random.seed(42); per clip a video randint(V) among ALL the test
    videos, listed as sorted(os.listdir()) lists its files S<n>-<action>.<camera>.npz, then a start
    randint(frames - span + 1). A too-short video (where the original stops with a ValueError) is skipped."""
    names = ["S9/Walking.54138969", "S11/Eating 2.60457274", "S9/Walking 1.55011271", "S11/Eating.54138969",
             "S9/Directions.58860488", "S9/Directions 1.54138969"]
    files = sorted(human36m.original_file_name(n) for n in names)
    assert files[:2] == ["S11-Eating 2.60457274.npz", "S11-Eating.54138969.npz"]
    lengths = dict(zip(names, (40, 30, 26, 33, 37, 12)))  # the last is too short for 3 frames one in 8 (span 17)
    store = frame_store.build_store(frame_store.StoreVideo(name, 9, np.zeros((lengths[name], 1, 1, 1), np.uint8))
                                    for name in names)
    clips, skipped = human36m.original_test_clips(store, 3, num_clips=80)
    rng, expected, expected_skipped = np.random.RandomState(42), [], 0
    while len(expected) < 80:
        name = files[rng.randint(len(files))][:-len(".npz")].replace("-", "/", 1)
        if lengths[name] < 17:
            expected_skipped += 1
            continue
        expected.append((names.index(name), rng.randint(lengths[name] - 17 + 1)))
    np.testing.assert_array_equal(clips, expected)
    assert skipped == expected_skipped > 0
