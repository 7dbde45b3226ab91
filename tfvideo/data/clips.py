"""A user's clip as a trained model sees it: frames read from a video file, a GIF, a folder of frames or an .npy,
through the frame preprocessing of the dataset the run was trained on.

`tfvideo.predict` and the client scripts of `export/` read their inputs here, so a clip is never fed in
another geometry than training used. The frame rule of a run (`Preprocessing.of_data_config`, from the run's
config or the export metadata, which holds it):

- `--dataset=kth`: KTH's rule (`kth.srvp_frame`): the red channel of the RGB frame, the whole frame resized to
  64x64 with FFmpeg's bicubic scaler (aspect ratio not kept, as KTH's 160x120 videos were).
- `--dataset=human36m`: Human3.6M's rule (`human36m.crop_and_resize`): SRVP's crop box of the 1000x1000
  videos, then Lanczos to 64x64 RGB; smaller frames are refused.
- every other dataset: the folder dataset's rule (`video_files.square_frame`): the largest centred square,
  resized to `--image_size` with INTER_AREA, in grayscale (`--channels=1`) or RGB (`--channels=3`). SM-MNIST,
  Moving MNIST and BAIR store square frames at the model's size, which this rule leaves unchanged.

Video files, GIFs and frame folders are decoded by `video_files.read_video`, the folder dataset's decoder.
An .npy holds frames [T, H, W], [T, H, W, C] or [B, T, H, W, C] (uint8, or floats in [0, 1]); frames that
already have the model's size and channels are used as they are (floats exactly), others are quantised to
uint8 and go through the same rule (C = 1 or 3). Every problem raises ClipError naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os

import numpy as np

from tfvideo import validation
from tfvideo.data import video_files
from tfvideo.data.errors import VideoReadError
from tfvideo.utils import memory

NPY_EXTENSIONS = (".npy",)
# Datasets whose frames were made from video files by a rule of their own: the module and function of the rule
# (uint8 RGB [H, W, 3] -> [64, 64, C]). Imported when a clip for such a run is read, because these modules
# import tensorflow_datasets, which the client scripts otherwise do without.
DATASET_RULES = {"kth": ("tfvideo.data.kth", "srvp_frame"), "human36m": ("tfvideo.data.human36m", "crop_and_resize")}


class ClipError(ValueError):
    """A clip cannot be read as the model's input; the message names the file, the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """The frame rule of a run: its frame size, channels and the dataset whose rule applies."""

    image_size: int
    channels: int
    dataset: str = "folder"

    @classmethod
    def of_data_config(cls, data) -> "Preprocessing":
        """From a DataConfig or its dict (the "data" section of config.json or of the export metadata)."""
        get = data.get if isinstance(data, dict) else lambda name, default=None: getattr(data, name, default)
        return cls(int(get("image_size", 64)), int(get("channels", 1)), str(get("dataset", "folder")))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.image_size, self.image_size, self.channels)

    def describe(self) -> str:
        if self.dataset in DATASET_RULES:
            module, function = DATASET_RULES[self.dataset]
            return f"the {self.dataset} rule ({module.rsplit('.', 1)[-1]}.{function})"
        color = "grayscale" if self.channels == 1 else "RGB"
        return f"centre square resized to {self.image_size}x{self.image_size}, {color}"

    def decode_channels(self) -> int:
        """Channels to decode files in, before the frame rule."""
        return 3 if self.dataset in DATASET_RULES else self.channels

    def frame_transform(self) -> video_files.FrameTransform:
        """uint8 [H, W, decode_channels()] -> uint8 [image_size, image_size, channels]."""
        if self.dataset in DATASET_RULES:
            module, function = DATASET_RULES[self.dataset]
            return getattr(importlib.import_module(module), function)
        return functools.partial(video_files.square_frame, size=self.image_size)


def read_clips(path: str, preprocessing: Preprocessing, *, start_frame: int = 0, num_frames: int | None = None,
               flag: str = "--input") -> np.ndarray:
    """float32 [B, T, H, W, C] in [0, 1]: frames start_frame .. start_frame + num_frames - 1 (all from start_frame
    with None) of the clip(s) at `path`, in the model's geometry. B > 1 only for an .npy of [B, T, H, W, C].
    `flag` names the path in messages."""
    if isinstance(start_frame, (bool, np.bool_)) or not isinstance(start_frame, (int, np.integer)) \
            or start_frame < 0:
        raise ClipError(f"--start_frame must be a whole number >= 0; got {start_frame!r}.")
    if num_frames is not None:
        validation.positive_int(num_frames, "--context_frames", error=ClipError)
    if not path:
        raise ClipError(f"{flag} must name a clip: a video file (mp4, avi, mov, gif, ...), a folder of frames or an "
                        ".npy.")
    if not os.path.exists(path):
        raise ClipError(f"{flag}={path}: no such file or folder.")
    if path.lower().endswith(NPY_EXTENSIONS):
        clips = _read_npy(path, preprocessing, start_frame, num_frames, flag)
    else:
        clips = _read_video(path, preprocessing, start_frame, num_frames, flag)[None]
    if clips.shape[2:] != preprocessing.shape:  # a dataset rule that does not give the run's frames
        raise ClipError(f"{flag}={path}: frames of shape {clips.shape[2:]} after {preprocessing.describe()}; "
                        f"the model takes {preprocessing.shape}.")
    return clips


