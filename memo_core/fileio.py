"""Atomic file writes: a crash or a failing writer never leaves half a file, and the previous file survives.

>>> atomic_write("out/table.md", lambda h: h.write("| a |\\n"))                 # doctest: +SKIP
>>> atomic_write("out/x.npy", lambda h: np.save(h, x), binary=True)           # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["atomic_write", "STALE_TEMP_SECONDS"]

#: A temp file of :func:`atomic_write` untouched for this long was left by a writer that died: the next write to
#: its folder removes it (a live writer's temp is far younger; each of its writes refreshes the time).
STALE_TEMP_SECONDS = 30 * 60.0
#: The temp files :func:`atomic_write` makes, and only those: ``.NAME.`` + tempfile's 8 random characters + ``.tmp``.
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux ``/proc``); elsewhere set
    and restored under a lock, to the most private mask meanwhile, so a file another thread makes in that moment
    is never more open than it should be."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _remove_stale_temps(folder: Path) -> None:
    """Remove the temp files of writers that died in ``folder``: our naming only, untouched for
    :data:`STALE_TEMP_SECONDS`, plain files (not links or folders). Best effort: what cannot be removed stays."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(".") and name.endswith(".tmp") and _TEMP_NAME.fullmatch(name)):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    continue
    except OSError:
        pass


def atomic_write(path: str | os.PathLike, write: Callable[[IO[Any]], Any], *, binary: bool = False,
                 fsync: bool = False) -> Path:
    """Write ``path`` through a temp file in the same folder, then ``os.replace`` it into place.

    The folder is created if missing. If ``write`` raises, the temp file is
    removed and whatever was at ``path`` before is left untouched; the temp
    file of a process that died is removed by the next write to the same
    folder once it is :data:`STALE_TEMP_SECONDS` old. The file gets the mode a
    plain ``open(path, "w")`` of a new file would (``0o666`` less the umask),
    not ``mkstemp``'s private ``0o600``.

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
            os.chmod(tmp, 0o666 & ~_umask())
            write(handle)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _remove_stale_temps(path.parent)
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
