"""memo_core.explain.trust: the brief cues beside a prediction (what a checkpoint learned from, how it did on real
recordings) and a song's tags against what the tagger gives real songs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.explain.trust import (
    FLAT_TAGS,
    TAG_STANDS_OUT,
    UNVALIDATED,
    tag_contrast,
    tag_spread_of,
    tags_stand_out,
    trained_on_brief,
    trust_brief,
)
from tests._helpers import tagger_entry
from tests._helpers import validated_entry as validated

SOURCES = [{"name": "synth", "dataset": "synth", "songs": {"train": 106, "test": 22},
            "labels": "dynamic valence/arousal curves (frame loss)"},
           {"name": "4q", "dataset": "4q", "songs": {"train": 263}, "labels": "clip-level signs of valence/arousal"},
           "junk"]


def test_trained_on_brief_names_the_sources_plainly():
    assert trained_on_brief({"training_sources": SOURCES}) == (
        "synthetic songs rendered from MIDI (106 songs; dynamic valence/arousal curves) + 4Q real 30 s clips "
        "(263 songs; clip-level signs of valence/arousal)")
    assert trained_on_brief({"training_sources": [{"dataset": "mine"}]}) == "mine"
    assert trained_on_brief({"training_data": "MEMO synthetic corpus (seed 0): 106 training songs"}) == \
        "MEMO synthetic corpus (seed 0)"
    assert trained_on_brief({}) == trained_on_brief(None) == "not stated"


def test_trust_brief_gives_the_figures_without_intervals():
    line = trust_brief(validated())
    assert line.startswith(("🟢 good: ", "🟡 limited: ", "🔴 poor: "))
    assert "4Q arousal AUC" in line and "[" not in line
    assert trust_brief({"key": "x"}) == f"⚪ {UNVALIDATED}"
    flat = trust_brief(tagger_entry(std=0.01))
    assert flat.startswith("🔴 poor: mean tag ROC-AUC 0.80; quadrant agreement 0.45 (chance 0.25)")
    assert flat.endswith(FLAT_TAGS)


def _predictions(scores: dict[str, float], threshold: float = 0.3) -> pd.DataFrame:
    frame = pd.DataFrame({"tag": list(scores), "score": list(scores.values()), "threshold": threshold})
    frame["predicted"] = frame["score"] >= frame["threshold"]
    return frame


def test_a_songs_tags_against_the_real_songs_mean_and_spread():
    spread = tag_spread_of(tagger_entry(std=0.1))   # means: happy 0.4, sad 0.3, energetic 0.6
    table = tag_contrast(_predictions({"happy": 0.45, "sad": 0.05, "energetic": 0.9, "unknown": 0.5}), spread)
    assert list(table["tag"]) == ["energetic", "unknown", "happy", "sad"]   # highest score first
    rows = table.set_index("tag")
    assert rows.loc["energetic", "contrast"] == pytest.approx(3.0)
    assert rows.loc["energetic", "reading"] == "higher than on most songs"
    assert rows.loc["happy", "contrast"] == pytest.approx(0.5) and rows.loc["happy", "reading"] == "as on most songs"
    assert rows.loc["sad", "reading"] == "lower than on most songs" and not rows.loc["sad", "predicted"]
    assert np.isnan(rows.loc["unknown", "contrast"]) and rows.loc["unknown", "reading"] == "not known"
    assert tags_stand_out(table) is True
    # predicted tags all within TAG_STANDS_OUT sd of the mean: the taggers do not tell this song apart
    alike = tag_contrast(_predictions({"happy": 0.45, "energetic": 0.65}), spread)
    assert (alike["contrast"].abs() < TAG_STANDS_OUT).all() and tags_stand_out(alike) is False
    # no predicted tag: nothing stands out; no spread: not known
    assert tags_stand_out(tag_contrast(_predictions({"happy": 0.1}), spread)) is False
    unknown = tag_contrast(_predictions({"happy": 0.9}), None)
    assert unknown["reading"].tolist() == ["not known"] and tags_stand_out(unknown) is None
