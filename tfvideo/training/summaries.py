"""TensorBoard summaries: scalars and animated sample videos (GIFs in the image dashboard)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorboard.plugins.image import metadata as image_metadata

from tfvideo.utils import video_io


def write_scalars(writer, values: dict[str, float], step: int, prefix: str = "") -> None:
    with writer.as_default():
        for name, value in values.items():
            tf.summary.scalar(prefix + name, float(value), step=step)


def write_video(writer, tag: str, frames: np.ndarray, step: int, description: str = "") -> None:
    """Writes uint8 [T, H, W, 3] frames as an animated GIF that TensorBoard's image dashboard plays."""
    gif = video_io.encode_gif(frames, scale=1)
    metadata = image_metadata.create_summary_metadata(display_name=tag, description=description)
    tensor = tf.stack([tf.as_string(frames.shape[2]), tf.as_string(frames.shape[1]), tf.constant(gif)])
    with writer.as_default():
        tf.summary.write(tag, tensor, step=step, metadata=metadata)
