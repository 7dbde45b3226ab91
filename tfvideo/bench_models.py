"""Model comparison on this machine: parameter counts of the papers' configurations, training-step time and
sampling time, SRVP vs SVG-LP (and HAF-SVG) measured in one run.

    python -m tfvideo.bench_models                      # everything (about 10-15 minutes on 2 CPU cores)
    python -m tfvideo.bench_models --skip_timing        # parameter counts only
    python -m tfvideo.bench_models --json=bench.json    # also write the numbers

Parameter counts: the model of each flagfile (`configs/*.flags`), built for its frame size and channels
without loading any data (the BAIR and KTH flagfiles need no dataset here).
Training step: `train_step` (forward, backward, Adam update) compiled once, on a random batch of
[batch_size, seq_len, 64, 64, C]; median of `--steps` steps after `--warmup` steps. Each flagfile's speed
flags (`--precision`, `--kernel_grad`, `--fused_batch_norm`; tfvideo/speed.py) apply.
Sampling: `generate` of `--num_samples` futures x `--horizon` frames for ONE video conditioned on its
`conditioning_frames` (5 on SM-MNIST), batched in one call; median of `--runs` calls after one warm-up call
(which traces). The models are timed round by round (interleaved) so that other jobs on a shared machine
slow them alike; the load average is printed before and after. SRVP only decodes its latent trajectory;
SVG-LP and HAF-SVG decode AND re-encode every predicted frame (autoregressive), which is what SRVP's paper
argues makes it cheaper to sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import config as config_lib  # noqa: E402
from tfvideo.utils import files  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAMETER_CONFIGS = ("smmnist", "svg_smmnist", "svg_bair", "svg_kth", "hafsvg_smmnist", "hafsvg_bair", "hafsvg_kth")
TIMING_CONFIGS = ("smmnist", "svg_smmnist", "hafsvg_smmnist")  # SRVP, SVG-LP, HAF-SVG on SM-MNIST


def load_flagfile(path: str) -> config_lib.Config:
    """The Config a flagfile describes (on top of the defaults), without validating the dataset name."""
    values = flags.FlagValues()
    for part in (config_lib.ModelConfig, config_lib.DataConfig, config_lib.TrainConfig):
        for field in dataclasses.fields(part):
            define = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float}.get(
                type(field.default), flags.DEFINE_string)
            define(field.name, field.default, field.name, flag_values=values)
    values(["bench_models", f"--flagfile={path}"])
    parts = {name: part(**{f.name: values[f.name].value for f in dataclasses.fields(part)})
             for name, part in (("model", config_lib.ModelConfig), ("data", config_lib.DataConfig),
                                ("train", config_lib.TrainConfig))}
    config = config_lib.Config(**parts)
    config.model.validate()
    return config


def build(config: config_lib.Config):
    """The initialised model of `config` (variables created on zeros, no data)."""
    from tfvideo.models import build_model
    model = build_model(config, initialize=False)
    model.initialize(model.min_context_frames() + 1)
    return model


def parameter_counts(config_dir: str, names=PARAMETER_CONFIGS) -> list[dict]:
    import keras
    rows = []
    for name in names:
        config = load_flagfile(os.path.join(config_dir, f"{name}.flags"))
        keras.utils.set_random_seed(0)
        model = build(config)
        rows.append({"config": name, "model": config.model.model, "dataset": config.data.dataset,
                     "parameters": int(model.count_params())})
        del model
        keras.backend.clear_session()
    return rows


def interleaved_timings(configs: dict[str, config_lib.Config], batch_size: int, warmup: int, steps: int,
                        num_samples: int, horizon: int, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of a compiled training step and of one `generate` call, per config.

    The models are measured round by round (one step of each, then the next round), so that a change of
    machine load during the run affects them alike and their ratios stay meaningful on a shared machine.
    """
    import keras
    import tensorflow as tf
    models, steps_fn, batches, contexts = {}, {}, {}, {}
    from tfvideo.perf import precision, speed
    for name, config in configs.items():
        keras.utils.set_random_seed(0)
        model = build(config)
        speed.apply_speed_options(model, config.train)  # the flagfile's --precision, --kernel_grad, ...
        model.compile(optimizer=precision.training_optimizer(keras.optimizers.Adam(config.train.learning_rate),
                                                             config.train.precision))
        model.optimizer.build(model.trainable_variables)  # before tracing: no second trace
        d = config.data
        models[name], steps_fn[name] = model, tf.function(model.train_step)
        batches[name] = tf.random.stateless_uniform([batch_size, d.seq_len, d.image_size, d.image_size, d.channels],
                                                    seed=[0, 1])
        contexts[name] = tf.random.stateless_uniform([1, d.conditioning_frames, d.image_size, d.image_size,
                                                      d.channels], seed=[2, 3])
        for _ in range(warmup):
            float(steps_fn[name](batches[name])["loss"])
        model.generate(contexts[name], num_samples=num_samples, horizon=horizon, seed=0).numpy()  # traces
    step_times = {name: [] for name in configs}
    sample_times = {name: [] for name in configs}
    for _ in range(steps):
        for name in configs:
            start = time.perf_counter()
            float(steps_fn[name](batches[name])["loss"])
            step_times[name].append(time.perf_counter() - start)
    for run in range(runs):
        for name, model in models.items():
            start = time.perf_counter()
            model.generate(contexts[name], num_samples=num_samples, horizon=horizon, seed=run + 1).numpy()
            sample_times[name].append(time.perf_counter() - start)
    return {name: {"train_step_s": statistics.median(step_times[name]),
                   "sampling_s": statistics.median(sample_times[name]),
                   "train_step_all_s": step_times[name], "sampling_all_s": sample_times[name]} for name in configs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config_dir", default=os.path.join(REPO, "configs"))
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--num_samples", type=int, default=100)
    parser.add_argument("--horizon", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip_timing", action="store_true")
    parser.add_argument("--timing_configs", default=",".join(TIMING_CONFIGS))
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    import tensorflow as tf
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    results = {"parameters": parameter_counts(args.config_dir), "timing": []}
    print("\n| config | model | dataset | parameters |\n|---|---|---|---|")
    for row in results["parameters"]:
        print(f"| {row['config']} | {row['model']} | {row['dataset']} | {row['parameters']:,} |", flush=True)
    if not args.skip_timing:
        configs = {name: load_flagfile(os.path.join(args.config_dir, f"{name}.flags"))
                   for name in filter(None, args.timing_configs.split(","))}
        timings = interleaved_timings(configs, args.batch_size, args.warmup, args.steps, args.num_samples,
                                      args.horizon, args.runs)
        print(f"\n| config | model | train step, batch {args.batch_size} (s) | sampling {args.num_samples} x "
              f"{args.horizon} frames, 1 video (s) |\n|---|---|---|---|", flush=True)
        for name, config in configs.items():
            row = {"config": name, "model": config.model.model, **timings[name]}
            results["timing"].append(row)
            print(f"| {name} | {config.model.model} | {row['train_step_s']:.2f} | {row['sampling_s']:.2f} |",
                  flush=True)
        srvp = [r for r in results["timing"] if r["model"] == "srvp"]
        for row in results["timing"]:
            if srvp and row["model"] != "srvp":
                print(f"{row['config']} / SRVP: training step x{row['train_step_s'] / srvp[0]['train_step_s']:.2f}, "
                      f"sampling x{row['sampling_s'] / srvp[0]['sampling_s']:.2f}")
    results["load_average_after"] = os.getloadavg()
    print(f"load average after: {', '.join(f'{x:.1f}' for x in results['load_average_after'])}")
    if args.json:
        files.atomic_write(args.json, json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
