"""Human3.6M (Ionescu et al. 2014) as in SRVP: a TFDS builder from the user's downloaded videos, and the data source.

The videos are license-gated: register at http://vision.imar.ro/human3.6m/, download the "Videos" archive of
each subject (S1, S5, S6, S7, S8, S9, S11) and extract them so that `MANUAL_DIR/S1/Videos/<Action>.<camera>.mp4`
exist (any folder named S<n> above the files works; the "_ALL" videos are ignored). Processing as SRVP's: every
frame of the 50 fps video, cropped to the box (100, 100, 900, 900) (left, top, right, bottom), resized to 64x64
with Lanczos (Pillow), RGB. Splits: subjects 1, 5, 6, 7, 8 `train`; 9, 11 `test`; one example per video: `video`
uint8 [T, 64, 64, 3], `subject`, `action`, `camera`, `name`.

Data source (`--dataset=human36m`), as SRVP's: a window or clip takes one frame in 8 (`FRAME_STRIDE`, 6.25 fps)
from a start that may be any frame. Training windows of `--seq_len` frames (spanning 8 * (seq_len - 1) + 1 stored
frames) are drawn uniformly (video, then start) from the train videos less the share `--validation_fraction`
(0.05 as SRVP) held out for validation (`validation_split`). Test set = 1000 clips of `--conditioning_frames + --test_horizon`
frames (53 in the paper setting, spanning 417 stored frames) from the test videos, drawn as SRVP's make_test_set
does (`original_test_clips`: `np.random.seed(42)`, then per clip a video uniformly among all the test videos in the
order of the original's file names, then a start), so they are the original's clips when the decoded videos have
the same numbers of frames. A drawn video too short for the clip is where the original script stops
(`np.random.randint` of a bound <= 0 raises ValueError); here that draw is skipped and the next video drawn, and
the source's comparability notes say how many draws were skipped.

Size: all frames are kept, about 2.1 million (subjects 1, 5, 6, 7, 8: ~1.56 M; 9, 11: ~0.55 M), 8x as many as
one in 8. The frame cache that training memory-maps (`tfds_store`) takes ~12 KB per 64x64 RGB frame, ~26 GB
in all (~19 GB train, ~7 GB test), next to TFDS's PNG-encoded copy; RAM holds only the pages in use.
"""

from __future__ import annotations

import os
import re

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from tfvideo import config as config_lib
from tfvideo.data import frame_store, splits, store_source, tfds_store, video_files

URL = "http://vision.imar.ro/human3.6m/"
TRAIN_SUBJECTS = (1, 5, 6, 7, 8)
TEST_SUBJECTS = (9, 11)
CROP_BOX = (100, 100, 900, 900)  # left, top, right, bottom (Pillow's crop box)
FRAME_SIZE = 64
FRAME_STRIDE = 8  # windows and test clips take one stored frame in 8
NUM_TEST_CLIPS = 1000
TEST_SEED = 42
_SUBJECT_DIR = re.compile(r"^S(\d+)$")

MISSING = (
    f"Human3.6M is not prepared. Its videos are license-gated: register at {URL}, download the 'Videos' archives "
    "of subjects S1, S5, S6, S7, S8 (train) and S9, S11 (test), extract them so that MANUAL_DIR/S1/Videos/*.mp4 "
    "exist, then run\n"
    "  python -m tfvideo.data.prepare --dataset=human36m --data_dir=DIR --manual_dir=MANUAL_DIR\n"
    "and train with --data_dir=DIR. (Human3.6M data prepared as version 1.0.0 kept one frame in 8 only: prepare "
    "it again.)")


