"""The figures and comparison files of an evaluation: what `python -m tfvideo.evaluate` writes besides the results.

- `write_evaluation_figures(setup, results, count)`: curves.png, sample grids and GIFs of the first test videos
  and, for SRVP, the paper's analyses (analyses/).
- `write_comparison(results_list, output_dir)`: compare.md (one row per evaluation) and compare.png (one curve
  per evaluation).
"""

from __future__ import annotations

import json
import os

import numpy as np

from tfvideo.evaluation import analyses, eval_lib, figures
from tfvideo.evaluation import results as results_lib
from tfvideo.utils import files


def figure_videos(setup: eval_lib.Setup, count: int) -> list[dict]:
    """The first `count` evaluated test videos with their samples, regenerated with the evaluation's seeds (so
    they are the samples that were scored) and the best sample by PSNR from the records: dicts with "index",
    "video" [T, H, W, C], "context" [Tc, H, W, C], "truth" [F, H, W, C], "samples" [S, F, H, W, C], "best"."""
    count = min(count, setup.num_videos)
    if count < 1:
        return []
    num_context = setup.spec["conditioning_frames"]
    batch, actions = next(eval_lib.test_batches(setup, 0, batch_size=count, num_videos=count))
    out = []
    for index, video in enumerate(batch):
        extra = [] if actions is None else [actions[index]]  # an action-conditioned run's: the video's actions
        with open(eval_lib.record_path(setup.output_dir, index)) as handle:
            best = json.load(handle)["best_sample"]["psnr"]
        out.append({"index": index, "context": video[:num_context], "truth": video[num_context:],
                    "samples": setup.predict(video[:num_context], index, *extra), "best": best, "video": video})
    return out


def write_evaluation_figures(setup: eval_lib.Setup, results: dict, count: int = 4) -> list[str]:
    """curves.png, samples_<i>.png/.gif for the first `count` videos and, for SRVP without actions, analyses/*:
    paths written."""
    paths = [figures.plot_curves([results], os.path.join(setup.output_dir, "curves.png"), [results_lib.label(results)])]
    videos = figure_videos(setup, count)
    paths += figures.write_sample_figures(videos, setup.output_dir)
    if setup.model is not None and len(videos) >= 2 and not setup.config.model.action_conditioned:
        paths += analyses.write_srvp_analyses(setup.model, np.stack([v["video"] for v in videos]),
                                              setup.spec["conditioning_frames"],
                                              os.path.join(setup.output_dir, "analyses"), seed=setup.options.seed)
    return paths


def write_comparison(results_list: list[dict], output_dir: str) -> list[str]:
    """compare.md (one row per evaluation) and compare.png (one curve per evaluation) in output_dir."""
    table = files.atomic_write(os.path.join(output_dir, "compare.md"), results_lib.markdown_report(results_list))
    labels = [results_lib.label(r) for r in results_list]
    return [table, figures.plot_curves(results_list, os.path.join(output_dir, "compare.png"), labels)]
