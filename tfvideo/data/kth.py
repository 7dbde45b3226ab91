"""KTH human actions (Schuldt et al. 2004) as in SRVP: a TFDS builder of ours and the training/test data source.

Source: the six official per-action zips (`boxing.zip`, ..., `walking.zip`, 600 avi files
`personPP_ACTION_dS_uncomp.avi`, 160x120 grayscale content at 25 fps). The builder downloads them when online, or
reads them (zipped or extracted) from a manual directory.

Processing as SRVP's (`ffmpeg -i VIDEO -r 25 -s 64x64 image-%03d.png`, from SVG's `convert_kth`, then the first
channel of each PNG): every frame at 25 fps, the whole frame resized to 64x64 (aspect ratio not kept) with
FFmpeg's default scaler (swscale bicubic, `video_files.ffmpeg_bicubic_weights`), and the red channel of the
decoded RGB frame kept as the grayscale frame. On KTH-like synthetic MPEG-4 videos these frames differ from
that pipeline's by 0.5 levels on average (at most 2: FFmpeg converts to RGB after resizing, in fixed point);
a BT.601 grayscale conversion with OpenCV's INTER_AREA differs by 1.9 on average and up to 16 levels at edges.
Splits: persons 1-20 `train`, 21-25 `test`; one example per video: `video` uint8 [T, 64, 64, 1], `person`,
`action`, `scenario` (1-4), `name`.

Data source (`--dataset=kth`): training windows of `--seq_len` frames drawn uniformly (video, then start) from the
train videos, less the share `--validation_fraction` (0.05 as SRVP) held out for validation
(`validation_split`, which validation clips come from); test set = 1000 clips of `--conditioning_frames + --test_horizon` frames (40 in the paper
setting) drawn as SRVP's `make_test_set.py` does (`original_test_clips`: `np.random.seed(42)`, then per clip an
action, a person, a trial and a start), so they are the original's clips when the decoded videos have the same
numbers of frames. A drawn video that is absent (an incomplete test split) or too short, where the original script
stops with an error, is skipped and the next one drawn; the source's comparability notes then say how many draws
were skipped.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from tfvideo import config as config_lib
from tfvideo.data import frame_store, splits, store_source, tfds_store, video_files

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
URL = "http://www.csc.kth.se/cvap/actions/"
TRAIN_PERSONS = tuple(range(1, 21))
TEST_PERSONS = tuple(range(21, 26))
FRAME_SIZE = 64
NUM_TEST_CLIPS = 1000
TEST_SEED = 42
_FILE_NAME = re.compile(r"^person(\d+)_([a-z]+)_d(\d+)_uncomp\.avi$")

MISSING = (
    "KTH is not prepared. Get the six action zips (boxing, handclapping, handwaving, jogging, running, walking; "
    f"~1 GB) from {URL} (e.g. {URL}boxing.zip), then run\n"
    "  python -m tfvideo.data.prepare --dataset=kth --data_dir=DIR --manual_dir=ZIPS_DIR\n"
    "(without --manual_dir it downloads them itself when online) and train with --data_dir=DIR. (KTH data "
    "prepared as version 1.0.0 used another grayscale conversion and resize filter: prepare it again.)")


class Kth(tfds.core.GeneratorBasedBuilder):
    """KTH actions at 64x64 grayscale, 25 fps, one example per video; persons 1-20 train, 21-25 test."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES = {
        "1.0.0": "64x64, every frame, BT.601 grayscale and OpenCV INTER_AREA resizing.",
        "2.0.0": "SRVP preprocessing: 64x64, every frame, the red channel of the decoded RGB frames and FFmpeg's "
                 "default (bicubic) scaler.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"Put the official zips (boxing.zip ... walking.zip from {URL}), or the avi files extracted from them, "
        "in the manual directory (any layout).")

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="KTH human actions, 64x64 grayscale videos at 25 fps (SRVP / SVG preprocessing).",
            features=tfds.features.FeaturesDict({
                "video": tfds.features.Video(shape=(None, FRAME_SIZE, FRAME_SIZE, 1)),
                "person": np.int32,
                "action": tfds.features.ClassLabel(names=ACTIONS),
                "scenario": np.int32,
                "name": tfds.features.Text(),
            }),
            homepage=URL,
        )

    def _split_generators(self, dl_manager):
        roots = _source_roots(dl_manager)
        by_name = {}  # zips and their extracted files may both be present: one path per file name
        for root in roots:
            for path in _find_files(root, ".avi"):
                if parse_name(path):
                    by_name.setdefault(os.path.basename(path), path)
        paths = [by_name[name] for name in sorted(by_name)]
        if not paths:
            raise FileNotFoundError(f"No KTH avi file (personPP_ACTION_dS_uncomp.avi) found in {roots}.")
        logging.info("KTH: %d avi files found.", len(paths))
        return {"train": self._generate_examples(paths, TRAIN_PERSONS),
                "test": self._generate_examples(paths, TEST_PERSONS)}

    def _generate_examples(self, paths, persons):
        skipped = 0
        for path in paths:
            person, action, scenario = parse_name(path)
            if person not in persons:
                continue
            try:
                frames = read_kth_video(path)
            except video_files.VideoReadError as err:
                skipped += 1
                logging.warning("KTH: skipping %s", err)
                continue
            name = os.path.basename(path)[:-len("_uncomp.avi")]
            yield name, {"video": frames, "person": person, "action": action, "scenario": scenario, "name": name}
        if skipped:
            logging.warning("KTH: %d unreadable video(s) skipped.", skipped)


