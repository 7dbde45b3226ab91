"""The model benchmark's measurements. CLI: `python -m tfvideo.benchmarks.models --flagfile=configs/smmnist.flags
--batch_size=16 --num_samples=100 --horizon=20 --output=FILE.json` (also `python -m tfvideo.benchmark`).

Prints (as a table and as JSON) the model's parameter count, the training step time (median after warm-up,
`train_step_ms`), the time to generate `num_samples` futures of `horizon` frames for one video
(`generate_s`, median) and the peak resident memory of the process (`peak_memory_mb`). Any model's flagfile
works, and every training flag applies (`--precision`, `--jit_compile`, ...). The step and generate times use
random frames of the configured shape: they measure the model, not the input pipeline. With `--input`, the
input pipeline is measured too: the time to produce one training batch (`input_ms_per_batch`) and the step
time when fed by the real data stream (`stream_step_ms`); when they are close to `train_step_ms` the input
pipeline is not the bottleneck.

A/B comparisons: each `--variant=FIELD=VALUE[,FIELD=VALUE...]` (config fields, e.g. `--variant=precision=float32
--variant=precision=mixed_bfloat16`) builds one model; the variants are timed round by round (interleaved), so
that other jobs on a shared machine slow them alike. The JSON then holds one result per variant under
"variants". The load average before and after is recorded: on a shared machine, compare variants of one run.
`train_traces` / `generate_traces` count the graphs traced (1 each: no retracing). Each figure also comes with the
convolution GFLOP of its call and its rate, as a share of a float32 GEMM measured in the same run
(tfvideo.perf.flops), and the CPU it ran on.

Levers: `--levers` times `auto` next to every fixed choice of each speed lever (precision, kernel_grad,
fused_batch_norm, jit_compile; tfvideo.perf.speed.lever_variants) and says per figure whether `auto` is within the
noise of the fastest (`auto_verdicts`).

Profile: `--profile` runs the training step and one generate call `--repeats` times each under TensorFlow's profiler
and prints, per call, the time of every kernel that ran (oneDNN's `_MklNative*` or Eigen's), its share and the
largest ops (`profile_model`, tfvideo.perf.op_profile): where the time goes, op by op.

Model comparison: `python -m tfvideo.benchmarks.models --compare_models [--skip_timing] [--output=FILE.json]` prints
the parameter counts of the papers' configurations (`--param_configs`, flagfiles in configs/ or paths: each model
built for its frame size and channels, no data needed), then times the models of `--timing_configs` (SRVP,
SVG-LP and HAF-SVG on SM-MNIST) like variants: one batch size for all (COMPARE_BATCH_SIZE, or `--batch_size`),
each flagfile's speed flags, interleaved, with their ratios to SRVP. Config flags given on the command line
apply to every compared flagfile. SRVP only decodes its latent trajectory; SVG-LP and HAF-SVG decode and
re-encode every predicted frame (autoregressive), which is what SRVP's paper argues makes it cheaper to sample.
The JSON holds "parameters" (one row per flagfile) and "variants" (the timed models).
`python -m tfvideo.bench_models` is `--compare_models`.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import resource
import statistics
import time

from tfvideo import config as config_lib
from tfvideo import flags as flags_lib
from tfvideo.perf import flops as flops_lib, machine, op_profile, speed
from tfvideo.utils import memory

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs")
PARAMETER_CONFIGS = ("smmnist", "svg_smmnist", "svg_bair", "svg_kth", "hafsvg_smmnist", "hafsvg_bair", "hafsvg_kth")
TIMING_CONFIGS = ("smmnist", "svg_smmnist", "hafsvg_smmnist")  # SRVP, SVG-LP, HAF-SVG on SM-MNIST
COMPARE_BATCH_SIZE = 16  # the batch on which --compare_models times every model (unless --batch_size is given)

def parse_variant(config: config_lib.Config, text: str) -> config_lib.Config:
    """`config` with the overrides of a variant string "field=value,field=value" (values typed like the field)."""
    sections = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        section = next((s for s in ("model", "data", "train") if name in
                        {f.name for f in dataclasses.fields(getattr(config, s))}), None)
        if not sep or section is None:
            raise config_lib.ConfigError(f"--variant={text!r}: {item!r} is not FIELD=VALUE for a config field "
                                         "(e.g. precision=mixed_bfloat16).")
        sections.setdefault(section, {})[name] = _typed(name, value, getattr(getattr(config, section), name))
    return config.replace(**sections).validate()


def _typed(name: str, value: str, default):
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
        return type(default)(value) if default is not None else value
    except ValueError:
        raise config_lib.ConfigError(f"--variant: {name}={value!r} is not a valid {type(default).__name__}.") from None


def _prepare(config: config_lib.Config, with_input: bool) -> dict:
    """One variant's model, compiled step, random batch and one-video context (and data stream)."""
    import keras
    import tensorflow as tf
    from tfvideo.perf import precision
    from tfvideo.training import train_lib
    from tfvideo.perf import speed
    from tfvideo.models import build_model

    keras.utils.set_random_seed(config.train.seed)
    model = build_model(config)
    levers = speed.apply_speed_options(model, config.train)
    model.compile(optimizer=precision.training_optimizer(train_lib.make_optimizer(config.train),
                                                         config.train.precision))
    model.optimizer.build(model.trainable_variables)  # before tracing: a step that creates variables traces twice
    data = config.data
    shape = [config.train.batch_size, data.seq_len, data.image_size, data.image_size, data.channels]
    batch = tf.random.stateless_uniform(shape, seed=[0, 1])
    context = batch[:1, :data.conditioning_frames]
    if config.model.action_conditioned:  # random raw actions [B, T, A] beside the frames (`tfvideo.models.actions`)
        batch = {"frames": batch, "actions": tf.random.stateless_uniform([*shape[:2], config.model.action_size],
                                                                         seed=[0, 2], minval=-1.0)}
    prepared = {"config": config, "model": model, "batch": batch, "context": context,
                "step": tf.function(model.train_step, jit_compile=config.train.jit_compile), "times": {},
                "levers": levers}
    if with_input:
        prepared["stream"] = _open_stream(config)
    return prepared


