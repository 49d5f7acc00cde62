"""memo_core.views: display views of a song, per-song metrics and tables, scales, quadrants, search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.audio import Audio
from memo_core.data.records import SongRecord
from memo_core.explain.song import (
    corpus_summary,
    curves_table,
    quadrant,
    search_songs,
    song_metrics,
    song_metrics_table,
    song_summary,
    song_view,
    to_scale,
)
from memo_core.explain.trust import (
    FLAT_TAGS,
    TRUST_LEVELS,
    TRUST_RULES,
    UNVALIDATED,
    Estimate,
    estimate_of,
    tag_spread_of,
    training_sources_table,
    trust_of,
    trust_table,
)
from memo_core.metrics import ccc, rmse
from tests._helpers import real_figure as _fig
from tests._helpers import tagger_entry as tagger
from tests._helpers import validated_entry as validated


def test_song_view_shapes_time_axis_and_pooling():
    sr = 22_050
    t = np.arange(int(6.0 * sr)) / sr
    y = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)  # A4: chroma peaks at A
    view = song_view(Audio(y, sr, "a4"), max_columns=50)
    assert view.logmel_db.shape[1] == view.chroma.shape[1] == len(view.time_s) <= 50
    assert view.time_s[0] > 0 and view.time_s[-1] < view.duration_s == pytest.approx(6.0)
    assert np.all(np.diff(view.time_s) > 0) and np.all(np.diff(view.mel_hz) > 0)
    assert view.logmel_db.max() == pytest.approx(0.0, abs=1e-3) and view.logmel_db.min() >= -80.0 - 1e-3
    assert np.argmax(view.chroma.mean(axis=1)) == view.PITCH_CLASSES.index("A")
    assert view.wave_high.max() == pytest.approx(0.5, abs=1e-3) and view.wave_low.min() == pytest.approx(-0.5, abs=1e-3)


def test_song_metrics_interpolate_on_the_overlap():
    truth_t = np.arange(15.0, 20.0, 0.5)          # annotations start 15 s in
    truth = np.linspace(-0.5, 0.5, len(truth_t))
    pred_t = np.arange(0.0, 20.0, 0.5)
    pred = np.interp(pred_t, truth_t, truth) * 0.5
    scores = song_metrics(truth_t, truth, pred_t, pred)
    assert scores["RMSE"] == pytest.approx(rmse(truth, truth * 0.5))
    assert scores["CCC"] == pytest.approx(ccc(truth, truth * 0.5))
    assert scores["PCC"] == pytest.approx(1.0)
    assert np.isnan(song_metrics([30.0, 31.0], [0.1, 0.2], pred_t, pred)["RMSE"])  # no overlap


def test_tables_of_curves():
    truth = {"time_s": np.array([0.0, 0.5, 1.0]), "valence": np.array([0.2, 0.4, 0.6]),
             "arousal": np.array([-0.6, -0.4, -0.2])}
    a = pd.DataFrame({"time_s": [0.0, 0.5, 1.0], "valence": [0.2, 0.4, 0.6], "arousal": [0.6, 0.4, 0.2]})
    table = song_metrics_table(truth, {"a": a}, ["valence", "arousal"], label="checkpoint")
    assert list(table["checkpoint"]) == ["a", "a"] and table["RMSE"].iloc[0] == pytest.approx(0.0)
    assert song_metrics_table(None, {"a": a}, ["valence"]).empty
    summary = song_summary(truth, {"a": a}, scale="0-1")
    assert list(summary["source"]) == ["annotation", "a"]
    assert summary["valence"].iloc[0] == pytest.approx(0.7)  # mean 0.4 on [-1, 1] is 0.7 on 0-1
    assert list(summary["quadrant"]) == [quadrant(0.4, -0.4), quadrant(0.4, 0.4)] == ["calm / relaxed",
                                                                                       "happy / excited"]
    csv = curves_table(truth, {"a": a})
    assert list(csv.columns) == ["time_s", "a/valence", "a/arousal", "annotation/valence", "annotation/arousal"]
    assert curves_table(truth, {}) is None


def test_scales_round_trip_the_loaders_mapping():
    from memo_core.data._common import to_unit_scale

    for scale in ("0-1", "1-9", "-1-1"):
        x = np.array([-1.0, 0.0, 0.5, 1.0])
        assert np.allclose(to_unit_scale(to_scale(x, scale), scale), x)
    assert to_scale(0.5, "1-9", spread=True) == pytest.approx(2.0)


def test_search_and_corpus_summary():
    songs = [SongRecord("12", "emomusic", meta={"artist": "Nina Simone", "title": "Feeling Good"}),
             SongRecord("7", "synth", tags=("calm", "piano"), valence=np.array([0.1, 0.3]), arousal=np.array([-0.5]))]
    assert [s.song_id for s in search_songs(songs, "nina good")] == ["12"]
    assert [s.song_id for s in search_songs(songs, "PIANO")] == ["7"]
    assert len(search_songs(songs, "")) == 2 and not search_songs(songs, "jazz")
    table = corpus_summary(songs)
    assert table.loc[1, "valence"] == pytest.approx(0.2) and np.isnan(table.loc[0, "valence"])



# --------------------------------------------------------------------------- trust on real recordings


def test_estimates_are_read_strictly():
    assert estimate_of(_fig(0.9, 0.8, 0.95)) == Estimate(0.9, 0.8, 0.95)
    assert str(Estimate(0.9, 0.8, 0.95)) == "0.90 [0.80, 0.95]" and str(Estimate(0.3)) == "0.30"
    assert estimate_of(0.5) == Estimate(0.5)
    assert estimate_of({"value": 0.9, "lo": 0.95, "hi": 0.8}) == Estimate(0.9)  # a reversed interval is dropped
    assert estimate_of({"value": 0.9, "lo": 0.8}) == Estimate(0.9)
    for bad in (None, "0.9", True, {"value": "high"}, {"value": float("nan")}, {"value": float("inf")}, [0.9],
                {"lo": 0.1, "hi": 0.2}):
        assert estimate_of(bad) is None, bad
    assert estimate_of(1.2, upper=1.0) is None and estimate_of(-0.1, lower=0.0) is None


def test_trust_label_and_levels_follow_the_documented_thresholds():
    good = trust_of(validated())
    assert good.level == "good" and good.validated and good.badge == "🟢"
    assert good.label == ("real music: arousal AUC 0.92 [0.84, 1.00], valence AUC 0.78 [0.70, 0.86] on 88 held-out "
                          "4Q clips; r with listeners on 6 clips: A 0.71 [0.40, 0.90], V 0.30 [-0.20, 0.70]")
    assert good.verdict.startswith("Arousal follows") and good.targets_met == (1, 2)
    assert good.interval == "90 % percentile bootstrap over songs"
    assert trust_of(validated(a_auc=0.89)).level == "limited"             # just under the good arousal AUC
    assert trust_of(validated(v_auc=0.7)).level == "limited"
    assert trust_of(validated(a_auc=0.74)).level == "poor"                # under the poor arousal AUC
    assert trust_of(validated(v_auc=0.59)).level == "poor"
    poor = trust_of(validated(clip_v=0.0))                                # clip valence r at 0: poor even with
    assert poor.level == "poor" and any("valence r" in r for r in poor.reasons)  # good AUCs
    # one AUC missing: never good; clips only: limited unless poor
    only_a = trust_of(validated(v_auc=None))
    assert only_a.level == "limited" and "valence AUC" not in only_a.label
    clips_only = validated()
    del clips_only["validation_real"]["4q"]
    assert trust_of(clips_only).level == "limited" and trust_of(clips_only).label.startswith(
        "real music: r with listeners on 6 clips")
    assert set(TRUST_RULES) == set(TRUST_LEVELS)


def test_absent_and_malformed_validation_reads_as_unvalidated():
    plain = {"key": "at", "task": "regression", "metrics": {"valence/CCC": 0.5}}
    for entry in (plain, plain | {"validation_real": "yes"}, plain | {"validation_real": None},
                  plain | {"validation_real": {"4q": [0.9], "clips": "six"}},
                  plain | {"validation_real": {"4q": {"arousal_auc": {"value": "high"}, "valence_auc": 7},
                                               "clips": {"arousal": {"pooled_r": {"value": 2.0}}},
                                               "verdict": "trust me"}},
                  plain | {"tag_spread": {"tags": "none"}}, "not an entry", None, 42):
        trust = trust_of(entry)
        assert trust.level == "unvalidated" and trust.label == UNVALIDATED and not trust.validated, entry
        assert trust.verdict is None and trust.badge == "⚪"
    # partly malformed: what can be read counts, the rest is left out
    partial = validated()
    partial["validation_real"]["4q"]["valence_auc"] = {"value": None}
    partial["validation_real"]["4q"]["n_songs"] = "88"
    partial["validation_real"]["targets"] = [{"what": "x", "met": "yes"}, "y", {"what": "z", "met": True}]
    trust = trust_of(partial)
    assert trust.level == "limited" and "valence AUC" not in trust.label and "on held-out 4Q clips" in trust.label
    assert trust.targets_met == (1, 1)


def test_tagger_trust_and_tag_spread():
    spread = tag_spread_of(tagger())
    assert list(spread.table["tag"]) == ["energetic", "happy", "sad"] and not spread.flat
    assert spread.n_songs == 88 and spread.chance == 0.25 and spread.tag_auc.value == 0.8
    assert trust_of(tagger()).level == "good"
    assert "mean tag ROC-AUC 0.80 [0.75, 0.85]" in trust_of(tagger()).label
    assert "quadrant agreement 0.45 [0.33, 0.55] (chance 0.25) on 88 held-out 4Q songs" in trust_of(tagger()).label
    flat = trust_of(tagger(std=0.01))
    assert tag_spread_of(tagger(std=0.01)).flat and flat.level == "poor" and FLAT_TAGS in flat.label
    assert trust_of(tagger(agreement=(0.25, 0.2, 0.3))).level == "poor"         # no better than chance
    assert trust_of(tagger(agreement=(0.4, 0.24, 0.5))).level == "limited"      # interval reaches chance
    assert trust_of(tagger(auc=0.55)).level == "poor"
    # a tagger with 4Q figures as well: the worse level counts
    both = tagger(std=0.01) | {"validation_real": validated()["validation_real"]}
    assert trust_of(both).level == "poor" and "arousal AUC 0.92" in trust_of(both).label
    # malformed tags are left out; nothing readable is no spread at all
    odd = tagger()
    odd["tag_spread"]["tags"] |= {"broken": {"mean": "x"}, "upside": {"mean": 0.5, "std": 0.1, "min": 0.9,
                                                                       "max": 0.1}, "list": [1, 2]}
    assert list(tag_spread_of(odd).table["tag"]) == ["energetic", "happy", "sad"]
    for bad in ({"tag_spread": [1, 2]}, {"tag_spread": {"tags": {"happy": {"mean": 2.0, "std": 0.1, "min": 0,
                                                                            "max": 1}}}}, {}):
        assert tag_spread_of(bad) is None
    figures_only = tag_spread_of({"tag_spread": {"tags": {}, "tag_auc_mean": 0.7}})
    assert figures_only.table.empty and not figures_only.flat
    assert trust_of({"tag_spread": {"tags": {}, "tag_auc_mean": 0.7}}).level == "limited"


def test_trust_table_lists_checkpoints_then_baselines_once():
    entries = [validated("mca"), validated("at", a_auc=0.7), {"key": "bat", "validation_real": "oops",
                                                                 "training_data": "MEMO synthetic corpus (seed 0)"},
               "junk", tagger("vggish", std=0.01)]
    table = trust_table(entries)
    assert list(table["model"]) == ["mca", "at", "bat", "vggish", "loudness level (baseline)", "mlr (baseline)"]
    assert list(table["kind"]) == ["checkpoint"] * 4 + ["baseline"] * 2
    assert list(table["trust"][:4]) == ["good", "poor", "unvalidated", "poor"]
    mca = table.set_index("model").loc["mca"]
    assert mca["4Q arousal AUC"] == "0.92 [0.84, 1.00]" and mca["4Q songs"] == 88 and mca["clip songs"] == 6
    assert mca["clips valence r"] == "0.30 [-0.20, 0.70]" and mca["targets met"] == "1 of 2"
    assert mca["trained on"] == "4q, synth"
    bat = table.set_index("model").loc["bat"]
    assert pd.isna(bat["4Q arousal AUC"]) and bat["trained on"] == "MEMO synthetic corpus"
    loud = table.set_index("model").loc["loudness level (baseline)"]
    assert loud["4Q arousal AUC"] == "0.81 [0.74, 0.88]" and loud["clips arousal r"] == "0.60 [0.30, 0.80]"
    assert loud["4Q songs"] == 88 and loud["clip songs"] == 6
    # a baseline scored differently on two checkpoints' songs is listed per checkpoint
    other = validated("dblstm_elm", baselines={"mlr": {"arousal_auc": _fig(0.7)}})
    names = list(trust_table([validated("mca"), other])["model"])
    assert {"mlr (baseline, songs of mca)", "mlr (baseline, songs of dblstm_elm)"} <= set(names)
    assert trust_table([]).empty and list(trust_table([]).columns) == list(table.columns)
    # the baselines' own checkpoints are labelled as baselines too
    own = trust_table([validated("mca"), validated("mlr", a_auc=0.86), {"key": "lin", "family": "Baselines"}])
    assert list(own["model"][:3]) == ["mca", "mlr (baseline checkpoint)", "lin (baseline checkpoint)"]
    assert list(own["kind"][:3]) == ["checkpoint", "baseline", "baseline"]


def test_figures_undefined_on_these_songs_read_as_absent():
    import json

    # validate-real writes NaN (JSON ``NaN``) where a figure is undefined, e.g. no valence on 4Q for a model
    entry = json.loads(json.dumps(validated(v_auc=None)).replace(
        '"n_artists": 80', '"n_artists": 80, "valence_auc": {"value": NaN, "lo": NaN, "hi": NaN}'))
    assert np.isnan(entry["validation_real"]["4q"]["valence_auc"]["value"])
    trust = trust_of(entry)
    assert trust.level == "limited" and "valence AUC" not in trust.label
    assert pd.isna(trust_table([entry]).loc[0, "4Q valence AUC"])
    nan_spread = tagger()
    nan_spread["tag_spread"]["tag_auc_mean"] = {"value": float("nan"), "lo": float("nan"), "hi": float("nan")}
    assert tag_spread_of(nan_spread).tag_auc is None and "ROC-AUC" not in trust_of(nan_spread).label


def test_training_sources_table_with_licences():
    table = training_sources_table([validated("mca"), {"key": "at", "training_data": "MEMO synthetic corpus"},
                                    {"key": "bat", "training_sources": [{"songs": 3}, "x"]}, None])
    assert list(table["checkpoint"]) == ["mca", "mca", "at", "bat"]
    first = table.iloc[0]
    assert (first["source"], first["songs"], first["weight"]) == ("4q", 300, 1.0)
    assert first["licence"].startswith("CC BY-NC-SA") and first["labels"] == "clip-level quadrant signs"
    assert table.iloc[2]["source"] == "MEMO synthetic corpus" and pd.isna(table.iloc[2]["licence"])
    assert table.iloc[3]["source"] == "n/a"
