"""Evaluation of a trained run (or a baseline) on its dataset's fixed test set, by the papers' protocol.

For each test video i (conditioning frames x_1..x_Tc, true future x_Tc+1..x_Tc+F):

1. draw N futures with seed `noise.draw_seed(seed, i)` (`tfvideo.models.noise`: `seed` for video 0, a hash of
   (seed, i) for the others), so results do not depend on batching, resuming or num_videos;
2. per sample and predicted frame (conditioning frames excluded): PSNR, SSIM (and LPIPS with weights);
3. per metric independently keep the best sample by its mean over the F frames (max PSNR, max SSIM,
   min LPIPS), and record that sample's per-frame curve [F] (and FVD's I3D features with FVD weights:
   real = context + truth, fake = context + the first sample).

Each video's record is written atomically to `<output_dir>/videos/<i>.json` as soon as it is done, so an
interrupted evaluation resumes where it stopped; `<output_dir>/spec.json` pins what the records depend on
(checkpoint, N, horizon, dt, seed, dataset, metric versions and weights) and a mismatch is refused. The results
(`results.json`, `results.md`) are computed from the records of videos 0..num_videos-1 only: mean +- 1.96 *
std / sqrt(num_videos) over videos of each metric's per-video mean, and the same per time step.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import sys
from typing import Callable

import numpy as np
import tensorflow as tf

from tfvideo import config as config_lib
from tfvideo import runs, runtimes, validation
from tfvideo.evaluation import metrics as metrics_lib
from tfvideo.evaluation import predictors
from tfvideo.evaluation.results import FORMAT, aggregate, markdown_report
from tfvideo.models import noise, requests
from tfvideo.utils import files, locks, memory
from tfvideo.utils.progress import Progress

RESULTS_FILE, TABLE_FILE, SPEC_FILE, VIDEOS_DIR = "results.json", "results.md", "spec.json", "videos"
BASELINES = predictors.BASELINES
PROGRESS_SECONDS = 10.0  # at most one progress line per 10 s in logs (every video on a terminal)


class EvalError(RuntimeError):
    """An evaluation cannot run as asked; the message names the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    num_samples: int | None = None  # None: the run's data.test_samples
    num_videos: int | None = None  # None: the whole test set
    dt: float | None = None  # None: the training dt
    horizon: int | None = None  # None: the run's data.test_horizon
    conditioning_frames: int | None = None  # None: the run's data.conditioning_frames
    seed: int = 0  # video i uses noise.draw_seed(seed, i)
    batch_size: int = 16  # test videos generated and held in memory at a time
    baseline: str | None = None  # a name in BASELINES: evaluate it instead of the model
    tflite: str | None = None  # a .tflite export of the run: evaluate it instead of the checkpoint (predictors.py)
    saved_model: str | None = None  # a SavedModel export of the run (its version folder or <export_dir>/<name>): idem
    allow_other_run: bool = False  # score an export of another run (or of unknown origin)
    lpips_weights: str | None = None  # comma-separated weight files (see tfvideo/lpips.py)
    fvd_weights: str | None = None  # I3D state dict (see tfvideo/fvd.py)
    data_dir: str | None = None  # overrides the run's data.data_dir
    output_dir: str | None = None  # default: <workdir>/eval/<tag>
    precision: str = "float32"  # dtype policy the model samples with (tfvideo.perf.precision); part of the tag
    checkpoint: str = "final"  # config.CHECKPOINTS: the final checkpoint or the best validation score's
    zeroed_groups: tuple = ()  # HAF-SVG's ablation: groups of z (1..G) fixed to zero; part of the tag


@dataclasses.dataclass
class Setup:
    """Everything one evaluation resolved from a workdir and the options."""

    workdir: str
    config: config_lib.Config  # the run's config
    options: EvalOptions
    source: object  # DataSource of the test set (with the evaluation's conditioning frames and horizon)
    # (context [Tc, H, W, C], video index) -> [S, F, H, W, C]; an action-conditioned run's also gets the video's
    # actions [T, A] as a third argument
    predict: Callable[..., np.ndarray]
    spec: dict  # what the per-video records depend on
    output_dir: str
    num_videos: int
    model: object = None  # the restored VideoPredictor (None for a baseline)
    lpips: object = None
    i3d: object = None

    @property
    def metric_names(self) -> list[str]:
        return ["psnr", "ssim"] + (["lpips"] if self.lpips is not None else [])


