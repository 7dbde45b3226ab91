"""Tests for tfvideo.data.kth: our TFDS builder on tiny fake official zips, and the --dataset=kth source."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tests.support.configs import tiny_config, tiny_data_config
from tfvideo import config as config_lib
from tfvideo.data import fake_data, frame_store, kth, registry, tfds_store, video_files
from tfvideo.data.errors import DatasetUnavailableError

PERSONS = (1, 20, 21, 25)
ACTIONS = ("boxing", "walking")
NUM_FRAMES = 9


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("kth")
    fake_data.write_kth_zips(str(root / "manual"), persons=PERSONS, actions=ACTIONS, scenarios=(1, 3),
                             num_frames=NUM_FRAMES)
    builder = kth.Kth(data_dir=str(root / "data"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(root / "manual")))
    return builder


def _data_config(builder, **overrides):
    data = dict(dataset="kth", data_dir=os.path.dirname(os.path.dirname(builder.data_dir)), seq_len=5,
                conditioning_frames=3, test_horizon=4)
    return tiny_data_config(**{**data, **overrides})


def test_builder_splits_by_person(prepared):
    for split, persons in (("train", {1, 20}), ("test", {21, 25})):
        examples = list(tfds.as_numpy(prepared.as_dataset(split=split)))
        assert len(examples) == len(persons) * len(ACTIONS) * 2
        assert {int(ex["person"]) for ex in examples} == persons
        for ex in examples:
            assert ex["video"].shape == (NUM_FRAMES, 64, 64, 1) and ex["video"].dtype == np.uint8
            name = ex["name"].decode()
            assert name == f"person{int(ex['person']):02d}_{kth.ACTIONS[ex['action']]}_d{ex['scenario']}"
            # Background level 10 * person survives grayscale conversion, resize and MJPG compression.
            assert abs(np.median(ex["video"]) - 10 * int(ex["person"])) <= 3


def test_parse_name():
    assert kth.parse_name("/x/person07_handwaving_d4_uncomp.avi") == (7, "handwaving", 4)
    assert kth.parse_name("person07_dancing_d4_uncomp.avi") is None and kth.parse_name("readme.txt") is None


def test_source_shapes_ranges_membership_and_determinism(prepared):
    cfg = _data_config(prepared)
    source = registry.get_data_source(cfg)
    batch = next(iter(source.train_stream(3, seed=0))).numpy()
    assert batch.shape == (3, 5, 64, 64, 1) and 0.0 <= batch.min() and batch.max() <= 1.0
    test = source.test_videos()
    assert source.num_test_videos == kth.NUM_TEST_CLIPS and test.shape == (kth.NUM_TEST_CLIPS, 7, 64, 64, 1)
    np.testing.assert_array_equal(test, registry.get_data_source(cfg).test_videos())  # fixed test set
    np.testing.assert_array_equal(source.test_videos(9, start=4), test[4:9])
    train_store = tfds_store.cached_store(prepared, "train", image_size=64, group_key="person")
    test_store = tfds_store.cached_store(prepared, "test", image_size=64, group_key="person")
    assert set(train_store.groups) == {1, 20} and set(test_store.groups) == {21, 25}
    # Test clips come from test persons only: their background levels are 210 or 250, training ones 10 or 200.
    levels = np.median(test[:50].reshape(50, -1), axis=1) * 255
    assert np.all(np.abs(levels[:, None] - [210, 250]).min(axis=1) <= 4)
    levels = np.median(batch.reshape(3, -1), axis=1) * 255
    assert np.all(np.abs(levels[:, None] - [10, 200]).min(axis=1) <= 4)


def test_shrunk_frames_and_config_errors(prepared):
    source = registry.get_data_source(_data_config(prepared, image_size=32))
    assert next(iter(source.train_stream(2))).shape == (2, 5, 32, 32, 1)
    with pytest.raises(config_lib.ConfigError, match="--channels=1"):
        registry.get_data_source(_data_config(prepared, channels=3))
    with pytest.raises(config_lib.ConfigError, match="--image_size=64"):
        registry.get_data_source(_data_config(prepared, image_size=96))
    with pytest.raises(DatasetUnavailableError, match="--seq_len=12"):
        registry.get_data_source(_data_config(prepared, seq_len=12))


def test_missing_dataset_fails_fast_with_instructions(tmp_path):
    start = time.time()
    with pytest.raises(DatasetUnavailableError) as info:
        registry.get_data_source(tiny_config(data=dict(dataset="kth", data_dir=str(tmp_path))).data)
    assert time.time() - start < 20  # no scanning or downloading before failing (generous bound for CI)
    message = str(info.value)
    for needle in ("boxing", kth.URL, "tfvideo.data.prepare --dataset=kth", "--data_dir=DIR", str(tmp_path)):
        assert needle in message


# ------------------------------------------------------------------------- frames as SRVP's preprocessing


def _kth_like_avi(path) -> str:
    """A 160x120 MPEG-4 (DivX) avi of grayscale content at 25 fps, like KTH's: textured background, a dark
    figure moving right, a bright head and a hard edge. Returns the path."""
    import cv2  # pylint: disable=g-import-not-at-top

    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:120, 0:160]
    background = 90 + 60 * np.sin(cols / 9) * np.cos(rows / 13) + 40 * cols / 160 + rng.normal(0, 12, (120, 160))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"DX50"), 25.0, (160, 120), True)
    for t in range(12):
        frame = background.copy()
        frame[30:100, 20 + 5 * t:38 + 5 * t] = 30
        frame[20:30, 24 + 5 * t:34 + 5 * t] = 220
        frame[60:, :8] = 250
        writer.write(np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[..., None], 3, axis=-1))
    writer.release()
    return str(path)


def _grayscale_and_area(path) -> np.ndarray:
    """uint8 [T, 64, 64]: the other pipeline, BT.601 grayscale conversion and OpenCV INTER_AREA."""
    frames = video_files.read_video(path, channels=1,
                                    frame_transform=lambda f: video_files.resize(f, 64, "area"))
    return frames[..., 0].astype(int)


def test_frames_are_the_red_channel_resized_with_ffmpegs_scaler(tmp_path):
    path = _kth_like_avi(tmp_path / "person01_walking_d1_uncomp.avi")
    frames = kth.read_kth_video(path)
    rgb = video_files.read_video(path, channels=3)
    assert frames.shape == (12, 64, 64, 1) and frames.dtype == np.uint8
    assert np.abs(rgb[..., 0].astype(int) - rgb[..., 1]).mean() > 1  # this decoded video's channels differ
    np.testing.assert_array_equal(frames, np.stack([video_files.resize(f[..., :1], 64, "ffmpeg_bicubic")
                                                    for f in rgb]))
    assert np.abs(frames[..., 0] - _grayscale_and_area(path)).mean() > 1


def test_frames_match_srvps_ffmpeg_preprocessing(tmp_path):
    """Against `ffmpeg -i VIDEO -r 25 -f image2 -s 64x64 image-%03d.png` and the PNGs' first channel (SRVP).

    Measured on this video: 0.49 levels apart on average, at most 2; the grayscale + INTER_AREA pipeline is
    1.9 levels apart on average, up to 16 at edges.
    """
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    import subprocess  # pylint: disable=g-import-not-at-top
    from PIL import Image  # pylint: disable=g-import-not-at-top

    path = _kth_like_avi(tmp_path / "person01_walking_d1_uncomp.avi")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", path, "-r", "25", "-f", "image2",
                    "-s", "64x64", str(tmp_path / "image-%03d.png")], check=True)
    original = np.stack([np.asarray(Image.open(tmp_path / f"image-{t + 1:03d}.png"))[:, :, 0] for t in range(12)])
    ours = np.abs(kth.read_kth_video(path)[..., 0].astype(int) - original)
    other = np.abs(_grayscale_and_area(path) - original)
    assert ours.mean() < 0.6 and ours.max() <= 2
    assert other.mean() > 1.5 and other.max() >= 10


# ---------------------------------------------------------------------------------- validation split


def _official_training_names():
    """The 479 training videos of KTH (persons 1-20; person13_handclapping_d3 does not exist)."""
    return [f"person{p:02d}_{a}_d{d}" for p in range(1, 21) for a in kth.ACTIONS for d in range(1, 5)
            if (p, a, d) != (13, "handclapping", 3)]


def test_validation_split_follows_srvps_get_fold():
    names = _official_training_names()
    shuffled = [names[i] for i in np.random.default_rng(3).permutation(len(names))]  # e.g. a store's order
    split = kth.validation_split(shuffled, 0.05)
    # SRVP: videos listed action by action, RandomState(42).shuffle of their positions, first int(0.95 n) train.
    listed = sorted(names, key=lambda n: (kth.ACTIONS.index(n.split("_")[1]), n))
    positions = list(range(len(listed)))
    np.random.RandomState(42).shuffle(positions)
    held_out = {listed[i] for i in positions[int(0.95 * len(listed)):]}
    assert {shuffled[i] for i in split["validation"]} == held_out and len(held_out) == 24
    assert len(split["train"]) == 455 and not set(split["train"]) & set(split["validation"])
    assert sorted([*split["train"], *split["validation"]]) == list(range(len(names)))
    assert len(kth.validation_split(shuffled, 0.0)["train"]) == len(names)
    assert kth.validation_split(names[:1], 0.05)["train"].tolist() == [0]  # the original would keep none


def test_source_leaves_the_held_out_videos_out_of_training(prepared):
    train_store = tfds_store.cached_store(prepared, "train", image_size=64, group_key="person")
    source = registry.get_data_source(_data_config(prepared, validation_fraction=0.5))
    split = kth.validation_split(train_store.names, 0.5)
    assert len(split["train"]) == len(split["validation"]) == 4
    assert "4 of 8 train videos" in source.description and "4 held out for validation" in source.description
    windows = next(iter(source.train_stream(16, seed=2))).numpy()
    expected = next(iter(frame_store.window_stream(train_store, batch_size=16, seq_len=5, seed=2,
                                                   videos=split["train"]))).numpy()
    everything = next(iter(frame_store.window_stream(train_store, batch_size=16, seq_len=5, seed=2))).numpy()
    np.testing.assert_array_equal(windows, expected)
    assert not np.array_equal(windows, everything)
    all_videos = registry.get_data_source(_data_config(prepared, validation_fraction=0.0))
    np.testing.assert_array_equal(next(iter(all_videos.train_stream(16, seed=2))).numpy(), everything)
    assert "8 of 8 train videos" in all_videos.description
    assert "1 of 8 train videos" in registry.get_data_source(_data_config(prepared, validation_fraction=0.9)
                                                             ).description  # at least one video trains


def test_validation_clips_come_from_the_held_out_videos_only(prepared):
    train_store = tfds_store.cached_store(prepared, "train", image_size=64, group_key="person")
    source = registry.get_data_source(_data_config(prepared, validation_fraction=0.5))
    split = kth.validation_split(train_store.names, 0.5)
    clips = source.validation_videos(6)
    assert clips.shape == (6, 7, 64, 64, 1) and source.num_validation_videos == 1000
    held_out = {int(v) for v in split["validation"]}
    for clip in np.round(clips * 255).astype(np.uint8):  # each clip is a window of a held-out video
        assert any(np.array_equal(train_store.clip(video, start, 7), clip)
                   for video in held_out for start in range(train_store.lengths[video] - 6))
    np.testing.assert_array_equal(source.validation_videos(2), clips[:2])  # fixed clips: the first k of any draw
    assert registry.get_data_source(_data_config(prepared, validation_fraction=0.0)).num_validation_videos == 0


@pytest.mark.parametrize("fraction", [1.0, -0.1, True])
def test_validation_fraction_is_checked(fraction):
    with pytest.raises(config_lib.ConfigError, match="--validation_fraction must be in"):
        tiny_config(data=dict(dataset="kth", validation_fraction=fraction))
    assert config_lib.DataConfig().validation_fraction == 0.05


def _synthetic_test_store(names, lengths):
    """A store of the test videos `names` in that (store) order, 1x1 frames whose value is the frame's index."""
    return frame_store.build_store(
        frame_store.StoreVideo(name, 0, np.arange(n, dtype=np.uint8)[:, None, None, None])
        for name, n in zip(names, lengths))


