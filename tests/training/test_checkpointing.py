import json
import os

import numpy as np
import pytest

from tfvideo.training import checkpointing
from tests.support.configs import tiny_config


def test_prepare_workdir_records_config_and_accepts_resumable_changes(tmp_path):
    cfg = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(cfg)
    saved = json.loads(open(tmp_path / "run" / "config.json").read())
    assert saved["model"]["latent_size"] == cfg.model.latent_size
    longer = cfg.replace(train={"train_steps": 100})
    checkpointing.prepare_workdir(longer)  # extending a run is fine
    assert checkpointing.load_run_config(str(tmp_path / "run")).train.train_steps == 100


def test_prepare_workdir_refuses_another_configuration(tmp_path):
    cfg = tiny_config(str(tmp_path / "run"))
    checkpointing.prepare_workdir(cfg)
    size = cfg.model.noise_size
    with pytest.raises(checkpointing.WorkdirError, match=f"model.noise_size: {size} -> {size + 1}"):
        checkpointing.prepare_workdir(cfg.replace(model={"noise_size": size + 1}))


def test_corrupt_config_and_missing_run(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{not json")
    with pytest.raises(checkpointing.WorkdirError, match="not a tfvideo config"):
        checkpointing.prepare_workdir(tiny_config(str(tmp_path / "run")))
    with pytest.raises(checkpointing.WorkdirError, match="not a tfvideo training run"):
        checkpointing.load_run_config(str(tmp_path / "empty"))


def test_restore_of_a_different_model_is_refused(tmp_path):
    from tfvideo.models import build_model
    workdir = str(tmp_path / "run")
    state = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir)))
    state.save(3)
    assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-3.index"))
    other = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir, model={"latent_size": 4})))
    with pytest.raises(checkpointing.WorkdirError, match="does not match this model"):
        other.restore_latest()
    again = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir)))
    assert again.restore_latest() == 3


# ------------------------------------------------------------------------------------------------ crash safety
# A model with an optimizer whose state differs from save to save: `_bump` changes every variable.


@pytest.fixture(scope="module")
def trainable():
    from tfvideo.training import train_lib
    from tfvideo.models import build_model
    config = tiny_config()
    model = build_model(config)
    optimizer = train_lib.make_optimizer(config.train)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def _bump(model, optimizer, amount):
    for variable in model.variables + optimizer.variables:
        if "float" in str(variable.dtype):
            variable.assign(variable + amount)
        else:
            variable.assign(variable + 1)


def _values(model, optimizer):
    return [np.array(v.numpy()) for v in model.variables + optimizer.variables]


def _saved(workdir, trainable, steps):
    """RunCheckpoint with checkpoints at `steps` (different values each); returns it and the values saved."""
    model, optimizer = trainable
    state = checkpointing.RunCheckpoint(workdir, model, optimizer, max_to_keep=5)
    values = {}
    for step in steps:
        _bump(model, optimizer, 0.5)
        state.save(step)
        values[step] = _values(model, optimizer)
    _bump(model, optimizer, 0.25)  # the in-memory state differs from every checkpoint
    return state, values


def _assert_restored(trainable, expected):
    for got, want in zip(_values(*trainable), expected):
        np.testing.assert_array_equal(got, want)


def _truncate_data(prefix):
    path = prefix + ".data-00000-of-00001"
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


def _flip_data_byte(prefix):
    path = prefix + ".data-00000-of-00001"
    data = bytearray(open(path, "rb").read())
    data[len(data) // 3] ^= 0x10
    open(path, "wb").write(bytes(data))


def _empty_index(prefix):
    open(prefix + ".index", "wb").close()


def _remove_data(prefix):
    os.remove(prefix + ".data-00000-of-00001")


@pytest.mark.parametrize("damage, bad_file", [
    (_truncate_data, "ckpt-6.data-00000-of-00001"), (_flip_data_byte, "ckpt-6.data-00000-of-00001"),
    (_empty_index, "ckpt-6.index"), (_remove_data, "ckpt-6.index")])
def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, trainable, caplog, damage, bad_file):
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2, 4, 6])
    damage(os.path.join(state.directory, "ckpt-6"))
    again = checkpointing.RunCheckpoint(workdir, *trainable, max_to_keep=5)
    with caplog.at_level("WARNING"):
        assert again.restore_latest() == 4
    _assert_restored(trainable, values[4])
    assert len(again.fallbacks) == 1 and "ckpt-6" in again.fallbacks[0] and bad_file in again.fallbacks[0]
    assert "cannot be read" in caplog.text and bad_file in caplog.text and "ckpt-4" in caplog.text
    # The bad files are kept aside, and the state file now ends at step 4: new saves and restores carry on.
    assert bad_file in os.listdir(os.path.join(state.directory, "corrupt"))
    assert again.manager.latest_checkpoint.endswith("ckpt-4")
    assert again.save(6).endswith("ckpt-6")
    assert checkpointing.RunCheckpoint(workdir, *trainable, max_to_keep=5).restore_latest() == 6


