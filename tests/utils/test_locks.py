"""One live owner per output (tfvideo.utils.locks), with real processes: a live owner refuses the others, a
lock left by a process killed with SIGKILL is taken over with a message, and releasing leaves nothing behind."""

import os
import signal

import pytest

from tests.support.locks import start_holder, stop
from tfvideo.utils import locks


def test_a_live_owner_refuses_another_and_is_named(tmp_path):
    target = tmp_path / "run"
    holder = start_holder("folder", target)
    try:
        with pytest.raises(locks.LockError, match=rf"in use by a live training: pid {holder.pid} on "):
            with locks.hold_folder(str(target), "training"):
                pytest.fail("entered a folder another process owns")
        assert os.listdir(target) == [locks.FOLDER_LOCK]  # the owner's lock, untouched
    finally:
        stop(holder)


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_lock_whose_owner_was_killed_is_taken_over_with_a_message(kind, tmp_path, capsys):
    target = tmp_path / ("run" if kind == "folder" else "model.tflite")
    holder = start_holder(kind, target, "training")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    lock = locks.folder_lock_path(str(target)) if kind == "folder" else locks.file_lock_path(str(target))
    assert locks.owner(lock)["pid"] == holder.pid  # the dead owner's record is still there
    hold = locks.hold_folder if kind == "folder" else lambda p, w: locks.hold_file(p, w, "--export_dir")
    with hold(str(target), "training"):
        assert locks.owner(lock)["pid"] == os.getpid()
    err = capsys.readouterr().err
    assert f"Taking over the lock of {target}: its owner (pid {holder.pid} on " in err
    assert not os.path.exists(lock)


def test_leaving_removes_the_lock_and_the_folders_it_created_when_empty(tmp_path):
    empty, used = tmp_path / "a" / "b" / "run", tmp_path / "kept"
    with locks.hold_folder(str(empty), "evaluation"):
        assert os.path.isdir(empty)
    with locks.hold_folder(str(used), "evaluation"):
        (used / "results.json").write_text("{}")
    assert os.listdir(tmp_path) == ["kept"] and os.listdir(used) == ["results.json"]


def test_a_failure_in_the_block_also_releases(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with locks.hold_file(str(tmp_path / "x.tflite"), "export", "--export_dir"):
            raise RuntimeError("boom")
    with locks.hold_file(str(tmp_path / "x.tflite"), "export", "--export_dir"):
        pass
    assert os.listdir(tmp_path) == []


def test_a_folder_that_cannot_be_created_is_one_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(locks.LockError, match="is not writable \\(it is a file, or a folder above it is\\)"):
        with locks.hold_folder(str(tmp_path / "file" / "run"), "training"):
            pass
