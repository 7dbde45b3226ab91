"""Futures of a user's own clip: `python -m tfvideo.predict`, from a trained run, a SavedModel or a TFLite file.

- `runtimes`: where futures come from (`open_runtime`: --workdir | --saved_model | --tflite), one interface.
- `predict_lib`: a request checked against the model (`plan`), the clip read through the run's preprocessing
  (`tfvideo.data.clips`), futures sampled in batches (`predict`).
- `outputs`: what is written, by extension (.gif/.mp4 grid, .png contact sheet, .npy frames), checked before
  the work (`check_output`) and written atomically (`write_prediction`).
"""
