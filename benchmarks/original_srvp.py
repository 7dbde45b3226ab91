"""Speed of the ORIGINAL PyTorch SRVP (public repository edouardelasalles/srvp) on this machine, to set beside
`python -m tfvideo.benchmark --flagfile=configs/smmnist.flags --batch_size=16 --num_samples=100 --horizon=20`.

The model is the original's, built from the original's own argument parser fed with the README's SM-MNIST
training options (DCGAN encoder/decoder without skips, ny = nz = 20, nt_inf = nt_cond = 5, beta_z = 2,
sequences of 15 frames, dt = 1; everything else the original defaults). On the CPU, with random frames in [0, 1]:

- train_step_ms: median time of one call of the original `train.train` (forward with the inference networks,
  NLL + KL(y_0) + beta_z KL(z) + L2 of the residuals, backward, Adam lr 3e-4) on a [15, batch, 1, 64, 64] batch
  (time-major, as the original's data loader yields it).
- generate_s: median time to draw --num_samples futures of --horizon frames for ONE video from its 5
  conditioning frames the way test.py does: one loop iteration per sample (batch of 1), each re-inferring
  y and w from the conditioning frames, then rolling the prior forward and decoding.
- generate_batched_s: the same futures in one pass, the video repeated --num_samples times along the batch
  (how tfvideo.benchmarks.models_lib samples).

Setup: a checkout of the original code in SRVP_DIR, and a separate virtual environment with torch, numpy, tqdm,
configargparse and pyyaml (tfvideo never depends on torch):
    python -m venv torchvenv && torchvenv/bin/pip install torch numpy tqdm configargparse pyyaml
Run:
    torchvenv/bin/python benchmarks/original_srvp.py --srvp_dir=SRVP_DIR --output=orig.json
With tcmalloc (apt-get install -y libgoogle-perftools4), which PyTorch's CPU tuning guide recommends:
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4 torchvenv/bin/python benchmarks/original_srvp.py ...
On a 2-core AMD EPYC with AVX-512 (Zen 4), in interleaved runs, it made the training step ~20% faster and the
batched sampling ~35%, and left the test.py loop as it was: benchmarks/side_by_side.py uses it.

Prints the configuration and progress on stderr, then one JSON line on stdout (also written to --output). The
*_others_cpu_share fields give the share of all cores' time taken by other processes (or the hypervisor) while
timing: rerun when it is not near 0, as the batch-1 test.py loop is then slowed several-fold.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

# The SM-MNIST training options given in the original README; --save_path and --data_dir are required by the
# original parser but unused here.
SMMNIST_OPTIONS = ("--ny 20 --nz 20 --beta_z 2 --nt_cond 5 --nt_inf 5 --dataset smmnist --nc 1 --seq_len 15 "
                   "--save_path unused --data_dir unused").split()

# Fields of the original configuration that define the model, the loss and the step (printed and reported).
REPORTED_FIELDS = ("nx", "nc", "archi", "nf", "nhx", "ny", "nz", "skipco", "nt_inf", "nh_inf", "nlayers_inf",
                   "nh_res", "nlayers_res", "res_gain", "n_euler_steps", "obs_scale", "beta_y", "beta_z", "l2_res",
                   "lr", "seq_len", "nt_cond", "batch_size", "torch_amp", "apex_amp")

WHAT_CHOICES = ("train", "generate")


def fail(message):
    print(f"original_srvp.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def log(message):
    print(message, file=sys.stderr, flush=True)


def parse_flags(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--srvp_dir", required=True, help="directory of the original SRVP code (module/, train.py)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op and inter-op threads")
    parser.add_argument("--batch_size", type=int, default=16, help="training batch size")
    parser.add_argument("--num_samples", type=int, default=100, help="futures sampled for the one video")
    parser.add_argument("--horizon", type=int, default=20, help="predicted frames per future")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls before timing")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls (the median is reported)")
    parser.add_argument("--output", default=None, help="also write the JSON result to this path")
    parser.add_argument("--what", default="train,generate", help="comma-separated subset of: train, generate")
    parser.add_argument("--seed", type=int, default=0, help="torch random seed")
    flags = parser.parse_args(argv)

    flags.what = [w.strip() for w in flags.what.split(",") if w.strip()]
    unknown = [w for w in flags.what if w not in WHAT_CHOICES]
    if unknown or not flags.what:
        fail(f"--what must be a comma-separated subset of {','.join(WHAT_CHOICES)}, got {flags.what or 'nothing'}")
    for name in ("threads", "batch_size", "num_samples", "horizon", "repeats"):
        if getattr(flags, name) < 1:
            fail(f"--{name} must be at least 1")
    if flags.warmup < 0:
        fail("--warmup must be non-negative")
    flags.srvp_dir = os.path.abspath(flags.srvp_dir)
    if not os.path.isfile(os.path.join(flags.srvp_dir, "module", "srvp.py")):
        fail(f"--srvp_dir={flags.srvp_dir} does not hold the original SRVP code (no module/srvp.py)")
    return flags


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def import_original(srvp_dir):
    """Imports the original's modules (args, train, module.srvp) from srvp_dir."""
    sys.path.insert(0, srvp_dir)
    try:
        import args as original_args
        import train as original_train
        import module.srvp as original_srvp
    except ImportError as e:
        fail(f"cannot import the original code from {srvp_dir}: {e} "
             "(it needs torch, numpy, tqdm, configargparse, pyyaml)")
    return original_args, original_train, original_srvp


