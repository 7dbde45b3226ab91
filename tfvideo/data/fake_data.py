"""Small fake source files in the real datasets' layouts, for tests and for benchmarks without the real data.

Nothing here is used in training. Frames show a bright square moving over a dark background, with the video's
`tag` (0-255) as background level so that tests can tell videos apart after decoding.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from tfvideo.data import kth


def moving_square(num_frames: int, height: int, width: int, channels: int, tag: int = 0) -> np.ndarray:
    """uint8 [num_frames, height, width, channels]: a 255-valued square moving diagonally on background `tag`."""
    frames = np.full((num_frames, height, width, channels), tag, np.uint8)
    side = max(2, min(height, width) // 4)
    for t in range(num_frames):
        row = (3 * t) % max(1, height - side)
        col = (5 * t) % max(1, width - side)
        frames[t, row:row + side, col:col + side] = 255
    return frames


def write_video(path: str, frames: np.ndarray, fps: float = 25.0) -> str:
    """Writes uint8 frames [T, H, W, C] (C = 1 or 3, RGB) as .avi (MJPG), .mp4 (mp4v) or .gif; returns path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.lower().endswith(".gif"):
        from PIL import Image  # pylint: disable=g-import-not-at-top

        images = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return path
    import cv2  # pylint: disable=g-import-not-at-top

    codec = "mp4v" if path.lower().endswith(".mp4") else "MJPG"
    height, width, channels = frames.shape[1:]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), fps, (width, height), channels == 3)
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path}.")
    for frame in frames:
        writer.write(frame[..., ::-1] if channels == 3 else frame[..., 0])
    writer.release()
    return path


def write_frame_folder(directory: str, frames: np.ndarray) -> str:
    """Writes frames [T, H, W, C] as frame1.png, frame2.png, ... (numbering that needs a natural sort)."""
    from PIL import Image  # pylint: disable=g-import-not-at-top

    os.makedirs(directory, exist_ok=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame).save(
            os.path.join(directory, f"frame{t + 1}.png"))
    return directory


def write_kth_zips(directory: str, persons, actions=kth.ACTIONS, scenarios=(1,), num_frames: int = 12,
                   height: int = 30, width: int = 40) -> list[str]:
    """Official-layout KTH zips `<action>.zip` holding `personPP_ACTION_dS_uncomp.avi` files; returns the zips.

    Each video's background level is 10 * person (so tests can check which person a frame came from).
    """
    os.makedirs(directory, exist_ok=True)
    zips = []
    with tempfile.TemporaryDirectory() as staging:
        for action in actions:
            zip_path = os.path.join(directory, f"{action}.zip")
            with zipfile.ZipFile(zip_path, "w") as archive:
                for person in persons:
                    for scenario in scenarios:
                        name = f"person{person:02d}_{action}_d{scenario}_uncomp.avi"
                        frames = moving_square(num_frames, height, width, 1, tag=10 * person)
                        archive.write(write_video(os.path.join(staging, name), frames), arcname=name)
            zips.append(zip_path)
    return zips


def write_human36m_videos(directory: str, subjects, actions=("Walking 1",), cameras=("54138969",),
                          num_frames: int = 24, size: int = 1000) -> list[str]:
    """Human3.6M-layout videos `S<n>/Videos/<action>.<camera>.mp4` (size x size RGB); returns the paths.

    The crop region (100..900) has background level 20 * subject; outside it, 255.
    """
    paths = []
    for subject in subjects:
        for action in actions:
            for camera in cameras:
                frames = np.full((num_frames, size, size, 3), 255, np.uint8)
                frames[:, 100:900, 100:900] = moving_square(num_frames, 800, 800, 3, tag=20 * subject)
                path = os.path.join(directory, f"S{subject}", "Videos", f"{action}.{camera}.mp4")
                paths.append(write_video(path, frames, fps=50.0))
    return paths


