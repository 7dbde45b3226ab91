"""Prepare a dataset once: `python -m tfvideo.data.prepare --dataset=kth --data_dir=DIR [--manual_dir=SRC]`.

- bair, moving_mnist: TFDS downloads and prepares `bair_robot_pushing_small` / `moving_mnist` in --data_dir.
- kth: our TFDS builder reads the official zips from --manual_dir, or downloads them when online.
- human36m: our TFDS builder reads the manually downloaded videos from --manual_dir (license-gated).
Then the frame caches used for training are built (at --image_size), so the first training run starts at once.
Accepts the training flagfiles (`--flagfile=configs/kth.flags --data_dir=DIR`). smmnist and folder need no
preparation. Errors are printed as a message saying what is missing and how to get it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfvideo import flags as flags_lib  # noqa: E402
from tfvideo.utils import cli_logging  # noqa: E402

flags_lib.define_config_flags()
FLAGS = flags.FLAGS
CLI = flags_lib.CliFlags()
CLI.define(flags.DEFINE_string, "manual_dir", None, "kth: folder of the official zips (or their avi files); "
                                                    "human36m: folder holding S1/Videos/*.mp4 ... (required).")


def tfds_builder(data_config):
    """The TFDS builder behind `data_config.dataset`, or None for datasets that need no preparation."""
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    name = data_config.dataset
    if name == "kth":
        from tfvideo.data import kth  # pylint: disable=g-import-not-at-top
        return kth.Kth(data_dir=data_config.data_dir)
    if name == "human36m":
        from tfvideo.data import human36m  # pylint: disable=g-import-not-at-top
        return human36m.Human36m(data_dir=data_config.data_dir)
    if name == "bair":
        return tfds.builder("bair_robot_pushing_small", data_dir=data_config.data_dir)
    if name == "moving_mnist":
        return tfds.builder("moving_mnist", data_dir=data_config.data_dir)
    return None


def _missing_message(dataset: str) -> str:
    import importlib  # pylint: disable=g-import-not-at-top

    module = {"bair": "bair", "kth": "kth", "human36m": "human36m", "moving_mnist": "tfds_moving_mnist"}[dataset]
    return importlib.import_module(f"tfvideo.data.{module}").MISSING


def _check_reachable(dataset: str, timeout: float = 10.0) -> None:
    """Fails at once (instead of after TFDS's download retries) when the dataset's server cannot be reached."""
    import importlib  # pylint: disable=g-import-not-at-top
    import socket  # pylint: disable=g-import-not-at-top
    import urllib.parse  # pylint: disable=g-import-not-at-top

    from tfvideo.data.errors import DatasetUnavailableError  # pylint: disable=g-import-not-at-top

    module = {"bair": "bair", "kth": "kth", "moving_mnist": "tfds_moving_mnist"}[dataset]
    url = urllib.parse.urlparse(importlib.import_module(f"tfvideo.data.{module}").URL)
    try:
        socket.create_connection((url.hostname, url.port or 80), timeout=timeout).close()
    except OSError as err:
        raise DatasetUnavailableError(f"Cannot reach {url.hostname} to download {dataset} ({err}): no internet "
                                      f"here?\n{_missing_message(dataset)}") from err


MANUAL_DATASETS = ("kth", "human36m")  # the datasets whose TFDS builder reads --manual_dir


def check_manual_dir(dataset: str, manual_dir: str) -> None:
    """DatasetUnavailableError, before any download, when --manual_dir cannot be prepared: it is not a folder, the
    dataset does not read one (TFDS would download instead), or it holds none of the dataset's files (each named).
    A KTH folder missing some actions' files prepares the others, with a warning naming the missing ones."""
    from absl import logging  # pylint: disable=g-import-not-at-top

    from tfvideo.data import human36m, kth  # pylint: disable=g-import-not-at-top
    from tfvideo.data.errors import DatasetUnavailableError  # pylint: disable=g-import-not-at-top

    if dataset not in MANUAL_DATASETS:
        raise DatasetUnavailableError(f"--manual_dir is read for {' and '.join(MANUAL_DATASETS)} only; "
                                      f"--dataset={dataset} is downloaded: leave --manual_dir out.")
    if not os.path.isdir(manual_dir):
        raise DatasetUnavailableError(f"--manual_dir={manual_dir} is not a folder: point it at the folder holding "
                                      f"the {dataset} files.\n{_missing_message(dataset)}")
    if dataset == "kth":
        missing = kth.missing_manual_files(manual_dir)
        if len(missing) == len(kth.ACTIONS):
            raise DatasetUnavailableError(kth.manual_files_message(manual_dir))
        if missing:
            logging.warning("KTH: no file of %s in --manual_dir=%s (neither the zip nor its avi files): preparing "
                            "the other actions only.", ", ".join(missing), manual_dir)
    elif not human36m.find_videos(manual_dir):
        raise DatasetUnavailableError(f"--manual_dir={manual_dir} holds no Human3.6M video (S<n>/Videos/"
                                      f"<Action>.<camera>.mp4).\n{_missing_message(dataset)}")


def prepare(config, manual_dir: str | None = None) -> str:
    """Downloads/prepares `config.data.dataset` and builds its frame caches; returns the data description.

    Raises DatasetUnavailableError (with the dataset's instructions) when preparation fails.
    """
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

    from tfvideo.data import registry  # pylint: disable=g-import-not-at-top
    from tfvideo.data.errors import DatasetUnavailableError  # pylint: disable=g-import-not-at-top

    builder = tfds_builder(config.data)
    if builder is not None:
        if manual_dir is not None:
            check_manual_dir(config.data.dataset, manual_dir)
        elif config.data.dataset == "human36m" and not builder.is_prepared():
            raise DatasetUnavailableError("--dataset=human36m is prepared from the videos you downloaded (they are "
                                          f"license-gated): pass their folder as --manual_dir.\n"
                                          f"{_missing_message('human36m')}")
        elif not builder.is_prepared():
            _check_reachable(config.data.dataset)
        download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
        try:
            builder.download_and_prepare(download_config=download_config)
        except Exception as err:  # pylint: disable=broad-except  (network, archive and codec errors alike)
            raise DatasetUnavailableError(f"Preparing {config.data.dataset} in {builder.data_dir} failed: "
                                          f"{type(err).__name__}: {err}\n{_missing_message(config.data.dataset)}") \
                from err
    return registry.get_data_source(config.data).description


@cli_logging.interruptible("Interrupted (Ctrl-C); rerun the same command to prepare the dataset.")
def main(argv) -> int:
    cli_logging.check_no_arguments(argv)
    from tfvideo import config as config_lib  # pylint: disable=g-import-not-at-top
    from tfvideo.data import errors, mnist_digits  # pylint: disable=g-import-not-at-top

    try:
        config = flags_lib.config_from_flags(FLAGS)
        description = prepare(config, CLI.value("manual_dir"))
    except (config_lib.ConfigError, errors.DatasetUnavailableError, mnist_digits.DigitsUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Ready: {description}", flush=True)
    return 0


def run() -> None:
    cli_logging.run_main(main)


if __name__ == "__main__":
    run()
