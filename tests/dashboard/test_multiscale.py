"""The Multi-scale page (MCA scale weights, per-scale against fused, A-LSTM windows, uniform MCA, DBLSTM-ELM)."""

from __future__ import annotations

import json

import numpy as np

from tests.dashboard._helpers import chart_specs as _charts
from tests.dashboard._helpers import open_page, song_wav, texts, upload
from tests.dashboard._helpers import values as _array

#: The Multi-scale page's families (tests/dashboard/conftest.py), and AT/BAT to deselect the Transformer from.
CHECKPOINT_KEYS = ("mca", "mca_uniform", "dblstm_elm", "at", "bat", "transformer")

SCALES = ["5 frames (2.5 s)", "10 frames (5 s)", "20 frames (10 s)"]
DBLSTM = ["10 frames (5 s)", "20 frames (10 s)", "30 frames (15 s)", "60 frames (30 s)"]


def _names(spec):
    return [d.get("name") for d in spec["data"]]


def _trace(spec, name):
    return next(d for d in spec["data"] if d.get("name") == name)


def test_multiscale_page_weights_scales_windows_uniform_and_dblstm(corpus_env):
    app = open_page("multiscale")
    assert not app.exception
    assert app.selectbox(key="multiscale_mca").value == "mca"
    weights, scales, windows, uniform, dblstm = _charts(app)
    # scale weights stacked under the curves on one time axis, labelled in seconds, summing to 1
    stacked = [d for d in weights["data"] if d.get("stackgroup") == "beta"]
    assert [d["name"] for d in stacked] == [f"β {s}" for s in SCALES]
    np.testing.assert_allclose(sum(_array(d["y"]) for d in stacked), 1.0, atol=1e-5)
    assert {"annotation (ground truth)", "mca (fused prediction)"} <= set(_names(weights))
    layout = json.dumps(weights["layout"], ensure_ascii=False)
    assert "scale weight β" in layout and "time (s)" in layout and "valence (-1 to 1)" in layout
    # each scale's prediction against the fused one
    assert {f"scale {s}" for s in SCALES} | {"mca (fused prediction)"} <= set(_names(scales))
    # A-LSTM window attention for the chosen frame: one panel per window, bars over the lag
    assert _names(windows) == SCALES
    assert "lag (s; 0 = this frame)" in json.dumps(windows["layout"])
    assert _array(windows["data"][2]["x"]).tolist()[0] == -9.5
    app.select_slider(key="multiscale_frame").set_value(1.0).run()
    assert not app.exception
    bars = _charts(app)[2]["data"]
    for d in bars:  # frame 2 (1.0 s) has three frames of history: older lags get 0, the rest sum to 1
        y = _array(d["y"])
        assert y[:-3].sum() == 0 and abs(y[-3:].sum() - 1) < 1e-5
    assert "For the prediction at 1.0 s" in texts(app)
    # uniform MCA against MCA, with this song's metrics
    assert {"mca", "mca_uniform"} <= set(_names(uniform))
    assert _trace(uniform, "mca_uniform")["line"]["dash"] == "dash"
    assert len(app.dataframe) == 2
    assert set(app.dataframe[0].value["curve"]) == {"mca", "mca_uniform"}
    # DBLSTM-ELM: four scales, the ELM (the model's prediction) and AVG (mean of the scales)
    assert {f"scale {s}" for s in DBLSTM} <= set(_names(dblstm))
    elm = _trace(dblstm, "ELM fusion (dblstm_elm's prediction)")
    avg = _trace(dblstm, "AVG fusion (mean of the scales)")
    per_scale = [_array(d["y"]) for d in dblstm["data"] if d["name"].startswith("scale ")][:4]  # valence row
    np.testing.assert_allclose(_array(avg["y"]), np.mean(per_scale, axis=0), atol=1e-5)
    assert not np.allclose(_array(elm["y"]), _array(avg["y"]))
    metrics = app.dataframe[1].value
    assert set(metrics["curve"]) == {*DBLSTM, "AVG fusion", "ELM fusion"}
    assert {"RMSE", "CCC"} <= set(metrics.columns)
    # the uniform model shows flat weights and says so
    app.selectbox(key="multiscale_mca").select("mca_uniform").run()
    assert not app.exception
    assert "uniform MCA" in texts(app)
    stacked = [d for d in _charts(app)[0]["data"] if d.get("stackgroup") == "beta"]
    np.testing.assert_allclose(_array(stacked[0]["y"]), 1 / 3, atol=1e-6)