def test_every_checkpoint_unreadable_is_an_error_naming_them(tmp_path, trainable):
    workdir = str(tmp_path / "run")
    state, _ = _saved(workdir, trainable, [2, 4])
    _truncate_data(os.path.join(state.directory, "ckpt-2"))
    _empty_index(os.path.join(state.directory, "ckpt-4"))
    with pytest.raises(checkpointing.WorkdirError, match=r"No checkpoint in .* can be read:\n.*ckpt-4.*\n.*ckpt-2"):
        checkpointing.RunCheckpoint(workdir, *trainable).restore_latest()
    assert sorted(os.listdir(state.directory))[:2] == ["checkpoint", "ckpt-2.data-00000-of-00001"]  # nothing moved


def test_a_mismatched_newest_checkpoint_is_an_error_not_a_fallback(tmp_path, trainable):
    from tfvideo.models import build_model
    workdir = str(tmp_path / "run")
    _saved(workdir, trainable, [2, 4])
    other = checkpointing.RunCheckpoint(workdir, build_model(tiny_config(workdir, model={"noise_size": 5})))
    with pytest.raises(checkpointing.WorkdirError, match="ckpt-4 does not match this model"):
        other.restore_latest()
    assert not other.fallbacks


@pytest.mark.parametrize("state_text", ["", "model_checkpoint_path: {garbage", None])
def test_lost_or_garbled_state_file_restores_the_newest_files(tmp_path, trainable, state_text):
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2, 4])
    index = os.path.join(state.directory, "checkpoint")
    if state_text is None:
        os.remove(index)
    else:
        open(index, "w").write(state_text)
    again = checkpointing.RunCheckpoint(workdir, *trainable, max_to_keep=5)
    assert again.restore_latest() == 4
    _assert_restored(trainable, values[4])
    assert "ckpt-4" in open(index).read()  # the state file is rewritten


def test_readers_fall_back_without_touching_the_directory(tmp_path, trainable):
    """Evaluation and export (no optimizer) may run while training writes: they read, never repair."""
    model, _ = trainable
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2, 4])
    _truncate_data(os.path.join(state.directory, "ckpt-4"))
    os.makedirs(os.path.join(state.directory, "ckpt-6_temp"))  # a save in progress
    index = os.path.join(state.directory, "checkpoint")
    for state_text in (None, ""):  # the state file as written, then unreadable
        if state_text is not None:
            open(index, "w").write(state_text)
        before, listed = sorted(os.listdir(state.directory)), open(index).read()
        reader = checkpointing.RunCheckpoint(workdir, model)
        assert not reader.owner
        assert reader.manager.latest_checkpoint.endswith("ckpt-4")
        assert reader.restore_latest(strict=False) == 2 and reader.restored_path.endswith("ckpt-2")
        assert "ckpt-4" in reader.fallbacks[0]
        assert sorted(os.listdir(state.directory)) == before and open(index).read() == listed
    np.testing.assert_array_equal(model.variables[0].numpy(), values[2][0])


def test_kill_between_writing_and_recording_and_leftover_temp_files(tmp_path, trainable):
    """A process killed after TF wrote ckpt-6 but before the state file named it, and one killed while
    writing ckpt-8 (only its ckpt-8_temp/ directory exists): restore takes ckpt-6 and removes the temp files."""
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2, 4, 6])
    index = os.path.join(state.directory, "checkpoint")
    open(index, "w").write('model_checkpoint_path: "ckpt-4"\nall_model_checkpoint_paths: "ckpt-2"\n'
                           'all_model_checkpoint_paths: "ckpt-4"\n')
    temp = os.path.join(state.directory, "ckpt-8_temp")
    os.makedirs(temp)
    open(os.path.join(temp, "part-00000-of-00001.data-00000-of-00001.tempstate1"), "wb").write(b"\0" * 100)
    again = checkpointing.RunCheckpoint(workdir, *trainable, max_to_keep=5)
    assert again.restore_latest() == 6 and not again.fallbacks
    _assert_restored(trainable, values[6])
    assert not os.path.exists(temp)
    assert [os.path.basename(p) for p in again.manager.checkpoints] == ["ckpt-2", "ckpt-4", "ckpt-6"]


def test_kill_while_old_checkpoints_are_deleted(tmp_path, trainable):
    """The manager lists a new checkpoint, then deletes the oldest, then lists again: a kill in between leaves
    a name without files, which restore drops from the list."""
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2, 4, 6])
    for name in os.listdir(state.directory):
        if name.startswith("ckpt-2."):
            os.remove(os.path.join(state.directory, name))
    again = checkpointing.RunCheckpoint(workdir, *trainable, max_to_keep=5)
    assert again.restore_latest() == 6 and not again.fallbacks
    _assert_restored(trainable, values[6])
    assert [os.path.basename(p) for p in again.manager.checkpoints] == ["ckpt-4", "ckpt-6"]


