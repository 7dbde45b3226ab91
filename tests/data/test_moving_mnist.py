"""Tests for tfvideo.data.moving_mnist: SRVP Stochastic Moving MNIST dynamics, videos and datasets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfvideo.data import moving_mnist as mm

LIMIT = 64 - 28  # largest top-left coordinate in 64x64 frames


@pytest.fixture(scope="module")
def digits():
    """20 distinct synthetic uint8 'digits' [20, 28, 28] (tests of the mechanics need no real MNIST)."""
    return np.random.default_rng(123).integers(0, 256, size=(20, 28, 28)).astype(np.uint8)


class ScriptedRng:
    """Returns scripted speed redraws; fails if the generator draws anything else."""

    def __init__(self, values):
        self.values = list(values)

    def integers(self, low, high=None, size=None):
        assert (low, high, size) == (-4, 5, None), (low, high, size)
        return self.values.pop(0)


def _paste(digit_images, top_lefts, frame_size):
    """Closed-form frames: digits (scaled to [0, 1]) pasted at top_lefts [D, T, 2], summed, clipped."""
    frames = np.zeros((top_lefts.shape[1], frame_size, frame_size), np.float32)
    for image, path in zip(digit_images, top_lefts):
        for t, (row, col) in enumerate(path):
            frames[t, row:row + 28, col:col + 28] += image.astype(np.float32) / np.float32(255.0)
    return np.minimum(frames, 1.0)[..., None]


# ----------------------------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("frame_size", [64, 36])
def test_trajectory_stays_in_frame_with_bounded_steps(digits, deterministic, frame_size):
    generator = mm.MovingMnistGenerator(digits, frame_size=frame_size, deterministic=deterministic)
    rng = np.random.default_rng(0)
    paths = np.stack([generator.trajectory(rng, 40) for _ in range(150)])
    assert paths.shape == (150, 40, 2) and np.issubdtype(paths.dtype, np.integer)
    assert paths.min() == 0 and paths.max() == frame_size - 28  # reaches both walls, never beyond
    assert np.abs(np.diff(paths, axis=1)).max() <= 4
    assert np.abs(np.diff(paths, axis=1)).max() == 4


def test_start_and_speed_distribution(digits):
    generator = mm.MovingMnistGenerator(digits)
    rng = np.random.default_rng(1)
    starts, speeds = zip(*[(p[0], v[0]) for p, v in (generator.trajectory_with_speeds(rng, 1) for _ in range(3000))])
    starts, speeds = np.array(starts), np.array(speeds)
    assert set(np.unique(starts)) == set(range(LIMIT + 1)) and np.all(starts == np.rint(starts))
    assert set(np.unique(speeds)) == set(range(-4, 5))


def test_deterministic_bounce_by_hand(digits):
    generator = mm.MovingMnistGenerator(digits, deterministic=True)
    # Row: 34 -> 38 is cut at the wall 36 and reflected to 34. Col: 10, 7, 4, 1, then -2 reflects to 2.
    positions, speeds = generator.simulate((34, 10), (4, -3), rng=None, seq_len=6)
    np.testing.assert_array_equal(positions, [[34, 10], [34, 7], [30, 4], [26, 1], [22, 2], [18, 5]])
    np.testing.assert_array_equal(speeds, [[4, -3], [-4, -3], [-4, -3], [-4, -3], [-4, 3], [-4, 3]])
    # Both walls at once (corner): 35 -> 37 -> 35 and 1 -> -1 -> 1.
    positions, speeds = generator.simulate((35, 1), (2, -2), rng=None, seq_len=3)
    np.testing.assert_array_equal(positions, [[35, 1], [35, 1], [33, 3]])
    np.testing.assert_array_equal(speeds, [[2, -2], [-2, 2], [-2, 2]])


@pytest.mark.parametrize("redraw, expected_pos, expected_speed", [
    ((-2, 1), (35.0, 9.0), (-2, 1)),  # half the move before the wall (34 -> 36), half with the new speed
    ((3, -4), (34.5, 6.5), (-3, -4)),  # the row speed is signed to point away from the bottom wall
    ((0, 2), (36.0, 9.5), (0, 2)),  # a redrawn 0 stays 0: the digit rests on the wall, inside the frame
])
def test_stochastic_bounce_by_hand(digits, redraw, expected_pos, expected_speed):
    generator = mm.MovingMnistGenerator(digits, deterministic=False)
    positions, speeds = generator.simulate((34, 10), (4, -3), ScriptedRng(redraw), seq_len=3)
    np.testing.assert_allclose(positions[1], expected_pos, atol=1e-12)
    np.testing.assert_array_equal(speeds[1], expected_speed)
    np.testing.assert_allclose(positions[2], np.add(expected_pos, expected_speed), atol=1e-12)  # no bounce
    assert generator.trajectory(np.random.default_rng(0), 3).max() <= LIMIT


def _straight_moves(generator, rng, count, seq_len):
    """Per step: whether the straight move stays inside, and whether the speed changed."""
    inside, changed, magnitude_changed = [], [], []
    for _ in range(count):
        pos, vel = generator.trajectory_with_speeds(rng, seq_len)
        straight = pos[:-1] + vel[:-1]
        step_inside = np.all((straight >= -1e-8) & (straight <= generator.limit + 1e-8), axis=1)
        np.testing.assert_allclose(pos[1:][step_inside], straight[step_inside], atol=1e-9)
        inside.append(step_inside)
        changed.append(np.any(vel[1:] != vel[:-1], axis=1))
        magnitude_changed.append(np.any(np.abs(vel[1:]) != np.abs(vel[:-1]), axis=1))
    return np.concatenate(inside), np.concatenate(changed), np.concatenate(magnitude_changed)


def test_stochastic_speed_changes_only_at_bounces(digits):
    generator = mm.MovingMnistGenerator(digits, deterministic=False)
    inside, changed, magnitude_changed = _straight_moves(generator, np.random.default_rng(2), 200, 30)
    assert not np.any(changed & inside)  # no bounce -> same speed, straight move
    assert magnitude_changed[~inside].mean() > 0.5  # bounces redraw the speed (not just a sign flip)


def test_deterministic_speed_magnitude_is_constant(digits):
    generator = mm.MovingMnistGenerator(digits, deterministic=True)
    inside, changed, magnitude_changed = _straight_moves(generator, np.random.default_rng(3), 200, 30)
    assert not np.any(changed & inside) and not np.any(magnitude_changed)
    assert np.all(changed[~inside])  # every bounce flips a sign (speeds are never 0 on a bouncing axis)


def test_trajectory_is_reproducible_and_rounds_exact_positions(digits):
    generator = mm.MovingMnistGenerator(digits)
    path = generator.trajectory(np.random.default_rng(5), 25)
    positions, _ = generator.trajectory_with_speeds(np.random.default_rng(5), 25)
    np.testing.assert_array_equal(path, mm.round_positions(positions))
    assert np.abs(path - positions).max() <= 0.5
    np.testing.assert_array_equal(path, generator.trajectory(np.random.default_rng(5), 25))


def test_rounding_breaks_exact_ties_to_even_despite_float_noise():
    noisy = np.array([2.5000000000000004, 2.4999999999999996, 3.5, 0.49999999999999856, 7.4, 7.6, 36.0])
    np.testing.assert_array_equal(mm.round_positions(noisy), [2, 2, 4, 0, 7, 8, 36])


# ----------------------------------------------------------------------------------------------- videos


def test_video_shape_range_and_motion(digits):
    generator = mm.MovingMnistGenerator(digits, num_digits=2)
    videos = [generator.video(np.random.default_rng(seed), 8) for seed in range(8)]
    for video in videos:
        assert video.shape == (8, 64, 64, 1) and video.dtype == np.float32
        assert video.min() >= 0.0 and video.max() <= 1.0 and video.max() > 0.5
    moving = [np.abs(np.diff(video, axis=0)).sum(axis=(1, 2, 3)).min() > 0 for video in videos]
    assert sum(moving) >= 6  # (a digit may be drawn with speed 0 and a pair may overlap exactly: rare)


@pytest.mark.parametrize("num_digits", [1, 2, 3])
def test_video_is_digits_pasted_at_their_trajectories(digits, num_digits):
    generator = mm.MovingMnistGenerator(digits, num_digits=num_digits, frame_size=48)
    chosen = [4, 9, 4][:num_digits]  # the same digit twice is allowed (and overlaps add then clip)
    video = generator.video(np.random.default_rng(11), 12, digit_indices=chosen)
    rng = np.random.default_rng(11)
    paths = np.stack([generator.trajectory(rng, 12) for _ in chosen])
    np.testing.assert_array_equal(video, _paste(digits[chosen], paths, 48))
    if num_digits > 1:
        assert np.any(video == 1.0)  # bright random digits overlap somewhere: clipping was needed


def test_video_draws_digit_indices_first(digits):
    generator = mm.MovingMnistGenerator(digits, num_digits=2)
    rng = np.random.default_rng(4)
    indices = rng.integers(0, len(digits), size=2)
    np.testing.assert_array_equal(generator.video(np.random.default_rng(4), 5),
                                  generator.video(rng, 5, digit_indices=indices))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_digits=0), "num_digits must be an integer in \\[1, 3\\]; got 0"),
    (dict(num_digits=4), "num_digits .* got 4"),
    (dict(frame_size=27), "frame_size must be an integer >= 28 .*got 27"),
    (dict(max_speed=-1), "max_speed .* got -1"),
    (dict(num_digits=2.0), "num_digits .* got 2.0"),
])
def test_generator_argument_validation(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mm.MovingMnistGenerator(digits, **kwargs)


@pytest.mark.parametrize("bad", [np.zeros((3, 28, 28), np.float32), np.zeros((3, 32, 32), np.uint8),
                                 np.zeros((3, 784), np.uint8), np.zeros((0, 28, 28), np.uint8), [[0]]])
def test_digits_validation(bad):
    with pytest.raises(ValueError, match="digits must be"):
        mm.MovingMnistGenerator(bad)


def test_video_argument_validation(digits):
    generator = mm.MovingMnistGenerator(digits, num_digits=2)
    with pytest.raises(ValueError, match="seq_len must be an integer >= 1; got 0"):
        generator.video(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="digit_indices must be 2 indices in \\[0, 20\\)"):
        generator.video(np.random.default_rng(0), 3, digit_indices=[1, 20])
    with pytest.raises(ValueError, match="digit_indices"):
        generator.video(np.random.default_rng(0), 3, digit_indices=[1])
    with pytest.raises(ValueError, match="digit_indices"):
        generator.video(np.random.default_rng(0), 3, digit_indices=[1.0, 2.0])


def test_frame_size_28_has_a_still_digit(digits):
    generator = mm.MovingMnistGenerator(digits, num_digits=1, frame_size=28)
    assert np.all(generator.trajectory(np.random.default_rng(0), 5) == 0)


# ------------------------------------------------------------------------------------- training stream


def _batches(digits, count, **kwargs):
    args = dict(batch_size=3, seq_len=4, num_digits=2, frame_size=40, seed=0)
    args.update(kwargs)
    return [batch.numpy() for batch in mm.make_train_dataset(digits, **args).take(count)]


def test_train_dataset_shapes_and_values(digits):
    dataset = mm.make_train_dataset(digits, batch_size=3, seq_len=4, frame_size=40)
    assert dataset.element_spec.shape.as_list() == [3, 4, 40, 40, 1]
    batch = next(iter(dataset)).numpy()
    assert batch.shape == (3, 4, 40, 40, 1) and batch.dtype == np.float32
    assert 0.0 <= batch.min() and batch.max() <= 1.0 and batch.max() > 0.5
    assert not np.array_equal(batch[0], batch[1])


def test_train_dataset_is_reproducible_and_seeded(digits):
    first = _batches(digits, 2, seed=7, num_parallel_calls=2)
    np.testing.assert_array_equal(first, _batches(digits, 2, seed=7, num_parallel_calls=1))
    assert not np.array_equal(first, _batches(digits, 2, seed=8))


def test_train_dataset_elements_are_documented_videos(digits):
    batch = _batches(digits, 1, seed=5, deterministic=True)[0]
    generator = mm.MovingMnistGenerator(digits, num_digits=2, frame_size=40, deterministic=True)
    for i in range(3):
        np.testing.assert_array_equal(batch[i], generator.video(np.random.default_rng([5, i]), 4))


def test_train_dataset_resumes_with_start_index(digits):
    from_start = _batches(digits, 4)
    resumed = _batches(digits, 2, start_index=2 * 3)  # s = 2 batches of 3 already consumed
    np.testing.assert_array_equal(resumed[0], from_start[2])
    np.testing.assert_array_equal(resumed[1], from_start[3])
    shifted = _batches(digits, 1, start_index=1)[0]  # element-level: batches need not be aligned
    np.testing.assert_array_equal(shifted, np.concatenate(from_start[:2])[1:4])


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size must be an integer >= 1; got 0"),
    (dict(seq_len=0), "seq_len must be an integer >= 1; got 0"),
    (dict(seed=-1), "seed .* got -1"),
    (dict(start_index=-3), "start_index .* got -3"),
    (dict(num_digits=4), "num_digits .* got 4"),
])
def test_train_dataset_argument_validation(digits, kwargs, match):
    args = dict(batch_size=2, seq_len=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mm.make_train_dataset(digits, **args)


def test_process_with_live_iterator_exits(tmp_path):
    """A script that ends while holding an iterator of the stream must exit (not hang in TF's teardown).

    Without the module's exit guard this hangs (TF 2.21, Python 3.11) and fails by timeout.
    """
    script = tmp_path / "live_iterator.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from tfvideo.data import moving_mnist as mm
        digits = np.full((4, 28, 28), 200, np.uint8)
        iterator = iter(mm.make_train_dataset(digits, batch_size=16, seq_len=15))
        for _ in range(10):  # generation is still running in the background when the script ends
            next(iterator)
        print("consumed", flush=True)
    """))
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(mm.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, *sys.path]), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "consumed" in result.stdout


