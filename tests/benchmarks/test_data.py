"""Tests for tfvideo.benchmarks.data (input throughput) and fake_data.make_fake_dataset."""

from __future__ import annotations

import json

from absl import flags
import pytest

from tests.support.configs import tiny_config
from tfvideo.benchmarks import data as benchmark_cli, data_lib as benchmark
from tfvideo.data import fake_data, registry


pytestmark = pytest.mark.usefixtures("keep_absl_log_level")


def test_run_benchmark_reports_positive_figures(tmp_path):
    data_dir = fake_data.make_fake_dataset("folder", str(tmp_path), clip_len=7, scale=1)
    cfg = tiny_config(data=dict(dataset="folder", data_dir=data_dir, channels=3)).data
    result = benchmark.run_benchmark(cfg, batch_size=3, batches=2, warmup=1, test_videos=2)
    assert result["window_shape"] == [cfg.seq_len, 64, 64, 3] and result["batch_size"] == 3
    for key in ("open_s", "first_batch_s", "train_windows_per_s", "train_batch_ms", "test_videos_per_s"):
        assert result[key] > 0, key
    assert "unreadable" in result["description"]  # the fake folders hold one corrupt file each


def test_fake_datasets_have_long_enough_videos(tmp_path):
    data_dir = fake_data.make_fake_dataset("kth", str(tmp_path), clip_len=12, scale=1)
    cfg = tiny_config(data=dict(dataset="kth", data_dir=data_dir, seq_len=12, conditioning_frames=4,
                                test_horizon=8)).data
    assert registry.get_data_source(cfg).test_videos(2).shape == (2, 12, 64, 64, 1)


def test_cli_on_fake_data_writes_json(tmp_path, capsys):
    output = tmp_path / "out.json"
    argv = ["benchmark", "--dataset=moving_mnist", "--deterministic", "--fake", "--fake_scale=1", "--batch_size=2",
            "--batches=2", "--warmup=1", "--test_videos=4", "--seq_len=6", "--test_horizon=5", f"--output={output}"]
    flags.FLAGS.unparse_flags()
    try:
        assert benchmark_cli.main(flags.FLAGS(argv)) == 0
    finally:
        flags.FLAGS.unparse_flags()
    result = json.loads(output.read_text())
    assert result["data"] == "fake" and result["window_shape"] == [6, 64, 64, 1]
    assert "train_windows_per_s" in capsys.readouterr().out
