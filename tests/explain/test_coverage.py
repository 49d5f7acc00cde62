"""Where a corpus covers the valence-arousal plane thinly (memo_core.explain.coverage)."""

from __future__ import annotations

import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.explain.coverage import coverage_grid, coverage_note, thin_cells


def _table():
    rows = [("train", 0.0, 0.0)] * 6 + [("train", 0.6, 0.6)] * 5 + [("train", -0.7, 0.8)] * 2
    rows += [("test", -0.7, 0.8), ("validation", 0.6, 0.6), ("test", 1.0, -1.0)]
    return pd.DataFrame([{"song": str(i), "split": s, "valence": v, "arousal": a} for i, (s, v, a) in enumerate(rows)])


def test_songs_are_counted_per_cell_and_split():
    grid = coverage_grid(_table())
    assert len(grid) == 9 and list(grid.columns[:8]) == ["cell", "valence from", "valence to", "arousal from",
                                                         "arousal to", "songs", "train songs", "validation songs"]
    cells = grid.set_index("cell")
    assert cells.loc["neutral valence, medium arousal", "train songs"] == 6
    happy = cells.loc["positive valence, high arousal (happy / excited)"]
    assert (happy["songs"], happy["train songs"], happy["validation songs"], happy["test songs"]) == (6, 5, 1, 0)
    tense = cells.loc["negative valence, high arousal (tense / angry)"]
    assert (tense["songs"], tense["train songs"], tense["test songs"]) == (3, 2, 1)
    # the plane's edge (1.0, -1.0) falls in the last cell, not outside the grid
    assert cells.loc["positive valence, low arousal (calm / relaxed)", "test songs"] == 1
    assert grid["songs"].sum() == 16
    assert coverage_grid(_table(), bins=2)["cell"].iloc[0] == "valence -1.00 to +0.00, arousal -1.00 to +0.00"


def test_thin_cells_are_named_emptiest_first():
    grid = coverage_grid(_table())
    thin = thin_cells(grid, min_songs=5)
    assert len(thin) == 7 and thin["train songs"].is_monotonic_increasing
    assert "neutral valence, medium arousal" not in set(thin["cell"])
    note = coverage_note(grid, min_songs=5)
    assert note.startswith("Thinly covered (fewer than 5 training songs in a cell, 7 of 9 cells): ")
    assert "negative valence, high arousal (tense / angry): 2 training songs" in note
    assert "sad / depressed): 0 training songs" in note and "happy / excited" not in note
    assert coverage_note(grid, min_songs=1).count(": 0 training songs") == 6  # six empty cells, named
    full = coverage_grid(_table(), bins=1)
    assert coverage_note(full, min_songs=5).startswith("Every part of the plane has at least 5 training songs (13")


def test_a_table_without_song_means_is_refused():
    with pytest.raises(MemoError, match="lacks arousal"):
        coverage_grid(pd.DataFrame({"valence": [0.1]}))
    with pytest.raises(MemoError, match="at least one bin"):
        coverage_grid(_table(), bins=0)
