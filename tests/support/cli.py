"""Running tfvideo's absl CLIs in process (train, predict, any `main`) and the export/ scripts as modules."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os

from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_cli(module, argv: list[str], prog: str = "prog") -> int:
    """Runs an absl CLI's `main` in process with `argv` parsed into the global flags (reset afterwards)."""
    flags.FLAGS.unparse_flags()
    argv = flags.FLAGS([prog, *argv])
    try:
        return module.main(argv)
    finally:
        flags.FLAGS.unparse_flags()


def run_train(argv: list[str]) -> int:
    """`python -m tfvideo.train` with `argv`, in process."""
    from tfvideo import train
    return run_cli(train, argv, prog="tfvideo.train")


def run_predict(argv: list[str]) -> dict:
    """`python -m tfvideo.predict` in process: {"code", "out", "err"}."""
    from tfvideo import predict
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(predict, argv, prog="tfvideo.predict")
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}


def load_script(name: str, folder: str = "export"):
    """Imports a script of a top-level folder (export/, benchmarks/) as a module."""
    path = os.path.join(REPO, folder, f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{folder}_script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