def _open_stream(config: config_lib.Config):
    from tfvideo.data import registry
    try:
        return iter(registry.get_data_source(config.data).train_stream(
            config.train.batch_size, seed=0, **({"with_actions": True} if config.model.action_conditioned else {})))
    except Exception as error:  # noqa: BLE001 - any dataset problem: report it, keep the model figures
        return f"input pipeline not measured: {error}"


def _generate_actions(prepared: dict, horizon: int) -> dict:
    """{"actions": random raw actions [1, Tc - 1 + horizon, A]} for an action-conditioned model, else {}."""
    if not isinstance(prepared["batch"], dict):
        return {}
    import tensorflow as tf
    length = prepared["context"].shape[1] - 1 + horizon
    return {"actions": tf.random.stateless_uniform([1, length, prepared["config"].model.action_size], seed=[0, 3],
                                                   minval=-1.0)}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _calls(prepared: dict, num_samples: int, horizon: int) -> dict:
    """name -> zero-argument call to time, for one prepared variant."""
    import tensorflow as tf
    model, step = prepared["model"], prepared["step"]
    calls = {
        "train_step": lambda: float(step(prepared["batch"])["loss"]),
        "generate": lambda: model.generate(prepared["context"], num_samples, horizon,
                                           **_generate_actions(prepared, horizon)).numpy(),
    }
    stream = prepared.get("stream")
    if stream is not None and not isinstance(stream, str):
        calls["input"] = lambda: [t.numpy() for t in tf.nest.flatten(next(stream))]
        calls["stream_step"] = lambda: float(step(next(stream))["loss"])
    return calls


def run_variants(configs: dict[str, config_lib.Config], num_samples: int, horizon: int, warmup: int = 2,
                 repeats: int = 5, with_input: bool = False) -> list[dict]:
    """Measures each config's model, interleaved round by round; one results dict per config (see docstring)."""
    for config in configs.values():
        _check_memory(config, num_samples, horizon)
    load_before = os.getloadavg()
    prepared = {name: _prepare(config, with_input) for name, config in configs.items()}
    calls = {name: _calls(p, num_samples, horizon) for name, p in prepared.items()}
    for kind in ("train_step", "generate", "input", "stream_step"):
        for _ in range(warmup):
            for name in configs:
                if kind in calls[name]:
                    calls[name][kind]()
        for _ in range(repeats):
            for name in configs:
                if kind in calls[name]:
                    prepared[name]["times"].setdefault(kind, []).append(_timed(calls[name][kind]))
    gemm = flops_lib.gemm_rate()
    results = [_results(name, prepared[name], num_samples, horizon, load_before) for name in configs]
    work = {}
    for result, name in zip(results, configs):
        key = (configs[name].model, configs[name].data, configs[name].train.batch_size)
        if key not in work:
            work[key] = _conv_work(prepared[name], num_samples, horizon)
        _add_rates(result, work[key], gemm)
    return results


