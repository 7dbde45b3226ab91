"""Planning with an action-conditioned export: which of M candidate action sequences brings a tracked region of
the scene closest to a goal? (Visual foresight / model-predictive control, one planning step.)

For one clip, every candidate's futures are sampled in ONE batched request to the SavedModel (or the TFLite file):
context [M, Tc, H, W, C] (the clip's context repeated) and actions [M, Tc - 1 + horizon, A] (the clip's context
actions, then the candidate's). Each candidate gets a score from `score` (a function of its futures [S, F, H, W, C]
that you can replace; lower is better); the default tracks a pixel region of the last context frame through the
last predicted frame (template matching) and takes its distance to the goal, averaged over the samples.

    python examples/plan_bair.py --saved_model=exports/srvp_bair_actions --clip=clip.npy \
        [--actions=clip_actions.npy] --region=20,30,28,38 --goal=48,16 [--candidates=64] [--horizon=10] \
        [--num_samples=4] [--action_std=1.0] [--seed=0]
    python examples/plan_bair.py --tflite=exports/srvp_bair_actions_float32.tflite ...   (the same, on LiteRT)

clip.npy: frames [T >= Tc, H, W, C] in [0, 1] (the first Tc are the context); --actions: the clip's actions
[>= Tc - 1, A] (zeros without it). Candidates are Gaussian (std --action_std) in raw action units. Prints the best
candidates and how many candidates per second the export served (after one warm-up request).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def track(template: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """(x, y) centre of the window of `frame` [H, W, C] most like `template` [h, w, C] (least squared error)."""
    h, w = template.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(frame, (h, w), axis=(0, 1))  # [H-h+1, W-w+1, C, h, w]
    errors = ((windows - np.moveaxis(template, -1, 0)) ** 2).sum(axis=(2, 3, 4))
    y, x = np.unravel_index(np.argmin(errors), errors.shape)
    return np.array([x + (w - 1) / 2, y + (h - 1) / 2])


def region_distance_score(template: np.ndarray, goal: np.ndarray):
    """score(futures [S, F, H, W, C]) -> mean over samples of the distance from the tracked region in the last
    predicted frame to `goal` (x, y), in pixels."""
    def score(futures):
        return float(np.mean([np.linalg.norm(track(template, sample[-1]) - goal) for sample in futures]))
    return score


def plan(runtime, context, context_actions, candidates, score, num_samples=4, seed=0):
    """(scores [M], seconds of the request): the futures of every candidate action sequence [M, horizon, A] after
    context [Tc, H, W, C] (actions [Tc - 1, A]) in one batched request to `runtime`
    (`tfvideo.runtimes`), each scored by `score`."""
    count, horizon = candidates.shape[:2]
    actions = np.concatenate([np.broadcast_to(context_actions, (count, *context_actions.shape)), candidates], axis=1)
    contexts = np.broadcast_to(context, (count, *context.shape))
    started = time.perf_counter()
    futures = runtime.sample(np.ascontiguousarray(contexts), num_samples, horizon, runtime.spec.training_dt,
                             seed, np.ascontiguousarray(actions, np.float32))
    seconds = time.perf_counter() - started
    return np.array([score(f) for f in futures]), seconds


def _pair(text: str, count: int, name: str) -> np.ndarray:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or min(values) < 0:
        raise ValueError(f"--{name} must be {count} whole numbers >= 0 separated by commas; got {text!r}.")
    return np.array(values)


def _inputs(args, spec):
    """(context [Tc, H, W, C], context actions [Tc - 1, A], template, goal) of the arguments; ValueError."""
    try:
        clip = np.load(args.clip, allow_pickle=False).astype(np.float32)
        actions = None if args.actions is None else np.load(args.actions, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read --clip / --actions ({error}).") from None
    num_context = spec.conditioning_frames or spec.min_context_frames
    if clip.ndim != 4 or clip.shape[0] < num_context:
        raise ValueError(f"--clip must hold frames [T >= {num_context}, H, W, C]; got shape {clip.shape}.")
    context = clip[:num_context]
    if actions is None:
        actions = np.zeros((num_context - 1, spec.action_size), np.float32)
    if actions.ndim != 2 or actions.shape[0] < num_context - 1 or actions.shape[1] != spec.action_size:
        raise ValueError(f"--actions must hold [>= {num_context - 1}, {spec.action_size}]; got {actions.shape}.")
    x0, y0, x1, y1 = _pair(args.region, 4, "region")
    if not (x0 < x1 <= context.shape[2] and y0 < y1 <= context.shape[1]):
        raise ValueError(f"--region={args.region} is not a box x0,y0,x1,y1 inside the {context.shape[2]}x"
                         f"{context.shape[1]} frame.")
    return context, actions[:num_context - 1], context[-1, y0:y1, x0:x1], _pair(args.goal, 2, "goal")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model")
    parser.add_argument("--tflite")
    parser.add_argument("--clip", required=True)
    parser.add_argument("--actions")
    parser.add_argument("--region", required=True)
    parser.add_argument("--goal", required=True)
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=10)
    parser.add_argument("--num_samples", type=int, default=4)
    parser.add_argument("--action_std", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args(argv)
    from tfvideo import runtimes
    from tfvideo.prediction.errors import PredictError
    try:
        if min(args.candidates, args.horizon, args.num_samples, args.top) < 1 or not args.action_std > 0:
            raise ValueError("--candidates, --horizon, --num_samples and --top must be >= 1, --action_std > 0.")
        runtime = runtimes.open_runtime(saved_model=args.saved_model, tflite=args.tflite)
        if not runtime.spec.action_size:
            raise ValueError(f"{runtime.spec.source} is not action-conditioned: export a run trained with "
                             "--action_conditioned.")
        context, context_actions, template, goal = _inputs(args, runtime.spec)
        rng = np.random.default_rng(args.seed)
        candidates = (args.action_std * rng.standard_normal(
            (args.candidates, args.horizon, runtime.spec.action_size))).astype(np.float32)
        score = region_distance_score(template, goal)
        plan(runtime, context, context_actions, candidates[:1], score, args.num_samples, args.seed)  # warm-up
        scores, seconds = plan(runtime, context, context_actions, candidates, score, args.num_samples, args.seed)
    except (ValueError, PredictError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    order = np.argsort(scores)
    print(f"{args.candidates} candidates x {args.num_samples} samples x {args.horizon} frames in {seconds:.2f} s: "
          f"{args.candidates / seconds:.1f} candidates per second ({runtime.spec.source}).")
    print("rank  candidate  distance to goal (px)  first action")
    for rank, index in enumerate(order[:args.top], start=1):
        first = ", ".join(f"{value:.3f}" for value in candidates[index, 0])
        print(f"{rank:4d}  {index:9d}  {scores[index]:21.2f}  [{first}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
