"""The exit guard of tf.data streams that call Python (`tf.numpy_function`): the process exits while one of their
iterators is alive.

Usage: one guard per data module; `guard.register()` when a stream is built, and the stream's Python function
wrapped in `guard.run(function, exit_value, *args)`.
"""

from __future__ import annotations

import atexit
import threading
import time


class ExitGuard:
    """Lets the interpreter exit while an iterator of a stream is still alive.

    Why: tf.data runs the stream's `make_batch` (a `tf.numpy_function`) on TF threads, which need the GIL. Once Python
    starts finalizing, a thread that asks for the GIL is stopped for good, so a call that starts then never
    finishes, and the iterator's destructor (run while module globals or a traceback are cleared) waits for
    it forever: the process hangs at exit (seen with TF 2.21 / Python 3.11, parallel map + prefetch).
    Fix: at exit (atexit runs before finalization), new calls return at once, and we wait until no call has
    been running for `quiet` seconds, i.e. the pipeline's buffers are full and its threads are idle.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last_active = 0.0
        self._exiting = False
        self._registered = False

    def register(self) -> None:
        with self._lock:
            if not self._registered:
                atexit.register(self.quiesce)
                self._registered = True

    def run(self, function, exit_value, *args):
        """Returns function(*args), or exit_value() once the interpreter is exiting.

        (Raising instead would make TF log a traceback per call. exit_value should be unusable data, e.g.
        NaNs: nothing can consume it, as the interpreter is exiting, but if it were, it would be obvious.)
        """
        with self._lock:
            self._last_active = time.monotonic()
            if self._exiting:
                return exit_value()
            self._in_flight += 1
        try:
            return function(*args)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_active = time.monotonic()

    def quiesce(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        with self._lock:
            self._exiting = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0 and time.monotonic() - self._last_active > quiet:
                    return
            time.sleep(0.01)