def _conv_work(prepared: dict, num_samples: int, horizon: int) -> dict:
    """Convolution GFLOP of one training step (3 x its forward convolutions) and of one generate call."""
    model = prepared["model"]
    forward = flops_lib.count_conv_flops(lambda: model.compute_loss_terms(prepared["batch"], training=True))
    sample = flops_lib.count_conv_flops(lambda: model.generate(prepared["context"], num_samples, horizon, seed=0,
                                                               **_generate_actions(prepared, horizon)))
    return {"train_step_gflop": flops_lib.BACKWARD_FACTOR * forward / 1e9, "generate_gflop": sample / 1e9}


def _add_rates(result: dict, work: dict, gemm: float) -> None:
    """Adds the convolution GFLOP/s of the step and of generate, and their share of the GEMM rate `gemm`."""
    result.update(work, gemm_gflops_per_s=gemm)
    for kind, seconds in (("train_step", result["train_step_ms"] / 1000.0), ("generate", result["generate_s"])):
        rate = work[f"{kind}_gflop"] / seconds
        result[f"{kind}_gflops_per_s"], result[f"{kind}_share_of_gemm"] = rate, rate / gemm


def _check_memory(config: config_lib.Config, num_samples: int, horizon: int) -> None:
    """MemoryLimitError, before any model is built, when the random training batch or one call's futures cannot
    fit in the memory available."""
    data = config.data
    memory.check_fits(memory.training_bytes(config), f"A training batch of --batch_size={config.train.batch_size} "
                      f"videos x --seq_len={data.seq_len} frames", "lower --batch_size or --seq_len")
    memory.check_fits(memory.sampling_bytes(1, num_samples, horizon, data.image_size, data.channels),
                      f"Generating --num_samples={num_samples} futures of --horizon={horizon} frames",
                      "lower --num_samples or --horizon")


def _results(name: str, prepared: dict, num_samples: int, horizon: int, load_before) -> dict:
    import tensorflow as tf
    config, model, times = prepared["config"], prepared["model"], prepared["times"]
    median = lambda kind: statistics.median(times[kind]) if kind in times else None
    stream = prepared.get("stream")
    results = {
        "variant": name, "model": config.model.model, "params": int(model.count_params()),
        "batch_size": config.train.batch_size, "seq_len": config.data.seq_len,
        "train_step_ms": 1000.0 * median("train_step"), "num_samples": num_samples, "horizon": horizon,
        "generate_s": median("generate"),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "train_step_all_ms": [1000.0 * t for t in times["train_step"]], "generate_all_s": times["generate"],
        "train_traces": prepared["step"].experimental_get_tracing_count(),
        "generate_traces": model.generate_tracing_count(),
        "precision": prepared["levers"]["precision"], "precision_flag": config.train.precision,
        "jit_compile": config.train.jit_compile,
        "kernel_grad": config.train.kernel_grad, "fused_batch_norm": config.train.fused_batch_norm,
        "levers": prepared["levers"],
        "threads": os.cpu_count(), "machine": platform.machine(), "tensorflow": tf.__version__,
        **{key: value for key, value in machine.fingerprint().items() if key in ("cpu", "isa")},
        "speed_levers": speed.describe(prepared["levers"]),
        "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
    }
    if stream is not None:
        results["input_ms_per_batch"] = None if median("input") is None else 1000.0 * median("input")
        results["stream_step_ms"] = None if median("stream_step") is None else 1000.0 * median("stream_step")
        if isinstance(stream, str):
            results["input_note"] = stream
    return results


PROFILE_TITLES = {"train_step": "training step", "generate": "generate"}


