"""Shared fixtures: a tiny config, the absl log level, and the one tiny trained run with its exports (session
scope: built once per test process, by the builders of tests/support/runs.py)."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.support import runs  # noqa: E402
from tests.support.configs import tiny_config


@pytest.fixture
def tiny(tmp_path):
    return tiny_config(str(tmp_path / "run"))


@pytest.fixture
def keep_absl_log_level():
    """Parsing absl flags leaves the 'absl' logger at WARNING (hiding other tests' INFO logs): restore it."""
    logger = logging.getLogger("absl")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> str:
    """Workdir of the tiny trained SRVP run (`runs.build_trained_run`: last checkpoint runs.TRAINED_STEP). Tests
    that write into it write only under its eval/ folder; copy it to change it."""
    return runs.build_trained_run(str(tmp_path_factory.mktemp("trained") / "run"))


@pytest.fixture(scope="session")
def restored_run(trained_run):
    """`export.lib.load_trained_model` of the trained run (.model, .step, .checkpoint, ...)."""
    from tfvideo.export import lib
    return lib.load_trained_model(trained_run)


@pytest.fixture(scope="session")
def saved_model_export(trained_run, tmp_path_factory) -> dict:
    """The trained run's SavedModel written by `python -m tfvideo.export` (`runs.export_saved_model`)."""
    return runs.export_saved_model(trained_run, str(tmp_path_factory.mktemp("exports")))


@pytest.fixture(scope="session")
def loaded_saved_model(saved_model_export):
    import tensorflow as tf
    return tf.saved_model.load(saved_model_export["path"])


@pytest.fixture(scope="session")
def tflite_export(trained_run, saved_model_export):
    """A function quantize="none" -> path of that TFLite variant of the trained run, written once next to the
    SavedModel by `python -m tfvideo.export --format=tflite`."""
    paths = {}

    def path(quantize: str = "none") -> str:
        if quantize not in paths:
            paths[quantize] = runs.export_tflite(trained_run, saved_model_export["export_dir"], quantize)
        return paths[quantize]
    return path


@pytest.fixture(scope="session")
def untrained_workdir(tmp_path_factory) -> str:
    """A workdir holding only the tiny config.json (enough for baselines)."""
    return runs.build_untrained_workdir(str(tmp_path_factory.mktemp("untrained") / "run"))


@pytest.fixture(scope="session")
def hafsvg_run(tmp_path_factory) -> str:
    """Workdir of a tiny untrained HAF-SVG saved at step 1 (`runs.build_hafsvg_run`)."""
    return runs.build_hafsvg_run(str(tmp_path_factory.mktemp("hafsvg") / "hafsvg_run"))
