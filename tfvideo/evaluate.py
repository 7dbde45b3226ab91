"""Evaluation CLI: `python -m tfvideo.evaluate --workdir=RUN [--checkpoint=final|best] [--num_samples=N]
[--num_videos=N] [--dt=...] [--horizon=...] [--output_dir=DIR] [--compare=RUN1,RUN2] [--zeroed_groups=2,3]
[--saved_model=DIR | --tflite=FILE | --baseline=NAME]`.

A thin main over `tfvideo.evaluation.eval_lib` (protocol, resume, results files) and `tfvideo.evaluation.report`
(curves, sample grids and GIFs, SRVP analyses, comparisons). Writes to --output_dir (default
<workdir>/eval/<settings>/): results.json, results.md, videos/ (per-video records, for resuming), curves.png,
samples_*.png/.gif and analyses/. With --compare, every run is evaluated (or its finished evaluation reused)
and compare.md / compare.png go to --output_dir (default <first run>/eval/compare/). Exit status: 0 done, 2 bad
input, 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo.utils import cli_logging  # noqa: E402
from tfvideo import config as config_lib  # noqa: E402
from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo import validation  # noqa: E402

CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "workdir", None, "Training run to evaluate (the --workdir given to tfvideo.train).")
CLI.define(flags.DEFINE_integer, "num_samples", None, "Futures sampled per test video (best of N). Default: the "
                                                      "run's --test_samples (100; 1 for deterministic Moving MNIST).")
CLI.define(flags.DEFINE_integer, "num_videos", None, "Test videos to evaluate, from the first (default: all).")
CLI.define(flags.DEFINE_float, "dt", None, "Euler step 1/k at test time (default: the training dt).")
CLI.define(flags.DEFINE_integer, "horizon", None, "Predicted frames (default: the run's --test_horizon).")
CLI.define(flags.DEFINE_integer, "conditioning_frames", None, "Context frames (default: the run's "
                                                              "--conditioning_frames).")
CLI.define(flags.DEFINE_integer, "seed", 0, "Sampling seed; test video i uses the seed of draw i from it "
                                            "(docs/predict.md#seeds: --seed itself for video 0).")
CLI.define(flags.DEFINE_integer, "batch_size", 16, "Test videos generated and held in memory at a time.")
CLI.define(flags.DEFINE_string, "data_dir", None, "Overrides the run's --data_dir.")
CLI.define(flags.DEFINE_enum, "baseline", None, "Evaluate a baseline instead of the model: last_frame repeats the "
                                                "last conditioning frame, black predicts all-zero frames.",
           enum_values=["last_frame", "black"])
CLI.define(flags.DEFINE_string, "tflite", None, "Evaluate this .tflite export of the run (python -m tfvideo.export "
                                                "--format=tflite) instead of its checkpoint, with the same protocol.")
CLI.define(flags.DEFINE_string, "saved_model", None, "Evaluate this SavedModel export of the run (python -m "
           "tfvideo.export; <export_dir>/<model_name> for its newest version, or a version folder) instead of its "
           "checkpoint, with the same protocol.")
CLI.define(flags.DEFINE_bool, "allow_other_run", False, "Score a --tflite file or --saved_model that was not exported "
                                                       "from --workdir (or whose origin is unknown); the results name "
                                                       "its origin.")
CLI.define(flags.DEFINE_string, "lpips_weights", None, "LPIPS weights: AlexNet and v0.1 heads files, comma-"
                                                       "separated (see tfvideo/lpips.py). Default: no LPIPS.")
CLI.define(flags.DEFINE_string, "fvd_weights", None, "FVD: I3D state dict file (see tfvideo/fvd.py). Default: "
                                                     "no FVD.")
CLI.define(flags.DEFINE_string, "output_dir", None, "Where results and figures go (default: "
                                                    "<workdir>/eval/<settings>/; with --compare: the comparison).")
CLI.define(flags.DEFINE_list, "compare", [], "Runs (workdirs, or finished evaluations: results.json or its "
                                             "directory) to compare: one curve and one table row each.")
CLI.define(flags.DEFINE_enum, "precision", "float32", "Dtype policy the model's convolutional networks sample with: "
           "float32 (the default) or a reduced precision where the machine has fast kernels for it (auto: see "
           "docs/performance.md). Part of the output folder's name and of results.json.",
           enum_values=list(config_lib.PRECISIONS))
CLI.define(flags.DEFINE_enum, "checkpoint", "final", "Weights to evaluate: final (the newest training checkpoint, as "
           "the original's test script) | best (the best validation score's, kept by training in "
           "<workdir>/best_checkpoint/). Part of the output folder's name (beststepN) and of results.json.",
           enum_values=list(config_lib.CHECKPOINTS))
CLI.define(flags.DEFINE_list, "zeroed_groups", [], "HAF-SVG runs: groups of z (numbered 1..G, e.g. 2,3) fixed to "
           "zero in every predicted frame, the paper's ablation (its Figure 8). Part of the output folder's name, "
           "the results' label and results.json.")
CLI.define(flags.DEFINE_bool, "figures", True, "Write curves, sample grids/GIFs and (SRVP) analyses.")
CLI.define(flags.DEFINE_integer, "figure_videos", 4, "Test videos shown in sample grids and GIFs.")


def _options(eval_lib):
    names = ("num_samples", "num_videos", "dt", "horizon", "conditioning_frames", "seed", "batch_size", "baseline",
             "tflite", "saved_model", "allow_other_run", "lpips_weights", "fvd_weights", "data_dir", "output_dir",
             "precision", "checkpoint")
    return eval_lib.EvalOptions(**{name: CLI.value(name) for name in names},
                                zeroed_groups=tuple(CLI.value("zeroed_groups")))


def _evaluate_run(run: str, options, eval_lib, report) -> dict:
    """Evaluates one workdir (resuming), writes its figures and prints its table; returns the results."""
    from tfvideo.evaluation import results as results_lib
    setup = eval_lib.prepare(run, options)
    print(f"Evaluating {run} on {setup.num_videos} test videos ({setup.spec['dataset']['description']}); "
          f"output: {setup.output_dir}", flush=True)
    started = time.time()
    results = eval_lib.evaluate(run, setup=setup)
    elapsed = time.time() - started
    print(results_lib.markdown_report([results]), flush=True)
    if CLI.value("figures"):
        written = report.write_evaluation_figures(setup, results, CLI.value("figure_videos"))
        print(f"Figures: {', '.join(os.path.relpath(p, setup.output_dir) for p in written)}", flush=True)
    print(f"Results: {os.path.join(setup.output_dir, eval_lib.RESULTS_FILE)} (evaluation took {elapsed:.1f} s)",
          flush=True)
    return results


@cli_logging.interruptible("Interrupted (Ctrl-C); rerun the same command to resume.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    cli_logging.quiet_logs()
    import dataclasses

    from tfvideo.evaluation import eval_lib, report
    from tfvideo.evaluation import results as results_lib
    workdir = CLI.value("workdir")
    runs = ([workdir] if workdir else []) + [r for r in CLI.value("compare") if r and r != workdir]
    if not runs:
        print("error: --workdir must name the training run to evaluate (or give runs with --compare).",
              file=sys.stderr)
        return 2
    if CLI.given("compare") and len(runs) < 2:
        print(f"error: --compare needs at least two runs or evaluations to compare (got {', '.join(runs) or 'none'})"
              "; to evaluate one run, pass it as --workdir alone.", file=sys.stderr)
        return 2
    options = _options(eval_lib)
    try:
        if CLI.value("figures"):
            validation.positive_int(CLI.value("figure_videos"), "--figure_videos", error=eval_lib.EvalError)
        if len(runs) > 1 and options.output_dir:  # the comparison's folder, before the evaluations
            eval_lib.check_output_dir(options.output_dir, given=True)
        all_results = []
        for run in runs:
            if not os.path.exists(os.path.join(run, "config.json")) and (
                    run.endswith(".json") or os.path.exists(os.path.join(run, eval_lib.RESULTS_FILE))):
                all_results.append(eval_lib.load_results(run))
                continue
            run_options = options if len(runs) == 1 else dataclasses.replace(options, output_dir=None)
            all_results.append(_evaluate_run(run, run_options, eval_lib, report))
        if len(all_results) > 1:
            output_dir = options.output_dir or os.path.join(all_results[0]["workdir"], "eval", "compare")
            eval_lib.check_output_dir(output_dir, given=options.output_dir is not None)
            written = report.write_comparison(all_results, output_dir)
            print(results_lib.markdown_report(all_results) + f"Comparison: {', '.join(written)}", flush=True)
    except eval_lib.EvalError as error:
        cli_logging.report_error(error)
        return 2
    except OSError as error:  # a figure or table that cannot be written (disk full, permissions changed)
        cli_logging.report_error(f"Cannot write {error.filename or 'a file'} ({error.strerror or error}): free disk "
                                 "space or fix the folder's permissions, then rerun the same command (finished "
                                 "videos are kept).")
        return 2
    except KeyboardInterrupt:
        print("Interrupted: finished videos are saved; rerun the same command to resume.", file=sys.stderr)
        return 130
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
