"""The mood/theme taggers' outputs arranged for display (Rajamani et al. 2020): scores beside the decision
thresholds and the true tags, their late fusion (the mean of the models' probabilities), and the local
self-attention of ``vggish_sa3`` (:func:`attention_neighbourhood`, :func:`attention_time_lean`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from memo_core.errors import MemoError
from memo_core.explain.explanation import SongExplanation, fuse_tag_explanations

__all__ = [
    "fuse_taggers",
    "tag_score_table",
    "tag_order",
    "tag_table_wide",
    "neighbourhood_offsets",
    "attention_neighbourhood",
    "attention_time_lean",
]


def fuse_taggers(results: Mapping[str, SongExplanation]) -> SongExplanation:
    """Rajamani et al.'s late fusion of these taggers on one song: the mean of their probabilities.

    :func:`memo_core.explain.fuse_tag_explanations` (thresholds: the mean of the
    models'), named ``"late fusion (key + key ...)"`` after the checkpoint keys.

    Raises:
        MemoError: fewer than two taggers, or taggers of different tag lists.
    """
    fused = fuse_tag_explanations(list(results.values()))
    fused.model_name = "late fusion (" + " + ".join(results) + ")"
    return fused



def tag_score_table(results: Mapping[str, SongExplanation], *, true_tags: Iterable[str] = (),
                    fused: SongExplanation | None = None, fused_name: str = "late fusion") -> pd.DataFrame:
    """Every tagger's score, threshold and decision per tag, one row per (model, tag).

    Args:
        results: ``{checkpoint key: tagger SongExplanation}``.
        true_tags: the song's annotated tags (may be empty).
        fused: a late fusion (:func:`fuse_taggers`), added as model ``fused_name``.

    Returns:
        Columns ``model, tag, score, threshold, predicted, true``.

    Raises:
        MemoError: a result that is not a tagger's.
    """
    truth = set(true_tags)
    frames = []
    members = dict(results)
    if fused is not None:
        members[fused_name] = fused
    for key, result in members.items():
        if result.task != "tagging":
            raise MemoError(f"{key} predicts curves, not tags")
        frame = result.predictions[["tag", "score", "threshold", "predicted"]].copy()
        frame.insert(0, "model", key)
        frame["predicted"] = frame["predicted"].astype(bool)
        frame["true"] = frame["tag"].isin(truth)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["model", "tag", "score", "threshold", "predicted", "true"])
    return pd.concat(frames, ignore_index=True)



def tag_order(table: pd.DataFrame, *, by: str | None = None) -> list[str]:
    """Tags by decreasing score: of model ``by`` when it is in the table, else the mean over models."""
    if table.empty:
        return []
    rows = table[table["model"] == by] if by is not None and (table["model"] == by).any() else table
    return rows.groupby("tag", sort=False)["score"].mean().sort_values(ascending=False, kind="stable").index.tolist()



def tag_table_wide(table: pd.DataFrame, order: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`tag_score_table` one row per tag: ``tag, annotated``, then per model ``"<model> score"``,
    ``"<model> threshold"`` and ``"<model> predicted"``; rows in ``order`` (default: :func:`tag_order`)."""
    order = list(order) if order is not None else tag_order(table)
    out = pd.DataFrame({"tag": order})
    truth = set(table.loc[table["true"].astype(bool), "tag"]) if not table.empty else set()
    out["annotated"] = out["tag"].isin(truth)
    for model in dict.fromkeys(table["model"]):
        rows = table[table["model"] == model].set_index("tag").reindex(order)
        out[f"{model} score"] = rows["score"].to_numpy(dtype=float)
        out[f"{model} threshold"] = rows["threshold"].to_numpy(dtype=float)
        out[f"{model} predicted"] = rows["predicted"].fillna(False).astype(bool).to_numpy()
    return out



def neighbourhood_offsets(n_neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """``(freq_offset, time_offset)`` of each of the k x k neighbours: neighbour ``n`` is
    ``(n // k - k // 2, n % k - k // 2)``.

    Raises:
        MemoError: ``n_neighbours`` not the square of an odd number.
    """
    k = int(round(np.sqrt(n_neighbours)))
    if k * k != int(n_neighbours) or k % 2 == 0:
        raise MemoError(f"{n_neighbours} neighbours is not an odd k x k neighbourhood")
    n = np.arange(k * k)
    return n // k - k // 2, n % k - k // 2



def _heads(values: np.ndarray, head: int | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 4:
        raise MemoError(f"self-attention must be (head, freq, time, neighbour), got {values.shape}")
    if head is None:
        return values.mean(axis=0)
    if not 0 <= int(head) < values.shape[0]:
        raise MemoError(f"head {head} is not one of the {values.shape[0]} heads")
    return values[int(head)]



def attention_neighbourhood(values: np.ndarray, *, position: int, head: int | None = None) -> np.ndarray:
    """The attention weights at one time column over its k x k neighbourhood, averaged over frequency bins.

    Args:
        values: a ``self_attention`` map. [shape=(n_heads, n_freq, n_time, k * k)]
        position: the time column (query position).
        head: one head, or ``None`` for the mean over heads.

    Returns:
        [shape=(k, k)]: row ``i`` the frequency offset ``i - k // 2`` (lower to
        higher bins), column ``j`` the time offset ``j - k // 2`` (earlier to
        later columns). Each query's weights sum to 1, so the grid sums to 1.

    Raises:
        MemoError: a bad shape, head or position.
    """
    weights = _heads(values, head)
    if not 0 <= int(position) < weights.shape[1]:
        raise MemoError(f"position {position} is outside the map's {weights.shape[1]} time columns")
    neighbourhood = weights[:, int(position), :].mean(axis=0)
    k = int(round(np.sqrt(neighbourhood.size)))
    neighbourhood_offsets(neighbourhood.size)  # validates k
    return neighbourhood.reshape(k, k)



def attention_time_lean(values: np.ndarray, *, head: int | None = None) -> np.ndarray:
    """Where in time each position looks: the attention-weighted mean time offset of its neighbours, in columns.

    Negative: it draws on earlier columns; positive: on later ones; 0: balanced
    or on its own column. In ``[-(k // 2), k // 2]``.

    Args:
        values: a ``self_attention`` map. [shape=(n_heads, n_freq, n_time, k * k)]
        head: one head, or ``None`` for the mean over heads.

    Returns:
        [shape=(n_freq, n_time)]
    """
    weights = _heads(values, head)
    _, time_offset = neighbourhood_offsets(weights.shape[-1])
    total = weights.sum(axis=-1)
    lean = (weights * time_offset).sum(axis=-1)
    return np.divide(lean, total, out=np.zeros_like(lean), where=total > 0)
