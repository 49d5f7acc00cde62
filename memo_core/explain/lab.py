"""The Emotion lab's reading of a result: how each model followed the designed trajectory, in words.

:func:`follow_table` measures, per model and target, the correlation of the prediction with the design (on
the design's frames), the range each covers, and the mean offset; :func:`follow_summary` turns one model's
rows into one sentence a class can read, e.g. "follows arousal closely (r 0.90); flattens valence (range 0.10
of the design's 1.40)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["follow_table", "follow_summary", "follow_summaries", "FOLLOW_WORDS"]

#: Correlation with the design from which a model "follows" a target, by word (highest first).
FOLLOW_WORDS = ((0.8, "follows {t} closely"), (0.5, "follows {t} loosely"), (0.2, "barely follows {t}"))
#: Below this correlation (negative) the model moves against the design.
AGAINST_R = -0.3
#: A prediction whose range is below this share of the design's range "flattens" the target.
FLAT_SHARE = 0.35
#: A design whose range is below this holds the target steady (correlation is meaningless then).
STEADY_RANGE = 0.1
#: A mean offset beyond this (on [-1, 1]) is worth saying.
OFFSET = 0.3


def _on_design(design: Mapping[str, Any], prediction: pd.DataFrame | Mapping[str, Any], target: str,
               ) -> tuple[np.ndarray, np.ndarray] | None:
    if design.get(target) is None or prediction.get(target) is None:
        return None
    td, yd = np.asarray(design["time_s"], float), np.asarray(design[target], float)
    tp, yp = np.asarray(prediction["time_s"], float), np.asarray(prediction[target], float)
    keep = np.isfinite(yd) & (td >= np.nanmin(tp)) & (td <= np.nanmax(tp)) if tp.size else np.zeros(0, bool)
    if keep.sum() < 2:
        return None
    order = np.argsort(tp)
    return yd[keep], np.interp(td[keep], tp[order], yp[order])


def _range(y: np.ndarray) -> float:
    return float(np.nanmax(y) - np.nanmin(y)) if y.size else float("nan")


def follow_table(design: Mapping[str, Any], predictions: Mapping[str, pd.DataFrame | Mapping[str, Any]],
                 targets: Sequence[str] = ("valence", "arousal")) -> pd.DataFrame:
    """How each prediction followed the design, per target.

    Args:
        design: ``time_s`` and one array per target (the designed trajectory's frames).
        predictions: ``{model: table with time_s and target columns}``; a prediction is read at the design's
            times (linear interpolation) within the span it covers.
        targets: the targets to measure.

    Returns:
        One row per (model, target): ``model, target, r`` (Pearson correlation with the design; NaN when either
        is constant), ``range`` (max - min of the prediction), ``design range``, ``offset`` (mean prediction -
        mean design).
    """
    rows = []
    for model, frame in predictions.items():
        for target in targets:
            found = _on_design(design, frame, target)
            if found is None:
                continue
            yd, yp = found
            r = float(np.corrcoef(yd, yp)[0, 1]) if yd.std() > 1e-9 and yp.std() > 1e-9 else float("nan")
            rows.append({"model": str(model), "target": target, "r": r, "range": _range(yp),
                         "design range": _range(yd), "offset": float(np.mean(yp - yd))})
    return pd.DataFrame(rows, columns=["model", "target", "r", "range", "design range", "offset"])


def _phrase(row: Mapping[str, Any]) -> str:
    t, r, rng, design = row["target"], row["r"], row["range"], row["design range"]
    if design < STEADY_RANGE:
        moves = "stays steady too" if rng < max(2 * STEADY_RANGE, 0.2) else f"wanders over a range of {rng:.2f}"
        return f"{t} is held steady in the design and the model {moves}"
    parts = []
    if not np.isfinite(r):
        parts.append(f"does not move with {t} at all (a flat line)")
    elif r <= AGAINST_R:
        parts.append(f"moves against {t} (r {r:.2f})")
    else:
        word = next((w for cut, w in FOLLOW_WORDS if r >= cut), "does not follow {t}")
        parts.append(f"{word.format(t=t)} (r {r:.2f})")
    if np.isfinite(r) and rng < FLAT_SHARE * design:
        parts.append(f"flattens it (range {rng:.2f} of the design's {design:.2f})")
    if abs(row["offset"]) >= OFFSET:
        parts.append(f"reads it {'higher' if row['offset'] > 0 else 'lower'} than designed "
                     f"({row['offset']:+.2f} on average)")
    return parts[0] + "".join((" and " if i == len(parts) - 1 else ", ") + p for i, p in enumerate(parts) if i)


def follow_summary(rows: pd.DataFrame) -> str:
    """One sentence for one model's rows of :func:`follow_table`, targets in the table's order, e.g. "follows
    arousal closely (r 0.90); flattens valence (range 0.10 of the design's 1.40)". Empty without rows."""
    phrases = [_phrase(row) for _, row in rows.iterrows()]
    text = "; ".join(p for p in phrases if p)
    return text[:1].upper() + text[1:] + "." if text else ""


def follow_summaries(design: Mapping[str, Any], predictions: Mapping[str, pd.DataFrame | Mapping[str, Any]],
                     targets: Sequence[str] = ("valence", "arousal")) -> dict[str, str]:
    """``{model: sentence}`` (:func:`follow_summary`) for every prediction that overlaps the design."""
    table = follow_table(design, predictions, targets)
    return {str(model): follow_summary(part) for model, part in table.groupby("model", sort=False)}
