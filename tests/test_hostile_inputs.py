"""A sweep of hostile inputs over every CLI: each bad input exits with status 2 and one `error:` line naming the
problem (130 for Ctrl-C), never a traceback, and leaves the files it was pointed at as they were.

The fast form of the sweep: in process through each CLI's `main` (the work refused before it starts), and a few
cases as subprocesses for what only the entry point handles (flag parsing, positional arguments). The client
scripts of export/ have their own sweep (tests/export/test_client_scripts.py); docs/reliability.md counts both.
"""

import importlib
import os
import re
import subprocess
import sys

import pytest

from tests.support.cli import REPO, run_cli
from tests.support.configs import TINY_FLAGS
from tests.support.files import digest

TRAIN, EVALUATE, EXPORT = "tfvideo.train", "tfvideo.evaluate", "tfvideo.export.__main__"
BENCHMARK, PREPARE, DATA_BENCHMARK = "tfvideo.benchmark", "tfvideo.data.prepare", "tfvideo.data.benchmark"
EXPORT_BENCHMARK = "tfvideo.export.benchmark"
PREDICT = "tfvideo.predict"


_FILES: dict = {}


def _files(tmp_path_factory, trained_run) -> dict:
    """(Once per process.) Paths the cases point at: a plain file, a folder, a garbage file, a run with a corrupt
    config.json, a run whose checkpoints are truncated, an output folder with a corrupt spec.json, a corrupt
    results.json."""
    if _FILES:
        return _FILES
    root = tmp_path_factory.mktemp("hostile")
    paths = {name: str(root / name) for name in ("file", "folder", "garbage", "bad_config", "bad_ckpt",
                                                 "bad_spec", "no_ckpt")}
    paths["bad_results"] = str(root / "bad_results.json")
    open(paths["file"], "w").write("a file, not a folder\n")
    os.makedirs(paths["folder"])
    open(paths["garbage"], "wb").write(bytes(range(256)) * 8)
    run = trained_run
    for name in ("bad_config", "bad_ckpt", "no_ckpt"):
        _copy_run(run, paths[name])
    open(os.path.join(paths["bad_config"], "config.json"), "w").write('{"model": {"model": "srvp", "lat')
    checkpoints = os.path.join(paths["bad_ckpt"], "checkpoints")
    for name in os.listdir(checkpoints):
        if ".data-" in name:
            os.truncate(os.path.join(checkpoints, name), 100)
    for name in os.listdir(os.path.join(paths["no_ckpt"], "checkpoints")):
        os.remove(os.path.join(paths["no_ckpt"], "checkpoints", name))
    os.makedirs(paths["bad_spec"])
    open(os.path.join(paths["bad_spec"], "spec.json"), "w").write("{oops")
    open(paths["bad_results"], "w").write('{"format": "tfvideo-eval-v1", "metr')
    paths["run"] = run
    config = open(os.path.join(run, "config.json")).read()
    for name, text in (("config_list", "[]"), ("config_null", "null"),
                       ("config_section", config.replace('"model": {', '"model": [], "unused": {', 1)),
                       ("config_field", re.sub(r'"latent_size": \d+', '"latent_size": "four"', config))):
        _copy_run(run, str(root / name))
        open(root / name / "config.json", "w").write(text)
        paths[name] = str(root / name)
    paths["futures"] = str(root / "futures.gif")
    _FILES.update(paths)
    return paths


def _copy_run(run: str, target: str) -> None:
    import shutil
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("eval"))


