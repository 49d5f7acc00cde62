"""The multi-scale models' maps arranged for display: MCA's scale weights and per-scale predictions
(Ma et al. 2017), DBLSTM-ELM's per-scale curves and average fusion (Li et al. 2016), the windows a
frame's prediction rests on. Times are frame START times; nothing here runs a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from memo_core.audio import FRAME_SECONDS
from memo_core.errors import MemoError
from memo_core.explain._common import map_times, nearest_frame, result_map

__all__ = [
    "MCA_SCALES",
    "DBLSTM_SCALES",
    "scale_label",
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



def scale_frames(result: Any, model_config: Mapping | None = None,
                 default: Sequence[int] = MCA_SCALES) -> tuple[int, ...]:
    """The scales (frames) of a multi-scale result, in the order of its ``scale`` axis.

    From the checkpoint's ``model_config["scales"]`` when it matches the maps,
    else ``default`` when its length matches, else ``1, 2, ...``.
    """
    found = result_map(result, "scale_predictions") or result_map(result, "scale_weights")
    n = np.asarray(found["values"]).shape[1] if found is not None else None
    for candidate in ((model_config or {}).get("scales"), default):
        if candidate is not None and (n is None or len(candidate) == n):
            return tuple(int(s) for s in candidate)
    return tuple(range(1, (n or 0) + 1))



def scale_weights_table(result: Any, scales: Sequence[int]) -> pd.DataFrame | None:
    """MCA's scale weights beta: ``time_s`` then one column per scale (labelled by :func:`scale_label`)."""
    found = result_map(result, "scale_weights")
    if found is None:
        return None
    values = np.asarray(found["values"], float)
    if values.ndim != 2 or values.shape[1] != len(scales):
        raise MemoError(f"scale_weights has shape {values.shape}, expected {len(scales)} scales")
    table = pd.DataFrame(values, columns=[scale_label(s) for s in scales])
    table.insert(0, "time_s", map_times(found, len(values)))
    return table



def _scale_predictions(result: Any) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    found = result_map(result, "scale_predictions")
    if found is None:
        return None
    values = np.asarray(found["values"], float)
    if values.ndim != 3:
        raise MemoError(f"scale_predictions should have 3 axes, got shape {values.shape}")
    targets = [str(t) for t in found.get("axes", {}).get("target", getattr(result, "targets", ()))]
    if len(targets) != values.shape[2]:
        targets = [f"target {j}" for j in range(values.shape[2])]
    return values, map_times(found, len(values)), targets



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
        found = result_map(result, f"window_attention/{frames}")
        if found is None:
            continue
        values = np.asarray(found["values"], float)
        i = nearest_frame(map_times(found, len(values)), t)
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