def test_seed_generator_states_are_checkpointed(tmp_path, trainable):
    model, optimizer = trainable
    seeds = checkpointing.seed_generator_states(model)
    assert {v.path.split("/")[0] for v in seeds} >= {"noise_seed", "frame_seed"}  # SRVP's (+ LSTMCell dropout)
    state = checkpointing.RunCheckpoint(str(tmp_path / "run"), model, optimizer)
    saved = [v.numpy().copy() for v in seeds]
    state.save(1)
    model.noise_seed.next()
    model.frame_seed.next()
    assert state.restore_latest() == 1
    for variable, value in zip(seeds, saved):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_checkpoints_without_seed_states_still_restore(tmp_path, trainable, caplog):
    """Checkpoints written before the seed states were saved restore, with a warning about the noise."""
    import tensorflow as tf
    model, optimizer = trainable
    workdir = str(tmp_path / "run")
    step = tf.Variable(3, dtype=tf.int64)
    old = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)  # as RunCheckpoint saved them then
    tf.train.CheckpointManager(old, os.path.join(workdir, "checkpoints"), 3, checkpoint_name="ckpt").save(3)
    with caplog.at_level("WARNING"):
        assert checkpointing.RunCheckpoint(workdir, model, optimizer).restore_latest() == 3
    assert "no seed-generator states" in caplog.text


# ------------------------------------------------------------------------------------------------ disk faults


def test_failed_save_removes_its_partial_files_and_names_the_intact_checkpoint(tmp_path, trainable, monkeypatch):
    import errno
    workdir = str(tmp_path / "run")
    state, values = _saved(workdir, trainable, [2])
    real_save = state.manager.save

    def full_disk(checkpoint_number):
        prefix = os.path.join(state.directory, f"ckpt-{checkpoint_number}")
        os.makedirs(prefix + "_temp")
        open(prefix + ".index", "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", prefix + ".index")

    monkeypatch.setattr(state.manager, "save", full_disk)
    with pytest.raises(checkpointing.CheckpointSaveError,
                       match=r"step 4 .*No space left on device.*newest intact checkpoint is .*ckpt-2 \(step 2\)"):
        state.save(4)
    assert sorted(os.listdir(state.directory)) == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    monkeypatch.setattr(state.manager, "save", real_save)
    assert checkpointing.RunCheckpoint(workdir, *trainable).restore_latest() == 2
    _assert_restored(trainable, values[2])


def test_save_refuses_to_start_without_room_for_a_checkpoint(tmp_path, trainable, monkeypatch):
    workdir = str(tmp_path / "run")
    state, _ = _saved(workdir, trainable, [2])
    size = state.checkpoint_bytes()
    assert size == sum(os.path.getsize(os.path.join(state.directory, n)) for n in os.listdir(state.directory)
                       if n.startswith("ckpt-2."))
    free = size // 2
    monkeypatch.setattr(checkpointing.shutil, "disk_usage", lambda path: shutil_usage(free))
    with pytest.raises(checkpointing.CheckpointSaveError, match=r"step 4 .*MiB free.*ckpt-2 \(step 2\)"):
        state.save(4)
    assert not [n for n in os.listdir(state.directory) if "ckpt-4" in n]
    with pytest.raises(checkpointing.WorkdirError, match=r"lower --max_checkpoints"):
        state.check_space()


def test_check_space_counts_the_checkpoints_to_keep(tmp_path, trainable, monkeypatch):
    model, optimizer = trainable
    state = checkpointing.RunCheckpoint(str(tmp_path / "run"), model, optimizer, max_to_keep=3)
    size = state.checkpoint_bytes()
    assert size > 4 * sum(int(np.prod(v.shape)) for v in model.trainable_variables)  # weights + 2 Adam slots
    monkeypatch.setattr(checkpointing.shutil, "disk_usage", lambda path: shutil_usage(4 * size))
    state.check_space()
    monkeypatch.setattr(checkpointing.shutil, "disk_usage", lambda path: shutil_usage(4 * size - 1))
    with pytest.raises(checkpointing.WorkdirError, match=r"3 kept \+ 1 being written"):
        state.check_space()


def shutil_usage(free):
    import shutil
    return shutil._ntuple_diskusage(total=10 * free + 1, used=9 * free, free=free)


def test_prepare_workdir_refuses_a_nearly_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpointing.shutil, "disk_usage", lambda path: shutil_usage(50 * 2**20))
    with pytest.raises(checkpointing.WorkdirError, match=r"only 50 MiB free; checkpoints need at least 200 MiB"):
        checkpointing.prepare_workdir(tiny_config(str(tmp_path / "run")))


def test_prepare_workdir_refuses_a_read_only_directory(tmp_path, monkeypatch):
    import errno
    workdir = tmp_path / "run"
    workdir.mkdir()
    workdir.chmod(0o555)
    if os.access(workdir, os.W_OK):  # root ignores permission bits: make the OS refusal explicit
        def refuse(path, *args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        monkeypatch.setattr(checkpointing, "open", refuse, raising=False)
    try:
        with pytest.raises(checkpointing.WorkdirError, match=r"is not writable \(Permission denied\)"):
            checkpointing.prepare_workdir(tiny_config(str(workdir)))
    finally:
        workdir.chmod(0o755)
    assert os.listdir(workdir) == []
