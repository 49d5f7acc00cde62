"""The Mood/theme page with AppTest on the tiny corpus: tag bars with thresholds and true tags, the table, late
fusion, tag scores along the song, occlusion and self-attention; switching song, an upload, fewer taggers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.dashboard._helpers import charts_by_key as _charts
from tests.dashboard._helpers import open_page, song_wav, texts, upload
from tests.dashboard._helpers import values as _array

#: The three shipped taggers (late fusion of all three), and one per-frame model (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = ("mca", "vggish", "vggish_sa3", "vggish_arelu")

TAGGERS = ["vggish", "vggish_sa3", "vggish_arelu"]


def _true_tags(root, song_id: str) -> tuple[str, ...]:
    from memo_core.data import load_dataset

    return tuple(load_dataset("synth", root).by_id()[song_id].tags)


def test_mood_page_tags_fusion_maps_and_attention(corpus_env):
    app = open_page("mood")
    assert not app.exception
    # by default only the tags some model predicts, each bar with its score written beside it
    bars = _charts(app)["mood_bars"]
    table = app.dataframe[0].value
    above = set(table.loc[table[[c for c in table.columns if c.endswith(" predicted")]].any(axis=1), "tag"])
    assert {str(y).removeprefix("★ ") for y in bars["data"][0]["y"]} == above
    assert [float(t) for t in bars["data"][0]["text"]] == pytest.approx(list(_array(bars["data"][0]["x"])), abs=0.006)
    app.checkbox(key="mood_all_tags").check().run()
    app.slider(key="mood_top_n").set_value(18).run()
    charts = _charts(app)
    assert {"mood_bars", "mood_windows", "mood_occlusion", "mood_neighbourhood", "mood_lean"} <= set(charts)
    bars = charts["mood_bars"]
    assert [a["text"] for a in bars["layout"]["annotations"]] == TAGGERS + ["late fusion"]
    assert [d["name"] for d in bars["data"] if d["type"] == "bar"] == TAGGERS + ["late fusion"]
    assert "decision threshold" in [d["name"] for d in bars["data"]]
    assert "score (0-1)" in json.dumps(bars["layout"])
    labels = list(bars["data"][0]["y"])
    table = app.dataframe[0].value
    vocabulary = set(table["tag"])
    assert len(vocabulary) == 24 and len(labels) == 18  # 4Q's 24 most frequent moods; the chart shows the top 18
    # the song's annotated tags are starred where the taggers' vocabulary has them (the synthetic corpus's
    # vocabulary and 4Q's AllMusic moods share few names)
    truth = [t for t in _true_tags(corpus_env, "1") if t in vocabulary]
    shown = {label.removeprefix("★ ") for label in labels}
    assert all(f"★ {t}" in labels for t in truth if t in shown)
    assert sum(label.startswith("★") for label in labels) == len([t for t in truth if t in shown])
    # the table: late fusion = mean of the three probabilities; thresholds; annotated tags
    fused = table[[f"{k} score" for k in TAGGERS]].mean(axis=1)
    assert np.allclose(table["late fusion score"], fused)
    assert (table["late fusion predicted"] == (table["late fusion score"] >= table["late fusion threshold"])).all()
    assert set(table.loc[table["annotated"], "tag"]) == set(truth)
    assert table["late fusion score"].is_monotonic_decreasing  # ordered by the fused score
    assert "late fusion (vggish + vggish_sa3 + vggish_arelu)" in texts(app)
    hits = table.loc[table["late fusion predicted"]]
    assert all(f"**{t}** {v:.2f}" in texts(app) for t, v in zip(hits["tag"], hits["late fusion score"]))
    # along the song, on the song's time axis (the tiny corpus's songs are 20 s)
    windows, occlusion = charts["mood_windows"], charts["mood_occlusion"]
    assert "time in the song (s)" in windows["layout"]["xaxis"]["title"]["text"]
    assert windows["layout"]["xaxis"]["range"] == pytest.approx([0, 20.0], abs=0.01)
    assert _array(windows["data"][0]["z"]).shape[0] == 18
    assert occlusion["data"][0]["zmid"] == 0
    assert any("loops" in a.get("text", "") for a in occlusion["layout"].get("annotations", []))  # 20 s < 29.9 s
    # self-attention at a chosen head and position
    grid = _array(charts["mood_neighbourhood"]["data"][0]["z"])
    assert grid.shape == (3, 3) and grid.sum() == pytest.approx(1.0, abs=1e-3)
    assert "mean of all heads" in charts["mood_neighbourhood"]["layout"]["title"]["text"]
    app.selectbox(key="mood_head").set_value(1).run()
    app.select_slider(key="mood_position").set_value(10).run()
    assert not app.exception
    charts = _charts(app)
    title = charts["mood_neighbourhood"]["layout"]["title"]["text"]
    assert "head 2" in title and "3.4 s" in title
    assert charts["mood_lean"]["layout"]["shapes"][0]["x0"] == pytest.approx(3.413 + 0.171, abs=0.01)
    assert "of its attention on the column before" in texts(app)


def test_mood_page_after_switching_song_upload_and_fewer_taggers(corpus_env):
    app = open_page("mood")
    app.sidebar.selectbox(key="memo_song_synth").select("3").run()
    assert not app.exception
    assert app.get("subheader")[0].value == "3"
    truth = _true_tags(corpus_env, "3")
    assert "Annotated tags of this song" in texts(app) and all(t in texts(app) for t in truth)
    assert "mood_bars" in _charts(app)

    upload(app, "tune.wav", song_wav(7.0))
    assert not app.exception
    assert "no annotated tags" in texts(app)
    assert not any(str(label).startswith("★") for label in _charts(app)["mood_bars"]["data"][0]["y"])

    app.sidebar.multiselect(key="memo_ckpt_VGG-ish").set_value(["vggish", "vggish_arelu"]).run()
    assert not app.exception
    assert "No chosen tagger has a self-attention layer" in texts(app)
    assert "late fusion (vggish + vggish_arelu)" in texts(app)

    app.sidebar.multiselect(key="memo_ckpt_VGG-ish").set_value(["vggish_sa3"]).run()
    assert not app.exception
    assert "Choose two or more taggers" in texts(app)
    assert [a["text"] for a in _charts(app)["mood_bars"]["layout"]["annotations"]] == ["vggish_sa3"]
    assert "mood_neighbourhood" in _charts(app)

    app.sidebar.multiselect(key="memo_ckpt_VGG-ish").set_value([]).run()
    assert not app.exception
    assert "No mood/theme tagger is chosen" in texts(app)
    assert not app.get("plotly_chart")


def test_mood_page_shows_the_taggers_tag_spread_on_real_songs(corpus_env, manifest_with):
    from memo_core.explain.trust import FLAT_TAGS, UNVALIDATED
    from tests._helpers import tagger_entry

    manifest_with({"vggish": {"tag_spread": tagger_entry(std=0.01)["tag_spread"]},
                   "vggish_sa3": {"tag_spread": tagger_entry()["tag_spread"]},
                   "vggish_arelu": {"tag_spread": [1, 2], "validation_real": {"4q": "none"}}})
    app = open_page("mood")
    assert not app.exception
    spread = _charts(app)["mood_spread"]
    assert [a["text"] for a in spread["layout"]["annotations"]] == ["vggish", "vggish_sa3"]  # arelu: unreadable
    assert set(spread["data"][0]["y"]) <= {"energetic", "happy", "sad"}  # the shown tags the spread knows
    assert {"lowest to highest score", "mean", "vggish_sa3: mean ± 1 sd"} <= {d["name"] for d in spread["data"]}
    warnings = " ".join(w.value for w in app.warning)
    assert f"**vggish**: {FLAT_TAGS}" in warnings and "Mean tag ROC-AUC 0.80" in warnings
    page = texts(app)
    assert ("**vggish_sa3** on real music: mean tag ROC-AUC 0.80 [0.75, 0.85] over 3 tags, quadrant agreement "
            "0.45 [0.33, 0.55] (chance 0.25) on 88 held-out 4Q songs") in page
    assert f"**vggish_arelu**: {UNVALIDATED}" in page
    # the trust cues beside the tags: a flat tagger is poor, the other good
    assert "**vggish**" in warnings and "Trust on real music: poor" in warnings and not app.error
    assert "**vggish_sa3**" in " ".join(s.value for s in app.success)
    assert app.dataframe[0].value.columns[0] == "tag"  # the tag table is still the page's first table

    manifest_with({})  # an older manifest: no spread to draw, and every tagger says it is not validated
    app.run()
    assert not app.exception and "mood_spread" not in _charts(app) and "mood_bars" in _charts(app)
    assert all(f"**{k}**: {UNVALIDATED}" in texts(app) for k in TAGGERS)
