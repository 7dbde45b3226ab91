"""Figures of an evaluation (PNG via matplotlib, GIF via `tfvideo.utils.video_io`), written atomically.

- `plot_curves(results_list, path, labels)`: each metric against the time step (frame number), mean over videos with
  the 95% band, one curve per evaluation (`--compare`), in the colors of `CURVE_COLORS`.
- `frame_grid(rows, path)`: rows of frames [T, H, W, C] side by side, each row labelled, each frame framed in
  the color of its kind (context green, ground truth blue, prediction red, as in the GIFs).
- `write_sample_figures(...)`: per test video, context | ground truth | best sample (by PSNR) | random samples,
  as a PNG grid and an animated GIF.

Which figures an evaluation writes, and from what, is `tfvideo.evaluation.report`.
"""

from __future__ import annotations

import os

import numpy as np

from tfvideo.utils import files, video_io

CURVE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
METRIC_TITLES = {"psnr": "PSNR (dB), higher is better", "ssim": "SSIM, higher is better",
                 "lpips": "LPIPS, lower is better"}
EMPTY = (255, 255, 255)
KIND_COLORS = {"context": video_io.CONTEXT_BORDER, "truth": video_io.GROUND_TRUTH_BORDER,
               "prediction": video_io.PREDICTION_BORDER, "intermediate": (240, 160, 30),
               "uncertainty": video_io.UNCERTAINTY_BORDER}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def save_figure(figure, path: str, dpi: int = 100) -> str:
    """Writes a matplotlib figure as PNG at `path` atomically; closes it; returns path."""
    plt = _pyplot()
    try:
        files.atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
    finally:
        plt.close(figure)
    return path


def plot_curves(results_list: list[dict], path: str, labels: list[str]) -> str:
    """Metric vs time step with the 95% band, one subplot per metric, one curve per results dict (labelled with
    the matching entry of `labels` in the legend)."""
    from matplotlib import ticker

    plt = _pyplot()
    names = [m for m in METRIC_TITLES if any(m in r["metrics"] for r in results_list)]
    if not names:
        raise ValueError("plot_curves: the results hold no per-step metric (psnr, ssim, lpips).")
    if len(labels) != len(results_list):
        raise ValueError(f"plot_curves: {len(labels)} labels for {len(results_list)} results.")
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        for index, (results, text) in enumerate(zip(results_list, labels)):
            if name not in results["metrics"]:
                continue
            color = CURVE_COLORS[index % len(CURVE_COLORS)]
            steps = np.array(results["protocol"]["time_steps"])
            mean = np.array(results["metrics"][name]["per_step"]["mean"])
            ci = results["metrics"][name]["per_step"]["ci95"]  # None for one video: no interval
            if ci is not None:
                ci = np.array(ci)
                axis.fill_between(steps, mean - ci, mean + ci, color=color, alpha=0.2, linewidth=0)
            axis.plot(steps, mean, color=color, linewidth=2.5, label=text)
        axis.set_title(METRIC_TITLES[name], fontsize=10)
        axis.set_xlabel("time step (frame)")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


def _cell(frame: np.ndarray | None, kind: str, size: tuple[int, int], border: int = 2) -> np.ndarray:
    """One framed frame (uint8 RGB); a blank cell for None."""
    height, width = size
    out = np.full((height + 2 * border, width + 2 * border, 3), EMPTY, np.uint8)
    if frame is not None:
        out[...] = KIND_COLORS[kind]
        out[border:-border, border:-border] = video_io.to_uint8_rgb(frame)
    return out


def compose_rows(rows: list[dict]) -> np.ndarray:
    """uint8 image [R * (H + 4), T * (W + 4), 3] of rows {"frames": [T_r, H, W, C] (None entries blank),
    "kinds": a kind per frame or one for all}; shorter rows are padded with blanks."""
    size = next(f.shape[:2] for r in rows for f in r["frames"] if f is not None)
    length = max(len(r["frames"]) for r in rows)
    lines = []
    for row in rows:
        kinds = row["kinds"] if isinstance(row["kinds"], (list, tuple)) else [row["kinds"]] * len(row["frames"])
        cells = [_cell(f, k, size) for f, k in zip(row["frames"], kinds)]
        cells += [_cell(None, "context", size)] * (length - len(cells))
        lines.append(np.concatenate(cells, axis=1))
    return np.concatenate(lines, axis=0)


def frame_grid(rows: list[dict], path: str, title: str | None = None, scale: float = 1.0) -> str:
    """PNG of `compose_rows(rows)` with each row's "label" on its left (about `scale` screen px per pixel)."""
    plt = _pyplot()
    image = compose_rows(rows)
    dpi = 100
    height, width = image.shape[0] * scale / dpi, image.shape[1] * scale / dpi
    margin_left, margin_top = 1.6, 0.4 if title else 0.1
    figure = plt.figure(figsize=(width + margin_left, height + margin_top))
    axis = figure.add_axes([margin_left / (width + margin_left), 0, width / (width + margin_left),
                            height / (height + margin_top)])
    axis.imshow(image, interpolation="nearest")
    row_height = image.shape[0] / len(rows)
    axis.set_yticks([row_height * (i + 0.5) for i in range(len(rows))])
    axis.set_yticklabels([r.get("label", "") for r in rows], fontsize=8)
    axis.set_xticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)
    if title:
        figure.suptitle(title, fontsize=9, y=1 - 0.1 / (height + margin_top))
    return save_figure(figure, path, dpi=dpi)


def sample_rows(context, truth, samples, best: int, random_count: int = 3) -> list[dict]:
    """Grid rows of one video: context | ground truth, context | best sample, context | random samples.

    context [Tc, H, W, C], truth [F, H, W, C], samples [S, F, H, W, C]; random samples are the first ones
    other than the best (samples are i.i.d., so these are random draws)."""
    num_context = len(context)
    kinds = ["context"] * num_context
    rows = [{"frames": [*context, *truth], "kinds": kinds + ["truth"] * len(truth), "label": "ground truth"},
            {"frames": [*context, *samples[best]], "kinds": kinds + ["prediction"] * len(truth),
             "label": f"best (#{best})"}]
    others = [s for s in range(len(samples)) if s != best][:random_count]
    rows += [{"frames": [*context, *samples[s]], "kinds": kinds + ["prediction"] * len(truth),
              "label": f"sample #{s}"} for s in others]
    return rows


def write_sample_figures(videos: list[dict], output_dir: str, random_count: int = 3) -> list[str]:
    """For each {"index", "context", "truth", "samples", "best"}: samples_<index>.png (grid) and .gif
    (columns: ground truth | best | random samples). Returns the paths written."""
    paths = []
    for video in videos:
        rows = sample_rows(video["context"], video["truth"], video["samples"], video["best"], random_count)
        stem = os.path.join(output_dir, f"samples_{video['index']:06d}")
        paths.append(frame_grid(rows, f"{stem}.png", title=f"test video {video['index']}: context (green) | "
                                                          "future (blue: truth, red: predicted)"))
        shown = np.stack([r["frames"][len(video["context"]):] for r in rows[1:]])  # [1 + random, F, ...]
        frames = video_io.comparison_frames(video["context"][None], video["truth"][None], shown[None])
        paths.append(video_io.write_gif(f"{stem}.gif", frames))
    return paths