# ------------------------------------------------------------------------------------------------ setup


def _check_positive(name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    validation.positive_int(value, f"--{name}", error=EvalError)


def _check_sampling(options: EvalOptions, num_videos: int) -> None:
    """--dt is 1/k (`validation.steps_per_frame`), and --seed an int32 (the videos' seeds drawn from it are)."""
    if options.dt is not None:
        validation.steps_per_frame(options.dt, "--dt", error=EvalError)
    validation.int32_seed(options.seed, "--seed", error=EvalError)


def _load_predictor(workdir: str, options: EvalOptions, config):
    """(model or None, predict function, description dict) for the options' model, export or baseline."""
    if _check_predictor_options(options):
        return predictors.export_predictor(options, config, EvalError, workdir)
    if options.baseline is not None:
        return predictors.baseline_predictor(options, config, EvalError)
    try:
        run = runtimes.TrainedRun(workdir, precision=options.precision, checkpoint=options.checkpoint)
    except runtimes.ModelError as error:
        raise EvalError(str(error)) from None
    model, trained = run.model, run.trained
    dt = config.model.dt if options.dt is None else options.dt
    horizon = options.horizon or config.data.test_horizon
    requests.for_model(model, options.num_samples, horizon, dt, flags=True, error=EvalError)
    zeroed = _zeroed_groups(model, options.zeroed_groups)
    run.sample_options = {"zeroed_groups": zeroed} if zeroed else {}
    sample = predictors.sampler(run, options, horizon, dt, EvalError)
    described = {"predictor": "model", "checkpoint": os.path.abspath(trained.checkpoint),
                 "checkpoint_step": trained.step, **({"zeroed_groups": list(zeroed)} if zeroed else {})}
    if trained.precision != "float32":  # float32 evaluations keep the spec (and folder) they always had
        described["precision"] = trained.precision
    if options.checkpoint != "final":  # so do evaluations of the final checkpoint
        described["checkpoint_choice"] = options.checkpoint
    return model, sample, described


def _check_predictor_options(options: EvalOptions) -> bool:
    """EvalError for options that do not go together (one predictor; the checkpoint's options with an export or a
    baseline); True when the predictor is an export (--saved_model, --tflite)."""
    exports = [f"--{name}" for name in ("saved_model", "tflite") if getattr(options, name) is not None]
    if options.precision != "float32" and (exports or options.baseline is not None):
        raise EvalError(f"--precision={options.precision} applies to the run's checkpoint: an export (--saved_model, "
                        "--tflite) keeps the precision it was exported with, and a --baseline has none. Drop "
                        "--precision.")
    if options.checkpoint != "final" and (exports or options.baseline is not None):
        raise EvalError(f"--checkpoint={options.checkpoint} picks the run's weights: an export holds its own "
                        "and a --baseline has none. Drop --checkpoint.")
    if options.zeroed_groups and (exports or options.baseline is not None):
        raise EvalError("--zeroed_groups applies to a HAF-SVG run's checkpoint, not to an export (--saved_model, "
                        "--tflite) or a --baseline: drop one of them.")
    if len(exports) + (options.baseline is not None) > 1:
        raise EvalError(f"Give one of --saved_model, --tflite or --baseline; got "
                        f"{' and '.join(exports + (['--baseline'] if options.baseline is not None else []))}.")
    return bool(exports)


def _zeroed_groups(model, groups) -> tuple[int, ...]:
    """The sorted groups of --zeroed_groups (HAF-SVG's ablation, its Figure 8), checked against `model`."""
    if not groups:
        return ()
    from tfvideo.models.base import InvalidInputError
    if not hasattr(model, "validate_zeroed_groups"):
        raise EvalError(f"--zeroed_groups is HAF-SVG's ablation of its groups of z; this run's model is "
                        f"{type(model).__name__}, which has none: drop --zeroed_groups or evaluate a --model=hafsvg "
                        "run.")
    try:
        return model.validate_zeroed_groups([_group_number(g) for g in groups])
    except InvalidInputError as error:
        raise EvalError(f"--zeroed_groups: {error}") from None


def _group_number(value):
    """An int from a --zeroed_groups item (the CLI gives strings); other values are left for the model to refuse."""
    try:
        return int(value) if isinstance(value, str) else value
    except ValueError:
        raise EvalError(f"--zeroed_groups takes group numbers separated by commas (e.g. 2,3); got {value!r}.") \
            from None


def _check_context(model, config, num_context: int) -> None:
    """EvalError when `num_context` is fewer than the context frames `model` reads (`min_context_frames`)."""
    needed = model.min_context_frames()
    if num_context < needed:
        raise EvalError(f"--conditioning_frames={num_context} is fewer than {config.model.context_need()}: use at "
                        "least that many.")


def _load_metric_networks(options: EvalOptions):
    lpips_net = i3d = None
    if options.lpips_weights:
        from tfvideo.evaluation import lpips
        lpips_net = lpips.LPIPS.from_files(options.lpips_weights)
    if options.fvd_weights:
        from tfvideo.evaluation import fvd
        i3d = fvd.I3D.from_file(options.fvd_weights)
    return lpips_net, i3d


def prepare(workdir: str, options: EvalOptions) -> Setup:
    """Resolves the run, its test set, the predictor and the metric networks; EvalError on bad input."""
    from tfvideo.data import errors as data_errors, mnist_digits
    from tfvideo.data.registry import get_data_source
    from tfvideo.evaluation.lpips import WeightsMissingError
    from tfvideo.evaluation.torch_weights import WeightsFileError
    for name in ("num_samples", "num_videos", "horizon", "conditioning_frames", "batch_size"):
        _check_positive(name, getattr(options, name), allow_none=name != "batch_size")
    try:
        config = runs.load_config(workdir)
    except runs.RunError as error:
        raise EvalError(str(error)) from None
    if options.num_samples is None:  # the run's test protocol, like the horizon and the context below
        options = dataclasses.replace(options, num_samples=config.data.test_samples)
    data = dataclasses.replace(
        config.data, test_horizon=options.horizon or config.data.test_horizon,
        conditioning_frames=options.conditioning_frames or config.data.conditioning_frames,
        data_dir=options.data_dir if options.data_dir is not None else config.data.data_dir)
    _check_memory(options, data)
    try:
        source = get_data_source(data)
        lpips_net, i3d = _load_metric_networks(options)
    except (config_lib.ConfigError, mnist_digits.DigitsUnavailableError, data_errors.DatasetUnavailableError,
            WeightsMissingError, WeightsFileError, ValueError) as error:
        raise EvalError(str(error)) from None
    num_videos = source.num_test_videos if options.num_videos is None else options.num_videos
    if num_videos > source.num_test_videos:
        raise EvalError(f"--num_videos={num_videos} exceeds the test set ({source.num_test_videos} videos); use at "
                        f"most {source.num_test_videos}, or leave it unset for all.")
    if options.baseline is None:
        _check_sampling(options, num_videos)
    model, predict, described = _load_predictor(workdir, options, config)
    if model is not None:
        _check_context(model, config, data.conditioning_frames)
    spec = _spec(config, data, options, described, source, lpips_net, i3d)
    output_dir = options.output_dir or os.path.join(workdir, "eval", _tag(spec))
    check_output_dir(output_dir, given=options.output_dir is not None)
    return Setup(workdir=workdir, config=config, options=options, source=source, predict=predict, spec=spec,
                 output_dir=output_dir, num_videos=num_videos, model=model, lpips=lpips_net, i3d=i3d)


def _check_memory(options: EvalOptions, data) -> None:
    """MemoryLimitError as EvalError when one video's futures (num_samples x horizon frames, and the ground truth the
    metrics broadcast to their shape) with a batch of test videos cannot fit in the memory available."""
    samples = 1 if options.baseline is not None else options.num_samples
    needed = 2 * memory.sampling_bytes(1, samples, data.test_horizon, data.image_size, data.channels) + \
        memory.sampling_bytes(options.batch_size, 1, data.conditioning_frames + data.test_horizon, data.image_size,
                              data.channels)
    try:
        memory.check_fits(needed, f"Evaluating --num_samples={samples} futures of --horizon={data.test_horizon} "
                                  f"frames per video, --batch_size={options.batch_size} test videos of "
                                  f"{data.conditioning_frames + data.test_horizon} frames at a time",
                          "lower --num_samples, --horizon or --batch_size")
    except memory.MemoryLimitError as error:
        raise EvalError(str(error)) from None


def check_output_dir(output_dir: str, given: bool) -> None:
    """EvalError, before any work, when `output_dir` cannot be created or written (a file, read-only)."""
    fix = ("choose another --output_dir" if given else
           "pass --output_dir=DIR to write the evaluation somewhere else (the run's folder cannot take it)")
    try:
        files.check_writable_folder(output_dir)
    except OSError as error:
        raise EvalError(f"Cannot write the evaluation to {output_dir!r} ({files.os_error_reason(error)}): "
                        f"{fix}.") from None


def _spec(config, data, options, described, source, lpips_net, i3d) -> dict:
    baseline = options.baseline is not None
    metrics = ["psnr", "ssim"] + (["lpips"] if lpips_net else []) + (["fvd"] if i3d else [])
    return {
        **described,
        "model": config.model.model,
        "num_samples": 1 if baseline else options.num_samples,
        "conditioning_frames": data.conditioning_frames,
        "horizon": data.test_horizon,
        "dt": None if baseline else float(config.model.dt if options.dt is None else options.dt),
        "seed": None if baseline else options.seed,
        "seed_rule": None if baseline else noise.SEED_RULE,
        "metrics": metrics,
        "metric_versions": {m: metrics_lib.METRIC_VERSIONS[m] for m in metrics},
        "weights_sha256": {**({"lpips": lpips_net.digest} if lpips_net else {}), **({"fvd": i3d.digest} if i3d
                                                                                     else {})},
        "dataset": {"name": data.dataset, "description": source.description,
                    "num_test_videos": source.num_test_videos,
                    "config": {k: v for k, v in dataclasses.asdict(data).items()
                               if k not in ("data_dir", "test_samples")},  # where the data is; a default
                    "comparability_notes": list(source.comparability_notes)},
        "paper_num_samples": config.data.test_samples,
        **({"actions": "the test set's"} if config.model.action_conditioned else {}),
    }


def _tag(spec: dict) -> str:
    """Directory name of an evaluation: what it depends on, e.g. step3000_n100_c5_h20_dt1_seed0."""
    who = spec["predictor"].split(":")[-1] if spec["checkpoint_step"] is None else \
        f"{spec.get('checkpoint_choice', '')}step{spec['checkpoint_step']}"
    tag = f"{who}_n{spec['num_samples']}_c{spec['conditioning_frames']}_h{spec['horizon']}"
    if spec["dt"] is not None:
        tag += f"_dt{spec['dt']:g}_seed{spec['seed']}"
    extra = [m for m in spec["metrics"] if m not in ("psnr", "ssim")]
    zeroed = ["zeroed" + "-".join(map(str, spec["zeroed_groups"]))] if spec.get("zeroed_groups") else []
    other = ["other_run"] if spec.get("exported_from") else []
    return "_".join([tag, *extra, *([spec["precision"]] if spec.get("precision") else []), *zeroed, *other])


# ------------------------------------------------------------------------------------------------ per video


def frame_metrics(setup: Setup, samples, truth) -> dict[str, np.ndarray]:
    """Per-sample, per-frame metrics of samples [S, F, H, W, C] against truth [F, H, W, C]: name -> [S, F]."""
    samples, truth = tf.convert_to_tensor(samples), tf.convert_to_tensor(truth)
    target = tf.broadcast_to(truth[None], tf.shape(samples))
    out = {"psnr": metrics_lib.psnr(samples, target), "ssim": metrics_lib.ssim(samples, target)}
    if setup.lpips is not None:
        out["lpips"] = setup.lpips(samples, target)
    return {name: value.numpy() for name, value in out.items()}


def video_record(setup: Setup, video: np.ndarray, index: int, actions: np.ndarray | None = None) -> dict:
    """The record of test video `index` [Tc + F, H, W, C] (and its actions [Tc + F, A] for an action-conditioned
    model): per metric, the best sample's per-frame curve."""
    num_context = setup.spec["conditioning_frames"]
    context, truth = video[:num_context], video[num_context:]
    samples = setup.predict(context, index) if actions is None else setup.predict(context, index, actions)
    if not np.isfinite(samples).all():
        raise _nonfinite_error(setup, index, "its predicted frames hold NaN/Inf")
    record = {"index": int(index), "best_sample": {}}
    for name, values in frame_metrics(setup, samples, truth).items():
        if not np.isfinite(values).all():
            raise _nonfinite_error(setup, index, f"its {name.upper()} is not finite")
        best = metrics_lib.best_of_samples(values, metrics_lib.BEST_MODES[name])
        record["best_sample"][name] = int(best["index"])
        record[name] = [float(v) for v in best["curve"].numpy()]
    if setup.i3d is not None:
        pair = np.stack([video, np.concatenate([context, samples[0]], axis=0)])
        features = setup.i3d(pair).numpy()
        record["fvd_real"], record["fvd_fake"] = ([float(v) for v in f] for f in features)
    return record


def _nonfinite_error(setup: Setup, index: int, what: str) -> EvalError:
    spec = setup.spec
    return EvalError(
        f"Test video {index}: {what}, so it has no result (nothing was written for it). The model diverges with "
        f"these settings (--conditioning_frames={spec['conditioning_frames']}, --horizon={spec['horizon']}, "
        f"--dt={spec['dt']}): evaluate with the run's own settings, or check its checkpoint {spec['checkpoint']}.")


# ------------------------------------------------------------------------------------------------ store


def _write_json(path: str, value) -> None:
    write_text(path, json.dumps(value, indent=1, sort_keys=True) + "\n")


def write_text(path: str, text: str) -> None:
    """`files.atomic_write`, EvalError (the path, the reason and the fix) when it fails."""
    try:
        files.atomic_write(path, text)
    except OSError as error:
        raise EvalError(f"Cannot write {path} ({error.strerror or error}): free disk space or fix the folder's "
                        "permissions, then rerun the same command to resume (finished videos are kept).") from None


def _read_json(path: str, what: str):
    """The JSON value of `path`; EvalError naming the file and the fix when it cannot be read or parsed."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise EvalError(f"{what} {path} cannot be read ({getattr(error, 'strerror', None) or error}): delete it "
                        "(it is written again), or use another --output_dir.") from None


def record_path(output_dir: str, index: int) -> str:
    return os.path.join(output_dir, VIDEOS_DIR, f"{index:06d}.json")


def open_store(setup: Setup) -> set[int]:
    """Creates or checks `<output_dir>/spec.json`; returns the indices of the videos already evaluated."""
    path = os.path.join(setup.output_dir, SPEC_FILE)
    if os.path.exists(path):
        old = _read_json(path, "The evaluation's settings file")
        if not isinstance(old, dict):
            raise EvalError(f"The evaluation's settings file {path} holds {type(old).__name__} JSON, not an object: "
                            "delete it (it is written again), or use another --output_dir.")
        if old != setup.spec:
            changed = sorted(k for k in set(old) | set(setup.spec) if old.get(k) != setup.spec.get(k))
            raise EvalError(f"--output_dir={setup.output_dir!r} holds an evaluation with other settings (differing: "
                            f"{', '.join(changed)}). Use another --output_dir (or leave it unset: each setting gets "
                            f"its own directory under <workdir>/eval/), or delete that directory to start over.")
    else:
        _write_json(path, setup.spec)
    names = glob.glob(os.path.join(setup.output_dir, VIDEOS_DIR, "[0-9]*.json"))
    return {int(os.path.basename(n)[:-len(".json")]) for n in names if os.path.basename(n)[:-5].isdigit()}


def read_records(setup: Setup) -> list[dict]:
    """The records of videos 0..num_videos-1; EvalError naming a record that is unreadable or not a record of
    these settings (a curve per metric of `horizon` finite values)."""
    records = []
    for index in range(setup.num_videos):
        path = record_path(setup.output_dir, index)
        record = _read_json(path, f"The record of test video {index}")
        curves = [record.get(name) if isinstance(record, dict) else None for name in setup.metric_names]
        if not all(isinstance(c, list) and len(c) == setup.spec["horizon"] and
                   all(isinstance(v, (int, float)) and np.isfinite(v) for v in c) for c in curves):
            raise EvalError(f"The record of test video {index} {path} is not a record of this evaluation (a finite "
                            f"curve of {setup.spec['horizon']} values per metric): delete it (the video is "
                            "evaluated again), or use another --output_dir.")
        records.append(record)
    return records


# ------------------------------------------------------------------------------------------------ loop


def evaluate(workdir: str, options: EvalOptions = EvalOptions(), on_video: Callable[[int], None] | None = None,
             stream=None, setup: Setup | None = None) -> dict:
    """Evaluates `workdir` (resuming from finished videos); writes and returns the results (see module doc).

    on_video(index) is called after each newly evaluated video's record is written (tests interrupt there).
    """
    setup = setup or prepare(workdir, options)
    try:
        with locks.hold_folder(setup.output_dir, "evaluation", flag="--output_dir"):
            return _evaluate(setup, on_video, stream)
    except locks.LockError as error:
        raise EvalError(str(error)) from None


def _evaluate(setup: Setup, on_video, stream) -> dict:
    """`evaluate` in the owned output folder."""
    done = {i for i in open_store(setup) if i < setup.num_videos}
    missing = [i for i in range(setup.num_videos) if i not in done]
    stream = stream or sys.stdout
    if done:
        print(f"Resuming: {len(done)} of {setup.num_videos} videos already evaluated in {setup.output_dir}.",
              file=stream, flush=True)
    progress = Progress(setup.num_videos, start=len(done), names=setup.metric_names, unit="video", stream=stream,
                        min_interval=PROGRESS_SECONDS)
    if missing:
        sums = {name: 0.0 for name in setup.metric_names}
        index, new = missing[0], 0
        for videos, actions in test_batches(setup, missing[0]):
            for position, video in enumerate(videos):
                if index not in done:
                    record = video_record(setup, video, index, None if actions is None else actions[position])
                    _write_json(record_path(setup.output_dir, index), record)
                    done.add(index)
                    new += 1
                    for name in sums:
                        sums[name] += float(np.mean(record[name]))
                    if on_video is not None:
                        on_video(index)
                    progress.update(len(done), {n: s / new for n, s in sums.items()})
                index += 1
    results = aggregate(setup, read_records(setup))
    _write_json(os.path.join(setup.output_dir, RESULTS_FILE), results)
    write_text(os.path.join(setup.output_dir, TABLE_FILE), markdown_report([results]))
    return results


def test_batches(setup: Setup, start: int, batch_size: int | None = None, num_videos: int | None = None):
    """The evaluation's test videos from `start` (to `num_videos`, default all evaluated ones): pairs (videos
    [<= batch_size, T, H, W, C], their actions [<= batch_size, T, A] for an action-conditioned run, else None)."""
    extra = {"with_actions": True} if setup.config.model.action_conditioned else {}
    for batch in setup.source.test_batches(batch_size or setup.options.batch_size, start=start,
                                           num_videos=setup.num_videos if num_videos is None else num_videos,
                                           **extra):
        yield (batch["frames"], batch["actions"]) if isinstance(batch, dict) else (batch, None)


# ------------------------------------------------------------------------------------------------ results files


def load_results(path: str) -> dict:
    """A results.json (a file, or an evaluation directory holding one); EvalError when there is none."""
    if os.path.isdir(path):
        path = os.path.join(path, RESULTS_FILE)
    try:
        with open(path) as handle:
            results = json.load(handle)
    except (OSError, ValueError) as error:
        raise EvalError(f"Cannot read evaluation results {path!r}: {error}.") from None
    if not isinstance(results, dict) or results.get("format") != FORMAT:
        found = results.get("format") if isinstance(results, dict) else f"a JSON {type(results).__name__}"
        raise EvalError(f"{path} is not a tfvideo evaluation results file (format {found!r}).")
    return results
