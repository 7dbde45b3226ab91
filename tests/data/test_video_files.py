"""Tests for tfvideo.data.video_files: decoding mp4/avi/gif/frame folders, corrupt files, crop and resize."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tfvideo.data import fake_data, video_files
from tfvideo.data.errors import VideoReadError

T, H, W = 7, 24, 40  # distinct sizes: swapped axes fail


@pytest.fixture(scope="module")
def clip():
    return fake_data.moving_square(T, H, W, 3, tag=60)


@pytest.mark.parametrize("ext", ["mp4", "avi", "gif"])
def test_reads_video_files(tmp_path, clip, ext):
    path = fake_data.write_video(str(tmp_path / f"v.{ext}"), clip)
    frames = video_files.read_video(path, channels=3)
    assert frames.dtype == np.uint8 and frames.shape == (T, H, W, 3)
    # Lossy codecs: close to the source on average (the background level and the square survive).
    assert np.abs(frames.astype(float) - clip).mean() < 12
    gray = video_files.read_video(path, channels=1)
    assert gray.shape == (T, H, W, 1)


def test_frame_folder_sorted_naturally_and_subsampled(tmp_path, clip):
    folder = fake_data.write_frame_folder(str(tmp_path / "frames"), clip)  # frame1.png .. frame7.png
    frames = video_files.read_video(folder, channels=3)
    np.testing.assert_array_equal(frames, clip)  # png is lossless; frame10 would sort after frame9
    np.testing.assert_array_equal(video_files.read_video(folder, channels=3, every=3), clip[::3])


def test_every_keeps_one_frame_in_k_from_opencv(tmp_path, clip):
    path = fake_data.write_video(str(tmp_path / "v.avi"), clip)
    full = video_files.read_video(path)
    np.testing.assert_array_equal(video_files.read_video(path, every=3), full[::3])


def test_frame_transform_applied_per_frame(tmp_path, clip):
    path = fake_data.write_video(str(tmp_path / "v.gif"), clip)
    frames = video_files.read_video(path, channels=1, frame_transform=lambda f: video_files.resize(f, 5))
    assert frames.shape == (T, 5, 5, 1)


@pytest.mark.parametrize("name", ["broken.mp4", "broken.avi", "broken.gif"])
def test_corrupt_files_raise_naming_the_file(tmp_path, name):
    path = fake_data.write_corrupt_file(str(tmp_path / name))
    with pytest.raises(VideoReadError, match=name):
        video_files.read_video(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(VideoReadError, match="no such file"):
        video_files.read_video(str(tmp_path / "absent.mp4"))


def test_center_crop_and_resize():
    frame = np.zeros((4, 6, 1), np.uint8)
    frame[:, 1:5] = 200  # the centred 4x4 square
    square = video_files.center_crop_square(frame)
    assert square.shape == (4, 4, 1) and square.min() == 200
    for method in ("area", "lanczos"):
        out = video_files.resize(np.full((6, 10, 3), 90, np.uint8), 3, method)
        assert out.shape == (3, 3, 3) and np.all(np.abs(out.astype(int) - 90) <= 1)
    with pytest.raises(ValueError, match="method"):
        video_files.resize(frame, 2, "bogus")


def test_type_detection():
    assert video_files.is_video_file("a/B.MP4") and video_files.is_video_file("x.gif")
    assert not video_files.is_video_file("x.png") and video_files.is_image_file(os.path.join("d", "f.JPG"))
