"""What the display builders share: one block-pooling helper, a map from a result, frame times.

Private to :mod:`memo_core.explain`; the dashboard imports the topic modules, not this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.errors import MemoError


def block_edges(n: int, *, n_blocks: int | None = None, block: int | None = None) -> np.ndarray:
    """The first index of each block when ``n`` items are cut into ``n_blocks`` near-equal blocks, or into
    blocks of ``block`` items (the last one shorter). [shape=(n_blocks,)]"""
    if block is not None:
        return np.arange(0, n, max(int(block), 1))
    n_blocks = max(1, min(int(n_blocks or n), n))
    return np.linspace(0, n, n_blocks + 1).astype(int)[:-1]


def block_mean(x: np.ndarray, starts: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean of each block of consecutive items along ``axis``, blocks starting at ``starts``
    (:func:`block_edges`). A display's one way of shrinking an axis: spectrogram columns, attention
    frames, their time stamps."""
    x = np.asarray(x)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(float)
    n = x.shape[axis]
    sizes = np.diff(np.append(starts, n))
    shape = [1] * x.ndim
    shape[axis] = sizes.size
    return np.add.reduceat(x, starts, axis=axis) / sizes.reshape(shape)


def nearest_frame(times: Sequence[float], t: float) -> int:
    """Index of the frame whose start time is closest to ``t`` (``times`` ascending, not empty)."""
    times = np.asarray(times, float)
    if times.size == 0:
        raise MemoError("nearest_frame: no frames")
    return int(np.argmin(np.abs(times - float(t))))


def result_map(result: Any, name: str) -> dict[str, Any] | None:
    """``result.explanations[name]`` when it is a map with values, else ``None``."""
    found = getattr(result, "explanations", {}).get(name)
    return found if isinstance(found, Mapping) and "values" in found else None


def map_times(found: Mapping, n: int) -> np.ndarray:
    """A map's frame start times (its ``time_s`` axis, else ``0.5 i``)."""
    return np.asarray(found.get("axes", {}).get("time_s", np.arange(n) * FRAME_SECONDS), float)
