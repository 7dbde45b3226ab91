"""`ModelSpec`: what a runtime's model takes (frame geometry, context length, dt support, actions) and how a clip is
made its input (the preprocessing of the run's data), read from an export's metadata."""

from __future__ import annotations

import dataclasses

from tfvideo.data import clips


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What a request is checked against, and how a clip is made the model's input."""

    source: str  # e.g. "--workdir=runs/x (step 300)", for messages
    image_size: int
    channels: int
    min_context_frames: int
    dt_supported: bool  # False: a discrete-time model, dt = 1 only
    training_dt: float
    conditioning_frames: int | None  # the run's context length (None: unknown, --context_frames needed)
    test_horizon: int | None
    preprocessing: clips.Preprocessing
    action_size: int = 0  # A of an action-conditioned model (it needs actions), 0 for a model without actions
    static_shape: dict | None = None  # a fixed-shape TFLite file's baked request (StaticShape fields)

    @classmethod
    def of_metadata(cls, metadata: dict, source: str, image_size: int | None = None,
                    channels: int | None = None) -> "ModelSpec":
        """From an export's metadata (`export.lib.export_metadata`); `image_size` / `channels` when known from
        the model itself (a TFLite file without its metadata file)."""
        config = metadata.get("config")
        data = config.get("data") if isinstance(config, dict) else None
        data = data if isinstance(data, dict) else {}  # metadata without the run's config: the defaults
        image_size = int(metadata.get("image_size", image_size or 64))
        channels = int(metadata.get("channels", channels or 1))
        preprocessing = clips.Preprocessing.of_data_config({**data, "image_size": image_size, "channels": channels})
        return cls(source=source, image_size=image_size, channels=channels,
                   min_context_frames=int(metadata.get("min_context_frames", 1)),
                   dt_supported=bool(metadata.get("dt_supported", True)),
                   training_dt=float(metadata.get("training_dt", 1.0)),
                   conditioning_frames=data.get("conditioning_frames"), test_horizon=data.get("test_horizon"),
                   preprocessing=preprocessing, action_size=int(metadata.get("action_size", 0)),
                   static_shape=metadata.get("static_shape") if isinstance(metadata.get("static_shape"), dict)
                   else None)
