"""The SRVP paper's qualitative analyses (section 4), as frames and figures.

- `frame_rates`: the same sample (same seed, so the same z per frame) generated with dt = 1, 1/2, 1/4 and
  `include_intermediate=True`: 1, 2 or 4 frames per training frame (paper Fig. 7).
- `content_swap`: futures with the dynamics (y_1, z) inferred from one video and the content w (and skips) of
  another (Fig. 8); `content_swap(x, x, seed=s)` equals `model.generate(x, 1, horizon, seed=s)`.
- `interpolate_initial_states`: trajectories decoded from y_1 = (1 - a) y_1^s + a y_1^t (the means of
  q(y_1) of two videos) with z at its prior mean, i.e. deterministic dynamics (Fig. 9).
- `write_srvp_analyses`: the three as PNG grids and GIFs.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfvideo.evaluation import figures
from tfvideo.models import srvp
from tfvideo.utils import video_io

FACTORS = (1, 2, 4)


def is_srvp(model) -> bool:
    return isinstance(model, srvp.SRVP)


def frame_rates(model, context: np.ndarray, horizon: int, seed: int, factors=FACTORS) -> dict[int, np.ndarray]:
    """{k: frames [horizon * k, H, W, C]} of one sample of context [Tc, H, W, C] generated with dt = 1/k."""
    return {k: model.generate(context[None], num_samples=1, horizon=horizon, dt=1.0 / k, seed=seed,
                              include_intermediate=True).numpy()[0, 0] for k in factors}


def content_swap(model, content_context, dynamics_context, horizon: int, seed: int) -> np.ndarray:
    """Futures [B, horizon, H, W, C]: y_1 and z inferred from dynamics_context [B, Tc, ...] (z from the posterior
    over the context, then the prior, with the noise `generate` draws for `seed`), decoded with the content w
    and skips inferred from content_context [B, Tc', ...]."""
    dynamics_context = tf.convert_to_tensor(dynamics_context, tf.float32)
    batch, length = dynamics_context.shape[0], dynamics_context.shape[1]
    noise = model.draw_noise(batch, 1, length, length - 1 + horizon, seed=seed)
    k = model.model_config.steps_per_frame  # generate's default frame rate, the training one
    states = model.sample_states(model.infer(dynamics_context), 1, horizon, k, noise)
    content = model.infer(tf.convert_to_tensor(content_context, tf.float32))
    return model.render(states, content, 1)[:, 0].numpy()


def interpolate_initial_states(model, context_a, context_b, length: int, steps: int = 5) -> np.ndarray:
    """Frames [steps, length, H, W, C] decoded from y_1 interpolated linearly between the q(y_1) means of
    context_a and context_b [Tc, H, W, C] (row 0: a, last row: b), z at the prior mean, content of a."""
    a, b = (model.infer(tf.convert_to_tensor(c[None], tf.float32)) for c in (context_a, context_b))
    alphas = tf.linspace(0.0, 1.0, steps)[:, None]
    y1 = (1.0 - alphas) * a["y1"].loc[0] + alphas * b["y1"].loc[0]  # [steps, ny]
    cfg = model.model_config
    z_noise = tf.zeros([steps, length, cfg.noise_size]) if cfg.stochastic else None
    future = model.rollout(y1, 0, length - 1, cfg.steps_per_frame, None, z_noise)
    states = tf.concat([y1[:, None], future], axis=1)  # [steps, length, ny]: the steps samples of video a
    return model.render(states, a, steps)[0].numpy()


def frame_rate_rows(truth: np.ndarray, generated: dict[int, np.ndarray], max_frames: int) -> list[dict]:
    """Grid rows aligned on the finest rate K: frame j of rate k sits in column j * K / k; intermediate frames
    (not at a whole time step) are marked. truth [F, ...]; only the first `max_frames` time steps are shown."""
    finest = max(generated)
    max_frames = min(max_frames, len(truth))
    columns = max_frames * finest
    rows = [{"frames": [truth[p // finest - 1] if p % finest == 0 else None for p in range(1, columns + 1)],
             "kinds": "truth", "label": "ground truth"}]
    for k, frames in sorted(generated.items()):
        cells, kinds = [None] * columns, ["prediction"] * columns
        for j in range(1, min(len(frames), max_frames * k) + 1):
            column = j * finest // k - 1
            cells[column] = frames[j - 1]
            kinds[column] = "prediction" if j % k == 0 else "intermediate"
        rows.append({"frames": cells, "kinds": kinds, "label": f"dt = 1/{k}" if k > 1 else "dt = 1"})
    return rows


def _held_gif(path: str, rows: list[dict]) -> str:
    """A GIF whose frame p shows, side by side, each row's latest non-blank frame at or before column p."""
    frames, latest = [], [None] * len(rows)
    for column in range(max(len(r["frames"]) for r in rows)):
        for i, row in enumerate(rows):
            if column < len(row["frames"]) and row["frames"][column] is not None:
                kinds = row["kinds"] if isinstance(row["kinds"], list) else [row["kinds"]] * len(row["frames"])
                latest[i] = (row["frames"][column], kinds[column])
        if all(entry is not None for entry in latest):
            frames.append(figures.compose_rows([{"frames": [f for f, _ in latest],
                                                 "kinds": [k for _, k in latest]}]))
    return video_io.write_gif(path, np.stack(frames), fps=8.0)


def _frame_rate_figures(model, context, truth, output_dir, seed, max_frames) -> list[str]:
    rows = frame_rate_rows(truth, frame_rates(model, context, min(len(truth), max_frames), seed), max_frames)
    return [figures.frame_grid(rows, os.path.join(output_dir, "frame_rate.png"),
                               title="same sample at dt = 1, 1/2, 1/4 (orange: intermediate frames)"),
            _held_gif(os.path.join(output_dir, "frame_rate.gif"), rows)]


def _content_swap_figures(model, context, truth, output_dir, seed) -> list[str]:
    """context [2, Tc, ...], truth [2, F, ...]: content of video 0, dynamics of video 1."""
    num_context, horizon = context.shape[1], truth.shape[1]
    swapped = content_swap(model, context[:1], context[1:2], horizon, seed)[0]
    kinds = ["context"] * num_context + ["truth"] * horizon
    rows = [{"frames": [*context[0], *truth[0]], "kinds": kinds, "label": "content source"},
            {"frames": [*context[1], *truth[1]], "kinds": kinds, "label": "dynamics source"},
            {"frames": [None] * num_context + list(swapped), "kinds": "prediction", "label": "swap"}]
    return [figures.frame_grid(rows, os.path.join(output_dir, "content_swap.png"),
                               title="content w of the first video, dynamics of the second"),
            video_io.write_gif(os.path.join(output_dir, "content_swap.gif"),
                               video_io.comparison_frames(context[1:2], truth[1:2], swapped[None, None]))]


def _interpolation_figures(model, videos, num_context, output_dir) -> list[str]:
    """videos [2, L, ...]: trajectories between the y_1 of video 0 and of video 1."""
    length = videos.shape[1]
    frames = interpolate_initial_states(model, videos[0, :num_context], videos[1, :num_context], length)
    rows = [{"frames": list(videos[0]), "kinds": "truth", "label": "video s"}]
    rows += [{"frames": list(f), "kinds": "prediction", "label": f"a = {a:.2f}"}
             for f, a in zip(frames, np.linspace(0.0, 1.0, len(frames)))]
    rows.append({"frames": list(videos[1]), "kinds": "truth", "label": "video t"})
    return [figures.frame_grid(rows, os.path.join(output_dir, "interpolation.png"),
                               title="y_1 = (1 - a) y_1(s) + a y_1(t), z at its prior mean, content of s"),
            video_io.write_gif(os.path.join(output_dir, "interpolation.gif"),
                               video_io.comparison_frames(videos[:1, :0], None, frames[None]))]


def write_srvp_analyses(model, videos: np.ndarray, num_context: int, output_dir: str, seed: int = 0,
                        max_frames: int = 8) -> list[str]:
    """Writes frame_rate, content_swap and interpolation PNGs and GIFs for test videos [n >= 2, Tc + F, ...]
    (showing at most `max_frames` predicted frames); returns the paths. Parts the model cannot do (dt < 1, no
    content) are left out, and non-SRVP models get none."""
    if not is_srvp(model):
        return []
    videos = videos[:2, :num_context + max_frames]
    context, truth = videos[:, :num_context], videos[:, num_context:]
    paths = []
    if model.continuous_time:
        paths += _frame_rate_figures(model, context[0], truth[0], output_dir, seed, max_frames)
    if model.model_config.use_content or model.model_config.skip_connections:
        paths += _content_swap_figures(model, context, truth, output_dir, seed)
    return paths + _interpolation_figures(model, videos, num_context, output_dir)
