"""Prediction CLI: futures of your own clip.

    python -m tfvideo.predict --workdir=RUN [--step=N] | --saved_model=DIR | --tflite=FILE --input=CLIP
        [--start_frame=0] [--context_frames=N] [--num_samples=8] [--horizon=N] [--dt=1/k] [--seed=0]
        --output=futures.gif|.mp4|.png|.npy [--uncertainty] [--overwrite] [--batch_samples=16]
        [--actions=ACTIONS.npy|.csv]  (action-conditioned models: docs/actions.md)

A thin main over `tfvideo.runtimes` (the model) and `tfvideo.prediction`: the output is checked first (its
extension, its folder, an existing file without --overwrite), then the model is loaded, the request checked
against it, the clip read through the run's preprocessing (`tfvideo.data.clips`), the futures sampled in batches
and the output written atomically.
Exit status 0 on success, 2 with one `error:` line on bad input, 130 when interrupted.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import config as config_lib  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo import validation  # noqa: E402
from tfvideo.utils import cli_logging  # noqa: E402

CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "workdir", None, "Trained run to sample from (the --workdir of tfvideo.train).")
CLI.define(flags.DEFINE_integer, "step", None, "With --workdir: the checkpoint of this step (default: the newest).")
CLI.define(flags.DEFINE_string, "saved_model", None, "Or: a SavedModel of python -m tfvideo.export "
                                                     "(<export_dir>/<model_name>[/<version>]; default: newest).")
CLI.define(flags.DEFINE_string, "tflite", None, "Or: a .tflite file of python -m tfvideo.export (its .tflite.json "
                                                "beside it).")
CLI.define(flags.DEFINE_string, "input", None, "The clip: a video file (mp4, avi, mov, mkv, webm, gif, ...), a "
                                               "folder of frames (png, jpg, ...) or an .npy of frames [T, H, W, C].")
CLI.define(flags.DEFINE_integer, "start_frame", 0, "First frame of the clip to use as context.")
CLI.define(flags.DEFINE_integer, "context_frames", None, "Context frames (default: the run's "
                                                         "--conditioning_frames).")
CLI.define(flags.DEFINE_integer, "num_samples", None, "Futures to sample (default: 8; a fixed-shape --tflite file: "
                                                     "its baked count, with its baked --horizon and --dt).")
CLI.define(flags.DEFINE_integer, "horizon", None, "Predicted frames at the training frame rate (default: the "
                                                  "run's --test_horizon).")
CLI.define(flags.DEFINE_float, "dt", None, "Euler step 1/k (SRVP: k frames per training frame); default: the "
                                           "training dt.")
CLI.define(flags.DEFINE_integer, "seed", 0, "Sampling seed: the same seed gives the same futures from a workdir, "
                                            "its SavedModel and its TFLite file.")
CLI.define(flags.DEFINE_string, "output", None, "File to write, by extension: .gif or .mp4 (animated grid), .png "
                                                "(contact sheet), .npy (float32 futures [S, F, H, W, C]).")
CLI.define(flags.DEFINE_bool, "uncertainty", False, "Add a panel of the per-pixel standard deviation across the "
                                                    "samples (.gif, .mp4, .png).")
CLI.define(flags.DEFINE_enum, "precision", "float32", "With --workdir: the dtype policy the model's convolutional "
           "networks sample with, float32 (the default) or a reduced precision where the machine has fast kernels for "
           "it (auto: see docs/performance.md).", enum_values=list(config_lib.PRECISIONS))
CLI.define(flags.DEFINE_bool, "overwrite", False, "Replace an existing --output file.")
CLI.define(flags.DEFINE_string, "actions", None, "Action-conditioned models only (and required by them): the actions "
           "[T, A] as .npy or .csv (one row per frame, raw), row 0 at the first context frame, at least context "
           "frames - 1 + horizon rows; row t moves frame t to t + 1.")
CLI.define(flags.DEFINE_integer, "batch_samples", 16, "Futures sampled per call (bounds the memory of the model).")
CLI.define(flags.DEFINE_float, "fps", 4.0, "Frames per second of .gif and .mp4 outputs.")


def _request(predict_lib):
    names = ("input", "num_samples", "horizon", "dt", "seed", "start_frame", "context_frames", "batch_samples",
             "actions")
    return predict_lib.Request(**{name: CLI.value(name) for name in names})


def _predict(errors, outputs, predict_lib, runtimes):
    """Checks, samples and writes; returns the summary line. Raises PredictError or runtimes.ModelError."""
    output = CLI.value("output")
    if not output:
        raise errors.PredictError("--output must name the file to write: futures.gif, .mp4, .png or .npy.")
    fps = validation.finite_number(CLI.value("fps"), "--fps", error=errors.PredictError, above=0, maximum=100)
    uncertainty = CLI.value("uncertainty")
    kind = outputs.check_output(output, overwrite=CLI.value("overwrite"), uncertainty=uncertainty)
    runtime = runtimes.open_runtime(workdir=CLI.value("workdir"), step=CLI.value("step"),
                                    saved_model=CLI.value("saved_model"), tflite=CLI.value("tflite"),
                                    precision=CLI.value("precision"))
    plan = predict_lib.plan(runtime.spec, _request(predict_lib))
    outputs.check_request(kind, plan, uncertainty=uncertainty)
    request = plan.request
    context = predict_lib.read_context(plan)
    print(f"Sampling {request.num_samples} futures of {plan.num_frames} frames from {runtime.spec.source}, context: "
          f"frames {request.start_frame}-{request.start_frame + request.context_frames - 1} of {request.input} "
          f"({runtime.spec.preprocessing.describe()}).", flush=True)
    prediction = predict_lib.predict(runtime, plan, context)
    try:
        outputs.write_prediction(output, kind, prediction, uncertainty=uncertainty, fps=fps,
                                 label=os.path.basename(request.input.rstrip(os.sep)))
    except OSError as error:  # the folder changed since the check
        raise errors.PredictError(f"--output={output}: cannot write it ({error.strerror or error}).") from None
    return (f"Wrote {output}: {request.num_samples} futures of {plan.num_frames} frames (seed {request.seed}), "
            f"sampled in {prediction.seconds:.1f} s.")


@cli_logging.interruptible("Interrupted: nothing was written.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    cli_logging.quiet_logs()
    from tfvideo import runtimes
    from tfvideo.prediction import errors, outputs, predict_lib
    try:
        print(_predict(errors, outputs, predict_lib, runtimes), flush=True)
    except (errors.PredictError, runtimes.ModelError) as error:
        cli_logging.report_error(error)
        return 2
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
