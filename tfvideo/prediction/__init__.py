"""Futures of a user's own clip: `python -m tfvideo.predict`, from a trained run, a SavedModel or a TFLite file.

Where futures come from (`open_runtime`: --workdir | --saved_model | --tflite) is `tfvideo.runtimes`, the one
road from a model to its futures that `evaluate` takes too (`runtimes` here re-exports it).
- `predict_lib`: a request checked against the model (`plan`), the clip read through the run's preprocessing
  (`tfvideo.data.clips`), futures sampled in batches (`predict`).
- `outputs`: what is written, by extension (.gif/.mp4 grid, .png contact sheet, .npy frames), checked before
  the work (`check_output`) and written atomically (`write_prediction`).
"""
