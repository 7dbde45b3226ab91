"""Ctrl-C during start-up: every CLI exits with status 130 and one line, no traceback."""

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.support.cli import REPO, run_cli
from tests.support.configs import TINY_FLAGS



def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


# CLI module, the function of its start-up that the test interrupts (module path, attribute), and its arguments.
CLIS = [
    ("tfvideo.train", ("tfvideo.training.train_lib", "build_model"), TINY_FLAGS),
    ("tfvideo.evaluate", ("tfvideo.utils.cli_logging", "quiet_logs"), ["--workdir=/nonexistent/run"]),
    ("tfvideo.export.__main__", ("tfvideo.export.lib", "export"), ["--workdir=/nonexistent/run"]),
    ("tfvideo.benchmarks.export", ("tfvideo.benchmarks.export", "run_benchmark"), ["--workdir=/nonexistent/run"]),
    ("tfvideo.benchmarks.models", ("tfvideo.benchmarks.models_lib", "run_variants"), ["--num_samples=1", "--horizon=1"]),
    ("tfvideo.data.prepare", ("tfvideo.data.prepare", "prepare"), []),
    ("tfvideo.benchmarks.data", ("tfvideo.benchmarks.data_lib", "run_benchmark"), []),
]


@pytest.mark.parametrize("module, target, argv", CLIS, ids=[c[0] for c in CLIS])
def test_ctrl_c_during_start_up_exits_130_with_one_line(module, target, argv, tmp_path, monkeypatch, capsys):
    cli = importlib.import_module(module)
    monkeypatch.setattr(importlib.import_module(target[0]), target[1], _interrupt)
    workdir = tmp_path / "run"
    extra = [f"--workdir={workdir}"] if module == "tfvideo.train" else []
    try:
        code = run_cli(cli, [*argv, *extra])
    except KeyboardInterrupt:
        pytest.fail(f"{module}: the KeyboardInterrupt escaped main (a traceback)")
    assert code == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [line for line in err.splitlines() if line.strip()][-1].startswith("Interrupted")
    assert not os.path.exists(workdir / "config.json")  # train: nothing recorded before the run is checked


def test_sigint_during_train_start_up_in_a_subprocess(tmp_path):
    """A real SIGINT while `python -m tfvideo.train` imports TensorFlow and builds its run: one "Interrupted" line,
    no traceback, exit status 130 (or death by SIGINT, which shells also report as 130: CPython ends so when a
    KeyboardInterrupt reaches it during shutdown). The child starts with SIGINT's default action, as under a
    terminal: a test run started in the background by a shell without job control inherits SIGINT ignored, and
    Python then never turns SIGINT into a KeyboardInterrupt."""
    workdir = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "tfvideo.train", *TINY_FLAGS, f"--workdir={workdir}",
                                "--train_steps=2"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and "Interrupted" in err


def test_an_interrupted_cli_exits_at_once_while_library_threads_still_run(tmp_path):
    """A download worker (a non-daemon thread, as TFDS's) would keep Python's normal exit waiting: run_main exits
    with 130 at once."""
    script = tmp_path / "cli.py"
    script.write_text(textwrap.dedent("""
        import threading, time
        from tfvideo.utils import cli_logging

        @cli_logging.interruptible()
        def main(argv):
            threading.Thread(target=time.sleep, args=(600,)).start()  # a worker retrying a download
            raise KeyboardInterrupt

        cli_logging.run_main(main)
    """))
    result = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
                            timeout=120)  # TimeoutExpired if the exit waited for the thread's 600 s
    assert result.returncode == 130 and result.stderr.strip() == "Interrupted (Ctrl-C).", result.stderr
