"""The attention models' maps arranged for display (AT/BAT, Chaki et al. 2020; the Transformer's
layers and heads): attention received per frame, the most attended frames, one query's row, maps
pooled to a size a browser can draw. Times are frame START times; nothing here runs a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.errors import MemoError
from memo_core.explain._common import block_edges, block_mean, nearest_frame, result_map

__all__ = [
    "temporal_attention",
    "attention_received",
    "top_attended",
    "later_frame_weight",
    "attention_row",
    "layer_attention",
    "pool_for_display",
]


def _attention_map(result: Any, name: str, n_axes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(weights, query_time_s, key_time_s)`` of an attention map whose LAST two axes are query and key."""
    found = result_map(result, name)
    if found is None:
        return None
    values = np.asarray(found["values"], float)
    if values.ndim != n_axes:
        raise MemoError(f"{name} should have {n_axes} axes, got shape {values.shape}")
    axes = found.get("axes", {})
    q = np.asarray(axes.get("query_time_s", np.arange(values.shape[-2]) * FRAME_SECONDS), float)
    k = np.asarray(axes.get("key_time_s", np.arange(values.shape[-1]) * FRAME_SECONDS), float)
    return values, q, k



def temporal_attention(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(weights [query, key], query_time_s, key_time_s)`` of an AT/BAT result, or None when it has none."""
    return _attention_map(result, "temporal_attention", 2)



def attention_received(weights: np.ndarray, *, relative: bool = False) -> np.ndarray:
    """How much attention each frame receives over the song. [shape=(n_key_frames,)]

    Args:
        weights: ``temporal_attention`` [query, key], rows summing to 1 (or 0).
        relative: False: the column means over the prediction frames that attend
            at all (all-zero rows, such as BAT's first frame or padding, are left
            out), so the result sums to 1. True: each weight divided by what
            uniform attention over that row's frames would give (``1/n_t``,
            ``n_t`` the frames row ``t`` may attend to: those with weight > 0),
            averaged over the rows that may attend to the frame; 1 means "no
            preference". BAT's early frames can be attended to by more rows
            that have few frames to choose from, so the plain mean favours the
            song's start; the relative one does not.
    """
    weights = np.asarray(weights, float)
    rows = weights[weights.sum(axis=1) > 0]
    if rows.shape[0] == 0:
        return np.zeros(weights.shape[1])
    if not relative:
        return rows.mean(axis=0)
    allowed = rows > 0
    lift = rows * allowed.sum(axis=1, keepdims=True)
    count = allowed.sum(axis=0)
    return np.where(count > 0, lift.sum(axis=0) / np.maximum(count, 1), 0.0)



def top_attended(received: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` frames with the most attention received, in time order (ties: earlier first)."""
    received = np.asarray(received, float)
    k = max(0, min(int(k), received.size))
    order = np.argsort(-received, kind="stable")[:k]
    return np.sort(order)



def later_frame_weight(weights: np.ndarray) -> float:
    """The largest weight any prediction frame puts on a LATER frame (0 for a causal map such as BAT's)."""
    weights = np.asarray(weights, float)
    upper = np.triu(weights, k=1)
    return float(upper.max()) if upper.size else 0.0



def attention_row(weights: np.ndarray, query_times: Sequence[float], t: float) -> tuple[int, np.ndarray]:
    """``(frame index, weights over the key frames)`` of the prediction frame nearest ``t``."""
    i = nearest_frame(query_times, t)
    return i, np.asarray(weights, float)[i]



def layer_attention(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(weights [layer, head, query, key], query_time_s, key_time_s)`` of a Transformer result, or None."""
    return _attention_map(result, "layer_attention", 4)


def pool_for_display(weights: np.ndarray, query_times: Sequence[float], key_times: Sequence[float], *,
                     max_frames: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An attention map averaged over blocks of frames so that neither of its last two axes exceeds
    ``max_frames`` (a 12 min song has 1440 frames: 2 million cells a map, too many to send to a browser).

    Each block of ``b`` consecutive frames (``b = ceil(n / max_frames)``) becomes one cell holding the mean
    weight, at the mean start time of its frames, so the map keeps its time axis. Maps that are small enough
    come back unchanged.

    Returns:
        ``(weights [..., n_query', n_key'], query_times', key_times')``.
    """
    weights = np.asarray(weights, float)
    q, k = np.asarray(query_times, float), np.asarray(key_times, float)
    n_q, n_k = weights.shape[-2], weights.shape[-1]
    b_q, b_k = -(-n_q // max_frames), -(-n_k // max_frames)
    if b_q == 1 and b_k == 1:
        return weights, q, k
    rows, cols = block_edges(n_q, block=b_q), block_edges(n_k, block=b_k)
    pooled = block_mean(block_mean(weights, rows, axis=-2), cols, axis=-1)
    return pooled, block_mean(q, rows), block_mean(k, cols)
