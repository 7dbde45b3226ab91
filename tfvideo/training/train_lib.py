"""Training: `train(config)` runs (or resumes) a run in `config.train.workdir`.

Every step is the model's own `train_step` (the ELBO), compiled once. The run resumes from its newest
checkpoint with the same step, optimizer state, seed-generator states and data order; Ctrl-C saves a
checkpoint before stopping. Every `--validation_every` steps the model is scored on held-out clips and the best
weights kept (`tfvideo.training.validation`). Sample GIFs (context | ground truth | samples) are written at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from tfvideo.training import checkpointing
from tfvideo.training import distribute
from tfvideo.perf import precision as precision_lib
from tfvideo.utils import progress as progress_lib
from tfvideo import config as config_lib
from tfvideo.training.optimizers import make_optimizer
from tfvideo.perf import speed
from tfvideo.training import summaries
from tfvideo.training import validation
from tfvideo.utils import locks, memory
from tfvideo.utils import video_io
from tfvideo.data import registry as data_registry
from tfvideo.models import build_model
from tfvideo.models import actions as actions_lib


@dataclasses.dataclass
class TrainResult:
    """What a call of `train` did."""

    step: int  # step reached (== config.train.train_steps unless interrupted)
    resumed_from: int | None  # checkpoint step the run resumed from, None for a fresh run
    metrics: dict[str, float]  # mean loss terms over the last logging window
    gif_path: str | None  # sample GIF written at the end
    interrupted: bool = False


def train(config: config_lib.Config) -> TrainResult:
    """Trains `config.model` on `config.data` until `config.train.train_steps`; see the module docstring."""
    config.validate()
    tc = config.train
    strategy = distribute.build_strategy(tc.strategy)  # first: multi-worker collectives need a fresh runtime
    distribute.per_replica_batch(strategy, tc.batch_size)
    _check_batch_memory(config)
    resolved = precision_lib.resolve_precision(tc.precision, check=False)  # (a validated config: a known name)
    if resolved == "mixed_float16" and not tf.config.list_physical_devices("GPU"):  # first: true of any CPU
        raise config_lib.ConfigError(
            "--precision=mixed_float16 trains on GPUs only: on a CPU the float16 loss and gradients overflow and "
            "every step would be skipped as non-finite. Use --precision=auto (mixed_bfloat16 where this CPU has "
            "native bfloat16, else float32), mixed_bfloat16 or float32.")
    try:  # before the workdir: a precision that would abort TensorFlow here (precision_lib.check_supported)
        precision_lib.check_supported(resolved)
    except ValueError as error:
        raise config_lib.ConfigError(f"--precision={tc.precision}: {error}") from None
    chief = distribute.is_chief(strategy)  # only the chief writes into the workdir
    try:
        with locks.hold_folder(tc.workdir, "training") if chief else contextlib.nullcontext():
            return _train(config, strategy, chief)
    except locks.LockError as error:
        raise checkpointing.WorkdirError(str(error)) from None


def _train(config: config_lib.Config, strategy, chief: bool) -> TrainResult:
    """`train` in the workdir this process owns (the chief) or shares with the chief (another worker)."""
    tc = config.train
    run = _open_run(config, chief, strategy)
    model, optimizer, state, source, workdir = run.model, run.optimizer, run.state, run.source, run.workdir
    state.check_space()  # room for the run's checkpoints, before any training
    validator = validation.Validator(source, config, run.best)
    step = run.resumed_from or 0
    logging.info("Model %s: %s parameters.", config.model.model, f"{model.count_params():,}")
    writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard")) if chief else \
        tf.summary.create_noop_writer()
    if run.resumed_from is None:
        _set_action_statistics(model, source, config, chief)
    preview = _preview_videos(source, tc.num_gif_videos, with_actions=config.model.action_conditioned)
    metrics, interrupted = {}, False
    if step < tc.train_steps:
        try:
            with strategy.scope():
                step, metrics = _train_loop(model, optimizer, state, source, config, step, writer, preview,
                                            validator)
        except KeyboardInterrupt:
            interrupted = True
            step = int(state.step.numpy())
            state.save(step)
            print(f"\nInterrupted: saved a checkpoint at step {step}; rerun the same command to resume.",
                  flush=True)
    else:
        print(f"Already trained for {step} steps (--train_steps={tc.train_steps}); raise --train_steps to "
              "continue.", flush=True)
    gif_path = None if interrupted or not chief else write_samples(model, preview, config, step, writer)
    writer.flush()
    return TrainResult(step=step, resumed_from=run.resumed_from, metrics=metrics, gif_path=gif_path,
                       interrupted=interrupted)


def _check_batch_memory(config: config_lib.Config) -> None:
    """MemoryLimitError, before any work, when one training batch, or the futures sampled for the GIFs, cannot fit
    in the memory available."""
    data, tc = config.data, config.train
    frame = f"{data.image_size}x{data.image_size}x{data.channels}"
    memory.check_fits(memory.training_bytes(config),
                      f"A training batch of --batch_size={tc.batch_size} videos x --seq_len={data.seq_len} frames of "
                      f"{frame}", "lower --batch_size or --seq_len")
    memory.check_fits(memory.sampling_bytes(tc.num_gif_videos, tc.num_gif_samples + 1,
                                            data.conditioning_frames + data.test_horizon, data.image_size,
                                            data.channels),
                      f"The sample GIFs' --num_gif_videos={tc.num_gif_videos} x --num_gif_samples="
                      f"{tc.num_gif_samples} futures of --test_horizon={data.test_horizon} frames of {frame}",
                      "lower --num_gif_samples, --num_gif_videos or --test_horizon")
    memory.check_fits(validation.clips_bytes(config),
                      f"The --validation_videos={tc.validation_videos} held-out clips of "
                      f"{data.conditioning_frames + data.test_horizon} frames of {frame}",
                      "lower --validation_videos or --test_horizon, or --validation_every=0")


@dataclasses.dataclass
class _OpenRun:
    """A run ready to train: its data, model, optimizer and checkpoint state (restored when resuming)."""

    workdir: str
    source: object  # the DataSource
    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    state: checkpointing.RunCheckpoint
    resumed_from: int | None  # the restored checkpoint's step, None for a fresh run
    best: validation.BestCheckpoint  # the best validation score's weights (score restored)


def _open_run(config: config_lib.Config, chief: bool, strategy) -> _OpenRun:
    """Checks the workdir (writable, free space, same configuration), opens the data, builds the model and restores
    the newest checkpoint; only then does the chief record config.json. So a run that is refused (data missing, a
    checkpoint of another configuration next to a lost config.json, ...) changes nothing in the workdir (and
    `locks.hold_folder` removes a workdir it created that stays empty)."""
    workdir = config.train.workdir
    recorded = os.path.exists(os.path.join(workdir, checkpointing.CONFIG_FILE))
    if chief:
        checkpointing.prepare_workdir(config, record=False)
    source = data_registry.get_data_source(config.data)
    logging.info("Data: %s", source.description)
    _check_actions(config, source)
    run = _restore_run(config, strategy, workdir, source)
    _report_start(run, recorded)  # every worker says what it resumed from
    if chief:
        if run.resumed_from is None:  # a fresh start: an earlier run's GIFs and events would mix with this one's
            moved = checkpointing.set_aside_outputs(workdir)
            if moved:
                print(f"Moved the outputs of the earlier run (no checkpoint is left of it) to {moved}.", flush=True)
        checkpointing.record_config(config)
    return run


def _restore_run(config, strategy, workdir, source) -> _OpenRun:
    """Builds the model and optimizer under `strategy` and restores the newest checkpoint strictly (WorkdirError
    naming it when it was written by another configuration)."""
    tc = config.train
    keras.utils.set_random_seed(tc.seed)
    with strategy.scope():  # variables mirrored on every replica (a no-op scope with the default strategy)
        model = build_model(config)
        levers = speed.apply_speed_options(model, tc)  # --precision, --kernel_grad, ...
        print(speed.describe(levers), flush=True)
        logging.info("Speed options: %s", levers)
        optimizer = make_optimizer(tc)
        model.compile(optimizer=precision_lib.training_optimizer(optimizer, tc.precision))
        model.optimizer.build(model.trainable_variables)
        state = checkpointing.RunCheckpoint(workdir, model, optimizer, tc.max_checkpoints)
        resumed_from = state.restore_latest()
    state = distribute.saving_checkpoint(strategy, state, model, optimizer)  # out of the scope: chief-only vars
    chief = distribute.is_chief(strategy)  # the other workers take part in the saves, in a scratch directory
    best = validation.BestCheckpoint(workdir if chief else state.scratch_dir, model, owner=chief)
    best.restore_score()
    return _OpenRun(workdir=workdir, source=source, model=model, optimizer=optimizer, state=state,
                    resumed_from=resumed_from, best=best)


def _check_actions(config: config_lib.Config, source) -> None:
    """ConfigError when --action_conditioned asks for actions the dataset does not have (or of another size)."""
    cfg = config.model
    if cfg.action_conditioned and source.action_size != cfg.action_size:
        have = f"has actions of {source.action_size} numbers" if source.action_size else "has no actions"
        raise config_lib.ConfigError(
            f"--action_conditioned: --dataset={config.data.dataset} {have}, the model expects --action_size="
            f"{cfg.action_size}: use a dataset with actions (bair, --action_size=4) or drop --action_conditioned.")


def _set_action_statistics(model, source, config: config_lib.Config, chief: bool) -> None:
    """At the start of a fresh action-conditioned run: the actions' statistics of the first training batches
    (`tfvideo.models.actions.compute_statistics`) go into the model (so into every checkpoint and export) and
    into <workdir>/action_stats.json (written by the chief)."""
    if model.action_normalizer is None:
        return
    tc = config.train
    stats = actions_lib.compute_statistics(source.train_stream(tc.batch_size, seed=tc.seed, with_actions=True))
    model.action_normalizer.set_statistics(stats["mean"], stats["std"])
    if chief:
        logging.info("Action statistics %s written to %s.", stats, actions_lib.write_statistics(tc.workdir, stats))


def _report_start(run: _OpenRun, recorded: bool) -> None:
    """Says whether the run resumes or starts, and from what."""
    if run.resumed_from is not None:
        print(f"Resuming from checkpoint at step {run.resumed_from} in {run.workdir}.", flush=True)
        logging.info("Resuming from checkpoint at step %d.", run.resumed_from)
        if not recorded:
            logging.warning("%s was missing from %s; its checkpoint fits this configuration's model, so this "
                            "configuration is recorded as the run's.", checkpointing.CONFIG_FILE, run.workdir)
    elif recorded:
        print(f"No checkpoint in {run.state.directory}: the run in {run.workdir} starts from scratch (step 0).",
              flush=True)
    if run.best.best is not None:
        print(f"Best validation score so far: {run.best.best:.3f} dB at step {run.best.best_step} (kept in "
              f"{run.best.state.directory}).", flush=True)


def _train_loop(model, optimizer, state, source, config, step, writer, preview, validator):
    tc = config.train
    stream = source.train_stream(tc.batch_size, seed=tc.seed, start_index=step * tc.batch_size,
                                 **({"with_actions": True} if config.model.action_conditioned else {}))
    stream = distribute.distribute_stream(tf.distribute.get_strategy(), stream)  # global batches split on replicas
    train_fn = distribute.make_train_function(tf.distribute.get_strategy(), model, tc.jit_compile)
    names = list(model.loss_term_names)
    progress = progress_lib.Progress(tc.train_steps, start=step, names=names + ["lr", "skipped"])
    window_start, metrics, skipped_in_a_row, skipped_total, applied_in_window = time.time(), {}, 0, 0, 0
    for batch in stream.take(tc.train_steps - step):
        logs = train_fn(batch)
        step += 1
        state.step.assign(step)
        if float(logs["skipped"]):
            skipped_in_a_row, skipped_total = skipped_in_a_row + 1, skipped_total + 1
            logging.warning("Step %d skipped: non-finite loss or gradients (%d in a row).", step, skipped_in_a_row)
            _check_nonfinite_streak(state, step, skipped_in_a_row, tc.max_nonfinite_steps)
        else:
            skipped_in_a_row, applied_in_window = 0, applied_in_window + 1
        if step % tc.log_every == 0 or step == tc.train_steps:
            # The loss terms are means over the window's applied steps: none when every step was skipped.
            metrics = {name: float(logs[name]) for name in names} if applied_in_window else {}
            rate = tc.log_every / max(time.time() - window_start, 1e-9)
            window_start, applied_in_window = time.time(), 0
            lr = float(optimizer.learning_rate)
            summaries.write_scalars(writer, {**metrics, "learning_rate": lr, "steps_per_second": rate,
                                             "skipped_steps": skipped_total}, step)
            progress.update(step, {**metrics, "lr": lr} if metrics else {"lr": lr, "skipped": skipped_in_a_row})
            model.reset_metrics()
        elif progress.interactive:
            progress.update(step)
        if step % tc.checkpoint_every == 0 or step == tc.train_steps:
            state.save(step)
        if step % tc.video_every == 0 and step != tc.train_steps:
            _write_video_summary(model, preview, config, step, writer)
        if validator.due(step):
            validator.validate(model, step, writer)
    return step, metrics


def _check_nonfinite_streak(state, step: int, skipped_in_a_row: int, max_nonfinite_steps: int) -> None:
    """FloatingPointError after a skipped step when the weights themselves hold NaN/Inf (an applied update overflowed:
    every later step would be skipped too), or after `max_nonfinite_steps` skipped steps in a row."""
    bad = state.nonfinite_variables()
    if bad:
        raise FloatingPointError(
            f"The weights hold NaN/Inf at step {step} (e.g. {', '.join(bad[:3])}): an update with finite gradients "
            f"overflowed them, so every further step would be skipped; training stopped. "
            f"{state.newest_intact_text()} (checkpoints hold finite weights only). Lower --learning_rate, then "
            "rerun to resume from it.")
    if skipped_in_a_row >= max_nonfinite_steps:
        raise FloatingPointError(
            f"{skipped_in_a_row} consecutive steps had a NaN/Inf loss or gradient (last at step {step}); training "
            f"stopped. {state.newest_intact_text()} (checkpoints hold finite weights only). Lower --learning_rate "
            "or check the data, then rerun to resume from it.")


def _preview_videos(source, num_videos: int, with_actions: bool = False):
    """The first test videos [N, T, H, W, C], or with_actions {"frames": those, "actions": [N, T, A]}."""
    if with_actions:
        return next(source.test_batches(num_videos, with_actions=True))
    return source.test_videos(num_videos)[:num_videos]


def _sample_preview(model, preview, config, step):
    preview, actions = actions_lib.split_batch(preview)
    context = preview[:, :config.data.conditioning_frames]
    samples = model.generate(context, num_samples=config.train.num_gif_samples,
                             horizon=config.data.test_horizon, seed=step, actions=actions)
    truth = preview[:, config.data.conditioning_frames:]
    return video_io.comparison_frames(context, truth, samples.numpy())


def _write_video_summary(model, preview, config, step, writer) -> None:
    frames = _sample_preview(model, preview, config, step)
    summaries.write_video(writer, "samples", frames, step,
                          description="columns: ground truth | samples; green: context, red: predicted")


def write_samples(model, preview, config, step, writer=None) -> str:
    """Writes workdir/samples/step_<step>.gif (rows: test videos; columns: ground truth | samples)."""
    frames = _sample_preview(model, preview, config, step)
    path = os.path.join(config.train.workdir, "samples", f"step_{step:08d}.gif")
    video_io.write_gif(path, frames)
    if writer is not None:
        summaries.write_video(writer, "samples", frames, step,
                              description="columns: ground truth | samples; green: context, red: predicted")
    print(f"Wrote sample GIF {path} (rows: test videos; columns: ground truth | "
          f"{config.train.num_gif_samples} samples; green border: context, blue: true future, red: predicted).",
          flush=True)
    return path
