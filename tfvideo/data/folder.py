"""`--dataset=folder --data_dir=DIR`: the user's own videos.

What counts as a video under DIR (searched recursively, hidden folders skipped): every mp4/avi/mov/mkv/webm/...
or gif file, and every folder holding image files (png/jpg/...; its frames sorted by name, numbers compared
numerically). Frames are centre-cropped to a square and resized to `--image_size` (OpenCV INTER_AREA;
`video_files.square_frame`, which `tfvideo.predict` applies to a user's clip too), in
grayscale (`--channels=1`) or RGB (`--channels=3`), every frame kept.

Split (reproducible, independent of the other files): files under DIR/train/ and DIR/test/ go to that split;
any other video goes to test when the first 8 hex digits of the SHA-1 of its path relative to DIR, read as a
fraction of 16**8, are below 0.1 (about 10% of the videos), else to train. If that leaves no test video, the
video with the smallest hash is used for testing.

Decoding happens once, before training, in parallel threads; the frames are cached as a `FrameStore` in
DIR/.tfvideo_cache/ (keyed by the files' paths, sizes and modification times, and the frame size), or kept in
memory if DIR is read-only. A file that cannot be decoded is skipped with a warning naming it, and the count of
skipped files is logged at the end (again whenever the cache is used), so a bad file never stops a run.

Training windows: `--seq_len` frames, drawn uniformly (video, then start) among the train videos long enough.
Test set: the first `--conditioning_frames + --test_horizon` frames of every test video long enough.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import os
from typing import Iterator

from absl import logging

from tfvideo import config as config_lib
from tfvideo.data import frame_store, store_source, video_files
from tfvideo.data.errors import DatasetUnavailableError

TEST_FRACTION = 0.1
CACHE_DIR = ".tfvideo_cache"
CACHE_VERSION = 1
SPLIT_DIRS = ("train", "test")


def find_videos(root: str) -> list[str]:
    """Sorted paths (relative to root, '/'-separated) of the video files and frame folders under root."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        visible = [n for n in names if not n.startswith(".")]
        found.extend(prefix + n for n in visible if video_files.is_video_file(n))
        if any(video_files.is_image_file(n) for n in visible):
            found.append(prefix.rstrip("/") or ".")
    return sorted(found)


def path_hash(relative_path: str) -> float:
    """A fraction in [0, 1) from the SHA-1 of the relative path."""
    return int(hashlib.sha1(relative_path.encode("utf-8")).hexdigest()[:8], 16) / float(16 ** 8)


def assign_splits(relative_paths: list[str]) -> dict[str, list[str]]:
    """{"train": [...], "test": [...]} (see the module docstring); order kept."""
    splits = {"train": [], "test": []}
    for path in relative_paths:
        top = path.split("/", 1)[0].lower()
        if top in SPLIT_DIRS and "/" in path:
            splits[top].append(path)
        else:
            splits["test" if path_hash(path) < TEST_FRACTION else "train"].append(path)
    if not splits["test"] and len(splits["train"]) > 1:
        chosen = min(splits["train"], key=path_hash)
        splits["train"].remove(chosen)
        splits["test"].append(chosen)
    return splits


def _cache_key(root: str, paths: list[str], image_size: int, channels: int) -> str:
    digest = hashlib.sha1(f"v{CACHE_VERSION} {image_size} {channels}".encode())
    for path in paths:
        full = os.path.join(root, path)
        entries = [full] if os.path.isfile(full) else [os.path.join(full, n) for n in sorted(os.listdir(full))]
        for entry in entries:
            stat = os.stat(entry)
            digest.update(f"\n{os.path.relpath(entry, root)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _decode(root: str, path: str, image_size: int, channels: int):
    """(path, frames uint8 [T, S, S, C]) or (path, VideoReadError)."""
    transform = functools.partial(video_files.square_frame, size=image_size)
    try:
        return path, video_files.read_video(os.path.join(root, path), channels=channels, frame_transform=transform)
    except video_files.VideoReadError as err:
        return path, err
    except Exception as err:  # pylint: disable=broad-except  (a decoder bug on one file must not stop the run)
        return path, video_files.VideoReadError(f"{os.path.join(root, path)}: {type(err).__name__}: {err}")


def _decoded_videos(root: str, paths: list[str], image_size: int, channels: int,
                    notes: list[str]) -> Iterator[frame_store.StoreVideo]:
    workers = max(1, min(4, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for path, result in pool.map(lambda p: _decode(root, p, image_size, channels), paths):
            if isinstance(result, Exception):
                notes.append(f"skipped {result}")
                logging.warning("folder: skipping unreadable video %s", result)
            else:
                yield frame_store.StoreVideo(path, -1, result)


def load_split(root: str, paths: list[str], image_size: int, channels: int, split: str) -> frame_store.FrameStore:
    """Decodes (or maps the cache of) the videos of one split."""
    directory = os.path.join(root, CACHE_DIR, f"{split}-{_cache_key(root, paths, image_size, channels)}")
    store = frame_store.load_store(directory)
    if store is None:
        try:
            os.makedirs(os.path.join(root, CACHE_DIR), exist_ok=True)
        except OSError as err:
            logging.warning("folder: cannot write a cache in %s (%s): decoding into memory.", root, err)
            directory = None
        notes: list[str] = []
        store = frame_store.build_store(_decoded_videos(root, paths, image_size, channels, notes), directory, notes)
    else:
        for note in store.notes:
            logging.warning("folder (cached): %s", note)
    if store.notes:
        logging.warning("folder: %d of %d %s file(s) skipped as unreadable (see the warnings above).",
                        len(store.notes), len(paths), split)
    return store


def data_source(cfg: config_lib.DataConfig):
    """The `--dataset=folder` DataSource (see the module docstring)."""
    if not cfg.data_dir:
        raise config_lib.ConfigError("--dataset=folder reads your videos from --data_dir=DIR: pass the folder that "
                                     "holds them (mp4/avi/gif/... files or folders of frames).")
    if cfg.channels not in (1, 3):
        raise config_lib.ConfigError(f"--dataset=folder needs --channels=1 (grayscale) or 3 (RGB); got "
                                     f"{cfg.channels}.")
    root = os.path.abspath(os.path.expanduser(cfg.data_dir))
    if not os.path.isdir(root):
        raise DatasetUnavailableError(f"--data_dir={cfg.data_dir} is not a folder: point --data_dir at the folder "
                                      "of your videos.")
    splits = assign_splits(find_videos(root))
    if not splits["train"] or not splits["test"]:
        found = len(splits["train"]) + len(splits["test"])
        raise DatasetUnavailableError(
            f"--dataset=folder found {found} video(s) in {root} ({len(splits['train'])} train, {len(splits['test'])} "
            "test): at least one of each is needed. Add videos (mp4/avi/mov/mkv/webm/gif files, or folders of "
            "png/jpg frames), or put them in DIR/train/ and DIR/test/.")
    train = load_split(root, splits["train"], cfg.image_size, cfg.channels, "train")
    test = load_split(root, splits["test"], cfg.image_size, cfg.channels, "test")
    length = cfg.conditioning_frames + cfg.test_horizon
    clips = frame_store.first_clips(test, length)
    skipped = len(train.notes) + len(test.notes)
    description = (f"folder {root}: {train.num_videos} train videos, {len(clips)} test clips (first {length} "
                   f"frames of {test.num_videos} test videos), {cfg.image_size}px, {cfg.channels} channel(s)"
                   + (f"; {skipped} unreadable file(s) skipped" if skipped else ""))
    return store_source.make_store_source(train, test, cfg, test_clips=clips, description=description,
                                          what=f"folder {root}")