def test_test_clips_are_the_originals_draws_action_person_trial_then_start():
    """SRVP's make_test_set.py, written out: np.random.seed(42); per clip randint(6) for the action,
    randint(21, 26) for the person, randint(1, 5) for the trial, then randint(frames - seq_len + 1)."""
    names = [f"person{p:02d}_{a}_d{t}" for a in kth.ACTIONS for p in kth.TEST_PERSONS for t in range(1, 5)]
    names = [names[i] for i in np.random.default_rng(5).permutation(len(names))]  # any listing order
    lengths = 6 + np.arange(len(names)) % 7
    store = _synthetic_test_store(names, lengths)
    clips, skipped = kth.original_test_clips(store, 5, num_clips=60)
    rng, expected = np.random.RandomState(42), []
    for _ in range(60):
        action = kth.ACTIONS[rng.randint(6)]
        person = rng.randint(21, 26)
        trial = rng.randint(1, 5)
        video = names.index(f"person{person:02d}_{action}_d{trial}")
        expected.append((video, rng.randint(lengths[video] - 5 + 1)))
    np.testing.assert_array_equal(clips, expected)
    assert skipped == 0 and len({v for v, _ in expected}) > 30


def test_source_test_clips_are_the_scripts_draws(prepared):
    """The fixture holds 8 of the 120 test videos: the draws of the others are skipped and a note says so."""
    source = registry.get_data_source(_data_config(prepared))
    test_store = tfds_store.cached_store(prepared, "test", image_size=64, group_key="person")
    clips, skipped = kth.original_test_clips(test_store, 7)
    np.testing.assert_array_equal(source.test_videos(20), frame_store.clips_to_videos(test_store, clips[:20], 7))
    assert skipped > 0 and source.comparability_notes == (frame_store.skipped_note(skipped),)
    assert "make_test_set" in source.description
