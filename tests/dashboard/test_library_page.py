"""The Library page on a real LIBRARY (the tiny corpus in two folders, analysed song by song with the library's own
task): the plane, the table, filters, histograms, the subset comparison, a bad folder, and a song opened on the Song
page, or its stored curves when its audio is gone."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests._helpers import analysed_library
from tests.dashboard._helpers import APP, TIMEOUT, charts_by_key, texts, values

#: The app's checkpoints (the Song page analyses an opened song with them): the cheapest one.
CHECKPOINT_KEYS = ("loudness",)
#: The library's per-frame models: two, so model agreement is measured.
LIBRARY_KEYS = ("loudness", "at_spectral")


@pytest.fixture(scope="module")
def library(tiny_corpus, tmp_path_factory):
    """A LIBRARY of the tiny corpus's four songs, copied into ``music/first`` (two) and ``music/second`` (two) and
    analysed song by song in this process (:func:`tests._helpers.analysed_library`).

    Returns ``(library folder, {name: audio path})``."""
    root = tmp_path_factory.mktemp("library")
    copies = {}
    for i, song in enumerate(sorted((tiny_corpus / "audio").glob("*.flac"))):
        target = root / "music" / ("first" if i < 2 else "second") / song.name
        target.parent.mkdir(parents=True, exist_ok=True)
        copies[song.name] = shutil.copy2(song, target)
    made = analysed_library(copies.values(), root / "LIBRARY", LIBRARY_KEYS, sources=[str(root / "music")])
    return made, copies


@pytest.fixture
def library_app(corpus_env, library, monkeypatch):
    """The app opened straight on the Library page (no song analysed first), with the library as its default."""
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(library[0]))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    return app.run()


def _songs(library):
    return open_library_songs(library[0])


def open_library_songs(folder):
    from memo_core.experiments.library.store import open_library

    return open_library(folder).songs()


def test_plane_table_histograms_subsets_and_filters(library_app, library):
    app, songs = library_app, _songs(library)
    assert not app.exception
    assert "**4 of 4 songs** pass the filters." in texts(app)
    charts = charts_by_key(app)
    plane = charts["library_plane"]
    points = {i: (x, y) for trace in plane["data"]
              for i, x, y in zip(values(trace["customdata"]), values(trace["x"]), values(trace["y"]))}
    assert set(points) == set(songs["song_id"])  # every song, at its mean valence and arousal
    for _, row in songs.iterrows():
        assert points[row["song_id"]] == pytest.approx((row["valence"], row["arousal"]))
    scatter = plane["data"][0]
    assert scatter["mode"] == "markers"  # markers, so a click selects a song
    assert np.allclose(values(scatter["marker"]["color"]), songs["agreement"])  # colour: agreement
    assert all(str(c).startswith("rgb(") for _, c in scatter["marker"]["colorscale"])  # pinned
    table = app.dataframe[0].value
    assert len(table) == 4 and set(table["song_id"]) == set(songs["song_id"])
    hist = charts["library_hist"]
    assert {t["name"] for t in hist["data"]} == set(LIBRARY_KEYS)
    assert len(hist["data"]) == 4  # valence and arousal per model
    # the two folders compared (defaults: music/first against music/second)
    subsets = app.selectbox(key="library_subset_a").value, app.selectbox(key="library_subset_b").value
    assert subsets[0].endswith("music/first") and subsets[1].endswith("music/second")
    assert "library_subsets" in charts
    told = next(m.value for m in app.markdown if m.value.startswith("**How B differs from A**"))
    first = songs[songs["path"].str.contains("/first/")]
    second = songs[songs["path"].str.contains("/second/")]
    assert f"B − A = {second['valence'].mean() - first['valence'].mean():+.2f}" in told
    assert "Kolmogorov-Smirnov D = " in told and "2 vs 2 songs" in told

    # filters: path text, model, quadrant
    app.text_input(key="library_path_text").input("second").run()
    assert "**2 of 4 songs** pass the filters." in texts(app)
    assert len(app.dataframe[0].value) == 2
    app.text_input(key="library_path_text").input("").run()
    app.selectbox(key="library_model").set_value("at_spectral").run()
    plane = charts_by_key(app)["library_plane"]
    xs = np.concatenate([values(t["x"]) for t in plane["data"]])
    assert sorted(xs) == pytest.approx(sorted(songs["at_spectral_valence_mean"]))
    quadrant = songs["quadrant"].iloc[0]
    app.multiselect(key="library_quadrants").unselect(quadrant).run()
    left = int((songs["quadrant"] != quadrant).sum())
    assert f"**{left} of 4 songs** pass the filters." in texts(app)
    assert not app.exception


def test_a_folder_that_is_not_a_library_gets_one_clear_error(library_app, library, tmp_path, monkeypatch):
    app = library_app
    app.text_input(key="library_dir").input(str(tmp_path)).run()
    assert not app.exception
    assert len(app.main.error) == 1 and "is not a MEMO library" in app.main.error[0].value
    assert "library_plane" not in charts_by_key(app)
    app.text_input(key="library_dir").input(str(tmp_path / "nowhere")).run()
    assert len(app.main.error) == 1 and "does not exist" in app.main.error[0].value
    # served with roots: a library outside them is refused like a dataset folder
    monkeypatch.setenv("MEMO_DATASET_ROOTS", str(tmp_path))
    app.text_input(key="library_dir").input(str(library[0])).run()
    assert not app.exception
    assert len(app.main.error) == 1 and "restricted to configured roots" in app.main.error[0].value


def _select_row(app: AppTest, row: int) -> AppTest:
    app.session_state["library_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return app.run()


def test_a_selected_song_opens_on_the_song_page_with_the_librarys_curves(corpus_env, library, tmp_path, monkeypatch):
    """The Song page shows the curves the library holds, not a new analysis: in a copy of the library the song's
    stored curves are replaced by values no model gives (a straight ramp), and the page draws exactly those. The
    library's model outside the app's checkpoint set (at_spectral) is shown under its library name; the one in the
    set (loudness, same SHA-256) follows the sidebar's choice."""
    import pandas as pd

    from dashboard.resources import LIBRARY_ONLY
    from memo_core.experiments.library.store import FRAMES_DIR, open_library

    folder = tmp_path / "LIBRARY"
    shutil.copytree(library[0], folder)
    song = open_library(folder).songs().iloc[0]
    frames_path = folder / FRAMES_DIR / f"{song['song_id']}.parquet"
    frames = pd.read_parquet(frames_path)
    ramp = np.linspace(-0.9, 0.9, int((frames["model"] == "loudness").sum()))
    frames.loc[frames["model"] == "loudness", "valence"] = ramp
    # and its stored feature distance far outside the training songs' for the first 2 s: the page's unfamiliar band
    frames.loc[(frames["model"] == "loudness") & (frames["time_s"] < 2.0), "distance"] = 50.0
    frames.to_parquet(frames_path, index=False)
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(folder))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    _select_row(app, 0)
    assert not app.exception
    assert app.title[0].value == "Song"
    assert app.sidebar.radio(key="memo_source").value == "Library song"
    assert app.get("subheader")[0].value == song["name"]
    assert "curves from the library" in texts(app) and "nothing is analysed again" in texts(app)
    flagged = [w.value for w in app.warning if "outside what the models know" in w.value]
    assert len(flagged) == 1 and "amber bands: 0.0-2.0 s" in flagged[0] and "**loudness**" in flagged[0]
    traces = {t.get("name"): t for t in charts_by_key(app)["song_va"]["data"] if t.get("yaxis", "y") == "y"}
    assert np.allclose(values(traces["loudness"]["y"]), ramp)  # the stored (tampered) curve, not a new one
    library_only = LIBRARY_ONLY.format(key="at_spectral")
    assert library_only in traces
    stored = frames[frames["model"] == "at_spectral"]["valence"].to_numpy()
    assert np.allclose(values(traces[library_only]["y"]), stored)
    # the sidebar's choice applies to the set's checkpoint, not to the library's own
    app.switch_page("app_pages/song.py")  # AppTest's next run would go back to the page it was told to open
    app.sidebar.multiselect(key="memo_ckpt_Baselines").set_value([]).run()
    assert app.title[0].value == "Song"
    names = {t.get("name") for t in charts_by_key(app)["song_va"]["data"]}
    assert "loudness" not in names and library_only in names
    assert not app.exception
    # asked for, the song is analysed afresh by the set in use: loudness's own curve, not the stored ramp
    app.sidebar.multiselect(key="memo_ckpt_Baselines").set_value(["loudness"]).run()
    app.button(key="song_fresh").click().run()
    assert not app.exception and "curves from the library" not in texts(app)
    traces = {t.get("name"): t for t in charts_by_key(app)["song_va"]["data"] if t.get("yaxis", "y") == "y"}
    assert set(traces) & {"loudness", library_only} == {"loudness"}
    assert not np.allclose(values(traces["loudness"]["y"]), ramp)


