"""The Emotion lab's plain-language reading (memo_core.explain.lab): how each model followed the design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.explain.lab import follow_summaries, follow_summary, follow_table

T = np.arange(0, 30, 0.5)
DESIGN = {"time_s": T, "valence": 0.7 * np.sin(2 * np.pi * T / 30), "arousal": np.linspace(-0.8, 0.8, len(T))}


def _pred(valence, arousal, t=T):
    return pd.DataFrame({"time_s": t, "valence": valence, "arousal": arousal})


def test_a_model_that_follows_arousal_and_flattens_valence():
    noise = np.random.default_rng(0).normal(0, 0.05, len(T))
    follows = _pred(0.05 * DESIGN["valence"], 0.9 * DESIGN["arousal"] + noise)
    table = follow_table(DESIGN, {"mca": follows})
    rows = table.set_index("target")
    assert rows.loc["arousal", "r"] > 0.95 and rows.loc["valence", "r"] == pytest.approx(1.0)
    assert rows.loc["valence", "design range"] == pytest.approx(1.4, abs=0.01)
    assert rows.loc["valence", "range"] == pytest.approx(0.07, abs=0.005)
    text = follow_summaries(DESIGN, {"mca": follows})["mca"]
    assert text.startswith("Follows valence closely (r 1.00) and flattens it (range 0.07 of the design's 1.40)")
    assert "follows arousal closely (r 0.9" in text and text.endswith(".")
    assert "flattens it" not in text.split(";")[1]  # arousal keeps its range


def test_flat_opposite_offset_and_loose_readings():
    flat = _pred(np.zeros(len(T)), -DESIGN["arousal"])
    text = follow_summary(follow_table(DESIGN, {"x": flat}))
    assert "does not move with valence at all (a flat line)" in text.lower()
    assert "moves against arousal (r -1.00)" in text
    high = _pred(DESIGN["valence"] + 0.5, DESIGN["arousal"])
    text = follow_summary(follow_table(DESIGN, {"x": high}))
    assert "reads it higher than designed (+0.50 on average)" in text
    rng = np.random.default_rng(1)
    loose = _pred(DESIGN["valence"] + rng.normal(0, 0.45, len(T)), rng.normal(0, 0.5, len(T)))
    rows = follow_table(DESIGN, {"x": loose}).set_index("target")
    words = follow_summary(follow_table(DESIGN, {"x": loose}))
    r = rows.loc["valence", "r"]
    assert 0.5 <= r < 0.8 and f"follows valence loosely (r {r:.2f})" in words.lower()


def test_a_steady_design_and_a_prediction_on_another_grid():
    steady = {"time_s": T, "valence": np.full(len(T), 0.3), "arousal": DESIGN["arousal"]}
    coarse = np.arange(0, 30, 1.0)
    pred = _pred(np.full(len(coarse), 0.25), np.linspace(-0.8, 0.8, len(coarse)), t=coarse)
    table = follow_table(steady, {"at": pred})
    assert np.isnan(table.set_index("target").loc["valence", "r"])
    text = follow_summary(table)
    assert text.startswith("Valence is held steady in the design and the model stays steady too")
    assert "follows arousal closely (r 1.00)" in text
    # only the targets asked for, and models in their order
    out = follow_summaries(DESIGN, {"b": pred, "a": pred}, targets=("arousal",))
    assert list(out) == ["b", "a"] and "valence" not in out["a"]
    assert follow_summary(follow_table(DESIGN, {})) == ""
