"""The results of an evaluation, from its per-video records: the dict written as results.json (`aggregate`),
whether it can stand next to the papers' tables (`comparability`), the command that reproduces it, and the
Markdown table of one or several evaluations (`markdown_report`, `label`). Pure functions of a `Setup`
(tfvideo.evaluation.eval_lib) and of results dicts; eval_lib writes the files."""

from __future__ import annotations

import os

import numpy as np

from tfvideo.evaluation import metrics as metrics_lib
from tfvideo.evaluation import protocols

FORMAT = "tfvideo-eval-v1"
ONE_VIDEO_NOTE = "a 95% interval needs at least 2 videos"  # results of 1 video: ci95 and std are null


def _summary(values: np.ndarray) -> dict:
    """values [num_videos, F] -> mean +- interval of the per-video means, and per time step. With one video there
    is no interval: ci95 and std are None, and "note" says so."""
    overall = metrics_lib.mean_and_interval(values.mean(axis=1))
    steps = metrics_lib.mean_and_interval(values, axis=0)
    if len(values) < 2:
        return {"mean": float(overall["mean"]), "ci95": None, "std": None, "note": ONE_VIDEO_NOTE,
                "per_step": {"mean": [float(v) for v in steps["mean"]], "ci95": None}}
    return {"mean": float(overall["mean"]), "ci95": float(overall["ci95"]), "std": float(overall["std"]),
            "per_step": {"mean": [float(v) for v in steps["mean"]], "ci95": [float(v) for v in steps["ci95"]]}}


def aggregate(setup, records: list[dict]) -> dict:
    """The results dict from the per-video records of videos 0..num_videos-1 of `setup` (an eval_lib.Setup)."""
    spec = setup.spec
    metrics = {name: _summary(np.array([r[name] for r in records], np.float64)) for name in setup.metric_names}
    if setup.i3d is not None:
        metrics["fvd"] = _fvd(records)
    return {
        "format": FORMAT,
        "workdir": os.path.abspath(setup.workdir),
        **{k: spec[k] for k in ("predictor", "model", "checkpoint", "checkpoint_step")},
        "precision": spec.get("precision", "float32"),
        "checkpoint_choice": spec.get("checkpoint_choice", "final"),  # --checkpoint: final or best
        "zeroed_groups": list(spec.get("zeroed_groups", [])),
        "num_videos": len(records),
        "protocol": {k: spec[k] for k in ("num_samples", "conditioning_frames", "horizon", "dt", "seed",
                                          "seed_rule")}
        | {"best_of": {m: metrics_lib.BEST_MODES[m] for m in setup.metric_names},
           "averaged_over": "predicted frames only (conditioning frames excluded)",
           "interval": "mean +- 1.96 * std / sqrt(num_videos), std with ddof=1, over per-video means (none for 1 "
                       "video: " + ONE_VIDEO_NOTE + ")",
           "time_steps": [spec["conditioning_frames"] + 1 + t for t in range(spec["horizon"])]}
        | ({"actions": spec["actions"]} if "actions" in spec else {}),  # action-conditioned runs
        "metric_versions": spec["metric_versions"],
        "weights_sha256": spec["weights_sha256"],
        "dataset": spec["dataset"],
        "comparability": comparability(setup, len(records)),
        "metrics": metrics,
        "command": reproduce_command(setup, len(records)),
        "run_config": setup.config.to_dict(),
        **({"exported_from": spec["exported_from"]} if spec.get("exported_from") else {}),  # --allow_other_run
    }


def comparability(setup, num_videos: int) -> dict:
    """{"comparable_to_paper": bool, "notes": why not}: whether these numbers can be put next to the papers' tables.

    Notes: the dataset's own (e.g. the offline digit subset, test clips that are not the original's); a part of
    the test set; a departure from the paper protocol of the model and dataset (`protocols.protocol_notes`: a
    dataset no paper used, conditioning frames, horizon, dt, samples); fewer or more samples than the run's
    --test_samples; FVD from the PyTorch port of I3D; a reduced sampling precision; zeroed groups of z.
    """
    spec = setup.spec
    notes = list(spec["dataset"]["comparability_notes"])
    if num_videos < setup.source.num_test_videos:
        notes.append(f"Scored on {num_videos} of the {setup.source.num_test_videos} test videos (--num_videos); "
                     "the papers score all of them.")
    notes += protocols.protocol_notes(spec)
    if spec["dt"] is not None and spec["num_samples"] != spec["paper_num_samples"]:
        notes.append(f"Best of {spec['num_samples']} futures per video; this run's protocol is best of "
                     f"{spec['paper_num_samples']} (--test_samples).")
    if "fvd" in spec["metrics"]:
        notes.append("FVD from the PyTorch port's I3D weights (--fvd_weights), not the TF-Hub i3d-kinetics-400 "
                     "module the papers used: the two networks differ slightly, so FVD values may differ from the "
                     "published ones.")
    if spec.get("precision"):
        notes.append(f"Sampled with the convolutional networks in {spec['precision']} (--precision); the papers "
                     "sample in float32.")
    if spec.get("zeroed_groups"):
        notes.append(f"Groups {zeroed_text(spec['zeroed_groups'])} of z fixed to zero (--zeroed_groups): HAF-SVG's "
                     "ablation (its Figure 8), not the model's predictions.")
    if spec.get("exported_from"):
        what = "--saved_model" if spec.get("saved_model") else "--tflite file"
        notes.append(f"The {what} was exported from another run ({spec['exported_from'].get('workdir')}), "
                     "scored on this run's test set (--allow_other_run).")
    return {"comparable_to_paper": not notes, "notes": notes}


