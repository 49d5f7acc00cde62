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


def test_the_plane_names_quadrants_tells_splits_apart_and_says_where_the_corpus_is_thin(tiny_corpus, monkeypatch):
    import json

    from memo_core.data import load_dataset
    from memo_core.explain.coverage import coverage_grid, coverage_note
    from memo_core.explain.song import corpus_summary

    monkeypatch.setenv("MEMO_DATA_DIR", str(tiny_corpus))
    app = open_page("corpus")
    assert not app.exception
    plane = json.loads(next(c for c in app.get("plotly_chart") if c.key == "corpus_plane").proto.spec)
    songs = corpus_summary(load_dataset("synth", str(tiny_corpus)).songs)
    splits = songs["split"].value_counts()
    traces = {t["name"]: t for t in plane["data"] if t.get("mode") == "markers" and "songs)" in t["name"]}
    assert set(traces) == {f"{split} ({n} songs)" for split, n in splits.items()}
    styles = {(t["marker"]["color"], t["marker"]["symbol"]) for t in traces.values()}
    assert len(styles) == len(traces)  # train, validation and test: each its own colour and marker
    train = traces[f"train ({splits['train']} songs)"]["marker"]
    assert (train["color"], train["symbol"]) == ("#0072B2", "circle")
    words = {a["text"] for a in plane["layout"]["annotations"]}
    assert {"happy / excited", "tense / angry", "sad / depressed", "calm / relaxed"} <= words
    # the coverage: computed from the song means, named on the page, thin cells shaded
    grid = coverage_grid(songs)
    note = coverage_note(grid, min_songs=5)
    assert f"**Where the corpus is thin.** {note}" in [m.value for m in app.markdown]
    assert note.startswith("Every part of the plane has fewer than 5 training songs: ")  # 4 songs: thin everywhere
    shaded = [s for s in plane["layout"]["shapes"] if s.get("type") == "rect"
              and s.get("fillcolor") != "rgba(0,0,0,0)"]
    assert len(shaded) == int((grid["train songs"] < 5).sum())
    table = next(d.value for d in app.dataframe if "train songs" in d.value.columns)
    assert table["songs"].sum() == len(songs)


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