def _open_first_song(folder, monkeypatch) -> AppTest:
    """The app on the Library page of ``folder``, its first song opened (on the Song page)."""
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(folder))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    _select_row(app, 0)
    assert not app.exception and app.title[0].value == "Song"
    return app


def _song_va_names(app: AppTest) -> set[str]:
    return {t.get("name") for t in charts_by_key(app)["song_va"]["data"]}


@pytest.mark.parametrize("change", ["retrained", "unrecorded run"])
def test_library_curves_not_made_by_the_checkpoints_in_use_keep_the_librarys_name(change, corpus_env, library,
                                                                                  tmp_path, monkeypatch):
    """The loudness curve the library holds is shown under the set's ``loudness`` only when the song's own run used
    the same file (SHA-256): a library whose loudness was another file (retrained), or a song whose run the
    manifest does not record (a library from before runs were kept), shows it as ``loudness (library)``."""
    import json

    from dashboard.resources import LIBRARY_ONLY

    folder = tmp_path / "LIBRARY"
    shutil.copytree(library[0], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if change == "retrained":  # the songs' run used another loudness file; the latest run, the one in use
        earlier = manifest["checkpoint_set"]
        next(r for r in manifest["checkpoint_sets"][earlier] if r["key"] == "loudness")["sha256"] = "0" * 64
        manifest["checkpoint_set"] = "e" * 16
        manifest["checkpoint_sets"]["e" * 16] = manifest["checkpoints"]
    else:
        del manifest["checkpoint_sets"]
        manifest["checkpoint_set"] = "f" * 16  # a later run's set; the songs are the earlier one's
    (folder / "manifest.json").write_text(json.dumps(manifest))
    names = _song_va_names(_open_first_song(folder, monkeypatch))
    assert LIBRARY_ONLY.format(key="loudness") in names and "loudness" not in names


def test_an_older_library_without_distances_says_the_unfamiliar_frames_are_not_marked(corpus_env, library,
                                                                                    tmp_path, monkeypatch):
    import pandas as pd

    from memo_core.experiments.library.store import FRAMES_DIR, open_library

    folder = tmp_path / "LIBRARY"
    shutil.copytree(library[0], folder)
    song_id = open_library(folder).songs()["song_id"].iloc[0]
    path = folder / FRAMES_DIR / f"{song_id}.parquet"
    pd.read_parquet(path).drop(columns="distance").to_parquet(path, index=False)
    app = _open_first_song(folder, monkeypatch)
    assert "loudness" in _song_va_names(app)  # the curves are there
    assert any("holds no feature distances" in i.value for i in app.info)
    # the library as analysed (with distances): no such note
    assert not any("holds no feature distances" in i.value for i in _open_first_song(library[0], monkeypatch).info)


def test_dataset_songs_are_read_against_their_listeners_labels(corpus_env, library, tmp_path, monkeypatch):
    """Songs whose rows name a dataset and its labels get the labels' columns in the table and a share of songs on
    the labels' side with its interval; a library without dataset songs shows neither."""
    import pandas as pd

    from memo_core.experiments.library.store import SONGS_DIR, SONGS_FILE, open_library

    folder = tmp_path / "LIBRARY"
    shutil.copytree(library[0], folder)
    (folder / SONGS_FILE).unlink(missing_ok=True)
    songs = open_library(folder).songs()
    signs = np.sign(songs["valence"].to_numpy())
    labels = [signs[0], signs[1], -signs[2], 0.0]  # two on the means' side, one against, one neutral (left out)
    for (_, row), label in zip(songs.iterrows(), labels):
        path = folder / SONGS_DIR / f"{row['song_id']}.parquet"
        pd.DataFrame([{**row.to_dict(), "dataset": "4q", "dataset_song_id": row["name"], "label_valence": label,
                       "label_arousal": np.nan}]).to_parquet(path, index=False)
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(folder))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    assert not app.exception
    assert {"dataset", "label_valence"} <= set(app.dataframe[0].value.columns)
    agreement = next(d.value for d in app.dataframe if "same side" in d.value.columns)
    assert agreement[["dataset", "target", "songs", "same side"]].values.tolist() == [["4q", "valence", 3, 2]]
    assert 0 < agreement["95% low"].iloc[0] < 2 / 3 < agreement["95% high"].iloc[0] < 1
    assert "Against the listeners' labels" in texts(app)
    # the library as analysed (no dataset among its sources): no labels' columns, no such section
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(library[0]))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    assert "dataset" not in app.dataframe[0].value.columns and "Against the listeners' labels" not in texts(app)


