"""Export of trained tfvideo models: SavedModel for TF Serving, TFLite for LiteRT.

    python -m tfvideo.export --workdir=RUN --format=saved_model|tflite [--quantize=none|float16|dynamic] \
        --export_dir=DIR

Library entry points: `export` (restore a workdir strictly and write one format), `load_trained_model`,
`signatures.endpoints` (the serving functions of any VideoPredictor), `saved_model.export_saved_model`,
`tflite.export_tflite` and `tflite.TFLiteModel` (a LiteRT runner with host-side input checks).
"""

from tfvideo.export.errors import ExportError
from tfvideo.export.lib import ExportResult, TrainedModel, export, load_trained_model

__all__ = ["ExportError", "ExportResult", "TrainedModel", "export", "load_trained_model"]
