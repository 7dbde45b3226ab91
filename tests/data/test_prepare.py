"""`python -m tfvideo.data.prepare` with a manual folder: a folder without the dataset's files is an error naming
them, never a download (which hangs offline)."""

import os

import pytest
import tensorflow_datasets as tfds

from tests.support.cli import run_cli
from tfvideo.data import kth, prepare


@pytest.fixture
def no_download(monkeypatch):
    """Any download or connection fails the test loudly (its message would show in the CLI's error)."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a download was started")

    monkeypatch.setattr(tfds.download.DownloadManager, "download_and_extract", forbidden)
    monkeypatch.setattr(tfds.download.DownloadManager, "download", forbidden)
    monkeypatch.setattr(prepare, "_check_reachable", forbidden)


def test_kth_manual_dir_without_its_files_names_them_and_downloads_nothing(tmp_path, capsys, no_download):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "notes.txt").write_text("not a video")
    code = run_cli(prepare, ["--dataset=kth", f"--data_dir={tmp_path / 'data'}", f"--manual_dir={manual}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"--manual_dir={manual} holds none of KTH's files" in err
    assert all(f"{action}.zip" in err for action in kth.ACTIONS) and "Nothing was downloaded" in err
    assert "a download was started" not in err and "Traceback" not in err


def test_the_kth_builder_never_downloads_when_a_manual_dir_is_given(tmp_path):
    class Manager:
        manual_dir = str(tmp_path)

        def download_and_extract(self, urls):
            raise AssertionError("a download was started")

    with pytest.raises(FileNotFoundError, match="holds none of KTH's files"):
        kth._source_roots(Manager())


def test_missing_kth_files_are_named_per_action(tmp_path):
    (tmp_path / "boxing.zip").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "person01_walking_d1_uncomp.avi").write_bytes(b"")
    assert kth.missing_manual_files(str(tmp_path)) == ["handclapping.zip", "handwaving.zip", "jogging.zip",
                                                       "running.zip"]


@pytest.mark.parametrize("argv, message", [
    (["--dataset=bair"], "--manual_dir is read for kth and human36m only; --dataset=bair is downloaded"),
    (["--dataset=human36m"], "holds no Human3.6M video"),
    (["--dataset=kth", "--manual_dir=/nonexistent/zips"], "--manual_dir=/nonexistent/zips is not a folder"),
])
def test_manual_dir_problems_are_refused_before_any_download(tmp_path, capsys, no_download, argv, message):
    manual = tmp_path / "empty"
    manual.mkdir()
    args = [*argv, f"--data_dir={tmp_path / 'data'}"]
    if not any(a.startswith("--manual_dir") for a in args):
        args.append(f"--manual_dir={manual}")
    assert run_cli(prepare, args) == 2
    err = capsys.readouterr().err
    assert message in err and "a download was started" not in err
    assert not os.path.exists(tmp_path / "data" / "downloads")
