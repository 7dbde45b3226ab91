"""Trains a tiny action-conditioned SRVP on action blobs (`tfvideo.data.action_blobs`: a blob moved by its
actions) and prints how well its predicted motion follows the actions (correlation of the predicted blob's
displacement with the action). A few hundred steps on a CPU; docs/actions.md gives the figure.

    python examples/action_blobs.py [--steps=400] [--seed=0] [--stochastic]

The default model has deterministic dynamics (no z), so that its only source of motion is the actions;
--stochastic keeps z (docs/actions.md compares both at this budget).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_config(seed: int = 0, stochastic: bool = False):
    """A small action-conditioned SRVP for 64x64 grayscale blobs with 2-number actions."""
    from tfvideo import config as config_lib
    model = config_lib.SRVPConfig(
        action_conditioned=True, action_size=2, base_channels=8, encoding_size=32, latent_size=16,
        noise_size=4, inference_hidden_size=32, inference_layers=2, dynamics_hidden_size=64, dynamics_layers=2,
        inference_frames=2, obs_scale=0.2, beta_z=2.0, stochastic=stochastic)
    data = config_lib.DataConfig(conditioning_frames=2, seq_len=6, test_horizon=4)
    return config_lib.Config(model=model, data=data, train=config_lib.TrainConfig(seed=seed)).validate()


def train(steps: int, seed: int = 0, batch_size: int = 16, learning_rate: float = 1e-3, stochastic: bool = False):
    """(the trained model, seconds): `steps` ELBO steps of `tiny_config` on action blobs."""
    import keras
    import tensorflow as tf
    from tfvideo.data import action_blobs
    from tfvideo.models import build_model

    keras.utils.set_random_seed(seed)
    config = tiny_config(seed, stochastic)
    model = build_model(config)
    model.action_normalizer.set_statistics([0.0, 0.0], [1 / 3 ** 0.5] * 2)  # uniform [-1, 1]: known statistics
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    model.optimizer.build(model.trainable_variables)
    step = tf.function(model.train_step)
    started = time.perf_counter()
    for batch in action_blobs.train_stream(batch_size, config.data.seq_len, seed).take(steps):
        step(batch)
    return model, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stochastic", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1:
        print("error: --steps must be >= 1.", file=sys.stderr)
        return 2
    from tfvideo.data import action_blobs
    model, seconds = train(args.steps, args.seed, stochastic=args.stochastic)
    correlation = action_blobs.displacement_correlation(model)
    print(f"{args.steps} steps in {seconds:.0f} s; correlation of predicted displacement with the action: "
          f"{correlation:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
