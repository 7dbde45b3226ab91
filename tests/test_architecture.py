"""The import rules of docs/architecture.md, enforced: every `import` of every tfvideo module (module level or
inside a function, read with ast) runs down the layers of `SITS_ON`, never up or sideways.

`SITS_ON` is the one table of the rules (docs/architecture.md names it): each wing -> the wings it sits on
directly. A wing may import itself and everything below it (the wings it sits on, theirs, and so on), except the
wings `THROUGH_ONLY` says it reaches only through a wing between. `WINGS` says which wing a module belongs to (the
longest matching prefix wins).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfvideo"

# Module prefix -> wing. The entry points (thin CLIs) form the top wing wherever their file sits.
CLIS = ("tfvideo.train", "tfvideo.evaluate", "tfvideo.predict", "tfvideo.convert", "tfvideo.data.prepare",
        "tfvideo.export.__main__", "tfvideo.benchmarks.models", "tfvideo.benchmarks.data", "tfvideo.benchmarks.export",
        "tfvideo.benchmark", "tfvideo.bench_models", "tfvideo.data.benchmark", "tfvideo.export.benchmark")
WINGS = {
    "tfvideo": "package",  # tfvideo/__init__.py: switches oneDNN on at import
    "tfvideo.validation": "validation",
    "tfvideo.utils": "utils",
    "tfvideo.config": "config",
    "tfvideo.flags": "flags",
    "tfvideo.perf": "perf",
    "tfvideo.models": "models",
    "tfvideo.data": "data",
    "tfvideo.evaluation.metrics": "metrics",
    "tfvideo.training": "training",
    "tfvideo.runs": "runs",
    "tfvideo.conversion": "conversion",
    "tfvideo.export": "export",
    "tfvideo.runtimes": "runtimes",
    "tfvideo.evaluation": "evaluation",
    "tfvideo.prediction": "prediction",
    "tfvideo.benchmarks": "benchmarks",
    **{cli: "cli" for cli in CLIS},
}

# Wing -> the wings it sits on directly (it may import those and, through them, everything below).
SITS_ON = {
    "validation": (),
    "utils": (),
    "config": ("validation",),
    "flags": ("config",),
    "perf": ("config", "utils"),
    "package": ("perf",),
    "models": ("perf", "validation"),
    "data": ("config", "utils"),
    "metrics": (),
    "training": ("models", "data", "metrics"),
    "runs": ("training",),
    "conversion": ("training",),
    "export": ("runs",),
    "runtimes": ("export",),
    "evaluation": ("runtimes",),
    "prediction": ("evaluation",),
    "benchmarks": ("evaluation", "flags"),
    "cli": ("prediction", "conversion", "benchmarks", "flags"),
}

# Wing -> wings below it that it reaches only through a wing between, never by a direct import: evaluate and
# predict open a model (a run, a SavedModel, a TFLite file) through the runtimes, the one road to its futures.
THROUGH_ONLY = {
    "evaluation": ("export",),
    "prediction": ("export",),
}


def below(wing: str, rules=None) -> set[str]:
    """The wings `wing` may import: itself and everything it sits on, transitively."""
    rules = SITS_ON if rules is None else rules
    seen, todo = {wing}, [wing]
    while todo:
        for lower in rules[todo.pop()]:
            if lower not in seen:
                seen.add(lower)
                todo.append(lower)
    return seen


def wing_of(module: str) -> str:
    """The wing of a dotted module name (the longest prefix in WINGS); KeyError for one no rule places."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in WINGS:
            return WINGS[prefix]
    raise KeyError(module)


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """The tfvideo modules that `source` (the text of `module`) imports anywhere: at module level, inside
    functions, under `if TYPE_CHECKING`. `from tfvideo.x import y` is tfvideo.x.y when y is a module, else tfvideo.x."""
    found = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # a submodule, or a name defined in the module `base`
                found.add(f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base)
    return {name for name in found if name == "tfvideo" or name.startswith("tfvideo.")}


def back_arrows(edges, rules=None) -> list[str]:
    """'importer -> imported (wing -> wing)' for each edge (importer, imported) that leaves the importer's wing
    for one it does not sit on, or skips the wing between (THROUGH_ONLY)."""
    return [f"{src} -> {dst} ({wing_of(src)} -> {wing_of(dst)})" for src, dst in sorted(edges)
            if wing_of(dst) not in below(wing_of(src), rules) or wing_of(dst) in THROUGH_ONLY.get(wing_of(src), ())]


def package_edges() -> set[tuple[str, str]]:
    edges = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for imported in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            edges.add((module, imported))
    return edges


def test_every_import_runs_down_the_layers():
    assert back_arrows(package_edges()) == []


def test_every_module_belongs_to_a_wing_the_rules_know():
    wings = {wing_of(module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert wings == set(SITS_ON) and set(WINGS.values()) == set(SITS_ON)
    assert all(_is_module(cli) for cli in CLIS)


def test_the_rules_are_layers_without_a_cycle():
    for wing, lowers in SITS_ON.items():
        assert all(wing not in below(lower) for lower in lowers), wing
    for wing, skipped in THROUGH_ONLY.items():  # each is below the wing, and not one it sits on directly
        assert all(lower in below(wing) and lower not in SITS_ON[wing] for lower in skipped), wing


def test_a_back_arrow_is_found_inside_a_function_too():
    source = "import os\n\ndef step():\n    from tfvideo.training import checkpointing\n    return checkpointing\n"
    imported = imported_modules(source, "tfvideo.models.base")
    assert imported == {"tfvideo.training.checkpointing"}
    assert back_arrows({("tfvideo.models.base", name) for name in imported}) == [
        "tfvideo.models.base -> tfvideo.training.checkpointing (models -> training)"]
    assert back_arrows({("tfvideo.training.train_lib", "tfvideo.models.base")}) == []


@pytest.mark.parametrize("source, module, expected", [
    ("from tfvideo import config, runs\n", "tfvideo.export.lib", {"tfvideo.config", "tfvideo.runs"}),
    ("from . import metrics\n", "tfvideo.evaluation.eval_lib", {"tfvideo.evaluation.metrics"}),
    ("from ..models import base, build_model\n", "tfvideo.export.lib", {"tfvideo.models", "tfvideo.models.base"}),
    ("import numpy\nfrom tfvideo.models.base import VideoPredictor\n", "tfvideo.runs", {"tfvideo.models.base"}),
])
def test_imports_are_read_as_module_names(source, module, expected):
    assert imported_modules(source, module) == expected


def test_evaluation_reaches_the_exports_only_through_the_runtimes():
    assert back_arrows({("tfvideo.evaluation.predictors", "tfvideo.export.tflite")}) == [
        "tfvideo.evaluation.predictors -> tfvideo.export.tflite (evaluation -> export)"]
    assert back_arrows({("tfvideo.evaluation.predictors", "tfvideo.runtimes.exports"),
                        ("tfvideo.prediction.predict_lib", "tfvideo.runtimes.base")}) == []


def test_sideways_between_independent_wings_is_refused():
    assert back_arrows({("tfvideo.data.clips", "tfvideo.models.base")}) == [
        "tfvideo.data.clips -> tfvideo.models.base (data -> models)"]
    assert back_arrows({("tfvideo.evaluation.metrics", "tfvideo.utils.files")}) == [
        "tfvideo.evaluation.metrics -> tfvideo.utils.files (metrics -> utils)"]
