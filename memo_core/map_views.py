"""Explanation maps arranged for display: attention rows and columns, scale weights, per-scale outputs.

The dashboard's Attention and Multi-scale pages draw these; every array comes
from a :class:`memo_core.explain.SongExplanation` (axes as listed in
:mod:`memo_core.explain`) and nothing here runs a model. Times are frame START
times in seconds (frame ``i`` covers ``[0.5 i, 0.5 i + 0.5)``).

Attention (Chaki et al. 2020, Sec. 5): ``temporal_attention[t, k]`` is how much
the prediction at frame ``t`` draws on frame ``k``; the frames a model attends
to most over the whole song are the columns with the largest mean weight
(:func:`attention_received`, :func:`top_attended`).

Multi-scale: MCA's scale weights and per-scale outputs (Ma et al. 2017, Eq.
14-17), the A-LSTM's weights inside each causal window (Eq. 11-13), and
DBLSTM-ELM's per-scale outputs with the paper's AVG fusion (Li et al. 2016,
Table 2; :func:`avg_fusion`).

>>> received = attention_received(result.explanations["temporal_attention"]["values"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .audio import FRAME_SECONDS
from .errors import MemoError

__all__ = [
    "pool_for_display",
    "MCA_SCALES",
    "DBLSTM_SCALES",
    "scale_label",
    "nearest_frame",
    "temporal_attention",
    "attention_received",
    "top_attended",
    "later_frame_weight",
    "attention_row",
    "layer_attention",
    "scale_frames",
    "scale_weights_table",
    "scale_predictions_table",
    "scale_curves",
    "window_attention_at",
    "is_uniform",
    "avg_fusion",
]

#: The paper's scales (frames of 0.5 s) when a checkpoint's config does not say: Ma et al. 2017, Li et al. 2016.
MCA_SCALES = (5, 10, 20)
DBLSTM_SCALES = (10, 20, 30, 60)


def scale_label(frames: int, frame_seconds: float = FRAME_SECONDS) -> str:
    """``"5 frames (2.5 s)"``: a scale in frames and in seconds."""
    return f"{int(frames)} frames ({frames * frame_seconds:g} s)"


def nearest_frame(times: Sequence[float], t: float) -> int:
    """Index of the frame whose start time is closest to ``t`` (``times`` ascending, not empty)."""
    times = np.asarray(times, float)
    if times.size == 0:
        raise MemoError("nearest_frame: no frames")
    return int(np.argmin(np.abs(times - float(t))))


def _map(result: Any, name: str) -> dict[str, Any] | None:
    found = getattr(result, "explanations", {}).get(name)
    return found if isinstance(found, Mapping) and "values" in found else None


# --------------------------------------------------------------------------- attention over the song


def _attention_map(result: Any, name: str, n_axes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(weights, query_time_s, key_time_s)`` of an attention map whose LAST two axes are query and key."""
    found = _map(result, name)
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


# --------------------------------------------------------------------------- multi-scale models


def scale_frames(result: Any, model_config: Mapping | None = None,
                 default: Sequence[int] = MCA_SCALES) -> tuple[int, ...]:
    """The scales (frames) of a multi-scale result, in the order of its ``scale`` axis.

    From the checkpoint's ``model_config["scales"]`` when it matches the maps,
    else ``default`` when its length matches, else ``1, 2, ...``.
    """
    found = _map(result, "scale_predictions") or _map(result, "scale_weights")
    n = np.asarray(found["values"]).shape[1] if found is not None else None
    for candidate in ((model_config or {}).get("scales"), default):
        if candidate is not None and (n is None or len(candidate) == n):
            return tuple(int(s) for s in candidate)
    return tuple(range(1, (n or 0) + 1))


def _times(found: Mapping, n: int) -> np.ndarray:
    return np.asarray(found.get("axes", {}).get("time_s", np.arange(n) * FRAME_SECONDS), float)


def scale_weights_table(result: Any, scales: Sequence[int]) -> pd.DataFrame | None:
    """MCA's scale weights beta: ``time_s`` then one column per scale (labelled by :func:`scale_label`)."""
    found = _map(result, "scale_weights")
    if found is None:
        return None
    values = np.asarray(found["values"], float)
    if values.ndim != 2 or values.shape[1] != len(scales):
        raise MemoError(f"scale_weights has shape {values.shape}, expected {len(scales)} scales")
    table = pd.DataFrame(values, columns=[scale_label(s) for s in scales])
    table.insert(0, "time_s", _times(found, len(values)))
    return table