def parse_name(path: str) -> tuple[int, str, int] | None:
    """(person, action, scenario) of an official file name, None for other files."""
    match = _FILE_NAME.match(os.path.basename(path))
    if not match or match.group(2) not in ACTIONS:
        return None
    return int(match.group(1)), match.group(2), int(match.group(3))


def validation_split(names: Sequence[str], fraction: float,
                     seed: int = splits.VALIDATION_SEED) -> dict[str, np.ndarray]:
    """Which training videos train and which are held out for validation: `splits.split_listed` with the videos
    listed as SRVP lists them, action by action (in `ACTIONS` order) and by name within an action (SRVP lists
    each action's directory in the file system's order).

    Args:
      names: V video names `personPP_ACTION_dS`, in any order (e.g. a FrameStore's).
      fraction: share held out, in [0, 1).

    Returns:
      {"train": int64 [K], "validation": int64 [V - K]}: increasing indices into `names`.
    """
    listed = sorted(range(len(names)), key=lambda i: (ACTIONS.index(names[i].split("_")[1]), names[i]))
    return splits.split_listed(np.asarray(listed, np.int64), fraction, seed)


def draw_test_video(rng) -> str:
    """The next test video of SRVP's `make_test_set.py`: an action, a person (21-25), then a trial (1-4), drawn in
    that order with `rng.randint` (a `np.random.RandomState`); returns `personPP_ACTION_dT`."""
    action = ACTIONS[rng.randint(len(ACTIONS))]
    person = rng.randint(TEST_PERSONS[0], TEST_PERSONS[-1] + 1)
    trial = rng.randint(1, 5)
    return f"person{person:02d}_{action}_d{trial}"


def original_test_clips(store: frame_store.FrameStore, length: int, num_clips: int = NUM_TEST_CLIPS,
               seed: int = TEST_SEED) -> tuple[np.ndarray, int]:
    """SRVP's KTH test clips of `length` frames from the test videos in `store`: (clips int64 [num_clips, 2]
    (video, start), skipped draws), `frame_store.scripted_clips` with `draw_test_video` (0 skipped: the
    original's clips when the videos have the same numbers of frames)."""
    names = [f"person{p:02d}_{a}_d{t}" for a in ACTIONS for p in TEST_PERSONS for t in range(1, 5)]
    return frame_store.scripted_clips(store, length, num_clips, seed, draw_test_video, names)


def read_kth_video(path: str) -> np.ndarray:
    """uint8 [T, 64, 64, 1]: every frame, as SRVP's preprocessing (see the module docstring)."""
    return video_files.read_video(path, channels=3, frame_transform=srvp_frame)