# (CLI module, arguments ({name} = a path of `_files`), a substring of the error line, the path that must not
# change). Every case must exit with status 2.
CASES = [
    (TRAIN, ["--batch_size=0"], "--batch_size must be a whole number >= 1", None),
    (TRAIN, ["--batch_size=-3"], "--batch_size must be a whole number >= 1", None),
    (TRAIN, ["--batch_size=1000000000"], "lower --batch_size or --seq_len", None),
    (TRAIN, ["--seq_len=1000000"], "lower --batch_size or --seq_len", None),
    (TRAIN, ["--learning_rate=nan"], "--learning_rate must be a finite number > 0 and <= 1", None),
    (TRAIN, ["--learning_rate=inf"], "--learning_rate must be a finite number > 0 and <= 1", None),
    (TRAIN, ["--learning_rate=-1"], "--learning_rate must be a finite number > 0", None),
    (TRAIN, ["--learning_rate=1e30"], "--learning_rate must be a finite number > 0 and <= 1", None),
    (TRAIN, ["--obs_scale=0"], "--obs_scale must be a finite number", None),
    (TRAIN, ["--obs_scale=1e-300"], "--obs_scale must be a finite number", None),
    (TRAIN, ["--beta_z=inf"], "--beta_z must be a finite number >= 0", None),
    (TRAIN, ["--residual_gain=nan"], "--residual_gain must be a finite number", None),
    (TRAIN, ["--dt=nan"], "--dt must be of the form 1/k", None),
    (TRAIN, ["--seed=-1"], "--seed must be a whole number >= 0", None),
    (TRAIN, ["--seed=99999999999"], "--seed must be an int32", None),
    (TRAIN, ["--train_steps=0"], "--train_steps must be a whole number >= 1", None),
    (TRAIN, ["--num_gif_samples=100000000"], "lower --num_gif_samples, --num_gif_videos or --test_horizon", None),
    (TRAIN, ["--test_horizon=1000000000"], "lower --num_gif_samples, --num_gif_videos or --test_horizon", None),
    (TRAIN, ["--num_digits=100000"], "--num_digits must be 1, 2 or 3", None),
    (TRAIN, ["--image_size=48"], "--image_size=48 is not supported", None),
    (TRAIN, ["--validation_fraction=nan"], "--validation_fraction must be in [0, 1)", None),
    (TRAIN, ["--dataset=folder", "--data_dir={file}"], "is not a folder", "file"),
    (TRAIN, ["--workdir={file}"], "is not writable (it is a file, or a folder above it is)", "file"),
    (TRAIN, ["--workdir={bad_config}"], "config.json is not a tfvideo config", "bad_config"),
    # silent no-ops: each is refused, saying what would have happened
    (TRAIN, ["--precision=mixed_float16"], "--precision=mixed_float16 trains on GPUs only", None),
    (TRAIN, ["--strategy=multi_worker"], "--strategy=multi_worker needs the cluster in the TF_CONFIG", None),
    (EVALUATE, ["--compare={bad_results}"], "--compare needs at least two runs or evaluations to compare", None),
    (EVALUATE, ["--workdir={run}", "--compare={run}"], "--compare needs at least two runs", None),
    # integers at the edge: int64 for step counts, int32 for every other count (TensorFlow shapes)
    (TRAIN, ["--train_steps=9223372036854775808"], "--train_steps must be a whole number >= 1 (and < 2**63, an int64)", None),
    (TRAIN, ["--log_every=99999999999999999999"], "--log_every must be a whole number >= 1 (and < 2**63, an int64)", None),
    (TRAIN, ["--lr_decay_steps=9223372036854775808"], "--lr_decay_steps must be a whole number >= 0 (and < 2**63)",
     None),
    (TRAIN, ["--batch_size=2147483648"], "--batch_size must be a whole number >= 1 (and < 2**31, an int32)", None),
    (TRAIN, ["--test_horizon=4294967296"], "--test_horizon must be a whole number >= 1 (and < 2**31", None),
    # run files that are valid JSON of the wrong shape: one line naming the file and the field
    (TRAIN, ["--workdir={config_list}"], "config.json is not a tfvideo config (a config is a JSON object",
     "config_list"),
    (TRAIN, ["--workdir={config_field}"], "field model.latent_size must be a whole number; got a string 'four'",
     "config_field"),
    (EVALUATE, ["--workdir={config_null}"], "config.json is not a tfvideo config (a config is a JSON object with "
     "the sections model, data and train; got null)", "config_null"),
    (EVALUATE, ["--workdir={config_section}"], "section 'model' must be a JSON object of fields; got a list []",
     "config_section"),
    (EVALUATE, ["--workdir={config_field}"], "field model.latent_size must be a whole number", "config_field"),
    (EXPORT, ["--workdir={config_list}", "--export_dir={folder}"], "config.json is not a tfvideo config",
     "config_list"),
    (EXPORT, ["--workdir={config_field}", "--export_dir={folder}"], "field model.latent_size must be a whole number",
     "config_field"),
    (PREDICT, ["--workdir={config_null}", "--input={folder}", "--output={futures}"],
     "config.json is not a tfvideo config", "config_null"),
    (PREDICT, ["--workdir={config_section}", "--input={folder}", "--output={futures}"],
     "section 'model' must be a JSON object", "config_section"),
    (EVALUATE, ["--workdir={run}", "--num_samples=-5"], "--num_samples must be a whole number >= 1", None),
    (EVALUATE, ["--workdir={run}", "--num_samples=2147483647"], "lower --num_samples, --horizon or --batch_size",
     None),
    (EVALUATE, ["--workdir={run}", "--horizon=1000000000"], "lower --num_samples, --horizon or --batch_size", None),
    (EVALUATE, ["--workdir={run}", "--num_videos=100000"], "exceeds the test set", None),
    (EVALUATE, ["--workdir={run}", "--conditioning_frames=1"], "fewer than the model's inference_frames", None),
    (EVALUATE, ["--workdir={run}", "--dt=0"], "--dt must be of the form 1/k", None),
    (EVALUATE, ["--workdir={run}", "--dt=inf"], "--dt must be of the form 1/k", None),
    (EVALUATE, ["--workdir={run}", "--seed=-3000000000"], "--seed must be an int32", None),
    (EVALUATE, ["--workdir={run}", "--batch_size=0"], "--batch_size must be a whole number >= 1", None),
    (EVALUATE, ["--workdir={run}", "--figure_videos=-1"], "--figure_videos must be a whole number >= 1", None),
    (EVALUATE, ["--workdir={run}", "--num_videos=2", "--output_dir={file}"], "it is a file", "file"),
    (EVALUATE, ["--workdir={run}", "--num_videos=2", "--num_samples=2", "--output_dir={bad_spec}"],
     "spec.json cannot be read", "bad_spec"),
    (EVALUATE, ["--workdir={file}"], "it is not a tfvideo training run", "file"),
    (EVALUATE, ["--workdir={bad_config}"], "Cannot read the run", "bad_config"),
    (EVALUATE, ["--workdir={bad_ckpt}", "--num_videos=1"], "can be read", "bad_ckpt"),
    (EVALUATE, ["--workdir={no_ckpt}", "--num_videos=1"], "train the run first", "no_ckpt"),
    (EVALUATE, ["--workdir={run}", "--lpips_weights={garbage},{garbage}"], "Cannot read weights", "garbage"),
    (EVALUATE, ["--workdir={run}", "--saved_model={folder}/none"], "none: no such folder", None),
    (EVALUATE, ["--workdir={run}", "--saved_model={file}"], "a file, not a SavedModel's folder", "file"),
    (EVALUATE, ["--workdir={run}", "--saved_model={folder}"], "no saved_model.pb in it nor in a version folder",
     "folder"),
    (EVALUATE, ["--saved_model={folder}"], "--workdir must name the training run", "folder"),
    (EVALUATE, ["--workdir={run}", "--saved_model={folder}", "--tflite={garbage}"],
     "Give one of --saved_model, --tflite or --baseline; got --saved_model and --tflite", "garbage"),
    (EVALUATE, ["--workdir={run}", "--saved_model={folder}", "--precision=auto"], "--precision=auto applies to the "
     "run's checkpoint", "folder"),
    (EVALUATE, ["--compare={bad_results},{bad_results}"], "Cannot read evaluation results", "bad_results"),
    (EVALUATE, ["--compare={config_list}/config.json,{bad_results}"], "is not a tfvideo evaluation results file "
     "(format 'a JSON list')", "config_list"),
    (EXPORT, ["--workdir={file}", "--export_dir={folder}"], "not a tfvideo training run", "file"),
    (EXPORT, ["--workdir={run}", "--export_dir={file}"], "choose another --export_dir", "file"),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--version=-1"], "--version must be a whole number >= 1",
     None),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--model_name=../../evil"], "--model_name must be a plain",
     None),
    (EXPORT, ["--workdir={bad_ckpt}", "--export_dir={folder}"], "can be read", "bad_ckpt"),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--version=9223372036854775808"],
     "--version must be a whole number >= 1 (and < 2**63, an int64)", "folder"),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--format=tflite", "--static_shape=1000,1000,1000"],
     "more than a TFLite tensor holds (2**31 - 1): lower BATCH, SAMPLES or HORIZON", "folder"),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--format=tflite", "--quantize=int8",
              "--calibration_videos=2147483647"], "lower --calibration_videos", "folder"),
    (EXPORT, ["--workdir={run}", "--export_dir={folder}", "--format=tflite", "--quantize=int8",
              "--calibration_videos=2147483648"], "--calibration_videos must be a whole number >= 1 (and < 2**31",
     "folder"),
    (BENCHMARK, ["--num_samples=0"], "--num_samples must be a whole number >= 1", None),
    (BENCHMARK, ["--warmup=-1"], "--warmup must be a whole number >= 0", None),
    (BENCHMARK, ["--variant=batch_size=abc"], "is not a valid int", None),
    (BENCHMARK, ["--variant=learning_rate=nan"], "--learning_rate must be a finite number", None),
    (BENCHMARK, ["--output={folder}"], "is a folder", "folder"),
    (BENCHMARK, ["--num_samples=1000000000", "--horizon=20"], "lower --num_samples or --horizon", None),
    (BENCHMARK, ["--batch_size=1000000000"], "lower --batch_size or --seq_len", None),
    (PREPARE, ["--dataset=kth", "--manual_dir={folder}"], "holds none of KTH's files", "folder"),
    (PREPARE, ["--dataset=kth", "--manual_dir={file}"], "is not a folder", "file"),
    (PREPARE, ["--dataset=bair", "--manual_dir={folder}"], "--manual_dir is read for kth and human36m only", None),
    (PREPARE, ["--dataset=human36m"], "pass their folder as --manual_dir", None),
    (PREPARE, ["--dataset=imagenet"], "Unknown --dataset='imagenet'", None),
    (DATA_BENCHMARK, ["--batches=0"], "--batches must be a whole number >= 1", None),
    (DATA_BENCHMARK, ["--warmup=-5"], "--warmup must be a whole number >= 0", None),
    (DATA_BENCHMARK, ["--test_videos=0"], "--test_videos must be a whole number >= 1", None),
    (DATA_BENCHMARK, ["--fake", "--fake_scale=0"], "--fake_scale must be a whole number >= 1", None),
    (DATA_BENCHMARK, ["--output={folder}"], "is a folder", "folder"),
    (DATA_BENCHMARK, ["--batch_size=1000000000"], "lower --batch_size or --seq_len", None),
    (DATA_BENCHMARK, ["--dataset=folder", "--data_dir=/nonexistent/videos"], "is not a folder", None),
    (EXPORT_BENCHMARK, [], "--workdir must name", None),
    (EXPORT_BENCHMARK, ["--workdir={file}"], "not a tfvideo training run", "file"),
]