class Human36m(tfds.core.GeneratorBasedBuilder):
    """Human3.6M videos, every frame, cropped and resized to 64x64 RGB; subjects 1,5,6,7,8 train, 9,11 test."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "1 frame in 8 (frames 0, 8, 16, ...), crop (100, 100, 900, 900), Lanczos to 64x64.",
        "2.0.0": "SRVP preprocessing: every frame (50 fps), crop (100, 100, 900, 900), Lanczos to 64x64; the "
                 "data source takes one frame in 8 from any start.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"Register at {URL}, download the Videos archives of S1, S5, S6, S7, S8, S9 and S11 and extract them in "
        "the manual directory so that S1/Videos/*.mp4 etc. exist.")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="Human3.6M videos as in SRVP: every frame (50 fps), crop (100,100,900,900), 64x64 RGB.",
            features=tfds.features.FeaturesDict({
                "video": tfds.features.Video(shape=(None, FRAME_SIZE, FRAME_SIZE, 3)),
                "subject": np.int32,
                "action": tfds.features.Text(),
                "camera": tfds.features.Text(),
                "name": tfds.features.Text(),
            }),
            homepage=URL,
        )

    def _split_generators(self, dl_manager):
        root = str(dl_manager.manual_dir)  # TFDS raises with MANUAL_DOWNLOAD_INSTRUCTIONS when it is missing
        paths = find_videos(root)
        if not paths:
            raise FileNotFoundError(f"No Human3.6M video (S<n>/.../<Action>.<camera>.mp4) found in {root}.")
        logging.info("Human3.6M: %d videos found.", len(paths))
        return {"train": self._generate_examples(paths, TRAIN_SUBJECTS),
                "test": self._generate_examples(paths, TEST_SUBJECTS)}

    def _generate_examples(self, paths, subjects):
        skipped = 0
        for subject, path in paths:
            if subject not in subjects:
                continue
            try:
                frames = read_human36m_video(path)
            except video_files.VideoReadError as err:
                skipped += 1
                logging.warning("Human3.6M: skipping %s", err)
                continue
            action, camera = _action_and_camera(path)
            name = f"S{subject}/{action}.{camera}"
            yield name, {"video": frames, "subject": subject, "action": action, "camera": camera, "name": name}
        if skipped:
            logging.warning("Human3.6M: %d unreadable video(s) skipped.", skipped)


def find_videos(root: str) -> list[tuple[int, str]]:
    """Sorted (subject, path) of the mp4 files under a folder named S<n> (ignoring '_ALL' videos)."""
    found = []
    for directory, _, names in os.walk(root):
        subject = _subject_of(os.path.relpath(directory, root))
        if subject is None:
            continue
        found.extend((subject, os.path.join(directory, n)) for n in names
                     if n.lower().endswith(".mp4") and "_ALL" not in n)
    return sorted(found)


def _subject_of(relative_dir: str) -> int | None:
    for part in reversed(relative_dir.split(os.sep)):
        match = _SUBJECT_DIR.match(part)
        if match:
            return int(match.group(1))
    return None


def _action_and_camera(path: str) -> tuple[str, str]:
    stem = os.path.splitext(os.path.basename(path))[0]
    action, _, camera = stem.rpartition(".")
    return (action, camera) if action else (stem, "")


def crop_and_resize(frame: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] (H, W >= 900) -> [64, 64, 3]: SRVP's crop box, then Lanczos."""
    left, top, right, bottom = CROP_BOX
    if frame.shape[0] < bottom or frame.shape[1] < right:
        raise video_files.VideoReadError(f"frame of {frame.shape[1]}x{frame.shape[0]} is smaller than the crop box "
                                         f"{CROP_BOX} (Human3.6M videos are 1000x1000)")
    return video_files.resize(frame[top:bottom, left:right], FRAME_SIZE, "lanczos")


def read_human36m_video(path: str) -> np.ndarray:
    """uint8 [T, 64, 64, 3]: every frame, cropped and resized."""
    try:
        return video_files.read_video(path, channels=3, frame_transform=crop_and_resize)
    except video_files.VideoReadError as err:
        raise video_files.VideoReadError(f"{path}: {err}" if path not in str(err) else str(err)) from err


def original_test_clips(store: frame_store.FrameStore, length: int, num_clips: int = NUM_TEST_CLIPS,
               seed: int = TEST_SEED) -> tuple[np.ndarray, int]:
    """SRVP's Human3.6M test clips of `length` frames taken one in `FRAME_STRIDE`: (clips int64 [num_clips, 2]
    (video, start), skipped draws), `frame_store.scripted_clips` with a video drawn uniformly among *all* the
    test videos, listed as the original lists its files (`sorted(os.listdir(...))` of
    `S<n>-<action>.<camera>.npz`) (0 skipped: the original's clips when the videos have the same numbers of frames)."""
    listed = sorted(store.names, key=original_file_name)
    return frame_store.scripted_clips(store, length, num_clips, seed, lambda rng: listed[rng.randint(len(listed))],
                                      listed, stride=FRAME_STRIDE)


def original_file_name(name: str) -> str:
    """SRVP's `convert.py` file for our video `name` `S<n>/<action>.<camera>`: `S<n>-<action>.<camera>.npz`."""
    return name.replace("/", "-", 1) + ".npz"


def data_source(cfg: config_lib.DataConfig):
    """The `--dataset=human36m` DataSource (see the module docstring)."""
    tfds_store.check_channels("Human3.6M", cfg.channels, 3)
    tfds_store.check_image_size("Human3.6M", cfg.image_size, FRAME_SIZE)
    builder = Human36m(data_dir=cfg.data_dir)
    tfds_store.require_prepared(builder, MISSING)
    train = tfds_store.cached_store(builder, "train", image_size=cfg.image_size, group_key="subject")
    test = tfds_store.cached_store(builder, "test", image_size=cfg.image_size, group_key="subject")
    length = cfg.conditioning_frames + cfg.test_horizon
    clips, skipped = original_test_clips(test, length)
    split = validation_split(train.names, cfg.validation_fraction)
    description = (f"Human3.6M (TFDS human36m in {builder.data_dir}): one frame in {FRAME_STRIDE} from any start; "
                   f"{len(split['train'])} of {train.num_videos} train videos (subjects 1,5,6,7,8; "
                   f"{len(split['validation'])} held out for validation, --validation_fraction="
                   f"{cfg.validation_fraction:g}), {len(clips)} test clips of {length} "
                   f"frames from {test.num_videos} test videos (subjects 9,11, drawn as SRVP's make_test_set with "
                   f"np.random.seed({TEST_SEED})), {cfg.image_size}px")
    return store_source.make_store_source(train, test, cfg, test_clips=clips, description=description,
                                          what="Human3.6M", stride=FRAME_STRIDE, train_videos=split["train"],
                                          validation_videos=split["validation"],
                                          comparability_notes=[frame_store.skipped_note(skipped)] if skipped else [])


def validation_split(names, fraction: float) -> dict[str, np.ndarray]:
    """`splits.split_listed` of the training videos listed as SRVP lists its per-video files (sorted
    `original_file_name`s): {"train": int64 [K], "validation": int64 [V - K]}, increasing indices into `names`."""
    return splits.split_listed(np.asarray(sorted(range(len(names)), key=lambda i: original_file_name(names[i])),
                                          np.int64), fraction)
