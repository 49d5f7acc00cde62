"""The attention models' maps arranged for display (AT/BAT, Chaki et al. 2020; the Transformer's
layers and heads): attention received per frame, the most attended frames, one query's row, maps
pooled to a size a browser can draw. Times are frame START times; nothing here runs a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    "FLAT_LIFT",
    "Flatness",
    "flatness",
    "flatness_note",
    "colour_range",
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


#: A map is *nearly flat* when its predictions' largest weights are on average less than this many times the
#: uniform weight (1/T, T the frames a prediction may attend to); the most attended frames are *noise* when
#: none of them receives this many times its uniform share. 1.5: half as much again as uniform attention.
FLAT_LIFT = 1.5


@dataclass(frozen=True)
class Flatness:
    """How far an attention map is from uniform attention (every frame a prediction may see weighted 1/T).

    Attributes:
        uniform: the uniform weight 1/T, averaged over the predictions that attend (BAT's T grows with t).
        peak_lift: each prediction's largest weight divided by its uniform weight, averaged over the
            predictions (1: flat; a prediction that looks at one frame only: T).
        peak: each prediction's largest weight, averaged (what ``peak_lift`` compares with ``uniform``).
        top_lift: the largest attention a frame receives relative to uniform
            (:func:`attention_received` with ``relative=True``), what "the most attended frames" rank by.
        top_excess: how much more weight the most attended frame receives than uniform attention would give
            it, in weight units (the mean over the predictions of weight minus 1/T).
    """

    uniform: float
    peak_lift: float
    peak: float
    top_lift: float
    top_excess: float

    @property
    def flat(self) -> bool:
        """The map is nearly flat: its predictions barely prefer any frame (``peak_lift`` below :data:`FLAT_LIFT`)."""
        return self.peak_lift < FLAT_LIFT

    @property
    def flat_received(self) -> bool:
        """No frame receives much more than uniform attention (``top_lift`` below :data:`FLAT_LIFT`): ranking the
        frames by it ranks noise."""
        return self.top_lift < FLAT_LIFT


def flatness(weights: np.ndarray) -> Flatness:
    """How far ``weights`` [..., query, key] (rows summing to 1, or 0 for a prediction that attends to nothing)
    are from uniform attention. Leading axes (layers, heads) are pooled. A map where no prediction attends
    counts as flat (lifts 1, weights 0)."""
    weights = np.asarray(weights, float)
    rows = weights.reshape(-1, weights.shape[-1])
    rows = rows[rows.sum(axis=1) > 0]
    if rows.shape[0] == 0:
        return Flatness(0.0, 1.0, 0.0, 1.0, 0.0)
    allowed = np.maximum((rows > 0).sum(axis=1), 1)
    peaks = rows.max(axis=1)
    uniform = 1.0 / allowed
    received = attention_received(rows, relative=True)
    # excess: mean over the rows that may see the frame of (weight - 1/T)
    may = rows > 0
    excess = np.where(may, rows - uniform[:, None], 0.0).sum(axis=0) / np.maximum(may.sum(axis=0), 1)
    return Flatness(float(uniform.mean()), float((peaks * allowed).mean()), float(peaks.mean()),
                    float(received.max()) if received.size else 1.0, float(excess.max()) if excess.size else 0.0)


def colour_range(weights: np.ndarray, *, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """A colour scale for one map: its weights' ``low`` and ``high`` percentiles over the cells a prediction may
    attend to (weight > 0), so a few saturated cells do not hide the rest; ``low`` is 0 when the map has cells
    no prediction may attend to (BAT's later frames), so they read as "nothing". Always ``lo < hi``."""
    weights = np.asarray(weights, float)
    positive = weights[weights > 0]
    if positive.size == 0:
        return 0.0, 1.0
    lo = 0.0 if (weights <= 0).any() else float(np.percentile(positive, low))
    hi = float(np.percentile(positive, high))
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-3, 1e-6)
    return lo, hi


def flatness_note(name: str, found: Flatness) -> str:
    """One line on how far map ``name`` is from uniform attention, e.g. ``"**at**: nearly flat: a prediction's
    largest weight is on average 1.23x the uniform weight 1/T (0.0137 against 0.0111, 0.0026 more)"``."""
    how = "nearly flat" if found.flat else "peaked"
    return (f"**{name}**: {how}: a prediction's largest weight is on average {found.peak_lift:.2f}x the uniform "
            f"weight 1/T ({found.peak:.4f} against {found.uniform:.4f}, {found.peak - found.uniform:.4f} more)")
