"""The Attention page (AT/BAT maps, most attended frames, one frame over the chromagram, Transformer maps)."""

from __future__ import annotations

import json

import numpy as np

from dashboard.plots.attention import CHROMA_MARK, HIGHLIGHT
from tests.dashboard._helpers import chart_specs as _charts
from tests.dashboard._helpers import open_page, song_wav, texts, upload
from tests.dashboard._helpers import values as _array

#: The Attention page's checkpoints (tests/dashboard/conftest.py): the AT/BAT family (chaki_lstm has no map), two
#: feature-subset ATs to switch to, and a tagger for the Mood page's "no tagger chosen".
CHECKPOINT_KEYS = ("at", "bat", "chaki_lstm", "transformer", "at_chroma", "at_cqt", "vggish_sa3")


def _names(spec):
    return [d.get("name") for d in spec["data"]]


def _layout(spec):
    return json.dumps(spec["layout"])


def test_attention_page_maps_top_frames_row_and_transformer(corpus_env):
    app = open_page("attention")
    assert not app.exception
    assert app.selectbox(key="attention_checkpoint").value == "at"
    maps, top, row, layers = _charts(app)
    # AT and BAT side by side, each on its own colour scale with its own colour bar, axes in seconds
    heat = {d["name"]: d for d in maps["data"] if d["type"] == "heatmap"}
    assert list(heat) == ["at", "bat"]
    assert "prediction frame time (s)" in _layout(maps) and "attended frame time (s)" in _layout(maps)
    assert "coloraxis" not in maps["layout"]  # no shared scale
    for name, trace in heat.items():
        z = _array(trace["z"])
        assert trace["colorbar"]["title"]["text"] == "attention weight"
        assert trace["zmin"] < trace["zmax"] <= z.max() + 1e-9, name
    assert heat["at"]["colorbar"]["x"] < heat["bat"]["colorbar"]["x"]  # each bar beside its own map
    assert heat["bat"]["zmin"] == 0  # BAT's later frames read as "nothing"
    at = _array(heat["at"]["z"])
    assert heat["at"]["zmax"] - heat["at"]["zmin"] < 0.5 * at.max()  # AT's few thousandths fill its own scale
    # BAT's causal triangle: nothing on the same or a later frame; AT attends everywhere
    bat = _array(heat["bat"]["z"])
    assert np.all(np.triu(bat) == 0) and np.tril(bat, -1).max() > 0
    assert np.triu(at, 1).max() > 0
    assert "bat puts at most 0.000 on them" in texts(app)
    # how far each map is from uniform attention, by the rule of memo_core.explain.attention
    from memo_core.explain.attention import flatness

    found = flatness(at)
    assert f"**at**: {'nearly flat' if found.flat else 'peaked'}: a prediction's largest weight" in texts(app)
    # the most attended frames: AT's differ from uniform by a few thousandths, so they are not marked ...
    assert found.flat_received  # the shipped AT (a test of the rule itself: tests/explain)
    assert "nearly flat" in " ".join(i.value for i in app.info) and "not marked" in texts(app)
    assert not any(c == HIGHLIGHT for c in top["data"][0]["marker"]["color"])
    # ... unless asked: then k highlighted bars, marks on the annotation, outlines on the chromagram
    app.checkbox(key="attention_mark_anyway").check().run()
    top = _charts(app)[1]
    assert {"valence (annotation)", "arousal (annotation)", "most attended frames", "chroma"} <= set(_names(top))
    assert "time (s)" in _layout(top) and "pitch class" in _layout(top)
    colours = top["data"][0]["marker"]["color"]
    assert sum(c == HIGHLIGHT for c in colours) == app.slider(key="attention_topk").value == 5
    outlines = [s for s in top["layout"]["shapes"] if s.get("name") == CHROMA_MARK]
    assert len(outlines) == 2 * 5 and {s["xref"] for s in outlines} == {"x3"}  # the chromagram's row
    assert "outlined (white and magenta) on the chromagram" in texts(app)
    app.slider(key="attention_topk").set_value(3).run()
    assert sum(c == HIGHLIGHT for c in _charts(app)[1]["data"][0]["marker"]["color"]) == 3
    # one prediction frame's row over the chromagram, following the slider
    assert _names(row) == ["at: attention row", "chroma"]
    frame = app.select_slider(key="attention_frame")
    frame.set_value(1.5).run()
    assert not app.exception
    row = _charts(app)[2]
    assert any("prediction frame 1.5 s" in a.get("text", "") for a in row["layout"]["annotations"])
    assert abs(_array(row["data"][0]["y"]).sum() - 1.0) < 1e-3
    # the Transformer: one map per layer and head, each on its own scale (layer 2's maps no longer look empty)
    assert _names(layers) == ["layer 1 head 1", "layer 1 head 2", "layer 2 head 1", "layer 2 head 2"]
    assert "layer 2, head 2" in _layout(layers) and "coloraxis" not in layers["layout"]
    for trace in layers["data"]:
        z = _array(trace["z"])
        assert "colorbar" in trace and trace["zmin"] < trace["zmax"] <= z.max() + 1e-9
        assert trace["zmax"] - trace["zmin"] > 0.5 * (np.percentile(z, 99) - np.percentile(z, 1))
    assert "**layer 2, head 1**:" in texts(app)


