"""Atomic file writes: a crash or a failing writer never leaves half a file, and the previous file survives.

>>> atomic_write("out/table.md", lambda h: h.write("| a |\\n"))                 # doctest: +SKIP
>>> atomic_write("out/x.npy", lambda h: np.save(h, x), binary=True)           # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[IO[Any]], Any], *, binary: bool = False,
                 fsync: bool = False) -> Path:
    """Write ``path`` through a temp file in the same folder, then ``os.replace`` it into place.

    The folder is created if missing. If ``write`` raises (or the process
    dies), the temp file is removed and whatever was at ``path`` before is left
    untouched.

    Args:
        path: the file to write (``~`` is expanded).
        write: called with the open temp file; writes the content to it.
        binary: open the temp file in binary mode (``"wb"``); else text, UTF-8,
            with ``"\\n"`` line ends written as given.
        fsync: flush the data to disk before the rename (durable across a power
            cut, at the cost of a sync).

    Returns:
        The path written.
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as handle:
            write(handle)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def json_safe(value):
    """``value`` for strict JSON: numpy scalars and arrays as Python ones, NaN and infinities as ``None``."""


    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value
