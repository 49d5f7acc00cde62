"""Where a corpus's songs lie on the valence-arousal plane, and which parts of the plane it covers thinly.

The Synthetic corpus page shows :func:`coverage_grid` (songs per cell of a coarse grid, by split) and says
:func:`thin_cells` in words: a model trained on the corpus has seen few songs there, so its predictions for
music of that feeling rest on little.

>>> grid = coverage_grid(corpus_table)                       # doctest: +SKIP
>>> coverage_note(grid)                                      # doctest: +SKIP
'Thinly covered (fewer than 5 training songs): negative valence with high arousal (tense / angry): 2 songs; ...'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memo_core.errors import MemoError

__all__ = ["coverage_grid", "thin_cells", "coverage_note", "MIN_CELL_SONGS", "SPLIT_ORDER"]

#: A cell with fewer training songs than this is covered thinly.
MIN_CELL_SONGS = 5
#: The splits in the order they are shown.
SPLIT_ORDER = ("train", "validation", "test")
_THIRDS_V = ("negative valence", "neutral valence", "positive valence")
_THIRDS_A = ("low arousal", "medium arousal", "high arousal")
#: Russell's words for the corner cells of the 3 x 3 grid.
_CORNERS = {(0, 2): "tense / angry", (2, 2): "happy / excited", (0, 0): "sad / depressed", (2, 0): "calm / relaxed"}


def _edges(bins: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, int(bins) + 1)


def _cell_name(i: int, j: int, bins: int) -> str:
    """``"negative valence, high arousal (tense / angry)"`` on the 3 x 3 grid; value ranges otherwise."""
    if bins == 3:
        name = f"{_THIRDS_V[i]}, {_THIRDS_A[j]}"
        return f"{name} ({_CORNERS[(i, j)]})" if (i, j) in _CORNERS else name
    e = _edges(bins)
    return f"valence {e[i]:+.2f} to {e[i + 1]:+.2f}, arousal {e[j]:+.2f} to {e[j + 1]:+.2f}"


def coverage_grid(table: pd.DataFrame, *, bins: int = 3, train_split: str = "train") -> pd.DataFrame:
    """Songs per cell of a ``bins`` x ``bins`` grid over [-1, 1]^2, by their mean valence and arousal.

    Args:
        table: one row per song with ``valence``, ``arousal`` (song means on [-1, 1]) and ``split``.
        bins: cells per axis.
        train_split: the split counted as what the models learn from.

    Returns:
        One row per cell (valence low to high, then arousal low to high): ``cell`` (its name),
        ``valence from, valence to, arousal from, arousal to``, ``songs`` (all splits), ``train songs`` and one
        count column per other split present.

    Raises:
        MemoError: fewer than one bin, or a table without the columns.
    """
    if bins < 1:
        raise MemoError("coverage_grid needs at least one bin per axis")
    missing = {"valence", "arousal"} - set(table.columns)
    if missing:
        raise MemoError(f"coverage_grid needs song means; the table lacks {', '.join(sorted(missing))}")
    e = _edges(bins)
    v = np.clip(pd.to_numeric(table["valence"], errors="coerce").to_numpy(float), -1, 1)
    a = np.clip(pd.to_numeric(table["arousal"], errors="coerce").to_numpy(float), -1, 1)
    split = table["split"].astype(str).to_numpy() if "split" in table else np.full(len(table), train_split)
    ok = np.isfinite(v) & np.isfinite(a)
    iv = np.clip(np.searchsorted(e, v, side="right") - 1, 0, bins - 1)
    ia = np.clip(np.searchsorted(e, a, side="right") - 1, 0, bins - 1)
    others = [s for s in SPLIT_ORDER if s != train_split and s in set(split)] + sorted(
        set(split) - set(SPLIT_ORDER) - {train_split})
    rows = []
    for j in range(bins):
        for i in range(bins):
            inside = ok & (iv == i) & (ia == j)
            rows.append({"cell": _cell_name(i, j, bins), "valence from": e[i], "valence to": e[i + 1],
                         "arousal from": e[j], "arousal to": e[j + 1], "songs": int(inside.sum()),
                         "train songs": int((inside & (split == train_split)).sum()),
                         **{f"{s} songs": int((inside & (split == s)).sum()) for s in others}})
    return pd.DataFrame(rows)


def thin_cells(grid: pd.DataFrame, *, min_songs: int = MIN_CELL_SONGS) -> pd.DataFrame:
    """The cells of :func:`coverage_grid` with fewer than ``min_songs`` training songs, emptiest first."""
    thin = grid[grid["train songs"] < min_songs]
    return thin.sort_values(["train songs", "songs"], kind="stable")


def coverage_note(grid: pd.DataFrame, *, min_songs: int = MIN_CELL_SONGS) -> str:
    """One sentence naming the thinly covered cells and their training songs (or saying there are none)."""
    thin = thin_cells(grid, min_songs=min_songs)
    total = int(grid["train songs"].sum())
    if thin.empty:
        return (f"Every part of the plane has at least {min_songs} training songs ({total} in all), on a "
                f"{int(np.sqrt(len(grid)))} x {int(np.sqrt(len(grid)))} grid.")
    listed = "; ".join(f"{row['cell']}: {row['train songs']} training song{'s' if row['train songs'] != 1 else ''}"
                       for _, row in thin.iterrows())
    share = len(thin) / max(len(grid), 1)
    lead = (f"Thinly covered (fewer than {min_songs} training songs in a cell, {len(thin)} of {len(grid)} cells): "
            if share < 1 else f"Every part of the plane has fewer than {min_songs} training songs: ")
    return lead + listed + ". Predictions for music that feels like this rest on few examples."