def test_attention_page_other_checkpoint_song_and_deselected_families(corpus_env):
    app = open_page("attention")
    assert app.selectbox(key="attention_checkpoint").options == ["at", "bat"]  # the feature subsets start off
    app.sidebar.multiselect(key="memo_ckpt_Feature subsets").set_value(["at_chroma", "at_cqt"]).run()
    app.selectbox(key="attention_checkpoint").select("at_chroma").run()
    assert not app.exception
    assert [d["name"] for d in _charts(app)[0]["data"] if d["type"] == "heatmap"] == ["at_chroma"]
    app.sidebar.selectbox(key="memo_song_synth").select("3").run()
    assert not app.exception
    assert app.get("subheader")[0].value == "3" and len(app.get("plotly_chart")) == 4
    # the Transformer deselected: its section says so, the AT/BAT charts stay
    app.sidebar.multiselect(key="memo_ckpt_AT/BAT").set_value(["at", "bat", "chaki_lstm"]).run()
    assert not app.exception
    assert "The Transformer is not chosen" in texts(app)
    assert len(app.get("plotly_chart")) == 3
    # no attentive checkpoint at all: a message, no traceback
    app.sidebar.multiselect(key="memo_ckpt_AT/BAT").set_value([]).run()
    app.sidebar.multiselect(key="memo_ckpt_Feature subsets").set_value([]).run()
    assert not app.exception
    assert "No attentive checkpoint is chosen" in texts(app)
    assert len(app.get("plotly_chart")) == 0


def test_attention_page_on_an_upload_marks_the_prediction(corpus_env):
    app = upload(open_page("attention"), "tune.wav", song_wav(8.0))
    assert not app.exception
    top = _charts(app)[1]
    assert "valence (at prediction)" in _names(top) and "valence (annotation)" not in _names(top)
    assert "no annotation" in texts(app)
    assert len(app.get("plotly_chart")) == 4


def test_a_model_that_fails_on_the_song_is_reported_not_called_unchosen(corpus_env, monkeypatch):
    import memo_core.explain.analysis as analysis

    real = analysis.explain_features

    def failing(checkpoint, *args, **kwargs):
        if checkpoint.info.get("model_name") == "transformer":
            raise RuntimeError("simulated failure")
        return real(checkpoint, *args, **kwargs)

    monkeypatch.setattr(analysis, "explain_features", failing)
    app = upload(open_page("attention"), "fails.wav", song_wav(7.3))  # new content: analysed afresh
    assert not app.exception
    assert "Chosen but failed on this song: **transformer**: RuntimeError: simulated failure" in texts(app)
    assert "The Transformer is not chosen" not in texts(app)
    assert any("failed on this song" in e.label for e in app.expander)
    # another family's failure is not reported as this page's: no tagger chosen says so
    app.switch_page("app_pages/mood.py").run()
    app.sidebar.multiselect(key="memo_ckpt_VGG-ish").set_value([]).run()
    assert not app.exception
    assert "No mood/theme tagger is chosen" in texts(app) and "Chosen but failed" not in texts(app)


def test_attention_page_says_whether_each_map_matters(corpus_env, manifest_with):
    from memo_core.explain.faithfulness import NO_BETTER

    from .faithfulness_figures import REAL, SONG, deletion_summary, notes

    manifest_with({"at": {"faithfulness": deletion_summary("temporal_attention", (2.5, 3.0, 3.2))},
                   "transformer": {"faithfulness": deletion_summary("layer_attention", (0.9, 1.0, 0.8))},
                   "bat": {"faithfulness": "not a summary"}})  # a malformed figure is ignored
    app = open_page("attention")
    assert not app.exception
    found = notes(app)
    song = [(kind, text) for kind, text in found if SONG in text]
    # one note for this song beside each map: AT and BAT side by side (labelled), then the Transformer
    assert sorted(text.split(" · ")[0] for _, text in song if " · " in text) == ["**at**", "**bat**"]
    assert sum("(mean over layers and heads)" in text for _, text in song) == 1 and len(song) == 3
    for kind, text in song:  # a map no better than random is said so, in a warning box
        assert (kind == "warning") == text.endswith(f"{NO_BETTER}.")
        assert "deleting the 10 most attended frames" in text and ("as much as 10 random frames" in text
                                                                   or "no more than 10 random frames" in text)
    # the manifest's figures on real validation clips, labelled, beside AT's map and the Transformer's
    real = [(kind, text) for kind, text in found if REAL in text]
    assert len(real) == 2
    assert real[0] == ("markdown", f"**at** · **{REAL}** Over 3 clips, deleting the 10 most attended frames moves "
                                   f"the prediction 2.9x as much as 10 random frames on average, 90 % interval "
                                   f"{real[0][1].split('90 % interval ')[1]}")
    assert real[1][0] == "warning" and real[1][1].startswith(f"**{REAL}** Over 3 clips, deleting the 10 most "
                                                             "attended frames moves the prediction no more than")
    assert real[1][1].endswith(f"{NO_BETTER}.")
