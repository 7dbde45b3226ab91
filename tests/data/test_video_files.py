"""Tests for tfvideo.data.video_files: decoding mp4/avi/gif/frame folders, corrupt files, crop and resize."""

from __future__ import annotations

import os

import cv2
import numpy as np
from PIL import Image
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


# Frames of `ffmpeg -i edge.png -s 8x4 -pix_fmt gray out.png` (FFmpeg 9.0, its default bicubic scaler) for the
# 10x20 input of `_edge`: the reference that `ffmpeg_bicubic_weights` follows (SRVP's KTH preprocessing).
FFMPEG_EDGE_8X4 = np.array([[32, 32, 22, 107, 231, 221, 221, 221],
                            [36, 36, 27, 112, 236, 226, 226, 226],
                            [42, 42, 32, 117, 241, 232, 232, 232],
                            [46, 46, 37, 122, 246, 236, 236, 236]])


def _edge():
    """uint8 [10, 20]: a vertical edge (30 | 220) at column 9 on a vertical ramp of 2 levels per row."""
    return (np.where(np.arange(20)[None, :] < 9, 30, 220) + 2 * np.arange(10)[:, None]).astype(np.uint8)


def test_ffmpeg_bicubic_follows_ffmpegs_scaler():
    rows, cols = video_files.ffmpeg_bicubic_weights(10, 4), video_files.ffmpeg_bicubic_weights(20, 8)
    assert rows.shape == (4, 10) and cols.shape == (8, 20)
    np.testing.assert_allclose(cols.sum(axis=1), 1.0)
    ours = np.clip(np.rint(rows @ _edge() @ cols.T), 0, 255)
    # Within one level (FFmpeg rounds in fixed point with an ordered dither); the overshoot at the edge (22 and
    # 231) is what other filters miss: Pillow's bicubic (a = -0.5) is 2 levels off there, INTER_AREA 10.
    assert np.abs(ours - FFMPEG_EDGE_8X4).max() <= 1 and np.abs(ours - FFMPEG_EDGE_8X4).mean() < 0.25
    pillow = np.asarray(Image.fromarray(_edge()).resize((8, 4), Image.Resampling.BICUBIC))
    area = cv2.resize(_edge(), (8, 4), interpolation=cv2.INTER_AREA)
    assert np.abs(pillow.astype(int) - FFMPEG_EDGE_8X4).max() >= 2
    assert np.abs(area.astype(int) - FFMPEG_EDGE_8X4).max() >= 9
    square = video_files.resize(np.repeat(_edge()[:, :10, None], 3, axis=-1), 4, "ffmpeg_bicubic")
    np.testing.assert_array_equal(square[..., 0], np.clip(np.rint(rows @ _edge()[:, :10] @ rows.T), 0, 255))