@pytest.mark.parametrize("module, argv, message, unchanged", CASES,
                         ids=[f"{c[0].split('.')[-1] if 'main' not in c[0] else 'export'}:{' '.join(c[1])}"
                              for c in CASES])
def test_a_bad_input_exits_2_with_one_error_line(module, argv, message, unchanged, tmp_path_factory, trained_run,
                                                 tmp_path, capsys):
    paths = _files(tmp_path_factory, trained_run) if any("{" in a for a in argv) else {}
    args = [a.format(**paths) for a in argv]
    if module in (TRAIN, BENCHMARK, DATA_BENCHMARK, PREPARE):
        args = [*TINY_FLAGS, *args] if module != PREPARE else args
    if module == TRAIN and not any(a.startswith("--workdir=") for a in args):
        args.append(f"--workdir={tmp_path / 'run'}")
    if module == PREPARE:
        args.append(f"--data_dir={tmp_path / 'data'}")
    before = digest(paths[unchanged]) if unchanged else None
    code = run_cli(importlib.import_module(module), args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in err, err
    if unchanged:
        assert digest(paths[unchanged]) == before
    if module == TRAIN and "--workdir={file}" not in argv and "--workdir={bad_config}" not in argv:
        assert not os.path.exists(tmp_path / "run")  # refused before the workdir was created


@pytest.mark.parametrize("argv, message", [
    (["-m", "tfvideo.train", "--batch_size=abc"], "error: flag --batch_size=abc: invalid literal for int()"),
    (["-m", "tfvideo.evaluate", "--no_such_flag=1"], "error: Unknown command line flag 'no_such_flag'"),
    (["-m", "tfvideo.data.prepare", "--flagfile={garbage}"], "error: 'utf-8' codec can't decode"),
    (["-m", "tfvideo.export", "stray"], "error: Unexpected arguments ['stray']: every option is a --flag"),
    (["-m", "tfvideo.evaluate", "--workdir=x", "a", "b"], "error: Unexpected arguments ['a', 'b']"),
    (["-m", "tfvideo.train", "--flagfile={valueless}"], "error: --workdir=--train_steps=1: the value looks like a "
     "flag"),
    (["-m", "tfvideo.evaluate", "--workdir", "--num_videos=1"], "error: --workdir=--num_videos=1: the value looks"),
    (["-m", "tfvideo.export", "--workdir=x", "--export_dir", "--format=tflite"], "error: --export_dir=--format=tflite"),
    (["-m", "tfvideo.predict", "--workdir=x", "--output", "--num_samples=2"], "error: --output=--num_samples=2"),
    (["-m", "tfvideo.evaluate", "--compare=a,--num_videos=1"], "error: --compare=--num_videos=1: the value looks"),
    (["-m", "tfvideo.predict", "--num_samples=abc"], "error: flag --num_samples=abc: invalid literal for int()"),
])
def test_the_entry_points_turn_flag_errors_into_status_2(argv, message, tmp_path):
    """Flag parsing happens in the entry point (absl), before main: a subprocess runs it."""
    garbage, valueless = tmp_path / "garbage.flags", tmp_path / "valueless.flags"
    garbage.write_bytes(b"\xff\xfe--batch_size=\x00\n")
    valueless.write_text("--workdir\n--train_steps=1\n")  # --workdir takes the next line as its value
    result = subprocess.run([sys.executable, *[a.format(garbage=garbage, valueless=valueless) for a in argv]],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": REPO})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and message in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error: ")]) == 1, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["garbage.flags", "valueless.flags"]  # nothing left behind


