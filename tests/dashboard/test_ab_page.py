"""The A/B page: two checkpoints on one uploaded song, their difference, their maps, the sections, the report."""

from __future__ import annotations

import numpy as np
import pytest

from tests.dashboard._helpers import charts_by_key, open_page, song_wav, texts, upload, values

#: Two ATs that share their maps, and a model of another family (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = ("mca", "at", "at_chroma")


def test_two_checkpoints_on_an_uploaded_song(corpus_env):
    app = open_page("ab")
    assert not app.exception
    upload(app, "two readings.wav", song_wav(8.0))
    assert not app.exception and not app.error
    assert app.radio(key="ab_mode").value == "Two checkpoints on one song"
    app.selectbox(key="ab_a").set_value("at").run()
    app.selectbox(key="ab_b").set_value("at_chroma").run()
    assert not app.exception and not app.error
    charts = charts_by_key(app)
    assert {"ab_curves", "ab_difference", "ab_map_chart"} <= set(charts)

    # the difference chart: A - B of the two checkpoints' predictions, one row per target
    from dashboard import resources

    source = app.session_state["memo_selection"].source
    analysis = next(a for (_, key, _), a in reversed(resources._analyses()[0].items()) if key == source.key)
    a, b = analysis.results["at"].predictions, analysis.results["at_chroma"].predictions
    diff = {d["yaxis"]: d for d in charts["ab_difference"]["data"] if d.get("name") == "A - B"}
    assert len(diff) == 2  # valence and arousal
    n = min(len(a), len(b))
    for axis, target in (("y", "valence"), ("y2", "arousal")):
        y = values(diff[axis]["y"])
        assert np.allclose(y[:n], (a[target].to_numpy() - b[target].to_numpy())[:n], atol=1e-5)
    names = {d.get("name") for d in charts["ab_curves"]["data"]}
    assert {"A: at", "B: at_chroma"} <= names
    # the beats and section starts on the curves (one legend entry each)
    shapes = charts["ab_curves"]["layout"]["shapes"]
    beats = [s for s in shapes if s.get("name") == "beats"]
    assert len(beats) >= 10 and sum(bool(s.get("showlegend")) for s in beats) == 1
    structure = resources.song_structure(source.key, resources.load_song_audio(source)[0])
    assert sorted({s["x0"] for s in beats}) == pytest.approx(sorted(structure.beat_times_s))
    assert {s["xref"] for s in beats} == {"x", "x2"}  # on both targets' rows

    summary = next(d.value for d in app.dataframe if "mean |A - B|" in d.value.columns).set_index("target")
    assert summary.loc["arousal", "mean A - B"] == pytest.approx(float((a["arousal"] - b["arousal"]).mean()),
                                                                 abs=1e-4)

    # the shared map (both are AT: temporal attention), A, B and A - B on one grid
    assert app.selectbox(key="ab_map").value == "temporal_attention"
    heatmaps = [d for d in charts["ab_map_chart"]["data"] if d["type"] == "heatmap"]
    assert len(heatmaps) == 3 and heatmaps[2]["colorscale"][0] != heatmaps[0]["colorscale"][0]
    za, zb, zd = (values(h["z"]) for h in heatmaps)
    assert np.allclose(zd, za - zb, atol=1e-5)
    assert heatmaps[0]["zmin"] == heatmaps[1]["zmin"] and heatmaps[2]["zmid"] == 0  # pinned scales

    # the sections table: each curve's mean in each section of the song
    sections = next(d.value for d in app.dataframe if "section" in d.value.columns)
    assert set(sections["curve"]) == {"at", "at_chroma"}
    assert len(sections) == 2 * len(structure.sections)
    first = sections[(sections["curve"] == "at") & (sections["section"] == sections["section"].iloc[0])]
    start, end = structure.sections[0]
    inside = a[(a["time_s"] >= start) & (a["time_s"] < end)]
    assert float(first["valence"].iloc[0]) == pytest.approx(inside["valence"].mean(), abs=0.006)  # shown as +0.00

    # the exports: the one-page report, the difference and the maps as offline HTML
    labels = {b.label for b in app.get("download_button")}
    assert {"One-page report (HTML)", "Curves and difference (HTML)", "Maps (HTML)"} <= labels
    assert "PNG export needs kaleido" in texts(app)

    # two checkpoints of different families: no attention map to compare; the one map every checkpoint has (how far
    # the song's features are from its training songs') is the only choice
    app.selectbox(key="ab_b").set_value("mca").run()
    assert not app.exception
    assert app.selectbox(key="ab_map").options == ["feature_distance"]
    assert "ab_map_chart" in charts_by_key(app) and "no map in common" not in texts(app)
    app.selectbox(key="ab_b").set_value("at").run()
    assert "Choose two different checkpoints" in texts(app)

    # one checkpoint on two songs: the uploaded song against a corpus song, lined up by time, then by position
    app.radio(key="ab_mode").set_value("One checkpoint on two songs").run()
    assert "Choose song B" in texts(app)
    app.radio(key="ab_b_from").set_value("A song of the built-in corpus").run()
    app.selectbox(key="ab_checkpoint").set_value("at").run()
    assert not app.exception and not app.error
    charts = charts_by_key(app)
    assert {"ab_song_a", "ab_song_b", "ab_difference"} <= set(charts)
    x = values(next(d for d in charts["ab_difference"]["data"] if d.get("name") == "A - B")["x"])
    assert x[-1] <= 8.0  # the span both songs cover (the upload is 8 s)
    app.radio(key="ab_align").set_value("position in the song (%)").run()
    x = values(next(d for d in charts_by_key(app)["ab_difference"]["data"] if d.get("name") == "A - B")["x"])
    assert x[0] == 0.0 and x[-1] == 100.0
    assert charts_by_key(app)["ab_difference"]["layout"]["xaxis2"]["title"]["text"] == "position in the song (%)"
