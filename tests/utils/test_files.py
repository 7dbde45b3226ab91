import os

import pytest

from tfvideo.utils import files


def test_writes_text_bytes_and_writer_output_creating_the_folder(tmp_path):
    text = files.atomic_write(str(tmp_path / "a" / "b.txt"), "héllo\n")
    raw = files.atomic_write(str(tmp_path / "c.bin"), b"\x00\xff")
    written = files.atomic_write(str(tmp_path / "d.txt"), lambda tmp: open(tmp, "w").write("from a writer"))
    assert open(text, encoding="utf-8").read() == "héllo\n"
    assert open(raw, "rb").read() == b"\x00\xff"
    assert open(written).read() == "from a writer"
    assert sorted(os.listdir(tmp_path)) == ["a", "c.bin", "d.txt"]


def test_replaces_an_existing_file(tmp_path):
    path = str(tmp_path / "f.json")
    files.atomic_write(path, "old, longer content")
    files.atomic_write(path, "new")
    assert open(path).read() == "new"


def _failing_writer(tmp):
    with open(tmp, "w") as handle:
        handle.write("half")
    raise RuntimeError("disk full")


def test_a_failing_writer_leaves_the_existing_file_and_no_temporary_file(tmp_path):
    path = str(tmp_path / "f.json")
    files.atomic_write(path, "intact")
    with pytest.raises(RuntimeError, match="disk full"):
        files.atomic_write(path, _failing_writer)
    assert open(path).read() == "intact"
    assert os.listdir(tmp_path) == ["f.json"]


def test_a_failure_before_any_file_exists_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        files.atomic_write(str(tmp_path / "new.png"), _failing_writer)
    with pytest.raises(TypeError):  # neither text, bytes nor a writer: fails after the temporary file is opened
        files.atomic_write(str(tmp_path / "other.txt"), 3)
    assert os.listdir(tmp_path) == []


def test_check_output_path_accepts_new_files_without_creating_anything(tmp_path):
    path = str(tmp_path / "new" / "deeper" / "out.gif")
    assert files.check_output_path(path) == path
    assert os.listdir(tmp_path) == []  # neither the folders nor the probe file are left behind


def test_check_output_path_replaces_only_with_overwrite(tmp_path):
    path = str(tmp_path / "out.gif")
    files.atomic_write(path, b"old")
    with pytest.raises(files.OutputPathError, match="--output=.*already exists: pass --overwrite"):
        files.check_output_path(path)
    assert files.check_output_path(path, overwrite=True) == path
    assert open(path, "rb").read() == b"old"


@pytest.mark.parametrize("case,message", [
    ("empty", "must name the file"),
    ("folder", "is a folder"),
    ("below_a_file", "is a file, not a folder"),
])
def test_check_output_path_refuses_paths_that_cannot_be_files(case, message, tmp_path):
    files.atomic_write(str(tmp_path / "plain.txt"), "x")
    path = {"empty": "", "folder": str(tmp_path), "below_a_file": str(tmp_path / "plain.txt" / "sub" / "o.png")}[case]
    with pytest.raises(files.OutputPathError, match=message):
        files.check_output_path(path, flag="--save_npy", overwrite=True)


def test_check_output_path_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch):
    """The probe file's failure (a read-only file system, permissions) is the message; /sys when the system
    has one, else a monkeypatched probe."""
    if os.path.isdir("/sys") and _probe_fails("/sys"):
        with pytest.raises(files.OutputPathError, match="cannot write in /sys"):
            files.check_output_path("/sys/futures.gif")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "TemporaryFile", refuse)
    with pytest.raises(files.OutputPathError, match="cannot write in .* \\(Permission denied\\)"):
        files.check_output_path(str(tmp_path / "out.npy"))


def _probe_fails(folder: str) -> bool:
    import tempfile
    try:
        with tempfile.TemporaryFile(dir=folder):
            return False
    except OSError:
        return True
