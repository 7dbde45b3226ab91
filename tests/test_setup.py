"""setup.py: a console script for every CLI, each naming a function that exists."""

import ast
import glob
import importlib
import os

from tests.support.cli import REPO

# `python -m` names of another CLI (or of its mode), without a console script of their own
SHIMS = {"tfvideo.bench_models", "tfvideo.benchmark", "tfvideo.data.benchmark", "tfvideo.export.benchmark"}


def _console_scripts() -> dict[str, str]:
    """{command: "module:function"} from the CONSOLE_SCRIPTS list of setup.py (read, not run)."""
    tree = ast.parse(open(os.path.join(REPO, "setup.py"), encoding="utf-8").read())
    value = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["CONSOLE_SCRIPTS"])
    return dict(entry.split("=", 1) for entry in ast.literal_eval(value))


def _cli_modules() -> set[str]:
    """The modules that run as `python -m <module>`."""
    found = set()
    for path in glob.glob(os.path.join(REPO, "tfvideo", "**", "*.py"), recursive=True):
        if 'if __name__ == "__main__":' in open(path, encoding="utf-8").read():
            found.add(os.path.relpath(path, REPO)[:-len(".py")].replace(os.sep, "."))
    return found


def test_every_console_script_target_imports_and_is_callable():
    scripts = _console_scripts()
    assert {"tfvideo-train", "tfvideo-evaluate", "tfvideo-export", "tfvideo-benchmark"} <= set(scripts)
    for command, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function, None)), (command, target)


def test_every_cli_module_has_a_console_script():
    modules = {target.partition(":")[0] for target in _console_scripts().values()}
    assert modules == _cli_modules() - SHIMS
