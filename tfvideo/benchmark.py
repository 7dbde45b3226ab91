"""Benchmark: `python -m tfvideo.benchmark --flagfile=configs/smmnist.flags --batch_size=16 --num_samples=100
--horizon=20 --output=FILE.json`.

Prints (as a table and as JSON) the model's parameter count, the training step time (median after warm-up,
`train_step_ms`), the time to generate `num_samples` futures of `horizon` frames for one video
(`generate_s`, median) and the peak resident memory of the process. Any model's flagfile works. Data are
random frames of the configured shape: the figures measure the model, not the input pipeline.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from tfvideo import flags as flags_lib  # noqa: E402

flags_lib.define_config_flags()
FLAGS = flags.FLAGS
for _define, _name, _default, _help in [
        (flags.DEFINE_integer, "num_samples", 100, "Futures sampled for one video."),
        (flags.DEFINE_integer, "horizon", 20, "Future frames per sample."),
        (flags.DEFINE_integer, "warmup", 2, "Untimed calls before timing (tracing, allocation)."),
        (flags.DEFINE_integer, "repeats", 5, "Timed calls; the median is reported."),
        (flags.DEFINE_string, "output", None, "Also write the results as JSON to this file.")]:
    if _name not in FLAGS:  # other CLIs in the same process may define the same names
        _define(_name, _default, _help)


def _median_seconds(fn, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_benchmark(config, num_samples: int, horizon: int, warmup: int = 2, repeats: int = 5) -> dict:
    """Measures `config`'s model on random data; returns the figures as a dict (see module docstring)."""
    import keras
    import tensorflow as tf
    from tfvideo import train_lib
    from tfvideo.models import build_model

    keras.utils.set_random_seed(config.train.seed)
    model = build_model(config)
    model.compile(optimizer=train_lib.make_optimizer(config.train))
    data = config.data
    shape = [config.train.batch_size, data.seq_len, data.image_size, data.image_size, data.channels]
    batch = tf.random.stateless_uniform(shape, seed=[0, 1])
    step = tf.function(model.train_step, jit_compile=config.train.jit_compile)
    train_s = _median_seconds(lambda: float(step(batch)["loss"]), warmup, repeats)
    context = batch[:1, :data.conditioning_frames]
    generate_s = _median_seconds(lambda: model.generate(context, num_samples, horizon).numpy(), warmup, repeats)
    return {
        "model": config.model.model, "params": int(model.count_params()), "batch_size": config.train.batch_size,
        "seq_len": data.seq_len, "train_step_ms": 1000.0 * train_s, "num_samples": num_samples,
        "horizon": horizon, "generate_s": generate_s,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "threads": os.cpu_count(), "machine": platform.machine(), "tensorflow": tf.__version__,
        "jit_compile": config.train.jit_compile,
    }


def format_table(results: dict) -> str:
    rows = [("model", results["model"]), ("parameters", f"{results['params']:,}"),
            (f"train step (batch {results['batch_size']}, {results['seq_len']} frames)",
             f"{results['train_step_ms']:.0f} ms"),
            (f"generate {results['num_samples']} x {results['horizon']} frames, 1 video",
             f"{results['generate_s']:.3f} s"),
            ("peak memory", f"{results['peak_memory_mb']:.0f} MB")]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}.")
    from tfvideo import config as config_lib
    try:
        config = flags_lib.config_from_flags(FLAGS)
        for name in ("num_samples", "horizon", "repeats"):
            if FLAGS[name].value < 1:
                raise config_lib.ConfigError(f"--{name} must be >= 1; got {FLAGS[name].value}.")
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = run_benchmark(config, FLAGS.num_samples, FLAGS.horizon, FLAGS.warmup, FLAGS.repeats)
    print(format_table(results))
    print(json.dumps(results, sort_keys=True))
    if FLAGS.output:
        with open(FLAGS.output, "w") as handle:
            json.dump(results, handle, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    app.run(lambda argv: sys.exit(main(argv)))
