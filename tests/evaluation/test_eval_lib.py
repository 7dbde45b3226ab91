"""The evaluation protocol: best-of-N per metric, predicted frames only, the 95% interval, resume, errors."""

import dataclasses
import io
import json
import os

import numpy as np
import pytest

from tests.support.configs import TINY_DATA, TINY_MODEL
from tests.support.markers import needs_bfloat16
from tests.support.runs import TRAINED_STEP
from tests.support.weights import i3d_weights, lpips_weights, write_npz
from tfvideo.evaluation import eval_lib, metrics
from tfvideo.evaluation import results as results_lib

QUIET = io.StringIO()
P, N = TINY_DATA["conditioning_frames"], TINY_DATA["test_horizon"]  # the runs' context and horizon


def _fake_setup(untrained_workdir, tmp_path, predict, num_videos=3, **options):
    """A baseline Setup whose predictor is replaced by `predict(context, index)`."""
    opts = eval_lib.EvalOptions(baseline="last_frame", num_videos=num_videos, output_dir=str(tmp_path / "out"),
                                **options)
    setup = eval_lib.prepare(untrained_workdir, opts)
    return dataclasses.replace(setup, predict=predict)


def _test_videos(setup):
    return np.concatenate(list(setup.source.test_batches(8, start=0, num_videos=setup.num_videos)))


def test_best_of_n_is_chosen_per_metric_independently(untrained_workdir, tmp_path):
    setup = _fake_setup(untrained_workdir, tmp_path, predict=None)
    rng = np.random.default_rng(0)
    video = rng.uniform(0.3, 0.7, size=(P + N, 64, 64, 1)).astype(np.float32)  # context + future frames
    truth = video[P:]
    offset = truth + 0.1  # structure intact: best SSIM (~0.98), PSNR 20 dB
    noisy = (truth + rng.normal(0, 0.05, truth.shape)).astype(np.float32)  # best PSNR (~26 dB), SSIM ~0.9
    flat = np.full_like(truth, 0.5)  # worst in both
    samples = np.stack([flat, offset, noisy])
    per_frame = eval_lib.frame_metrics(setup, samples, truth)
    assert per_frame["psnr"].mean(1).argmax() == 2 and per_frame["ssim"].mean(1).argmax() == 1
    seen = []
    record = eval_lib.video_record(dataclasses.replace(setup, predict=lambda c, i: seen.append(c) or samples),
                                   video, 0)
    assert record["best_sample"] == {"psnr": 2, "ssim": 1}
    np.testing.assert_allclose(record["psnr"], per_frame["psnr"][2], rtol=1e-6)
    np.testing.assert_allclose(record["ssim"], per_frame["ssim"][1], rtol=1e-6)
    np.testing.assert_array_equal(seen[0], video[:P])  # the predictor sees the conditioning frames only


def test_only_predicted_frames_are_scored(untrained_workdir, tmp_path):
    # The predictor returns the truth for every future frame but the last: a scorer that included the (perfect,
    # 100 dB) conditioning frames or missed the last frame would not give exactly this mean.
    setup = _fake_setup(untrained_workdir, tmp_path, predict=None, num_videos=2)
    videos = _test_videos(setup)

    def predict(context, index):
        future = videos[index, P:].copy()
        future[-1] = 0.25
        return future[None]
    results = eval_lib.evaluate("unused", stream=QUIET, setup=dataclasses.replace(setup, predict=predict))
    last = [float(metrics.psnr(np.full_like(v[-1], 0.25), v[-1])) for v in videos]
    per_video = [(100.0 * (N - 1) + p) / N for p in last]  # N - 1 perfect frames (capped 100 dB) + the last
    assert results["protocol"]["time_steps"] == list(range(P + 1, P + N + 1))
    assert results["metrics"]["psnr"]["mean"] == pytest.approx(np.mean(per_video), rel=1e-5)
    assert results["metrics"]["psnr"]["per_step"]["mean"][:N - 1] == pytest.approx([100.0] * (N - 1))


def test_results_report_the_mean_and_1_96_std_over_sqrt_n_of_per_video_means(untrained_workdir, tmp_path):
    setup = _fake_setup(untrained_workdir, tmp_path, predict=None, num_videos=4)
    setup = dataclasses.replace(setup, predict=eval_lib._load_predictor("unused", setup.options, setup.config)[1])
    results = eval_lib.evaluate("unused", stream=QUIET, setup=setup)
    curves = np.array([json.load(open(eval_lib.record_path(setup.output_dir, i)))["ssim"] for i in range(4)])
    means = curves.mean(1)
    assert results["metrics"]["ssim"]["mean"] == pytest.approx(means.mean())
    assert results["metrics"]["ssim"]["ci95"] == pytest.approx(1.96 * means.std(ddof=1) / 2.0)
    assert results["metrics"]["ssim"]["per_step"]["ci95"] == pytest.approx(1.96 * curves.std(0, ddof=1) / 2.0)
    assert results["num_videos"] == 4 and results["predictor"] == "baseline:last_frame"