def test_a_savedmodel_that_cannot_be_written_is_an_error_and_publishes_nothing(trained_run, tmp_path,
                                                                                monkeypatch, capsys):
    """The disk fills up while TensorFlow writes the variables (as on a full tmpfs): exit 2 naming the folder, and
    no version (nor temporary folder) left in the export folder."""
    import tensorflow as tf
    from tfvideo.export import saved_model

    def full_disk(path, **kwargs):
        os.makedirs(path, exist_ok=True)
        raise tf.errors.ResourceExhaustedError(None, None, f"{path}/variables/variables_temp/part-00000-of-00001."
                                               "data-00000-of-00001.tempstate; No space left on device")

    def build_archive(*args, **kwargs):
        archive, endpoints = real_build_archive(*args, **kwargs)
        archive.write_out = full_disk
        return archive, endpoints

    real_build_archive = saved_model.build_archive
    monkeypatch.setattr(saved_model, "build_archive", build_archive)
    export_dir = tmp_path / "exports"
    code = run_cli(importlib.import_module(EXPORT), [f"--workdir={trained_run}",
                                                     f"--export_dir={export_dir}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"Cannot write the SavedModel in {export_dir / 'srvp'} (" in err and "No space left on device" in err
    assert os.listdir(export_dir / "srvp") == []


@pytest.mark.parametrize("argv", [
    ["--workdir={config_list}", "--compare={run}", "--output_dir={new}"],  # refused after the folder was checked
    ["--workdir={run}", "--num_videos=1", "--num_samples=2", "--tflite={garbage}", "--output_dir={new}"],
    ["--workdir={run}", "--num_videos=1", "--num_samples=2", "--saved_model={folder}", "--output_dir={new}"],
], ids=["compare", "tflite", "saved_model"])
def test_a_refused_evaluation_leaves_no_output_folder(argv, tmp_path_factory, trained_run, tmp_path, capsys):
    paths = {**_files(tmp_path_factory, trained_run), "new": str(tmp_path / "new" / "eval")}
    code = run_cli(importlib.import_module(EVALUATE), [a.format(**paths) for a in argv])
    assert code == 2 and "Traceback" not in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("num_samples, horizon", [(1, 2**31 - 1), (2**31 - 1, 5)], ids=["horizon", "num_samples"])
def test_generate_refuses_futures_beyond_memory_before_any_work(num_samples, horizon):
    """`generate` documents any horizon and sample count >= 1 as valid (int32): the ones whose futures cannot fit
    in memory are one InvalidInputError, not an internal TensorFlow error."""
    import numpy as np
    from tests.support.configs import tiny_config
    from tfvideo.models import build_model
    from tfvideo.models.base import InvalidInputError
    model = build_model(tiny_config())
    context = np.zeros((2, 5, 64, 64, 1), np.float32)
    with pytest.raises(InvalidInputError, match="lower num_samples or horizon"):
        model.generate(context, num_samples=num_samples, horizon=horizon)
