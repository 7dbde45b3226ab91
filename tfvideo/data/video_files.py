"""Decoding videos from files: mp4/avi/... (OpenCV's bundled FFmpeg), GIF (Pillow) and folders of frames.

Every reader returns uint8 frames [T, H, W, C] with C = 1 (grayscale) or 3 (RGB), and raises `VideoReadError`
naming the file and the reason when nothing can be decoded. `frame_transform` is applied to each kept frame as
it is decoded, so large videos (e.g. 1000x1000 Human3.6M) never sit in memory at full size.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Callable

import numpy as np

from tfvideo.data.errors import VideoReadError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
GIF_EXTENSIONS = (".gif",)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

FrameTransform = Callable[[np.ndarray], np.ndarray]  # uint8 [H, W, C] -> uint8 [h, w, C]


def is_video_file(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTENSIONS + GIF_EXTENSIONS)


def is_image_file(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def read_video(path: str, *, channels: int = 3, every: int = 1,
               frame_transform: FrameTransform | None = None) -> np.ndarray:
    """Decodes a video file or a folder of frames.

    Args:
      path: an mp4/avi/mov/mkv/webm/... or gif file, or a directory of image files (sorted by name, numbers
        compared numerically: frame2 before frame10).
      channels: 1 (grayscale) or 3 (RGB).
      every: keep one frame in `every` (frames 0, every, 2 * every, ...).
      frame_transform: applied to each kept frame (uint8 [H, W, channels]).

    Returns:
      uint8 [T, h, w, channels], T >= 1.

    Raises:
      VideoReadError: the file cannot be opened or holds no decodable frame.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels!r}.")
    if every < 1:
        raise ValueError(f"every must be >= 1; got {every!r}.")
    if os.path.isdir(path):
        frames = _read_frame_folder(path, channels, every, frame_transform)
    elif path.lower().endswith(GIF_EXTENSIONS):
        frames = _read_gif(path, channels, every, frame_transform)
    else:
        frames = _read_with_opencv(path, channels, every, frame_transform)
    if not frames:
        raise VideoReadError(f"{path}: no decodable frame.")
    shapes = {frame.shape for frame in frames}
    if len(shapes) != 1:
        raise VideoReadError(f"{path}: frames of different sizes {sorted(shapes)}.")
    return np.stack(frames)


def _finish(frame: np.ndarray, transform: FrameTransform | None) -> np.ndarray:
    frame = frame if frame.ndim == 3 else frame[..., None]
    if transform is not None:
        frame = transform(frame)
        frame = frame if frame.ndim == 3 else frame[..., None]
    return np.ascontiguousarray(frame, dtype=np.uint8)


def _read_with_opencv(path: str, channels: int, every: int, transform) -> list[np.ndarray]:
    import cv2  # pylint: disable=g-import-not-at-top

    if not os.path.isfile(path):
        raise VideoReadError(f"{path}: no such file.")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise VideoReadError(f"{path}: not a video OpenCV/FFmpeg can open (corrupt or unsupported codec).")
    frames, index = [], 0
    try:
        while True:
            if index % every:
                if not capture.grab():
                    break
            else:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                code = cv2.COLOR_BGR2GRAY if channels == 1 else cv2.COLOR_BGR2RGB
                frames.append(_finish(cv2.cvtColor(frame, code), transform))
            index += 1
    except cv2.error as err:
        raise VideoReadError(f"{path}: decoding failed at frame {index}: {err}") from err
    finally:
        capture.release()
    return frames


def _pil_to_array(image, channels: int) -> np.ndarray:
    return np.asarray(image.convert("L" if channels == 1 else "RGB"))


def convert_channels(frame: np.ndarray, channels: int) -> np.ndarray:
    """uint8 [H, W, 1 or 3] -> uint8 [H, W, channels]: grayscale or RGB as GIFs and frame folders are read
    (Pillow's conversion, ITU-R 601-2 luma for grayscale)."""
    from PIL import Image  # pylint: disable=g-import-not-at-top

    image = Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
    out = _pil_to_array(image, channels)
    return out if out.ndim == 3 else out[..., None]


