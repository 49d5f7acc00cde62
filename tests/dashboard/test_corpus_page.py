"""The Synthetic corpus page with Streamlit's AppTest: the empty state on a fresh machine, and a rendered corpus."""

from __future__ import annotations

from tests.dashboard._helpers import open_page, texts


def test_fresh_machine_offers_to_render_the_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tmp_path / "nothing-yet"))
    app = open_page("corpus")
    assert not app.exception
    assert any("not rendered yet" in info.value for info in app.main.info)
    assert not app.main.button  # one render button, in the sidebar
    assert app.sidebar.button(key="memo_render_corpus").label == "Render the demo corpus"


def test_lists_the_corpus_and_shows_a_song(tiny_corpus, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tiny_corpus))
    app = open_page("corpus")
    assert not app.exception
    table = app.main.dataframe[0].value
    assert len(table) == 4 and {"song", "split", "valence", "arousal", "tags"} <= set(table.columns)
    assert app.main.selectbox[0].options == ["1", "2", "3", "4"]
    app.main.selectbox[0].select("3").run()
    assert not app.exception
    assert "Song 3" in str(app.main.get("plotly_chart")[1].proto.spec)


def test_broken_corpus_folder_shows_an_error(tiny_corpus, tmp_path, monkeypatch):
    """corpus.json present but the annotations gone: an error that says what to do, and no exception."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_corpus, broken)
    shutil.rmtree(broken / "annotations")
    monkeypatch.setenv("MEMO_DATA_DIR", str(broken))
    app = open_page("corpus")
    assert not app.exception
    assert any("incomplete" in e.value and "Render it again" in e.value for e in app.main.error)
    assert app.sidebar.button(key="memo_render_corpus").label == "Render the demo corpus again"


def test_unreadable_corpus_shows_an_error(tiny_corpus, tmp_path, monkeypatch):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_corpus, bad)
    (bad / "annotations" / "arousal_cont_average.csv").write_text("id,v1\n1,0.1\n")
    monkeypatch.setenv("MEMO_DATA_DIR", str(bad))
    app = open_page("corpus")
    assert not app.exception
    assert any("cannot be read" in e.value for e in app.main.error)


def test_render_failure_shows_an_error(tmp_path, monkeypatch):
    """A folder holding someone else's files is not overwritten; the button says why nothing happened."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("user data")
    monkeypatch.setenv("MEMO_DATA_DIR", str(mine))
    app = open_page("corpus")
    app.sidebar.button(key="memo_render_corpus").click().run()
    assert not app.exception
    assert "could not be rendered" in texts(app)
    assert (mine / "notes.txt").is_file()