def write_corrupt_file(path: str, size: int = 2048) -> str:
    """A file with a video extension and random bytes."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as file:
        file.write(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def _fake_bair_example(rng: np.random.Generator, index: int) -> list[dict]:
    frames = moving_square(30, 64, 64, 3, tag=index % 200)
    return [{"image_main": 255 - frames[t], "image_aux1": frames[t],
             "action": np.array([t, index, 0, 0], np.float32),  # (frame, video): alignment checks
             "endeffector_pos": rng.normal(size=3).astype(np.float32)} for t in range(30)]


def _fake_moving_mnist_example(rng: np.random.Generator, index: int) -> dict:
    del rng
    return {"image_sequence": moving_square(20, 64, 64, 1, tag=index % 200)}


_FAKE_EXAMPLES = {"bair_robot_pushing_small": _fake_bair_example, "moving_mnist": _fake_moving_mnist_example}


def prepare_fake_tfds(name: str, data_dir: str, num_examples: dict[str, int], seed: int = 0):
    """Prepares TFDS `name` (bair_robot_pushing_small or moving_mnist) in data_dir with generated examples.

    The real builder class does the writing (its features, file format and layout), only its download and
    source parsing are replaced; `tfds.builder(name, data_dir=data_dir)` then reads it like the real dataset.
    Example i's frames use background level i % 200 (BAIR: image_aux1; image_main is the negative).
    Returns the prepared builder.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    make_example = _FAKE_EXAMPLES[name]

    class FakeBuilder(tfds.builder_cls(name), skip_registration=True):  # pylint: disable=missing-class-docstring
        def _split_generators(self, dl_manager):
            del dl_manager
            return {split: self._fake_examples(split, count) for split, count in num_examples.items()}

        def _fake_examples(self, split, count):
            rng = np.random.default_rng([seed, len(split)])
            for index in range(count):
                yield f"{split}_{index:06d}", make_example(rng, index)

    FakeBuilder.name = name
    builder = FakeBuilder(data_dir=data_dir)
    builder.download_and_prepare()
    return tfds.builder(name, data_dir=data_dir)


def write_folder_videos(directory: str, num_frames: int = 12, height: int = 24, width: int = 32) -> dict[str, str]:
    """A user folder with one video of each kind (mp4, avi, gif, frame folder) plus a corrupt mp4.

    Returns {kind: path}. Each video's background level differs (mp4 40, avi 80, gif 120, frames 160).
    """
    paths = {}
    for kind, tag in (("mp4", 40), ("avi", 80), ("gif", 120)):
        frames = moving_square(num_frames, height, width, 3, tag=tag)
        paths[kind] = write_video(os.path.join(directory, f"clip_{kind}.{kind}"), frames)
    paths["frames"] = write_frame_folder(os.path.join(directory, "clip_frames"),
                                         moving_square(num_frames, height, width, 3, tag=160))
    paths["corrupt"] = write_corrupt_file(os.path.join(directory, "broken.mp4"))
    return paths


def make_fake_dataset(dataset: str, root: str, clip_len: int, scale: int = 1) -> str:
    """Fake source data for `dataset` under root, prepared as the real one would be; returns its --data_dir.

    `clip_len` frames (at least) per video after processing; `scale` multiplies the number of videos.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    data_dir = os.path.join(root, "data")
    if dataset in ("bair", "moving_mnist"):
        name = "bair_robot_pushing_small" if dataset == "bair" else "moving_mnist"
        splits = {"train": 64 * scale, "test": 16 * scale} if dataset == "bair" else {"test": 64 * scale}
        prepare_fake_tfds(name, data_dir, splits)
    elif dataset == "kth":
        write_kth_zips(os.path.join(root, "manual"), persons=(1, 2, 21, 22), actions=kth.ACTIONS[:scale + 1],
                       num_frames=clip_len + 10, height=120, width=160)
        kth.Kth(data_dir=data_dir).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=os.path.join(root, "manual")))
    elif dataset == "human36m":
        from tfvideo.data import human36m  # pylint: disable=g-import-not-at-top

        write_human36m_videos(os.path.join(root, "manual"), subjects=(1, 9), actions=("Walking 1",) * 1,
                              cameras=tuple(f"5413896{i}" for i in range(scale)),
                              num_frames=human36m.FRAME_STRIDE * (clip_len + 2))
        human36m.Human36m(data_dir=data_dir).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=os.path.join(root, "manual")))
    elif dataset == "folder":
        for copy in range(2 * scale + 2):
            write_folder_videos(os.path.join(data_dir, f"set{copy}"), num_frames=clip_len + 10, height=240,
                                width=320)
    elif dataset != "smmnist":
        raise ValueError(f"No fake data for dataset {dataset!r}.")
    return data_dir
