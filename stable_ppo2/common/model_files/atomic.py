"""Atomic file writes: every file stable_ppo2 saves (model zips and pickles, VecNormalize and
statistics pickles, checkpoints, TFLite exports) is written beside its target and moved into
place, so a crash or an error half-way leaves the previous file intact and no partial file."""
from __future__ import annotations

import os
import tempfile
from typing import IO, Callable


def atomic_write(path: str, write: Callable[[IO[bytes]], object]) -> None:
    """Run ``write(file)`` on a temporary file in ``path``'s folder (created if missing), flush it
    to disk, then move it onto ``path`` in one step (:func:`os.replace`)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
