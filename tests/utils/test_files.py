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
