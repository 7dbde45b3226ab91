"""Input pipeline throughput, measured (CLI: `python -m tfvideo.benchmarks.data`, also `python -m tfvideo.data.benchmark`).

`measure` gives, for the configured dataset: the time to open the data source (`open_s`: first run includes
building frame caches), the first training batch (`first_batch_s`), training windows per second over `batches`
batches after `warmup` (`train_windows_per_s`), and test videos per second (`test_videos_per_s`). With `fake`,
generated source files in the dataset's real layout and frame geometry are prepared in a temporary folder first
(for machines without the real data; the figures then say `"data": "fake"`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time


def run_benchmark(data_config, batch_size: int, batches: int = 20, warmup: int = 3, test_videos: int = 64) -> dict:
    """Throughput figures of `data_config`'s pipeline (see the module docstring)."""
    from tfvideo.data import registry  # pylint: disable=g-import-not-at-top

    start = time.perf_counter()
    source = registry.get_data_source(data_config)
    open_s = time.perf_counter() - start
    iterator = iter(source.train_stream(batch_size, seed=0, start_index=0))
    start = time.perf_counter()
    next(iterator)
    first_batch_s = time.perf_counter() - start
    for _ in range(max(0, warmup - 1)):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
    train_s = time.perf_counter() - start
    num_test = min(test_videos, source.num_test_videos)
    start = time.perf_counter()
    read = sum(len(b) for b in source.test_batches(min(32, max(1, num_test)), 0, num_test))
    test_s = time.perf_counter() - start
    return {"dataset": data_config.dataset, "description": source.description, "batch_size": batch_size,
            "window_shape": list(batch.shape[1:]), "open_s": round(open_s, 3), "first_batch_s": round(first_batch_s, 3),
            "train_windows_per_s": round(batches * batch_size / train_s, 1),
            "train_batch_ms": round(1000 * train_s / batches, 1),
            "test_videos_per_s": round(read / max(test_s, 1e-9), 1), "cpu_count": os.cpu_count()}


def measure(config, batches: int, warmup: int, test_videos: int, fake: bool = False, fake_scale: int = 2) -> dict:
    """`run_benchmark` of `config`'s data at its training batch size with "data": "real"; with `fake`, on generated
    files in the dataset's layout (a temporary folder, deleted afterwards) with "data": "fake". Raises the data
    source's errors (DatasetUnavailableError, DigitsUnavailableError)."""
    from tfvideo.data import fake_data  # pylint: disable=g-import-not-at-top

    fake_root = tempfile.mkdtemp(prefix="tfvideo_data_bench_") if fake else None
    try:
        data = config.data
        if fake_root:
            clip_len = max(data.seq_len, data.conditioning_frames + data.test_horizon)
            data_dir = fake_data.make_fake_dataset(data.dataset, fake_root, clip_len, scale=fake_scale)
            data = config.replace(data={"data_dir": data_dir}).data
        result = run_benchmark(data, config.train.batch_size, batches, warmup, test_videos)
    finally:
        if fake_root:
            shutil.rmtree(fake_root, ignore_errors=True)
    result["data"] = "fake" if fake_root else "real"
    return result
