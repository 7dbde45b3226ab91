"""Digests of a file or a folder tree, to assert that a refused command changed nothing."""

from __future__ import annotations

import hashlib
import os


def digest(path: str) -> dict:
    """{relative path ("" for a file): sha256 hex} of `path` (a file) or of every file below it (a folder)."""
    if os.path.isfile(path):
        return {"": hashlib.sha256(open(path, "rb").read()).hexdigest()}
    return {os.path.relpath(os.path.join(root, name), path): hashlib.sha256(open(os.path.join(root, name),
                                                                                 "rb").read()).hexdigest()
            for root, _, names in os.walk(path) for name in names}