def profile_model(config: config_lib.Config, num_samples: int, horizon: int, warmup: int = 2,
                  repeats: int = 5) -> dict:
    """Op-by-op profiles of the training step and of one generate call (after `warmup` untimed calls, at least
    one so that tracing is not profiled), printed as tables, each with the rate of its convolution kernels against
    the float32 GEMM rate measured in the same run (run with TF_NUM_INTEROP_THREADS=1 for op times that do not
    overlap: the convolutions' floor). Returns {"profile": {kind: OpProfile.to_json() + rates}, "gemm_gflops_per_s",
    the CPU, the speed line and the load average}."""
    _check_memory(config, num_samples, horizon)
    load_before = os.getloadavg()
    prepared = _prepare(config, with_input=False)
    calls = _calls(prepared, num_samples, horizon)
    profiles = {}
    for kind, title in PROFILE_TITLES.items():
        for _ in range(max(warmup, 1)):
            calls[kind]()
        profiles[kind] = op_profile.profile_calls(calls[kind], repeats)
    work, gemm = _conv_work(prepared, num_samples, horizon), flops_lib.gemm_rate()
    results = {}
    for kind, profile in profiles.items():
        conv_s = op_profile.convolution_ms(profile) / 1000.0
        rate = work[f"{kind}_gflop"] / conv_s if conv_s > 0 else 0.0
        print(op_profile.format_profile(profile, PROFILE_TITLES[kind]),
              f"convolution layers: {work[f'{kind}_gflop']:.1f} GFLOP in {1000 * conv_s:.1f} ms of op time = "
              f"{rate:.0f} GFLOP/s, {100 * rate / gemm:.0f}% of the float32 GEMM ({gemm:.0f} GFLOP/s)",
              sep="\n", flush=True)
        results[kind] = {**profile.to_json(), "convolution_gflop": work[f"{kind}_gflop"],
                         "convolution_gflops_per_s": rate, "convolution_share_of_gemm": rate / gemm}
    return {"profile": results, "gemm_gflops_per_s": gemm, "model": config.model.model,
            "batch_size": config.train.batch_size, "num_samples": num_samples, "horizon": horizon,
            "speed_levers": speed.describe(prepared["levers"]),
            **{key: value for key, value in machine.fingerprint().items() if key in ("cpu", "isa")},
            "load_average_before": list(load_before), "load_average_after": list(os.getloadavg())}


def run_benchmark(config: config_lib.Config, num_samples: int, horizon: int, warmup: int = 2, repeats: int = 5,
                  with_input: bool = False) -> dict:
    """Measures `config`'s model on random data; returns the figures as a dict (see module docstring)."""
    return run_variants({"run": config}, num_samples, horizon, warmup, repeats, with_input)[0]


def format_table(results: dict | list[dict]) -> str:
    """A text table: one column per variant (a single results dict gives one column)."""
    runs = results if isinstance(results, list) else [results]
    first = runs[0]
    rows = [("variant", [r["variant"] for r in runs]), ("model", [r["model"] for r in runs]),
            ("parameters", [f"{r['params']:,}" for r in runs]),
            (f"train step (batch {first['batch_size']}, {first['seq_len']} frames)",
             [f"{r['train_step_ms']:.0f} ms" for r in runs]),
            (f"generate {first['num_samples']} x {first['horizon']} frames, 1 video",
             [f"{r['generate_s']:.3f} s" for r in runs]),
            ("train step: convolution GFLOP/s, % of GEMM", [_rate(r, "train_step") for r in runs]),
            ("generate: convolution GFLOP/s, % of GEMM", [_rate(r, "generate") for r in runs]),
            ("peak memory (process)", [f"{r['peak_memory_mb']:.0f} MB" for r in runs])]
    if "input_ms_per_batch" in first:
        rows += [("input pipeline, one batch", [_ms(r.get("input_ms_per_batch")) for r in runs]),
                 ("train step fed by the data stream", [_ms(r.get("stream_step_ms")) for r in runs])]
    if len(runs) == 1:
        rows = rows[1:]
    width = max(len(name) for name, _ in rows)
    cols = [max(len(str(v[i])) for _, v in rows) for i in range(len(runs))]
    lines = [f"{name:<{width}}  " + "  ".join(f"{str(v):>{c}}" for v, c in zip(values, cols)) for name, values in rows]
    load = ", ".join(f"{x:.1f}" for x in first["load_average_before"])
    after = ", ".join(f"{x:.1f}" for x in first["load_average_after"])
    gemm = f"; float32 GEMM {first['gemm_gflops_per_s']:.0f} GFLOP/s" if "gemm_gflops_per_s" in first else ""
    return "\n".join(lines + [f"(load average before: {load}, after: {after}; {first['threads']} CPU cores{gemm}; "
                               f"{first.get('cpu', '')})"])


def _rate(result: dict, kind: str) -> str:
    if f"{kind}_gflops_per_s" not in result:
        return "n/a"
    return f"{result[f'{kind}_gflops_per_s']:.0f}, {100 * result[f'{kind}_share_of_gemm']:.0f}%"


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


# ------------------------------------------------------------------------------------------------ models


def flagfile_path(name: str) -> str:
    """`name` when it is a path to a .flags file, else configs/<name>.flags of the repository."""
    return name if name.endswith(".flags") else os.path.join(CONFIG_DIR, f"{name}.flags")