def test_multiscale_page_song_switch_and_deselected_families(corpus_env):
    app = open_page("multiscale")
    app.sidebar.selectbox(key="memo_song_synth").select("2").run()
    assert not app.exception
    assert app.get("subheader")[0].value == "2" and len(app.get("plotly_chart")) == 5
    app.sidebar.multiselect(key="memo_ckpt_MCA").set_value(["mca"]).run()
    assert not app.exception
    assert "Choose both a learned MCA" in texts(app) and len(app.get("plotly_chart")) == 4
    app.sidebar.multiselect(key="memo_ckpt_MCA").set_value([]).run()
    assert not app.exception
    assert "No MCA checkpoint is chosen" in texts(app) and len(app.get("plotly_chart")) == 1
    app.sidebar.multiselect(key="memo_ckpt_DBLSTM-ELM").set_value([]).run()
    assert not app.exception
    assert "No DBLSTM-ELM checkpoint is chosen" in texts(app) and len(app.get("plotly_chart")) == 0
    # deselecting the Transformer changes nothing here
    app.sidebar.multiselect(key="memo_ckpt_DBLSTM-ELM").set_value(["dblstm_elm"]).run()
    app.sidebar.multiselect(key="memo_ckpt_AT/BAT").set_value(["at", "bat"]).run()
    assert not app.exception and len(app.get("plotly_chart")) == 1


def test_multiscale_page_on_an_upload_has_no_metrics(corpus_env):
    app = upload(open_page("multiscale"), "tune.wav", song_wav(8.0))
    assert not app.exception
    assert len(app.get("plotly_chart")) == 5
    assert "annotation (ground truth)" not in _names(_charts(app)[0])
    assert "no annotation" in texts(app) and len(app.dataframe) == 0


def test_multiscale_page_says_whether_the_scales_and_windows_matter(corpus_env, manifest_with):
    from memo_core.explain.faithfulness import NO_BETTER

    from .faithfulness_figures import REAL, SONG, deletion_summary, notes, scale_summary

    manifest_with({
        "mca": {"faithfulness": {**scale_summary("scale_weights", (0.3, 0.1, 0.1), (0.5, 0.3, 0.2)),
                                 "maps": {**scale_summary("scale_weights", (0.3, 0.1, 0.1), (0.5, 0.3, 0.2))["maps"],
                                          **deletion_summary("window_attention/5", (0.8, 1.0, 0.9),
                                                             subject="the 10 frames the 5-frame windows attend to "
                                                                     "most")["maps"]}}},
        "dblstm_elm": {"faithfulness": scale_summary("scale_shares", (0.1, 0.3, 0.1, 0.1), (0.4, 0.2, 0.2, 0.2),
                                                     weight_name="Shapley share",
                                                     top_phrase="the scale with the largest Shapley share")}})
    app = open_page("multiscale")
    assert not app.exception
    found = notes(app)
    song = [text for _, text in found if SONG in text]
    # this song: MCA's scale weights, each window's attention (labelled by its scale), DBLSTM-ELM's shares
    assert any("the highest-weighted scale" in t or "rank no scale" in t for t in song)
    for label, window in zip(SCALES, (5, 10, 20)):
        assert sum(t.startswith(f"**{label}** · **{SONG}** deleting the 10 frames the {window}-frame windows")
                   for t in song) == 1
    assert sum("Shapley share" in t for t in song) == 1 and len(song) == 5
    # beside each scale test, a table of the weights and the shift when a scale is dropped
    mca_table, dblstm_table = (t.value for t in app.table)
    assert list(mca_table.columns) == ["mean weight", "prediction shift when dropped"]
    assert list(mca_table.index) == SCALES and list(dblstm_table.index) == DBLSTM
    assert list(dblstm_table.columns) == ["Shapley share", "prediction shift when dropped"]
    # the real validation clips: MCA's weights agree, its 5-frame windows do not, DBLSTM-ELM's shares do not
    real = {text: kind for kind, text in found if REAL in text}
    assert ("markdown" == next(k for t, k in real.items() if "highest-weighted scale moved the prediction most on "
                                                               "3 of 3 clips" in t))
    window = next(t for t in real if t.startswith(f"**{SCALES[0]}** · **{REAL}**"))
    assert real[window] == "warning" and window.endswith(f"{NO_BETTER}.")
    shares = next(t for t in real if "largest Shapley share moved the prediction most on 0 of 3 clips" in t)
    assert real[shares] == "warning" and "do not reliably point at the scale that drives the prediction" in shares
    # uniform MCA: its weights rank no scale, which is said in an info box
    app.selectbox(key="multiscale_mca").select("mca_uniform").run()
    assert not app.exception
    assert any(kind == "info" and "uniform (0.33 each) and rank no scale" in text for kind, text in notes(app))