def test_a_dataset_song_opens_with_its_listeners_annotation(corpus_env, tiny_corpus, tmp_path, monkeypatch):
    """A library made of a dataset in its layout (the tiny synthetic corpus, analysed where it lies): a song opened
    from the Library page shows the dataset's annotation beside the stored curves, and its metrics."""
    from memo_core.data import load_dataset

    files = sorted((tiny_corpus / "audio").glob("*.flac"))
    folder = analysed_library(files, tmp_path / "LIBRARY", LIBRARY_KEYS, sources=[str(tiny_corpus)])
    app = _open_first_song(folder, monkeypatch)
    assert "annotation (ground truth)" in _song_va_names(app)
    song_id = open_library_songs(folder)["dataset_song_id"].iloc[0]
    annotated = load_dataset("synth", tiny_corpus).by_id()[song_id]
    spec = charts_by_key(app)["song_va"]
    shown = next(t for t in spec["data"] if t.get("name") == "annotation (ground truth)" and t.get("yaxis", "y") == "y")
    assert np.allclose(values(shown["y"]), annotated.valence, equal_nan=True)
    assert any("This song's metrics" in m.value for m in app.markdown)


def test_a_song_whose_audio_is_gone_shows_its_stored_curves(library_app, library):
    app, songs = library_app, _songs(library)
    row = songs.iloc[0]
    path = library[1][row["name"]]
    moved = path.with_suffix(".moved")
    path.rename(moved)
    try:
        _select_row(app, 0)
    finally:
        moved.rename(path)
    assert not app.exception
    assert app.title[0].value == "Library"
    assert any("audio is not reachable" in w.value and "not on this machine" in w.value for w in app.warning)
    curves = charts_by_key(app)["library_curves"]
    assert {t["name"] for t in curves["data"]} == set(LIBRARY_KEYS)