def test_baselines_repeat_the_last_conditioning_frame_or_predict_black(untrained_workdir, tmp_path):
    setup = eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(
        baseline="last_frame", num_videos=1, output_dir=str(tmp_path / "b")))
    video = _test_videos(setup)[0]
    record = eval_lib.video_record(setup, video, 0)
    expected = metrics.psnr(np.repeat(video[P - 1:P], N, axis=0), video[P:]).numpy()
    np.testing.assert_allclose(record["psnr"], expected, rtol=1e-6)
    assert setup.spec["num_samples"] == 1 and os.path.basename(setup.output_dir) == "b"
    black = eval_lib.prepare(untrained_workdir, eval_lib.EvalOptions(
        baseline="black", num_videos=1, output_dir=str(tmp_path / "k")))
    expected = metrics.psnr(np.zeros_like(video[P:]), video[P:]).numpy()
    np.testing.assert_allclose(eval_lib.video_record(black, video, 0)["psnr"], expected, rtol=1e-6)


def _evaluate(workdir, out, **kwargs):
    values = {"num_samples": 3, "num_videos": 5, "batch_size": 2, "output_dir": str(out), **kwargs}
    options = eval_lib.EvalOptions(**values)
    return eval_lib.evaluate(workdir, options, stream=QUIET)


@pytest.mark.slow
def test_resume_after_interruption_gives_the_same_json(trained_run, tmp_path):
    workdir = trained_run
    _evaluate(workdir, tmp_path / "whole")
    reference = (tmp_path / "whole" / "results.json").read_text()

    def interrupt_after_two(index):
        if index == 1:
            raise KeyboardInterrupt
    options = eval_lib.EvalOptions(num_samples=3, num_videos=5, batch_size=2, output_dir=str(tmp_path / "cut"))
    with pytest.raises(KeyboardInterrupt):
        eval_lib.evaluate(workdir, options, on_video=interrupt_after_two, stream=QUIET)
    assert sorted(os.listdir(tmp_path / "cut" / "videos")) == ["000000.json", "000001.json"]
    recomputed = []
    eval_lib.evaluate(workdir, options, on_video=recomputed.append, stream=QUIET)
    assert recomputed == [2, 3, 4]
    assert (tmp_path / "cut" / "results.json").read_text() == reference
    # Batching does not change any sample: video i is sampled with noise.draw_seed(seed, i).
    _evaluate(workdir, tmp_path / "batch3", batch_size=3)
    assert (tmp_path / "batch3" / "results.json").read_text() == reference
    results = json.loads(reference)
    assert results["checkpoint_step"] == TRAINED_STEP and results["protocol"]["seed"] == 0
    assert results["protocol"]["num_samples"] == 3 and results["protocol"]["horizon"] == N
    assert results["metric_versions"]["ssim"].startswith("ssim-v1")
    assert results["dataset"]["num_test_videos"] == 1000 and "--num_videos=5" in results["command"]


def test_other_settings_in_the_same_output_dir_are_refused_and_a_new_seed_changes_samples(trained_run,
                                                                                      tmp_path):
    workdir = trained_run
    first = _evaluate(workdir, tmp_path / "a")
    with pytest.raises(eval_lib.EvalError, match="other settings .*num_samples"):
        eval_lib.evaluate(workdir, eval_lib.EvalOptions(num_samples=4, num_videos=5, output_dir=str(tmp_path / "a")),
                          stream=QUIET)
    reseeded = _evaluate(workdir, tmp_path / "b", seed=7)
    assert reseeded["metrics"]["psnr"]["mean"] != first["metrics"]["psnr"]["mean"]


def test_default_output_dir_names_the_settings(trained_run):
    workdir = trained_run
    setup = eval_lib.prepare(workdir, eval_lib.EvalOptions(num_samples=7, num_videos=2, dt=0.5))
    assert setup.output_dir == os.path.join(workdir, "eval", f"step{TRAINED_STEP}_n7_c{P}_h{N}_dt0.5_seed0")
    assert "precision" not in setup.spec  # float32: the spec and folder that evaluations always had


