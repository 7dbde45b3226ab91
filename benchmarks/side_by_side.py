"""tfvideo against the original PyTorch SRVP on this machine, processes alternated, one Markdown table.

    python benchmarks/side_by_side.py --srvp_dir=DIR --torch_python=VENV/bin/python [--rounds=2] \
        [--variant=precision=float32 ...] [--tflite=FILE ...] [--output=side_by_side.json]

Each round runs, one process after the other (never two at once), `python -m tfvideo.benchmark` on the SM-MNIST
paper config (batch 16, 100 futures x 20 frames; `auto` levers, plus one column per `--variant`) and
`benchmarks/original_srvp.py` with the same sizes (with tcmalloc when --tcmalloc names an existing library). The
table gives each figure's median over rounds, its ratio to the original's (its faster sampling way: test.py's loop
or one batched pass), the convolution GFLOP/s and their share of the float32 GEMM rate measured in the tfvideo runs,
and the load average before each process. Each --tflite names a fixed-shape LiteRT export of the 1 x 100 x 20
request (`--static_shape=1,100,20`), timed by `benchmarks/time_tflite.py` in the same rounds: a sampling-only column.
Environment variables given to this script (e.g. ONEDNN_MAX_CPU_ISA, or LD_PRELOAD of benchmarks/avx2_cpuid.c)
reach every process; tcmalloc is added to the original's LD_PRELOAD. torch is never imported here: the original runs in the interpreter of --torch_python.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ["--batch_size=16", "--num_samples=100", "--horizon=20"]
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4"


def _run_json(cmd: list[str], env: dict) -> dict:
    """Runs `cmd`, returns the JSON it wrote to the --output path appended here; exits with its error if it failed."""
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "out.json")
        load = os.getloadavg()[0]
        result = subprocess.run([*cmd, f"--output={path}"], env=env, cwd=REPO, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"error: {' '.join(cmd[:4])} ... failed ({result.returncode}):\n{result.stderr[-2000:]}")
        with open(path) as handle:
            data = json.load(handle)
    data["load_before_process"] = load
    return data


def tfvideo_cmd(variants: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "tfvideo.benchmark", "--flagfile=configs/smmnist.flags", *SIZES, "--repeats=3",
           "--warmup=1"]
    return cmd + (["--variant=precision=auto", *(f"--variant={v}" for v in variants)] if variants else [])


def tflite_cmd(path: str) -> list[str]:
    return [sys.executable, os.path.join(REPO, "benchmarks", "time_tflite.py"), f"--model={path}", "--repeats=3",
            "--warmup=1"]


def original_cmd(args) -> list[str]:
    return [args.torch_python, os.path.join(REPO, "benchmarks", "original_srvp.py"), f"--srvp_dir={args.srvp_dir}",
            "--batch_size=16", "--num_samples=100", "--horizon=20", "--repeats=3", "--warmup=1"]


def _columns(tf_runs: list[dict], original_runs: list[dict], tflite_runs: dict[str, list[dict]],
             work: dict) -> dict[str, dict]:
    """{column name: {"step_s", "generate_s", "step_rate", "generate_rate", "loads"}} medians over rounds (a
    LiteRT column has no step)."""
    med = statistics.median
    columns = {}
    names = [r["variant"] for r in tf_runs[0].get("variants", [tf_runs[0]])]
    for i, name in enumerate(names):
        rows = [run.get("variants", [run])[i] for run in tf_runs]
        columns[f"tfvideo {'auto' if name == 'run' else name}"] = {
            "step_s": med(r["train_step_ms"] for r in rows) / 1000.0, "generate_s": med(r["generate_s"] for r in rows),
            "step_rate": med(r["train_step_gflops_per_s"] for r in rows),
            "generate_rate": med(r["generate_gflops_per_s"] for r in rows),
            "gemm": med(r["gemm_gflops_per_s"] for r in rows), "loads": [r["load_before_process"] for r in tf_runs]}
    for path, runs in tflite_runs.items():
        columns[f"LiteRT {os.path.basename(path)}"] = {
            "generate_s": med(r["generate_s"] for r in runs),
            "generate_rate": med(work["generate"] / r["generate_s"] for r in runs),
            "loads": [r["load_before_process"] for r in runs]}
    columns["original (PyTorch)"] = {
        "step_s": med(r["train_step_ms"] for r in original_runs) / 1000.0,
        "generate_s": med(min(r["generate_s"], r["generate_batched_s"]) for r in original_runs),
        "loads": [r["load_before_process"] for r in original_runs]}
    return columns


def markdown(columns: dict[str, dict], work: dict) -> str:
    """The side-by-side table: times, ratios to the original, GFLOP/s and share of the GEMM rate."""
    original = columns["original (PyTorch)"]
    gemm = statistics.median(c["gemm"] for c in columns.values() if "gemm" in c)
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, label in (("step_s", f"training step, batch 16 ({work['step']:.0f} GFLOP)"),
                       ("generate_s", f"100 futures x 20 frames, 1 video ({work['generate']:.0f} GFLOP)")):
        cells = []
        for column in columns.values():
            if key not in column:
                cells.append("-")
                continue
            cell = f"{column[key]:.2f} s"
            if column is not original:
                rate = column["step_rate" if key == "step_s" else "generate_rate"]
                cell += f" (x{column[key] / original[key]:.2f}; {rate:.0f} GFLOP/s, {100 * rate / gemm:.0f}% of GEMM)"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    loads = " | ".join(", ".join(f"{x:.1f}" for x in c["loads"]) for c in columns.values())
    lines.append(f"| load average before each process | {loads} |")
    return "\n".join(lines) + f"\n\nfloat32 GEMM (2048^2, TensorFlow): {gemm:.0f} GFLOP/s."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--srvp_dir", required=True, help="a checkout of the original SRVP code")
    parser.add_argument("--torch_python", required=True, help="a Python interpreter that has torch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[], help="extra tfvideo column FIELD=VALUE[,...]")
    parser.add_argument("--tflite", action="append", default=[], help="a fixed-shape 1x100x20 LiteRT file to time")
    parser.add_argument("--tcmalloc", default=TCMALLOC, help="tcmalloc library for the original ('' for none)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    for path, what in ((args.srvp_dir, "--srvp_dir"), (args.torch_python, "--torch_python"),
                       *((path, "--tflite") for path in args.tflite)):
        if not os.path.exists(path):
            sys.exit(f"error: {what}={path} does not exist.")
    torch_env = dict(os.environ)
    if args.tcmalloc and os.path.exists(args.tcmalloc):
        torch_env["LD_PRELOAD"] = f"{os.environ.get('LD_PRELOAD', '')} {args.tcmalloc}".strip()
    tf_runs, original_runs, tflite_runs = [], [], {path: [] for path in args.tflite}
    for round_index in range(args.rounds):
        print(f"round {round_index + 1}/{args.rounds}", file=sys.stderr, flush=True)
        tf_runs.append(_run_json(tfvideo_cmd(args.variant), dict(os.environ)))
        for path in args.tflite:
            tflite_runs[path].append(_run_json(tflite_cmd(path), dict(os.environ)))
        original_runs.append(_run_json(original_cmd(args), torch_env))
    first = tf_runs[0].get("variants", [tf_runs[0]])[0]
    work = {"step": first["train_step_gflop"], "generate": first["generate_gflop"]}
    table = markdown(_columns(tf_runs, original_runs, tflite_runs, work), work)
    print(f"CPU: {first.get('cpu')} ({first.get('isa')}), {first['threads']} cores\n\n{table}")
    if args.output:
        with open(args.output, "w") as handle:
            json.dump({"tfvideo": tf_runs, "original": original_runs, "tflite": tflite_runs, "table": table}, handle, indent=2)


if __name__ == "__main__":
    main()
