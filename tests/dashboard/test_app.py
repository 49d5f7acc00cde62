"""The dashboard with Streamlit's AppTest: the empty state on a fresh machine, and a rendered corpus."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ..conftest import REPO

APP = str(REPO / "dashboard" / "app.py")
TIMEOUT = 60  # the first run imports librosa, pandas and plotly


def test_fresh_machine_offers_to_render_the_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tmp_path / "nothing-yet"))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert any("not rendered yet" in info.value for info in app.info)
    assert [b.label for b in app.button] == ["Render the demo corpus"]


def test_lists_the_corpus_and_shows_a_song(tiny_corpus, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tiny_corpus))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 4 and {"song", "split", "valence", "arousal", "tags"} <= set(table.columns)
    assert app.selectbox[0].options == ["1", "2", "3", "4"]
    app.selectbox[0].select("3").run()
    assert not app.exception
    assert "Song 3" in str(app.get("plotly_chart")[1].proto.spec)