def _read_gif(path: str, channels: int, every: int, transform) -> list[np.ndarray]:
    from PIL import Image, ImageSequence  # pylint: disable=g-import-not-at-top

    try:
        with Image.open(path) as image:
            return [_finish(_pil_to_array(frame, channels), transform)
                    for i, frame in enumerate(ImageSequence.Iterator(image)) if i % every == 0]
    except (OSError, ValueError, SyntaxError) as err:  # PIL raises these for corrupt or truncated files
        raise VideoReadError(f"{path}: not a readable GIF ({err}).") from err


def natural_key(name: str) -> list:
    """Sort key comparing digit runs as numbers: frame2.png < frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_frame_folder(path: str, channels: int, every: int, transform) -> list[np.ndarray]:
    from PIL import Image  # pylint: disable=g-import-not-at-top

    names = sorted((n for n in os.listdir(path) if is_image_file(n) and not n.startswith(".")), key=natural_key)
    frames = []
    for name in names[::every]:
        try:
            with Image.open(os.path.join(path, name)) as image:
                frames.append(_finish(_pil_to_array(image, channels), transform))
        except (OSError, ValueError, SyntaxError) as err:
            raise VideoReadError(f"{os.path.join(path, name)}: not a readable image ({err}).") from err
    return frames


def center_crop_square(frame: np.ndarray) -> np.ndarray:
    """The largest centred square of a frame [H, W, C]."""
    height, width = frame.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return frame[top:top + side, left:left + side]


def square_frame(frame: np.ndarray, size: int) -> np.ndarray:
    """The `--dataset=folder` frame rule: the largest centred square of a frame [H, W, C], resized to
    [size, size, C] with OpenCV INTER_AREA."""
    return resize(center_crop_square(frame), size, "area")


def resize(frame: np.ndarray, size: int, method: str = "area") -> np.ndarray:
    """Resizes a uint8 frame [H, W, C] to [size, size, C] (aspect ratio not kept).

    method: "area" (OpenCV INTER_AREA, good for shrinking), "lanczos" (Pillow LANCZOS, as SRVP's Human3.6M) or
      "ffmpeg_bicubic" (FFmpeg's default scaler, as `ffmpeg -s 64x64` in SRVP's KTH preprocessing; see
      `ffmpeg_bicubic_weights`).
    """
    if frame.shape[0] == size and frame.shape[1] == size:
        return frame
    if method == "ffmpeg_bicubic":
        rows, cols = ffmpeg_bicubic_weights(frame.shape[0], size), ffmpeg_bicubic_weights(frame.shape[1], size)
        out = np.einsum("oh,hwc,pw->opc", rows, frame.astype(np.float64), cols, optimize=True)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if method == "lanczos":
        from PIL import Image  # pylint: disable=g-import-not-at-top

        image = Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame)
        out = np.asarray(image.resize((size, size), Image.Resampling.LANCZOS))
    elif method == "area":
        import cv2  # pylint: disable=g-import-not-at-top

        out = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
    else:
        raise ValueError(f"method must be 'area', 'lanczos' or 'ffmpeg_bicubic'; got {method!r}.")
    return out if out.ndim == 3 else out[..., None]


@functools.lru_cache(maxsize=32)
def ffmpeg_bicubic_weights(num_in: int, num_out: int) -> np.ndarray:
    """float64 [num_out, num_in]: the resampling matrix of FFmpeg's default (swscale "bicubic") scaler along one axis.

    The kernel is the cubic with B = 0, C = 0.6 (swscale's defaults; Keys' a = -0.6, Pillow's BICUBIC uses -0.5),
    stretched by num_in / num_out when shrinking so that it averages like an anti-aliasing filter; pixel
    centres are aligned (output i sits at input (i + 0.5) * num_in / num_out - 0.5); taps past the border fall
    on the border pixel; each row sums to 1. swscale computes in fixed point, so its frames can differ from
    these by about one level.
    """
    scale = num_in / num_out
    width = max(scale, 1.0)
    centres = (np.arange(num_out) + 0.5) * scale - 0.5
    reach = int(np.ceil(2 * width)) + 1
    taps = np.arange(-reach, num_in + reach)
    weights = _cubic((taps[None, :] - centres[:, None]) / width, -0.6)
    weights /= weights.sum(axis=1, keepdims=True)
    matrix = np.zeros((num_out, num_in))
    for column, tap in enumerate(np.clip(taps, 0, num_in - 1)):
        matrix[:, tap] += weights[:, column]
    return matrix


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter a (support [-2, 2])."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))
