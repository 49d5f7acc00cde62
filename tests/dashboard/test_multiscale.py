"""The Multi-scale page (MCA scale weights, per-scale against fused, A-LSTM windows, uniform MCA, DBLSTM-ELM)."""

from __future__ import annotations

import json

import numpy as np

from .conftest import chart_specs as _charts, open_page, song_wav, texts, upload
from .conftest import values as _array

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