def srvp_frame(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> [64, 64, 1]: the red channel, resized with FFmpeg's default bicubic scaler."""
    return video_files.resize(frame[..., :1], FRAME_SIZE, "ffmpeg_bicubic")


def _find_files(root: str, suffix: str) -> list[str]:
    found = []
    for directory, _, names in os.walk(root):
        found.extend(os.path.join(directory, n) for n in names if n.lower().endswith(suffix))
    return found


def _manual_dir(dl_manager) -> str | None:
    try:
        path = dl_manager.manual_dir
    except AssertionError:  # TFDS: no manual directory given, or it does not exist
        return None
    return str(path) if os.path.isdir(str(path)) else None


def missing_manual_files(manual_dir: str) -> list[str]:
    """The official zips (`boxing.zip`, ...) whose action has neither its zip nor any of its avi files anywhere
    in `manual_dir`: all six for a folder without KTH files."""
    names = {os.path.basename(p).lower() for p in _find_files(manual_dir, ".zip")}
    actions = {parsed[1] for parsed in map(parse_name, _find_files(manual_dir, ".avi")) if parsed}
    return [f"{action}.zip" for action in ACTIONS if f"{action}.zip" not in names and action not in actions]


def _source_roots(dl_manager) -> list[str]:
    """Directories to search for avi files: the manual directory (zips extracted) when one is given, else the
    downloads. A manual directory without any KTH file is an error, never a download."""
    manual = _manual_dir(dl_manager)
    if manual:
        if len(missing_manual_files(manual)) == len(ACTIONS):
            raise FileNotFoundError(manual_files_message(manual))
        zips = sorted(_find_files(manual, ".zip"))
        extracted = dl_manager.extract(zips) if zips else []
        return [manual, *(str(p) for p in extracted)]
    downloaded = dl_manager.download_and_extract({action: f"{URL}{action}.zip" for action in ACTIONS})
    return [str(p) for p in downloaded.values()]


def manual_files_message(manual_dir: str) -> str:
    """Why `manual_dir` cannot be prepared: none of KTH's files is in it."""
    return (f"--manual_dir={manual_dir} holds none of KTH's files: put the official zips there "
            f"({', '.join(a + '.zip' for a in ACTIONS)}, from {URL}) or the avi files extracted from them "
            "(personPP_ACTION_dS_uncomp.avi), or leave --manual_dir out to download them when online. Nothing "
            "was downloaded.")


def data_source(cfg: config_lib.DataConfig):
    """The `--dataset=kth` DataSource (see the module docstring)."""
    tfds_store.check_channels("KTH", cfg.channels, 1)
    tfds_store.check_image_size("KTH", cfg.image_size, FRAME_SIZE)
    builder = Kth(data_dir=cfg.data_dir)
    tfds_store.require_prepared(builder, MISSING)
    train = tfds_store.cached_store(builder, "train", image_size=cfg.image_size, group_key="person")
    test = tfds_store.cached_store(builder, "test", image_size=cfg.image_size, group_key="person")
    clips, skipped = original_test_clips(test, cfg.conditioning_frames + cfg.test_horizon)
    split = validation_split(train.names, cfg.validation_fraction)
    description = (f"KTH (TFDS kth in {builder.data_dir}): {len(split['train'])} of {train.num_videos} train "
                   f"videos (persons 1-20; {len(split['validation'])} held out for validation, "
                   f"--validation_fraction={cfg.validation_fraction:g}, seed {splits.VALIDATION_SEED}), "
                   f"{len(clips)} test clips of {cfg.conditioning_frames + cfg.test_horizon} frames from "
                   f"{test.num_videos} test videos (persons 21-25, drawn as SRVP's make_test_set with "
                   f"np.random.seed({TEST_SEED})), {cfg.image_size}px")
    notes = [frame_store.skipped_note(skipped)] if skipped else []
    return store_source.make_store_source(train, test, cfg, test_clips=clips, description=description, what="KTH",
                                          train_videos=split["train"], validation_videos=split["validation"],
                                          comparability_notes=notes)