def test_a_served_app_reads_no_audio_outside_its_roots(library_app, library, monkeypatch):
    """Served with the library's folder as the only root, the library opens but its songs' audio (outside the root)
    is not read: the stored curves are shown instead, saying why."""
    app = library_app
    monkeypatch.setenv("MEMO_DATASET_ROOTS", str(library[0]))
    _select_row(app, 0)
    assert not app.exception
    assert app.title[0].value == "Library"
    assert any("outside the folders this app is served with" in w.value for w in app.warning)
    assert "library_curves" in charts_by_key(app)


def test_a_model_the_manifest_names_but_no_song_has_is_not_offered(corpus_env, library, tmp_path, monkeypatch):
    """A run under a new checkpoint set killed before its first song: the manifest names a model no song row has
    means for. The page offers only the models with means, so no choice can fail, and says the songs are the
    earlier run's."""
    import json

    from memo_core.experiments.library.store import checkpoint_set_id

    folder = tmp_path / "LIBRARY"
    shutil.copytree(library[0], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    extra = {**manifest["checkpoints"][0], "key": "mca", "file": "mca.pt"}
    manifest["checkpoints"].append(extra)
    manifest["checkpoint_set"] = checkpoint_set_id(manifest["checkpoints"])  # as the new run writes it
    (folder / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(folder))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    assert not app.exception
    options = app.selectbox(key="library_model").options
    assert "mca" not in options and set(LIBRARY_KEYS) <= set(options)
    # every song is still the earlier run's: the page says so
    told = [w.value for w in app.warning if "analysed with other checkpoints" in w.value]
    assert len(told) == 1 and told[0].startswith("4 of 4 songs")
    # and a library whose songs all come from its latest run says nothing of the kind
    monkeypatch.setenv("MEMO_LIBRARY_DIR", str(library[0]))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app_pages/library.py")
    app.run()
    assert not any("analysed with other checkpoints" in w.value for w in app.warning)
