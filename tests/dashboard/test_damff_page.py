"""The DAMFF page with AppTest on the tiny corpus: curves, maps on the song's time axis, one step up close, the
variants table; switching song, an upload, and no DAMFF checkpoint chosen."""

from __future__ import annotations

import json

import numpy as np

from tests.dashboard._helpers import charts_by_key as _charts
from tests.dashboard._helpers import open_page, song_wav, texts, upload
from tests.dashboard._helpers import values as _array

#: DAMFF, and one per-frame model beside it (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = ("mca", "damff")


def _names(spec) -> list:
    return [d.get("name") for d in spec["data"]]


def _check_maps(app, *, annotated: bool) -> dict:
    charts = _charts(app)
    assert {"damff_va", "damff_maps", "damff_step"} <= set(charts), list(charts)
    va = _names(charts["damff_va"])
    assert "damff" in va
    assert ("annotation (ground truth)" in va) == annotated
    maps = charts["damff_maps"]
    assert ["log-mel", "spatial attention (outline)", "spatial attention", "share of A", "share of branch A",
            "channel attention", "chroma"] == _names(maps)
    layout = json.dumps(maps["layout"])
    for title in ("time (s)", "mel band (Hz)", "channel", "pitch class", "A share (0-1)"):
        assert title in layout
    by_name = {d["name"]: d for d in maps["data"]}
    # the unfolded map covers the song: 6 slices a 500 ms step, in time order, inside the song
    spatial = by_name["spatial attention"]
    z, x = _array(spatial["z"]), _array(spatial["x"])
    steps = len(_array(by_name["share of branch A"]["x"]))
    assert z.shape == (16, 6 * steps) and len(x) == 6 * steps
    assert np.all(np.diff(x) > 0) and 0 < x[0] < 0.1 and x[-1] < steps * 0.5
    assert spatial["colorbar"]["title"]["text"] == "spatial attention"
    assert by_name["share of A"]["zmid"] == 0.5
    return charts


def test_damff_page_maps_step_and_variants(corpus_env):
    app = open_page("damff")
    assert not app.exception
    charts = _check_maps(app, annotated=True)
    # the step selector zooms into one 500 ms step
    frame = app.select_slider(key="damff_frame")
    assert frame.options[:3] == ["0.0 s", "0.5 s", "1.0 s"]
    frame.set_value(2.0).run()
    assert not app.exception
    charts = _charts(app)
    step = charts["damff_step"]
    assert [a["text"] for a in step["layout"]["annotations"]] == [
        "log-mel of the step, 2.0-2.5 s", "spatial attention, 2.0-2.5 s", "fusion gate (share of A), 2.0-2.5 s"]
    assert "time in the step (ms)" in json.dumps(step["layout"])
    assert _array(step["data"][1]["z"]).shape == (16, 6)
    assert any(s.get("x0") == 2.0 and s.get("x1") == 2.5 for s in charts["damff_maps"]["layout"]["shapes"])
    # variants: only the shipped damff has a checkpoint; the ablations show how to train one
    table = app.dataframe[-1].value.set_index("variant")
    assert table.loc["daff", "checkpoints"] == "damff"
    for ablation in ("wo_fusion", "wo_channel", "wo_spatial", "wo_daff"):
        assert table.loc[ablation, "checkpoints"] == ""
        assert f"--model damff --preset tiny_{ablation} " in table.loc[ablation, "train"]
    assert "Only one DAMFF checkpoint" in texts(app)


def test_damff_page_after_switching_song_with_an_upload_and_without_damff(corpus_env):
    app = open_page("damff")
    app.select_slider(key="damff_frame").set_value(19.5).run()
    app.sidebar.selectbox(key="memo_song_synth").select("3").run()
    assert not app.exception
    assert app.get("subheader")[0].value == "3"
    _check_maps(app, annotated=True)

    upload(app, "tune.wav", song_wav(7.0))
    assert not app.exception
    assert app.get("subheader")[0].value == "tune.wav"
    charts = _check_maps(app, annotated=False)
    assert "no annotation" in texts(app)
    # the step chosen on the 20 s song does not exist in a 7 s upload: the selector falls back inside the song
    assert float(app.select_slider(key="damff_frame").value) < 7.0
    assert _array(charts["damff_maps"]["data"][2]["x"]).max() < 7.0

    app.sidebar.multiselect(key="memo_ckpt_DAMFF").set_value([]).run()
    assert not app.exception
    assert "No DAMFF checkpoint is chosen" in texts(app)
    assert not app.get("plotly_chart")
    assert "wo_spatial" in set(app.dataframe[-1].value["variant"])


def test_damff_page_says_whether_the_spatial_attention_matters(corpus_env, manifest_with):
    from memo_core.explain.faithfulness import NO_BETTER

    from .faithfulness_figures import REAL, SONG, deletion_summary, notes

    manifest_with({"damff": {"faithfulness": deletion_summary(
        "spatial_attention", (1.0, 0.9, 1.1), subject="the 10 most attended log-mel cells", baseline="10 random cells")}})
    app = open_page("damff")
    assert not app.exception
    (song_kind, song), (real_kind, real) = sorted(notes(app), key=lambda note: REAL in note[1])
    assert song.startswith(f"**{SONG}** deleting the 10 most attended log-mel cells moves the prediction")
    assert (song_kind == "warning") == song.endswith(f"{NO_BETTER}.")
    assert real_kind == "warning" and real == (f"**{REAL}** Over 3 clips, deleting the 10 most attended log-mel "
                                               f"cells moves the prediction no more than 10 random cells "
                                               f"({real.split('random cells (')[1]}")
    assert real.endswith(f"{NO_BETTER}.")
