"""TFDS helpers: refuse unprepared datasets with a useful message, and cache a video split as a `FrameStore`.

`cached_store(builder, split, ...)` reads a prepared TFDS split of whole videos once, resizes its frames to the
requested size, and writes them as a memory-mapped `FrameStore` in
`<builder.data_dir>/tfvideo_cache/<split>_<size>px/` (next to the TFDS files, so deleting the dataset deletes
the cache). Later runs map that cache at once. If the directory is not writable the store is built in memory.
"""

from __future__ import annotations

import os
import time
from typing import Iterator

from absl import logging
import numpy as np

from tfvideo import config as config_lib
from tfvideo.data import frame_store
from tfvideo.data import video_files
from tfvideo.data.errors import DatasetUnavailableError

CACHE_DIR = "tfvideo_cache"


def require_prepared(builder, instructions: str) -> None:
    """Raises DatasetUnavailableError (`instructions` + where TFDS looked) unless `builder` is prepared."""
    try:
        prepared = builder.is_prepared()
    except Exception as err:  # pylint: disable=broad-except  (unreadable data_dir, permissions, ...)
        raise DatasetUnavailableError(f"{instructions}\n(TFDS could not read {builder.data_dir}: {err})") from err
    if not prepared:
        raise DatasetUnavailableError(f"{instructions}\n(Looked for a prepared TFDS '{builder.name}' in "
                                      f"{builder.data_dir}.)")


def cached_store(builder, split: str, *, image_size: int, group_key: str | None = None,
                 video_key: str = "video", name_key: str = "name") -> frame_store.FrameStore:
    """The frames of `split` as a FrameStore at image_size x image_size (cached; see the module docstring)."""
    directory = os.path.join(str(builder.data_dir), CACHE_DIR, f"{split}_{image_size}px")
    store = frame_store.load_store(directory)
    if store is not None:
        return store
    logging.info("Caching TFDS %s/%s frames at %dpx in %s (once).", builder.name, split, image_size, directory)
    start = time.time()
    videos = _tfds_videos(builder, split, image_size, group_key, video_key, name_key)
    try:
        os.makedirs(directory + ".probe", exist_ok=True)
        os.rmdir(directory + ".probe")
    except OSError as err:
        logging.warning("Cannot write the frame cache in %s (%s): keeping %s/%s in memory.", directory, err,
                        builder.name, split)
        directory = None
    store = frame_store.build_store(videos, directory)
    logging.info("Cached %d videos, %d frames of %s/%s in %.1f s.", store.num_videos, len(store.frames),
                 builder.name, split, time.time() - start)
    return store


def _tfds_videos(builder, split: str, image_size: int, group_key, video_key: str,
                 name_key: str) -> Iterator[frame_store.StoreVideo]:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    dataset = builder.as_dataset(split=split, shuffle_files=False)
    for example in tfds.as_numpy(dataset):
        frames = np.asarray(example[video_key], np.uint8)
        if frames.shape[1] != image_size or frames.shape[2] != image_size:
            frames = np.stack([video_files.resize(frame, image_size, "area") for frame in frames])
        name = example[name_key]
        name = name.decode("utf-8") if isinstance(name, bytes) else str(name)
        group = int(example[group_key]) if group_key else -1
        yield frame_store.StoreVideo(name, group, frames)


def check_image_size(what: str, image_size: int, native: int) -> None:
    """ConfigError unless 1 <= image_size <= native (frames are only ever shrunk)."""
    if image_size > native:
        raise config_lib.ConfigError(f"{what} frames are {native}x{native}: use --image_size={native} (or smaller, "
                                     f"to train on shrunk frames); got --image_size={image_size}.")


def check_channels(what: str, channels: int, native: int) -> None:
    if channels != native:
        kind = "grayscale" if native == 1 else "RGB"
        raise config_lib.ConfigError(f"{what} is {kind}: use --channels={native} (got --channels={channels}).")