def zeroed_text(groups) -> str:
    """'z^2,3' style names of zeroed groups, as in labels and notes."""
    return "z^" + ",".join(str(g) for g in groups)


def _fvd(records: list[dict]) -> dict:
    if len(records) < 2:
        return {"value": None, "num_videos": len(records), "note": "FVD needs at least 2 videos"}
    real = metrics_lib.gaussian_statistics([r["fvd_real"] for r in records])
    fake = metrics_lib.gaussian_statistics([r["fvd_fake"] for r in records])
    value = metrics_lib.frechet_distance(real["mean"], real["cov"], fake["mean"], fake["cov"])
    return {"value": value, "num_videos": len(records)}


def reproduce_command(setup, num_videos: int) -> str:
    """The `python -m tfvideo.evaluate` command that gives these results for `num_videos` videos."""
    spec, options = setup.spec, setup.options
    parts = ["python -m tfvideo.evaluate", f"--workdir={setup.workdir}", f"--num_videos={num_videos}",
             f"--conditioning_frames={spec['conditioning_frames']}", f"--horizon={spec['horizon']}"]
    if options.baseline is not None:
        parts.append(f"--baseline={options.baseline}")
    else:
        parts += [f"--num_samples={spec['num_samples']}", f"--dt={spec['dt']:g}", f"--seed={spec['seed']}"]
    if spec.get("precision"):
        parts.append(f"--precision={spec['precision']}")
    if spec.get("checkpoint_choice"):
        parts.append(f"--checkpoint={spec['checkpoint_choice']}")
    if spec.get("zeroed_groups"):
        parts.append(f"--zeroed_groups={','.join(map(str, spec['zeroed_groups']))}")
    for flag in ("saved_model", "tflite", "lpips_weights", "fvd_weights", "data_dir"):
        if getattr(options, flag):
            parts.append(f"--{flag}={getattr(options, flag)}")
    if spec.get("exported_from"):
        parts.append("--allow_other_run")
    return " ".join(parts)


def label(results: dict) -> str:
    """Short name of an evaluation for tables and legends: the run's directory name and what was evaluated."""
    who = results["predictor"] if results["checkpoint_step"] is None else f"step {results['checkpoint_step']}"
    if results.get("zeroed_groups"):
        who += f", {zeroed_text(results['zeroed_groups'])} zeroed"
    return f"{os.path.basename(os.path.normpath(results['workdir']))} ({who})"


def markdown_report(results_list: list[dict]) -> str:
    """A Markdown table, one row per evaluation: mean +- 95% interval of each metric, and the settings."""
    names = [m for m in ("psnr", "ssim", "lpips", "fvd") if any(m in r["metrics"] for r in results_list)]
    head = "| run | " + " | ".join(n.upper() for n in names) + " | videos | samples | context + horizon | dt |"
    lines = [head, "|" + "---|" * (len(names) + 5)]
    for r in results_list:
        cells = []
        for n in names:
            m = r["metrics"].get(n)
            if m is None:
                cells.append("-")
            elif n == "fvd":
                cells.append("-" if m["value"] is None else f"{m['value']:.1f}")
            else:
                digits = 2 if n == "psnr" else 4
                interval = "(no interval: it needs 2+ videos)" if m["ci95"] is None else f"± {m['ci95']:.{digits}f}"
                cells.append(f"{m['mean']:.{digits}f} {interval}")
        p = r["protocol"]
        dt = "-" if p["dt"] is None else f"{p['dt']:g}"
        lines.append(f"| {label(r)} | " + " | ".join(cells) + f" | {r['num_videos']} | {p['num_samples']} | "
                     f"{p['conditioning_frames']} + {p['horizon']} | {dt} |")
    notes = [f"- {label(r)}: not comparable with the papers' tables. {note}" for r in results_list
             for note in r.get("comparability", {}).get("notes", [])]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