def busy_cpu_seconds():
    """CPU seconds spent busy by the whole machine since boot (all cores, steal included), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _, _, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(fn, warmup, repeats):
    """Runs fn `warmup` times untimed, then `repeats` times timed. Returns the durations in seconds and the share
    of the machine's CPU time that went to anything but this process while timing (about 0 on an idle machine)."""
    for _ in range(warmup):
        fn()
    durations = []
    busy_start, cpu_start, wall_start = busy_cpu_seconds(), time.process_time(), time.perf_counter()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    wall = time.perf_counter() - wall_start
    busy_end = busy_cpu_seconds()
    if busy_start is None or busy_end is None:
        return durations, None
    others = (busy_end - busy_start) - (time.process_time() - cpu_start)
    return durations, round(max(0.0, others) / (wall * os.cpu_count()), 3)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".original_srvp.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    flags = parse_flags(argv)
    try:
        import torch
    except ImportError as e:
        fail(f"cannot import torch: {e}")
    torch.set_num_threads(flags.threads)
    try:
        torch.set_num_interop_threads(flags.threads)
    except RuntimeError:  # only settable before the first inter-op parallel work
        log("warning: could not set the inter-op thread count")
    torch.manual_seed(flags.seed)

    original_args, original_train, original_srvp = import_original(flags.srvp_dir)

    # The original's configuration object: its parser on the README's SM-MNIST options, as train.py reads it.
    opt = original_train.helper.DotDict(vars(original_args.create_args().parse_args(SMMNIST_OPTIONS)))
    opt.batch_size = flags.batch_size
    config = {k: opt[k] for k in REPORTED_FIELDS}
    log("original SRVP configuration (SM-MNIST): " + ", ".join(f"{k}={v}" for k, v in config.items()))

    model = original_srvp.StochasticLatentResidualVideoPredictor(
        opt.nx, opt.nc, opt.nf, opt.nhx, opt.ny, opt.nz, opt.skipco, opt.nt_inf, opt.nh_inf, opt.nlayers_inf,
        opt.nh_res, opt.nlayers_res, opt.archi)
    model.init(res_gain=opt.res_gain)
    device = torch.device("cpu")
    dt = 1 / opt.n_euler_steps

    params = sum(p.numel() for p in model.parameters())
    bn_stats = sum(m.running_mean.numel() + m.running_var.numel()
                   for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    log(f"parameters: {params:,} trainable; {params + bn_stats:,} with the batch-norm running statistics")

    result = {"params": params, "params_with_bn_stats": params + bn_stats, "train_step_ms": None,
              "generate_s": None, "generate_batched_s": None}
    load_before = list(os.getloadavg())

    if "train" in flags.what:
        optimizer = torch.optim.Adam(model.parameters(), lr=opt.lr)  # as train.py (the lr decay starts at 1M)
        batch = torch.rand(opt.seq_len, flags.batch_size, opt.nc, opt.nx, opt.nx)
        losses = []

        def train_step():
            model.train()
            losses.append(original_train.train(model, optimizer, None, batch, device, opt)[0])

        log(f"timing the training step: batch {flags.batch_size} x {opt.seq_len} frames, "
            f"{flags.warmup} warm-up + {flags.repeats} timed")
        durations, result["train_others_cpu_share"] = timed(train_step, flags.warmup, flags.repeats)
        if not all(map(lambda v: v == v and abs(v) != float("inf"), losses)):
            fail(f"non-finite training loss: {losses}")
        result["train_step_ms"] = round(1000 * statistics.median(durations), 1)
        result["train_step_ms_all"] = [round(1000 * d, 1) for d in durations]
        result["train_loss_last"] = losses[-1]
        log(f"train_step_ms: {result['train_step_ms']} (all: {result['train_step_ms_all']})")

    if "generate" in flags.what:
        model.eval()
        nt_cond = opt.nt_cond
        # One video's conditioning frames, time-major: [nt_cond, 1, channels, height, width].
        x_cond = torch.rand(nt_cond, 1, opt.nc, opt.nx, opt.nx)

        def one_future_per_video(x, skip):
            """One test.py sampling iteration on conditioning frames x: futures [horizon, batch, c, h, w]."""
            _, y, _, w, _, _, _, _ = model(x, nt_cond, dt=dt)  # re-infers y and w: new posterior samples
            y_pred = model.generate(y[-1], [], flags.horizon + 1, dt=dt)[0][1:].contiguous()  # prior roll-out
            return model.decode(w, y_pred, skip).clamp(0, 1)

        def sample_loop():
            # test.py: the skip connections once (None without skips, computed all the same), then one
            # sampling iteration per sample.
            skip = model.encode(x_cond)[1]
            return torch.stack([one_future_per_video(x_cond, skip) for _ in range(flags.num_samples)])

        def sample_batched():
            x = x_cond.expand(-1, flags.num_samples, -1, -1, -1).contiguous()
            return one_future_per_video(x, model.encode(x)[1])

        with torch.no_grad():
            shape = tuple(sample_loop().shape)
            expected = (flags.num_samples, flags.horizon, 1, opt.nc, opt.nx, opt.nx)
            if shape != expected:
                fail(f"test.py-style sampling returned shape {shape}, expected {expected}")
            log(f"timing generation (test.py loop, batch 1): {flags.num_samples} futures x {flags.horizon} "
                f"frames, {flags.warmup} warm-up + {flags.repeats} timed")
            durations, result["generate_others_cpu_share"] = timed(sample_loop, flags.warmup, flags.repeats)
            result["generate_s"] = round(statistics.median(durations), 3)
            result["generate_s_all"] = [round(d, 3) for d in durations]
            log(f"generate_s: {result['generate_s']} (all: {result['generate_s_all']})")

            log(f"timing generation (batched, one pass over {flags.num_samples} copies)")
            durations, result["generate_batched_others_cpu_share"] = timed(sample_batched, flags.warmup,
                                                                       flags.repeats)
            result["generate_batched_s"] = round(statistics.median(durations), 3)
            result["generate_batched_s_all"] = [round(d, 3) for d in durations]
            log(f"generate_batched_s: {result['generate_batched_s']} (all: {result['generate_batched_s_all']})")

    result.update({
        "generate_mode": "test.py loop over samples (batch 1 each); generate_batched_s: one batched pass",
        "threads": flags.threads, "torch": torch.__version__, "batch_size": flags.batch_size,
        "num_samples": flags.num_samples, "horizon": flags.horizon, "warmup": flags.warmup,
        "repeats": flags.repeats, "config": config, "loadavg_before": load_before,
        "loadavg_after": list(os.getloadavg()), "cpu": cpu_model(), "ld_preload": os.environ.get("LD_PRELOAD"),
    })
    line = json.dumps(result)
    print(line, flush=True)
    if flags.output:
        try:
            write_atomically(flags.output, line + "\n")
        except OSError as e:
            fail(f"cannot write --output={flags.output}: {e}")


if __name__ == "__main__":
    main()
