"""The dashboard on the real dataset fixtures in ../shared/data (skipped when that folder is absent):
real MP3 clips, search by artist/title, rater spread and PMEmo's own 0-1 scale."""

from __future__ import annotations

import pytest

from tests.dashboard._helpers import chart_specs, open_page, texts, values

#: A per-frame model and DAMFF on real MP3s (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = ("mca", "damff")


def _open_dataset(app, name: str, root) -> None:
    app.sidebar.selectbox(key="memo_dataset").select(name).run()
    app.sidebar.text_input(key=f"memo_root_{name}").input(str(root)).run()


def test_emomusic_song_found_by_artist_and_analysed(corpus_env, shared_data):
    app = open_page()
    _open_dataset(app, "emomusic", shared_data / "emomusic")
    assert not app.exception
    song = app.sidebar.selectbox(key="memo_song_emomusic")
    assert song.label == "Song (4 of 4)"  # the four songs with audio among the 744 annotated
    app.sidebar.text_input(key="memo_search_emomusic").input("macleod slow").run()
    song = app.sidebar.selectbox(key="memo_song_emomusic")
    assert song.options == ["4: Kevin MacLeod - Slow Burn"]
    assert app.get("subheader")[0].value == "4: Kevin MacLeod - Slow Burn"
    assert not app.exception and not app.error
    va = chart_specs(app)[1]
    names = {d.get("name") for d in va["data"]}
    assert {"annotation (ground truth)", "rater spread (±1 sd)", "mca", "damff"} <= names
    metrics = app.dataframe[0].value
    assert set(metrics["target"]) == {"valence", "arousal"} and metrics["RMSE"].notna().all()


@pytest.mark.slow  # 4 s: analyses a real PMEmo chorus
def test_pmemo_can_be_shown_on_its_own_0_1_scale(corpus_env, shared_data):
    app = open_page()
    _open_dataset(app, "pmemo", shared_data / "pmemo" / "PMEmo2019")
    assert not app.exception
    assert app.sidebar.selectbox(key="memo_song_pmemo").options == ["108: Calvin Harris+Rihanna - This Is What You "
                                                                    "Came For", "372: Future - Zoom (Explicit)"]
    scale = app.sidebar.radio(key="memo_scale")
    assert scale.options == ["[-1, 1]", "pmemo's own (0 to 1)"]
    truth = next(d for d in chart_specs(app)[1]["data"] if d.get("name") == "annotation (ground truth)")
    unit = values(truth["y"])
    scale.set_value("pmemo's own (0 to 1)").run()
    assert not app.exception
    va = chart_specs(app)[1]
    assert "valence (0 to 1)" in str(va["layout"])
    truth = next(d for d in va["data"] if d.get("name") == "annotation (ground truth)")
    assert values(truth["y"]) == pytest.approx((unit + 1) / 2)
    assert "0-1 scale" in texts(app)
