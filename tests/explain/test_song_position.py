"""Where a song sits and how sure that is (the quadrant rule), the models' spread, the model in focus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.explain.song import (
    NEUTRAL_MARGIN,
    QUADRANTS,
    axis_position,
    axis_side,
    focus_model,
    model_spread,
    quadrant_call,
    song_position_table,
)
from tests._helpers import validated_entry

T = np.arange(90) * 0.5  # a 45 s song on the 0.5 s frame grid


def _curve(valence, arousal) -> pd.DataFrame:
    return pd.DataFrame({"time_s": T, "valence": np.broadcast_to(valence, T.shape).astype(float),
                         "arousal": np.broadcast_to(arousal, T.shape).astype(float)})


def test_a_quadrant_is_named_only_when_both_intervals_exclude_the_centre():
    assert quadrant_call((0.5, 0.3, 0.7), (0.4, 0.2, 0.6)) == QUADRANTS[(1, 1)] == "happy / excited"
    assert quadrant_call((-0.5, -0.7, -0.3), (-0.4, -0.6, -0.2)) == "sad / depressed"
    assert quadrant_call((-0.5, -0.7, -0.3), (0.4, 0.2, 0.6)) == "tense / angry"
    # the case: valence -0.00 and arousal 0.10 was called "tense / angry"
    assert quadrant_call((-0.001, -0.2, 0.2), (0.10, -0.05, 0.25)) == "near the centre (neutral on both axes)"
    # one axis decided, the other not
    assert quadrant_call((0.0, -0.1, 0.1), (0.4, 0.2, 0.6)) == "near the centre on valence; energetic (high arousal)"
    assert quadrant_call((-0.4, -0.6, -0.2), (0.05, -0.3, 0.4)) == ("near the centre on arousal; unpleasant "
                                                                    "(negative valence)")
    # an interval that excludes 0 but a mean within the neutral margin: still the centre
    assert axis_side(NEUTRAL_MARGIN / 2, 0.01, 0.09) == 0
    assert axis_side(0.3, 0.01, 0.6) == 1 and axis_side(-0.3, -0.6, -0.01) == -1
    assert axis_side(float("nan"), 0.1, 0.2) == 0
    # an unknown axis never yields a quadrant
    assert quadrant_call((0.5, 0.3, 0.7), None) == "pleasant (positive valence)"


def test_axis_position_widens_with_noise_and_with_disagreeing_curves():
    rng = np.random.default_rng(0)
    steady = axis_position([(T, np.full_like(T, 0.4))])
    assert steady.mean == pytest.approx(0.4) and steady.lo == pytest.approx(0.4) and steady.hi == pytest.approx(0.4)
    assert steady.frame_sd == pytest.approx(0.0) and steady.n_curves == 1
    # a slow swing around 0.1: frames 0.5 s apart are not independent, and the 5 s blocks say so
    swing = 0.1 + 0.4 * np.sin(2 * np.pi * T / 15) + 0.02 * rng.standard_normal(len(T))
    found = axis_position([(T, swing)])
    assert found.lo < 0 < found.hi and found.frame_sd > 0.2
    # two curves on either side of 0: the joined interval spans both, and the range of the means says so
    pair = axis_position([(T, np.full_like(T, 0.5)), (T, np.full_like(T, -0.3))])
    assert pair.mean == pytest.approx(0.1) and pair.lo == pytest.approx(-0.3) and pair.hi == pytest.approx(0.5)
    assert (pair.model_lo, pair.model_hi) == pytest.approx((-0.3, 0.5)) and pair.n_curves == 2
    assert axis_position([(T, np.full_like(T, np.nan))]) is None
    short = axis_position([(T[:4], np.array([0.2, 0.4, 0.2, 0.4]))])  # one block: the frames' own spread
    assert short.lo == pytest.approx(0.3 - 1.96 * 0.1)


def test_song_position_table_rows_and_verdicts():
    truth = {"time_s": T, "valence": np.full(len(T), 0.5), "arousal": np.full(len(T), 0.5)}
    curves = {"a": _curve(0.4, 0.3), "b": _curve(-0.2, 0.4)}
    table = song_position_table(truth, curves)
    assert list(table["source"]) == ["annotation", "a", "b", "chosen models (2)"]
    where = dict(zip(table["source"], table["where"]))
    assert where["annotation"] == where["a"] == "happy / excited"
    assert where["b"] == "tense / angry"
    # the models disagree on valence: together they are near the centre on it, energetic on arousal
    assert where["chosen models (2)"] == "near the centre on valence; energetic (high arousal)"
    both = table.iloc[-1]
    assert both["valence"] == pytest.approx(0.1) and both["valence_lo"] == pytest.approx(-0.2)
    assert both["n"] == 2
    one = song_position_table(None, {"a": curves["a"]})
    assert list(one["source"]) == ["a"]  # no combined row for one curve
    assert song_position_table(None, {}).empty


def test_model_spread_spans_the_curves_on_the_union_of_their_times():
    a = pd.DataFrame({"time_s": [0.0, 0.5, 1.0], "valence": [0.0, 0.2, 0.4]})
    b = pd.DataFrame({"time_s": [0.5, 1.0, 1.5], "valence": [-0.2, 0.0, 0.6]})
    spread = model_spread({"a": a, "b": b}, "valence")
    assert list(spread["time_s"]) == [0.0, 0.5, 1.0, 1.5]
    assert list(spread["n"]) == [1, 2, 2, 1]
    assert spread["lo"].tolist() == pytest.approx([0.0, -0.2, 0.0, 0.6])
    assert spread["hi"].tolist() == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert spread["mean"].tolist() == pytest.approx([0.0, 0.0, 0.2, 0.6])
    assert model_spread({"a": a}, "arousal").empty


def test_focus_model_is_the_best_trusted_on_real_music():
    entries = [validated_entry("loud", a_auc=0.6),  # poor
               validated_entry("fine"), validated_entry("better", a_auc=0.95),  # both good
               {"key": "odd", "validation_real": "yes"}]  # malformed: unvalidated
    assert focus_model(entries, ["loud", "fine", "odd"]) == "fine"
    assert focus_model(entries, ["loud", "fine", "better"]) == "better"  # same level: the higher AUCs
    assert focus_model(entries, ["odd", "loud"]) == "loud"  # poor beats unvalidated
    assert focus_model(entries, ["odd", "unknown"]) == "odd"  # none validated: the first
    assert focus_model(entries, []) is None
