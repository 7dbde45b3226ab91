"""`noise.draw_seed`, the one rule for the seeds of several draws from one user seed (evaluate's videos, predict's
sample batches, training validation's and int8 calibration's batches)."""

from __future__ import annotations

import pytest

from tfvideo import validation
from tfvideo.models import noise

EDGES = (validation.INT32_MIN, -7, -1, 0, 1, 5, validation.INT32_MAX)


@pytest.mark.parametrize("seed", EDGES)
def test_draw_0_is_the_seed_itself_and_every_draw_is_an_int32(seed):
    assert noise.draw_seed(seed, 0) == seed
    draws = [noise.draw_seed(seed, index) for index in range(50)]
    assert all(isinstance(s, int) and validation.INT32_MIN <= s <= validation.INT32_MAX for s in draws)
    assert len(set(draws)) == 50
    assert draws == [noise.draw_seed(seed, index) for index in range(50)]  # a pure function of (seed, index)


def test_the_streams_of_neighbouring_seeds_do_not_overlap():
    """seed + i would give seed s, draw 1 == seed s + 1, draw 0: one video's futures in two evaluations."""
    streams = {seed: [noise.draw_seed(seed, index) for index in range(20)] for seed in range(-20, 20)}
    every = [s for stream in streams.values() for s in stream]
    assert len(set(every)) == len(every)
    assert all(noise.draw_seed(seed, 1) != seed + 1 for seed in range(-1000, 1000))


def test_the_rule_is_fixed():
    """Results and futures are reproducible across versions: these values are the rule (numpy's SeedSequence)."""
    assert [noise.draw_seed(0, 1), noise.draw_seed(5, 2), noise.draw_seed(-1, 3)] == [-330042300, -1068843531,
                                                                                      817018528]
