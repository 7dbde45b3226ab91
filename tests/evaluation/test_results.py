"""results.py: the summary of per-video means, and the Markdown table with its comparability notes."""

import numpy as np
import pytest

from tfvideo.evaluation import results as results_lib


def _results(workdir: str, ci95, notes) -> dict:
    return {"workdir": workdir, "predictor": "model", "checkpoint_step": 300, "num_videos": 2,
            "protocol": {"num_samples": 5, "conditioning_frames": 3, "horizon": 4, "dt": 0.5},
            "metrics": {"psnr": {"mean": 21.234, "ci95": ci95}, "ssim": {"mean": 0.81234, "ci95": ci95}},
            "comparability": {"comparable_to_paper": not notes, "notes": notes}}


def test_markdown_report_has_a_row_per_evaluation_and_lists_the_comparability_notes():
    rows = [_results("/runs/a", 0.5, []), _results("/runs/b/", None, ["Scored on 2 of the 6 test videos."])]
    text = results_lib.markdown_report(rows)
    lines = text.splitlines()
    assert lines[0] == "| run | PSNR | SSIM | videos | samples | context + horizon | dt |"
    assert lines[2] == "| a (step 300) | 21.23 ± 0.50 | 0.8123 ± 0.5000 | 2 | 5 | 3 + 4 | 0.5 |"
    assert lines[3].startswith("| b (step 300) | 21.23 (no interval: it needs 2+ videos) |")
    assert lines[-1] == "- b (step 300): not comparable with the papers' tables. Scored on 2 of the 6 test videos."
    assert "a (step 300): not comparable" not in text


def test_summary_of_one_video_has_no_interval_and_says_why():
    one = results_lib._summary(np.array([[20.0, 22.0]]))
    assert one["mean"] == 21.0 and one["ci95"] is None and one["note"] == results_lib.ONE_VIDEO_NOTE
    two = results_lib._summary(np.array([[20.0, 22.0], [24.0, 26.0]]))
    assert two["mean"] == 23.0 and two["ci95"] == pytest.approx(1.96 * np.std([21.0, 25.0], ddof=1) / np.sqrt(2))