def read_clip(path: str, preprocessing: Preprocessing, *, start_frame: int = 0, num_frames: int | None = None,
              flag: str = "--input") -> np.ndarray:
    """`read_clips` of a path that holds one clip: float32 [T, H, W, C]."""
    clips = read_clips(path, preprocessing, start_frame=start_frame, num_frames=num_frames, flag=flag)
    if clips.shape[0] != 1:
        raise ClipError(f"{flag}={path} holds {clips.shape[0]} videos [B, T, H, W, C]; give one clip: [T, H, W, C] "
                        "(e.g. np.save(path, videos[0])).")
    return clips[0]


def _window(length: int, start_frame: int, num_frames: int | None, what: str) -> slice:
    """The frames to keep of a clip of `length` frames; ClipError when it is too short."""
    needed = start_frame + (num_frames or 1)
    if length < needed:
        asked = f"{num_frames or 1} context frame(s) from frame {start_frame} need {needed}"
        earlier = ", an earlier --start_frame" if start_frame else ""
        raise ClipError(f"{what} has {length} frame(s); {asked}. Give a longer clip{earlier} or fewer "
                        "--context_frames (down to the model's minimum).")
    return slice(start_frame, None if num_frames is None else start_frame + num_frames)


def _read_video(path: str, preprocessing: Preprocessing, start_frame: int, num_frames: int | None,
                flag: str) -> np.ndarray:
    """float32 [T, H, W, C] of a video file, GIF or frame folder, decoded as the folder dataset does."""
    if not (os.path.isdir(path) or video_files.is_video_file(path)):
        names = lambda extensions: ", ".join(e.lstrip(".") for e in extensions)
        raise ClipError(f"{flag}={path}: not a clip tfvideo reads. Give a video file "
                        f"({names(video_files.VIDEO_EXTENSIONS + video_files.GIF_EXTENSIONS)}), a folder of frames "
                        f"({names(video_files.IMAGE_EXTENSIONS)}) or an .npy of frames.")
    try:
        frames = video_files.read_video(path, channels=preprocessing.decode_channels(),
                                        frame_transform=preprocessing.frame_transform())
    except VideoReadError as error:
        raise ClipError(f"{flag}: cannot read the clip: {error}") from None
    except Exception as error:  # pylint: disable=broad-except  (a decoder failing on a damaged file)
        raise ClipError(f"{flag}: cannot read the clip {path}: {type(error).__name__}: {error}") from None
    frames = frames[_window(len(frames), start_frame, num_frames, f"{flag}={path}")]
    return frames.astype(np.float32) / 255.0


def _read_npy(path: str, preprocessing: Preprocessing, start_frame: int, num_frames: int | None,
              flag: str) -> np.ndarray:
    """float32 [B, T, H, W, C] of an .npy of frames (see the module docstring)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ClipError(f"{flag}={path}: not a readable .npy of frames ({error}).") from None
    if not isinstance(array, np.ndarray) or array.ndim not in (3, 4, 5):
        shape = getattr(array, "shape", "an archive")
        raise ClipError(f"{flag}={path}: expected frames [T, H, W], [T, H, W, C] or [B, T, H, W, C]; got {shape}.")
    array = array[None, ..., None] if array.ndim == 3 else array[None] if array.ndim == 4 else array
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ClipError(f"{flag}={path}: frames must be uint8 (0-255) or floats in [0, 1]; got dtype {array.dtype}.")
    array = array[:, _window(array.shape[1], start_frame, num_frames, f"{flag}={path}")]
    problem = memory.memory_problem(array.size * memory.FLOAT32, memory.available_bytes(), f"{flag}={path}",
                                    "use fewer frames or videos")
    if problem:
        raise ClipError(problem)
    array = np.array(array)  # out of the memory map: only the frames kept are read
    if array.dtype != np.uint8:
        if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
            raise ClipError(f"{flag}={path}: float frames must be finite and lie in [0, 1]; got min "
                            f"{np.min(array):g}, max {np.max(array):g} (nan if any is NaN). Divide uint8 frames by "
                            "255.")
        if array.shape[2:] == preprocessing.shape:
            return array.astype(np.float32)
        array = np.round(array * 255.0).astype(np.uint8)
    if array.shape[2:] == preprocessing.shape:
        return array.astype(np.float32) / 255.0
    if array.shape[-1] not in (1, 3):
        raise ClipError(f"{flag}={path}: frames with {array.shape[-1]} channels; the model uses "
                        f"{preprocessing.channels} and converts only from 1 (grayscale) or 3 (RGB).")
    transform = preprocessing.frame_transform()
    channels = preprocessing.decode_channels()
    try:
        out = np.stack([np.stack([transform(video_files.convert_channels(frame, channels)) for frame in video])
                        for video in array])
    except (VideoReadError, ValueError) as error:
        raise ClipError(f"{flag}={path}: {error}") from None
    out = out if out.ndim == 5 else out[..., None]
    return out.astype(np.float32) / 255.0
