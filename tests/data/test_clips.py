"""tfvideo.data.clips: a user's clip read through the preprocessing of the run's dataset."""

from __future__ import annotations

import functools
import os
import shutil

import numpy as np
import pytest

from tests.support.configs import tiny_data_config
from tfvideo.data import clips, fake_data, kth, registry, video_files

FOLDER_RULE = clips.Preprocessing(image_size=16, channels=1, dataset="folder")


def _rgb_clip(num_frames=9, height=24, width=40, tag=30):
    """uint8 [T, 24, 40, 3]: not square, colored (channels differ), so crop, resize and conversion all matter."""
    frames = fake_data.moving_square(num_frames, height, width, 3, tag=tag)
    frames[..., 1] //= 2
    frames[:, :, : width // 3, 2] = 90  # a band the centre crop removes
    return frames


@pytest.fixture()
def clip_files(tmp_path):
    """The same clip as mp4, gif and a frame folder."""
    frames = _rgb_clip()
    return {"mp4": fake_data.write_video(str(tmp_path / "clip.mp4"), frames),
            "gif": fake_data.write_video(str(tmp_path / "clip.gif"), frames),
            "frames": fake_data.write_frame_folder(str(tmp_path / "frames"), frames)}


@pytest.mark.parametrize("kind", ["mp4", "gif", "frames"])
def test_a_clip_gets_exactly_the_folder_datasets_frames(kind, clip_files, tmp_path):
    """The folder dataset's test video (decoded, cropped, resized and converted by its pipeline) is the clip."""
    data_dir = tmp_path / "dataset"
    for split in ("train", "test"):
        os.makedirs(data_dir / split)
        target = data_dir / split / os.path.basename(clip_files[kind])
        (shutil.copytree if kind == "frames" else shutil.copy)(clip_files[kind], target)
    config = tiny_data_config(dataset="folder", data_dir=str(data_dir), image_size=16, channels=1, seq_len=5,
                              conditioning_frames=3, test_horizon=4)
    expected = registry.get_data_source(config).test_videos()[0]  # [7, 16, 16, 1]: the first 3 + 4 frames
    got = clips.read_clip(clip_files[kind], clips.Preprocessing.of_data_config(config), num_frames=7)
    assert got.dtype == np.float32 and got.shape == (7, 16, 16, 1)
    np.testing.assert_array_equal(got, expected)


def test_start_frame_and_num_frames_pick_the_window(clip_files):
    whole = clips.read_clip(clip_files["frames"], FOLDER_RULE)
    assert whole.shape == (9, 16, 16, 1)
    np.testing.assert_array_equal(clips.read_clip(clip_files["frames"], FOLDER_RULE, start_frame=2, num_frames=4),
                                  whole[2:6])
    np.testing.assert_array_equal(clips.read_clip(clip_files["frames"], FOLDER_RULE, start_frame=6), whole[6:])


def test_rgb_runs_get_rgb_and_the_rule_is_the_datasets(clip_files):
    rgb = clips.read_clip(clip_files["frames"], clips.Preprocessing(16, 3))
    frames = _rgb_clip()
    expected = np.stack([video_files.square_frame(f, 16) for f in frames]) / 255.0
    np.testing.assert_allclose(rgb, expected, atol=1e-7)
    # KTH's rule: the red channel of the whole frame (not the centre square), FFmpeg's bicubic scaler to 64x64.
    kth_rule = clips.Preprocessing(64, 1, "kth")
    got = clips.read_clip(clip_files["frames"], kth_rule)
    np.testing.assert_allclose(got, np.stack([kth.srvp_frame(f) for f in frames]) / 255.0, atol=1e-7)
    assert "kth" in kth_rule.describe() and "grayscale" in FOLDER_RULE.describe()


def test_npy_frames_of_the_models_geometry_are_used_exactly(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.uniform(size=(6, 16, 16, 1)).astype(np.float32)
    np.save(tmp_path / "f.npy", floats)
    np.testing.assert_array_equal(clips.read_clip(str(tmp_path / "f.npy"), FOLDER_RULE, start_frame=1,
                                                  num_frames=3), floats[1:4])
    np.save(tmp_path / "u.npy", np.round(floats[..., 0] * 255).astype(np.uint8))  # [T, H, W] uint8
    np.testing.assert_allclose(clips.read_clip(str(tmp_path / "u.npy"), FOLDER_RULE), floats, atol=0.5 / 255 + 1e-7)
    batch = rng.uniform(size=(2, 4, 16, 16, 1)).astype(np.float64)
    np.save(tmp_path / "b.npy", batch)
    assert clips.read_clips(str(tmp_path / "b.npy"), FOLDER_RULE).shape == (2, 4, 16, 16, 1)
    with pytest.raises(clips.ClipError, match="holds 2 videos"):
        clips.read_clip(str(tmp_path / "b.npy"), FOLDER_RULE)


def test_npy_frames_of_another_geometry_go_through_the_rule(tmp_path):
    frames = _rgb_clip(num_frames=4)
    np.save(tmp_path / "rgb.npy", frames)
    expected = np.stack([video_files.square_frame(video_files.convert_channels(f, 1), 16) for f in frames])
    np.testing.assert_allclose(clips.read_clip(str(tmp_path / "rgb.npy"), FOLDER_RULE), expected / 255.0,
                               atol=1e-7)
    np.save(tmp_path / "rgb_float.npy", frames / 255.0)  # floats are quantised to uint8 first
    np.testing.assert_allclose(clips.read_clip(str(tmp_path / "rgb_float.npy"), FOLDER_RULE), expected / 255.0,
                               atol=1e-7)


def _write(path, content: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(content)
    return str(path)


@pytest.mark.parametrize("case,message", [
    ("missing", "no such file or folder"),
    ("text", "not a clip tfvideo reads"),
    ("corrupt_mp4", "cannot read the clip"),
    ("corrupt_gif", "cannot read the clip"),
    ("empty_folder", "no decodable frame"),
    ("corrupt_npy", "not a readable .npy"),
    ("pickled_npy", "not a readable .npy"),
    ("npy_rank", "expected frames"),
    ("npy_dtype", "uint8 \\(0-255\\) or floats"),
    ("npy_range", "finite and lie in \\[0, 1\\]"),
    ("npy_nan", "finite and lie in \\[0, 1\\]"),
    ("npy_channels", "frames with 2 channels; the model uses 1"),
    ("too_short", "has 9 frame\\(s\\); 5 context frame\\(s\\) from frame 6 need 11"),
    ("negative_start", "--start_frame must be a whole number >= 0"),
])
def test_bad_clips_raise_one_clear_error(case, message, tmp_path, clip_files):
    start, num = 0, None
    path = {
        "missing": str(tmp_path / "nothing.mp4"),
        "text": _write(tmp_path / "notes.txt", b"hello"),
        "corrupt_mp4": _write(tmp_path / "broken.mp4", os.urandom(2000)),
        "corrupt_gif": _write(tmp_path / "broken.gif", b"GIF89a" + os.urandom(200)),
        "empty_folder": str(tmp_path),  # holds no image file (clip_files are in subfolders and mp4/gif)
        "corrupt_npy": _write(tmp_path / "broken.npy", b"\x93NUMPY" + os.urandom(100)),
        "too_short": clip_files["mp4"],
        "negative_start": clip_files["mp4"],
    }.get(case)
    arrays = {"pickled_npy": np.array([{"a": 1}], dtype=object), "npy_rank": np.zeros((4, 16)),
              "npy_dtype": np.zeros((3, 16, 16, 1), np.int16), "npy_range": np.full((3, 16, 16, 1), 2.0),
              "npy_nan": np.full((3, 16, 16, 1), np.nan), "npy_channels": np.zeros((3, 8, 8, 2), np.uint8)}
    if case in arrays:
        path = str(tmp_path / f"{case}.npy")
        np.save(path, arrays[case], allow_pickle=True)
    if case == "empty_folder":
        path = str(tmp_path / "empty")
        os.makedirs(path)
    start, num = {"too_short": (6, 5), "negative_start": (-1, None)}.get(case, (start, num))
    with pytest.raises(clips.ClipError, match=message):
        clips.read_clip(path, FOLDER_RULE, start_frame=start, num_frames=num)


def test_human36m_rule_refuses_frames_smaller_than_its_crop_box(clip_files):
    with pytest.raises(clips.ClipError, match="smaller than the crop box"):
        clips.read_clip(clip_files["frames"], clips.Preprocessing(64, 3, "human36m"))


def test_preprocessing_from_a_config_dict_or_dataclass():
    config = tiny_data_config(dataset="kth", channels=1)
    assert clips.Preprocessing.of_data_config(config) == clips.Preprocessing(64, 1, "kth")
    assert clips.Preprocessing.of_data_config({"image_size": 32, "channels": 3, "dataset": "bair"}) == \
        clips.Preprocessing(32, 3, "bair")
    rule = clips.Preprocessing(16, 3, "smmnist")
    assert rule.decode_channels() == 3 and isinstance(rule.frame_transform(), functools.partial)
