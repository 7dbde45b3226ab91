"""Progress display for long loops: a Keras progress bar on a terminal, one plain line per update in logs."""

from __future__ import annotations

import sys
import time

import keras


class Progress:
    """Shows `step / total` with named values, an ETA and a rate.

    On a terminal it is Keras' progress bar; otherwise (CI, `nohup`, redirected output) each `update` prints
    one line (at most one per `min_interval` seconds, and always the last):
    `step 250/2000 (12%) loss=... | 3.1 steps/s | ETA 9m24s`.
    """

    def __init__(self, total: int, start: int = 0, names=(), unit: str = "step", stream=None,
                 min_interval: float = 0.0):
        """`min_interval`: in logs, seconds between two lines (the last step always prints); 0 prints every
        update."""
        self.total, self.start, self.unit = total, start, unit
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty()
        self.started = time.time()
        self.min_interval, self.last_line = min_interval, float("-inf")
        self.bar = keras.utils.Progbar(total, stateful_metrics=list(names), unit_name=unit) if self.interactive \
            else None

    def update(self, step: int, values: dict[str, float] | None = None) -> None:
        values = values or {}
        if self.bar is not None:
            self.bar.update(step, list(values.items()))
            return
        now = time.time()
        if step < self.total and now - self.last_line < self.min_interval:
            return
        self.last_line = now
        elapsed = now - self.started
        rate = (step - self.start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        shown = " ".join(f"{name}={value:.4g}" for name, value in values.items())
        print(f"{self.unit} {step}/{self.total} ({100 * step / self.total:.0f}%) {shown} | {rate:.3g} "
              f"{self.unit}s/s | ETA {format_seconds(eta)}", file=self.stream, flush=True)


def format_seconds(seconds: float) -> str:
    """12.3 -> '12s', 564 -> '9m24s', 7300 -> '2h01m'; NaN -> '?'."""
    if seconds != seconds:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