@needs_bfloat16
def test_a_reduced_sampling_precision_has_its_own_folder_spec_and_results(trained_run, tmp_path):
    workdir = trained_run
    setup = eval_lib.prepare(workdir, eval_lib.EvalOptions(num_samples=7, num_videos=2, precision="mixed_bfloat16"))
    assert setup.spec["precision"] == "mixed_bfloat16" and setup.output_dir.endswith("_mixed_bfloat16")
    options = eval_lib.EvalOptions(num_samples=2, num_videos=2, precision="mixed_bfloat16",
                                   output_dir=str(tmp_path / "bf16"))
    results = eval_lib.evaluate(workdir, options, stream=QUIET)
    assert results["precision"] == "mixed_bfloat16" and "--precision=mixed_bfloat16" in results["command"]
    assert not results["comparability"]["comparable_to_paper"]
    assert any("mixed_bfloat16" in note for note in results["comparability"]["notes"])
    full = eval_lib.evaluate(workdir, dataclasses.replace(options, precision="float32",
                                                          output_dir=str(tmp_path / "f32")), stream=QUIET)
    assert full["precision"] == "float32" and "--precision" not in full["command"]
    assert abs(full["metrics"]["psnr"]["mean"] - results["metrics"]["psnr"]["mean"]) < 0.5


def test_lpips_and_fvd_from_weight_files(untrained_workdir, tmp_path):
    lpips_path = write_npz(tmp_path / "lpips.npz", lpips_weights())
    fvd_path = write_npz(tmp_path / "i3d.npz", i3d_weights())
    options = eval_lib.EvalOptions(baseline="last_frame", num_videos=3, output_dir=str(tmp_path / "o"),
                                   lpips_weights=lpips_path, fvd_weights=fvd_path)
    results = eval_lib.evaluate(untrained_workdir, options, stream=QUIET)
    records = [json.load(open(eval_lib.record_path(str(tmp_path / "o"), i))) for i in range(3)]
    assert all(r["best_sample"]["lpips"] == 0 and min(r["lpips"]) > 0 for r in records)
    real = metrics.gaussian_statistics([r["fvd_real"] for r in records])
    fake = metrics.gaussian_statistics([r["fvd_fake"] for r in records])
    assert results["metrics"]["fvd"]["value"] == pytest.approx(
        metrics.frechet_distance(real["mean"], real["cov"], fake["mean"], fake["cov"]))
    assert results["metrics"]["fvd"]["value"] > 0
    assert set(results["weights_sha256"]) == {"lpips", "fvd"}
    assert "LPIPS" in results_lib.markdown_report([results]) and results["metrics"]["lpips"]["mean"] > 0


@pytest.mark.parametrize("options,message", [
    (dict(num_videos=5000), r"exceeds the test set \(1000 videos\)"),
    (dict(num_samples=0), "--num_samples must be a whole number >= 1"),
    (dict(dt=0.3), "--dt must be of the form 1/k"),
    (dict(dt=0.0001), "--dt=0.0001 is too small"),
    (dict(seed=2**31, num_videos=2), "--seed must be an int32"),
    (dict(conditioning_frames=1), f"fewer than the model's inference_frames={TINY_MODEL['inference_frames']}"),
    (dict(lpips_weights="/nonexistent/alex.pth"), "alexnet-owt-7be5be79.pth"),
    (dict(baseline="mean_frame"), "Unknown --baseline='mean_frame'"),
    (dict(baseline="last_frame", precision="auto"), "--precision=auto applies to the run's checkpoint"),
    (dict(precision="half"), "--precision=half: Unknown precision 'half'"),
])
def test_bad_options_fail_with_a_clear_message(trained_run, options, message):
    with pytest.raises(eval_lib.EvalError, match=message):
        eval_lib.prepare(trained_run, eval_lib.EvalOptions(**options))


def test_a_directory_without_a_run_is_reported(tmp_path):
    with pytest.raises(eval_lib.EvalError, match="not a tfvideo training run"):
        eval_lib.prepare(str(tmp_path), eval_lib.EvalOptions())
    with pytest.raises(eval_lib.EvalError, match="Cannot read evaluation results"):
        eval_lib.load_results(str(tmp_path))