# ------------------------------------------------------------------------------------------------ test set


def test_heldout_digit_groups_are_disjoint():
    groups = mm.heldout_digit_groups(21, num_digits=2, seed=42)
    assert groups.shape == (10, 2)
    assert len(np.unique(groups)) == 20 and groups.min() >= 0 and groups.max() < 21
    np.testing.assert_array_equal(groups, mm.heldout_digit_groups(21, num_digits=2, seed=42))
    assert not np.array_equal(groups, mm.heldout_digit_groups(21, num_digits=2, seed=43))
    np.testing.assert_array_equal(mm.heldout_digit_groups(21, num_digits=2, num_videos=4), groups[:4])
    assert mm.heldout_digit_groups(21, num_digits=3).shape == (7, 3)


def test_test_set_is_fixed_and_built_from_the_groups(digits):
    videos = mm.make_test_set(digits, seq_len=5, num_digits=2, frame_size=40)
    assert videos.shape == (10, 5, 40, 40, 1) and videos.dtype == np.float32  # N = 20 // 2
    again = mm.make_test_set(digits, seq_len=5, num_digits=2, frame_size=40)
    assert videos.tobytes() == again.tobytes()
    groups = mm.heldout_digit_groups(len(digits), num_digits=2, seed=42)
    generator = mm.MovingMnistGenerator(digits, num_digits=2, frame_size=40)
    for i in (0, 9):
        np.testing.assert_array_equal(videos[i], generator.video(np.random.default_rng([42, i]), 5, groups[i]))
    assert not np.array_equal(videos, mm.make_test_set(digits, seq_len=5, num_digits=2, frame_size=40, seed=1))


def test_test_set_num_videos_and_validation(digits):
    full = mm.make_test_set(digits, seq_len=3, num_digits=3, frame_size=32, deterministic=True)
    assert full.shape[0] == 6  # 20 // 3
    first = mm.make_test_set(digits, seq_len=3, num_digits=3, frame_size=32, deterministic=True, num_videos=2)
    np.testing.assert_array_equal(first, full[:2])
    with pytest.raises(ValueError, match="num_videos must be an integer in \\[1, 6\\].*got 7"):
        mm.make_test_set(digits, seq_len=3, num_digits=3, frame_size=32, num_videos=7)
    with pytest.raises(ValueError, match="seq_len .* got 0"):
        mm.make_test_set(digits, seq_len=0)
