"""oneDNN switched on by `import tfvideo` where TensorFlow would leave it off; the user's TF_ENABLE_ONEDNN_OPTS
always wins; too late once tensorflow is imported, with a warning when it is off."""

import os
import subprocess
import sys
import warnings

import pytest

from tfvideo.perf import onednn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _configure(environ, modules=(), machine="x86_64", enabled=lambda: True):
    return onednn.configure(environ, dict.fromkeys(modules), machine, enabled)


def test_x86_64_without_the_variable_turns_onednn_on():
    environ = {}
    decision = _configure(environ)
    assert environ == {"TF_ENABLE_ONEDNN_OPTS": "1"} and decision.source == "tfvideo"


@pytest.mark.parametrize("value", ["0", "1", "false", ""])
def test_the_users_value_always_wins(value):
    environ = {"TF_ENABLE_ONEDNN_OPTS": value}
    decision = _configure(environ)
    assert environ == {"TF_ENABLE_ONEDNN_OPTS": value} and decision.source == "user" and value in decision.reason


def test_other_machines_keep_tensorflows_default():
    environ = {}
    assert _configure(environ, machine="aarch64").source == "tensorflow" and environ == {}


def test_after_tensorflow_it_is_too_late_and_warns_only_when_onednn_is_off():
    environ = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _configure(environ, modules=["tensorflow"], enabled=lambda: True).source == "too late"
    with pytest.warns(RuntimeWarning, match="Import tfvideo before tensorflow, or set TF_ENABLE_ONEDNN_OPTS=1"):
        _configure(environ, modules=["tensorflow"], enabled=lambda: False)
    assert environ == {}


def _state_in_subprocess(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    environ.update(env, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-W", "always", "-c", code], env=environ, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


STATE = "import tfvideo, tensorflow; from tfvideo.perf import onednn; print(onednn.state())"


@pytest.mark.skipif(onednn.platform.machine().lower() not in onednn.X86_64, reason="x86-64 only")
def test_import_tfvideo_first_turns_onednn_on_in_tensorflow():
    assert _state_in_subprocess(STATE).stdout.strip() == "oneDNN on (x86-64 CPU, set by tfvideo)"


def test_a_users_zero_is_respected_by_tensorflow():
    result = _state_in_subprocess(STATE, TF_ENABLE_ONEDNN_OPTS="0")
    assert result.stdout.strip() == "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0 set by the user)"