def test_num_samples_defaults_to_the_runs_test_samples(trained_run, tmp_path):
    """The run's protocol (data.test_samples: 1 for deterministic Moving MNIST) unless --num_samples is given."""
    import shutil
    workdir = str(tmp_path / "run")
    shutil.copytree(trained_run, workdir, ignore=shutil.ignore_patterns("eval"))
    config_path = os.path.join(workdir, "config.json")
    config = json.load(open(config_path))
    config["data"]["test_samples"] = 3
    json.dump(config, open(config_path, "w"))
    setup = eval_lib.prepare(workdir, eval_lib.EvalOptions(num_videos=2))
    assert setup.options.num_samples == 3 and setup.spec["num_samples"] == 3
    assert os.path.basename(setup.output_dir).startswith(f"step{TRAINED_STEP}_n3_c{P}_h{N}")
    given = eval_lib.prepare(workdir, eval_lib.EvalOptions(num_videos=2, num_samples=5))
    assert given.options.num_samples == 5 and given.spec["paper_num_samples"] == 3
    notes = results_lib.comparability(given, 2)["notes"]
    assert notes[-2:] == ["Best of 5 futures per video; the SRVP paper (Franceschi et al. 2020) protocol is best of "
                          "100 (--num_samples).",
                          "Best of 5 futures per video; this run's protocol is best of 3 (--test_samples)."]


def test_results_say_whether_they_can_be_compared_with_the_papers(untrained_workdir, tmp_path):
    """results.json's "comparability" and results.md's notes: the dataset's notes (the offline digit subset), a part
    of the test set, the paper protocol (SRVP's SM-MNIST: 5 + 20); no note for the whole test set of a full dataset
    at the paper's protocol."""
    setup = _fake_setup(untrained_workdir, tmp_path, predict=None, num_videos=2)
    setup = dataclasses.replace(setup, predict=eval_lib._load_predictor("unused", setup.options, setup.config)[1])
    results = eval_lib.evaluate("unused", stream=QUIET, setup=setup)
    total = setup.source.num_test_videos
    subset = f"Scored on 2 of the {total} test videos (--num_videos); the papers score all of them."
    protocol = (f"{P} conditioning + {N} predicted frames; the SRVP paper (Franceschi et al. 2020) protocol on smmnist "
                "is 5 + 20 (--conditioning_frames, --horizon).")
    assert results["comparability"] == {"comparable_to_paper": False,
                                        "notes": [*setup.source.comparability_notes, subset, protocol]}
    table = open(os.path.join(setup.output_dir, eval_lib.TABLE_FILE)).read()
    assert f"not comparable with the papers' tables. {subset}" in table
    full_data = dataclasses.replace(setup, spec={**setup.spec, "conditioning_frames": 5, "horizon": 20,
                                                 "dataset": {**setup.spec["dataset"], "comparability_notes": []}})
    assert results_lib.comparability(full_data, total) == {"comparable_to_paper": True, "notes": []}
    assert results_lib.comparability(full_data, total - 1)["comparable_to_paper"] is False
    sampled = dataclasses.replace(full_data, spec={**full_data.spec, "dt": 1.0, "num_samples": 100,
                                                   "paper_num_samples": 100, "metrics": ["psnr", "ssim", "fvd"]})
    notes = results_lib.comparability(sampled, total)["notes"]
    assert len(notes) == 1 and "PyTorch port" in notes[0] and "TF-Hub" in notes[0]
    zeroed = dataclasses.replace(full_data, spec={**full_data.spec, "zeroed_groups": [2, 3]})
    assert results_lib.comparability(zeroed, total)["notes"] == [
        "Groups z^2,3 of z fixed to zero (--zeroed_groups): HAF-SVG's ablation (its Figure 8), not the model's "
        "predictions."]


def test_zeroed_groups_sample_the_ablation_in_their_own_folder(hafsvg_run):
    """--zeroed_groups: the predictor is the model's generate(..., zeroed_groups), the spec and folder name it."""
    workdir = hafsvg_run
    options = eval_lib.EvalOptions(num_videos=1, num_samples=2, zeroed_groups=("2",))
    setup = eval_lib.prepare(workdir, options)
    full = eval_lib.prepare(workdir, dataclasses.replace(options, zeroed_groups=()))
    assert setup.spec["zeroed_groups"] == [2] and "zeroed_groups" not in full.spec
    assert setup.output_dir.endswith("_zeroed2") and setup.output_dir != full.output_dir
    context = next(iter(setup.source.test_batches(1)))[0, :P]
    expected = setup.model.generate(context[None], num_samples=2, horizon=N, seed=0, zeroed_groups=(2,))
    np.testing.assert_array_equal(setup.predict(context, 0), expected.numpy()[0])
    assert not np.array_equal(setup.predict(context, 0), full.predict(context, 0))
    with pytest.raises(eval_lib.EvalError, match="not to an export \(--saved_model, --tflite\) or a --baseline"):
        eval_lib.prepare(workdir, dataclasses.replace(options, baseline="black"))