def flagfile_configs(names, args=()) -> dict[str, config_lib.Config]:
    """{name: the Config of flagfile `name` with the flag arguments `args` after it}; ConfigError if unreadable."""
    return {name: flags_lib.config_from_flagfile(flagfile_path(name), args) for name in names}


def parameter_counts(configs: dict[str, config_lib.Config]) -> list[dict]:
    """One row per config: name, model, dataset and the parameter count of its model (built for the config's
    frame size and channels; no data is read)."""
    import keras
    from tfvideo.models import build_model
    rows = []
    for name, config in configs.items():
        model = build_model(config)
        rows.append({"config": name, "model": config.model.model, "dataset": config.data.dataset,
                     "parameters": int(model.count_params())})
        del model
        keras.backend.clear_session()
    return rows


def format_parameters(rows: list[dict]) -> str:
    """A Markdown table of `parameter_counts` rows."""
    lines = ["| config | model | dataset | parameters |", "|---|---|---|---|"]
    lines += [f"| {r['config']} | {r['model']} | {r['dataset']} | {r['parameters']:,} |" for r in rows]
    return "\n".join(lines)


def ratios_to_srvp(runs: list[dict]) -> list[str]:
    """One line per timed model that is not SRVP: its step and generate times over those of the first SRVP."""
    srvp = next((r for r in runs if r["model"] == "srvp"), None)
    return [] if srvp is None else [
        f"{r['variant']} / SRVP: training step x{r['train_step_ms'] / srvp['train_step_ms']:.2f}, "
        f"generate x{r['generate_s'] / srvp['generate_s']:.2f}" for r in runs if r["model"] != "srvp"]


def compare_models(param_configs, timing_configs, args=(), num_samples: int = 100, horizon: int = 20,
                   warmup: int = 2, repeats: int = 5, timing: bool = True) -> dict:
    """Parameter counts of the flagfiles `param_configs`, printed as soon as known, then (with `timing`) the
    models of `timing_configs` timed as variants; `args` (config flag arguments) apply to every flagfile.
    Returns {"parameters": rows, "variants": results of `run_variants` (when timed)}."""
    results = {"parameters": parameter_counts(flagfile_configs(param_configs, args))}
    print(format_parameters(results["parameters"]), flush=True)
    if timing:
        batch = [] if any(a.startswith("--batch_size=") for a in args) else [f"--batch_size={COMPARE_BATCH_SIZE}"]
        runs = run_variants(flagfile_configs(timing_configs, [*args, *batch]), num_samples, horizon, warmup, repeats)
        print(format_table(runs), *ratios_to_srvp(runs), sep="\n", flush=True)
        results["variants"] = runs
    return results


NOISE = 0.05  # relative: two best-of-repeats times of one interleaved run closer than this are not told apart


def measure_levers(config: config_lib.Config, num_samples: int, horizon: int, warmup: int, repeats: int) -> dict:
    """`auto` next to every fixed choice of each speed lever (`speed.lever_variants`), timed interleaved; prints
    the table, the choices left out and, per figure, how `auto` compares with the fastest fixed choice."""
    configs, notes = speed.lever_variants(config)
    runs = run_variants(configs, num_samples, horizon, warmup, repeats)
    verdicts = auto_verdicts(runs)
    print(format_table(runs), runs[0]["speed_levers"], *notes, *verdicts, sep="\n")
    return {"variants": runs, "notes": notes, "verdicts": verdicts}


def auto_verdicts(runs: list[dict]) -> list[str]:
    """Per figure, `auto` (the first run) against the fastest fixed choice, by their best repeat (the least disturbed
    by other jobs): within the noise when no slower than NOISE or than the spread of that choice's own repeats."""
    lines = []
    for key, label in (("train_step_all_ms", "training step"), ("generate_all_s", "generate")):
        best_of = lambda run: min(run[key])
        auto, best = runs[0], min(runs[1:], key=best_of, default=runs[0])
        ratio = best_of(auto) / best_of(best)
        noise = max(NOISE, max(best[key]) / min(best[key]) - 1.0)
        verdict = "within noise of" if ratio <= 1.0 + noise else "SLOWER than"
        lines.append(f"auto {label}: best {best_of(auto):.4g} vs {best_of(best):.4g} for {best['variant']} "
                     f"(x{ratio:.2f}, noise {100 * noise:.0f}%): {verdict} the fastest fixed choice")
    return lines