def _scale_predictions(result: Any) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    found = _map(result, "scale_predictions")
    if found is None:
        return None
    values = np.asarray(found["values"], float)
    if values.ndim != 3:
        raise MemoError(f"scale_predictions should have 3 axes, got shape {values.shape}")
    targets = [str(t) for t in found.get("axes", {}).get("target", getattr(result, "targets", ()))]
    if len(targets) != values.shape[2]:
        targets = [f"target {j}" for j in range(values.shape[2])]
    return values, _times(found, len(values)), targets


def scale_predictions_table(result: Any, scales: Sequence[int], target: str) -> pd.DataFrame | None:
    """Each scale's own prediction of ``target``: ``time_s`` then one column per scale; None when absent."""
    found = _scale_predictions(result)
    if found is None or target not in found[2]:
        return None
    values, times, targets = found
    if values.shape[1] != len(scales):
        raise MemoError(f"scale_predictions has {values.shape[1]} scales, expected {len(scales)}")
    table = pd.DataFrame(values[:, :, targets.index(target)], columns=[scale_label(s) for s in scales])
    table.insert(0, "time_s", times)
    return table


def scale_curves(result: Any, scales: Sequence[int]) -> dict[str, pd.DataFrame]:
    """Each scale's own prediction as a curve: ``{scale label: DataFrame(time_s, <one column per target>)}``."""
    found = _scale_predictions(result)
    if found is None:
        return {}
    values, times, targets = found
    if values.shape[1] != len(scales):
        raise MemoError(f"scale_predictions has {values.shape[1]} scales, expected {len(scales)}")
    out = {}
    for i, frames in enumerate(scales):
        table = pd.DataFrame(values[:, i, :], columns=targets)
        table.insert(0, "time_s", times)
        out[scale_label(frames)] = table
    return out


def window_attention_at(result: Any, scales: Sequence[int], t: float) -> dict[str, pd.DataFrame]:
    """The A-LSTM weights inside each scale's causal window for the frame nearest ``t``.

    Returns:
        ``{scale label: DataFrame(lag_s, weight)}`` (lag 0 s is the frame itself,
        ``-(l-1) * 0.5`` s the oldest frame of its window; missing history of the
        song's first frames has weight 0), for the scales that have window attention.
    """
    out = {}
    for frames in scales:
        found = _map(result, f"window_attention/{frames}")
        if found is None:
            continue
        values = np.asarray(found["values"], float)
        i = nearest_frame(_times(found, len(values)), t)
        lags = np.asarray(found.get("axes", {}).get("lag_s", (np.arange(values.shape[1]) - values.shape[1] + 1)
                                                   * FRAME_SECONDS), float)
        out[scale_label(frames)] = pd.DataFrame({"lag_s": lags, "weight": values[i]})
    return out


def is_uniform(weights: pd.DataFrame | np.ndarray, tol: float = 1e-6) -> bool:
    """Whether scale weights are all ``1/N`` (uniform MCA) on the frames inside the song."""
    values = np.asarray(weights.drop(columns="time_s") if isinstance(weights, pd.DataFrame) else weights, float)
    inside = values[values.sum(axis=1) > 0]
    return bool(inside.size) and bool(np.allclose(inside, 1.0 / values.shape[1], atol=tol))


def avg_fusion(result: Any) -> pd.DataFrame | None:
    """Li et al.'s AVG fusion of a multi-scale result: the plain mean of the per-scale outputs.

    Li et al. 2016 (Sec. 3.5, Table 2) compare the ELM fusion with "averaging the
    predictions" of the DBLSTMs of every scale: ``y_avg(t) = (1/K) sum_i o_i(t)``,
    ``o_i`` the scale-``i`` network's output at frame ``t`` and K the number of
    scales. Here ``o_i`` is the ``scale_predictions`` map.

    Returns:
        ``time_s`` then one column per target, or None when the result has no per-scale outputs.
    """
    found = _scale_predictions(result)
    if found is None:
        return None
    values, times, targets = found
    table = pd.DataFrame(values.mean(axis=1), columns=targets)
    table.insert(0, "time_s", times)
    return table


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
    pad = [(0, 0)] * (weights.ndim - 2) + [(0, (-n_q) % b_q), (0, (-n_k) % b_k)]
    padded = np.pad(weights, pad, constant_values=np.nan)
    blocks = padded.reshape(*weights.shape[:-2], padded.shape[-2] // b_q, b_q, padded.shape[-1] // b_k, b_k)
    mean_start = lambda t, b: np.array([t[i:i + b].mean() for i in range(0, len(t), b)])  # noqa: E731
    return np.nanmean(blocks, axis=(-3, -1)), mean_start(q, b_q), mean_start(k, b_k)
