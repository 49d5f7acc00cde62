"""``library analyse`` on a real 2-worker Dask cluster: a generated collection with a corrupt file and a
duplicate, the per-song Parquet files, resuming, and SQL over the result."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.experiments.library import store
from memo_core.experiments.library.analyse import analyse_library, list_sources
from memo_core.experiments.library.bench import generate_collection
from memo_core.experiments.library.query import export_library, query_library
from memo_core.experiments.library.stored import stored_song
from memo_core.explain.familiarity import DISTANCE_MAP

KEYS = ["mca", "vggish_sa3"]  # a per-frame model and a tagger, both cheap


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """Three 4 s songs, a byte-identical copy of the first in a subfolder, and a corrupt .wav."""
    root = tmp_path_factory.mktemp("collection")
    generate_collection(root, n_songs=3, duration_s=4.0, seed=3)
    (root / "sub").mkdir()
    shutil.copy(root / "song000.wav", root / "sub" / "copy.wav")
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 20)
    return root


@pytest.fixture(scope="module")
def analysed(collection, tmp_path_factory, dask_client):
    """The collection analysed once into a library (the report and the library folder)."""
    out = tmp_path_factory.mktemp("lib") / "library"
    done: list[dict] = []
    report = analyse_library([collection], out, checkpoints=KEYS, client=dask_client, progress=False,
                             on_done=done.append)
    return report, out, done


def test_collection_is_analysed_once_per_content_and_the_corrupt_file_is_an_error(collection, analysed):
    report, out, done = analysed
    lib = store.open_library(out)
    songs = lib.songs()
    assert (report.files, report.songs, report.analysed, report.failed) == (5, 4, 3, 1)
    assert len(done) == 4  # three songs and the corrupt file were tasks; the copy was not
    assert sorted(songs["song_id"]) == sorted(_sha(collection / f"song00{i}.wav") for i in range(3))
    first = songs.set_index("song_id").loc[_sha(collection / "song000.wav")]
    assert first["path"] == str((collection / "song000.wav").resolve())  # the first path of the duplicates
    paths = lib.paths()
    assert (paths["song_id"] == _sha(collection / "song000.wav")).sum() == 2
    errors = lib.errors()
    assert list(errors["path"]) == [str((collection / "broken.wav").resolve())]
    assert "not a readable audio file" in errors["reason"].iloc[0] and bool(errors["final"].iloc[0])
    assert lib.models == KEYS and lib.frame_models == ["mca"]
    assert lib.manifest["checkpoint_set"] == store.checkpoint_set_id(lib.manifest["checkpoints"])
    assert list(songs.columns[:len(store.SONG_COLUMNS)]) == list(store.SONG_COLUMNS)
    assert set(store.model_columns("mca")) <= set(songs.columns)
    assert not any(c.startswith("vggish_sa3_") for c in songs.columns)  # a tagger has tags, not curves
    assert songs["duration_s"].tolist() == pytest.approx([4.0] * 3, abs=0.01)
    assert (songs["n_frames"] == 8).all() and (songs["sections"] >= 1).all()
    assert songs["quadrant_confidence"].between(0, 1).all() and songs["silent_share"].eq(0).all()
    assert songs["agreement"].isna().all()  # one per-frame model: nothing to agree with


def test_results_equal_predict_for_the_same_song_and_checkpoint(collection, analysed):
    from memo_core.audio import load_audio
    from memo_core.explain.explanation import explain_song
    from memo_core.pretrained import load_default_checkpoints

    _, out, _ = analysed
    lib = store.open_library(out)
    loaded, _ = load_default_checkpoints(keys=KEYS)
    path = collection / "song001.wav"
    song_id = _sha(path)
    expected = explain_song(loaded["mca"], load_audio(path)).predictions
    frames = lib.frames(song_id)
    assert set(frames["song_id"]) == {song_id}
    mca = frames[frames["model"] == "mca"]
    np.testing.assert_allclose(mca["time_s"], expected["time_s"])
    np.testing.assert_allclose(mca["valence"], expected["valence"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mca["arousal"], expected["arousal"], rtol=1e-6, atol=1e-7)
    row = lib.song(song_id)
    assert row["valence"] == pytest.approx(expected["valence"].mean())
    assert row["mca_arousal_max"] == pytest.approx(expected["arousal"].max())
    tags = explain_song(loaded["vggish_sa3"], load_audio(path), explain=False).tag_scores()
    assert row["top_tags"] == ",".join(tags[tags >= 0.5].index)
    # the per-frame feature distance is kept, and the stored analysis gives back what analysing gave
    fresh = explain_song(loaded["mca"], load_audio(path))
    distance = np.asarray(fresh.explanations[DISTANCE_MAP]["values"], float)
    np.testing.assert_allclose(mca["distance"], distance[: len(mca)], rtol=1e-6)
    stored = stored_song(out, song_id).analysis
    assert list(stored.results) == ["mca"] and stored.cached == ("mca",) and stored.content_hash == ""
    pd.testing.assert_frame_equal(stored.results["mca"].predictions, mca[["time_s", "valence", "arousal"]]
                                  .reset_index(drop=True))
    np.testing.assert_allclose(stored.results["mca"].explanations[DISTANCE_MAP]["values"], distance[: len(mca)],
                               rtol=1e-6)
    assert stored.results["mca"].model_name == loaded["mca"].info["model_name"]
    assert lib.manifest["checkpoints"][0]["familiarity"] == loaded["mca"].info["manifest"]["familiarity"]


def test_a_second_run_does_no_work(collection, analysed, dask_client):
    _, out, _ = analysed
    before = {p: p.stat().st_mtime_ns for p in (out / store.SONGS_DIR).iterdir()}
    done: list[dict] = []
    report = analyse_library([collection], out, checkpoints=KEYS, client=dask_client, progress=False,
                             on_done=done.append)
    assert (report.analysed, report.failed, report.skipped, done) == (0, 0, 4, [])
    assert {p: p.stat().st_mtime_ns for p in (out / store.SONGS_DIR).iterdir()} == before


def test_an_interrupted_run_continues_where_it_stopped(collection, analysed, dask_client, tmp_path):
    _, out, _ = analysed
    copy = tmp_path / "library"
    shutil.copytree(out, copy)
    lost = _sha(collection / "song002.wav")
    # killed after writing this song's frames but before its row; another write left a temp file behind
    (copy / store.SONGS_DIR / f"{lost}.parquet").unlink()
    (copy / store.SONGS_FILE).unlink()
    (copy / store.SONGS_DIR / f".{lost}.parquet.x.tmp").write_bytes(b"half")
    assert len(store.open_library(copy).songs()) == 2
    done: list[dict] = []
    report = analyse_library([collection], copy, checkpoints=KEYS, client=dask_client, progress=False,
                             on_done=done.append)
    assert [d["song_id"] for d in done] == [lost] and report.analysed == 1
    songs = store.open_library(copy).songs()
    assert sorted(songs["song_id"]) == sorted(store.open_library(out).songs()["song_id"])
    assert songs["song_id"].is_unique


def test_other_checkpoints_analyse_the_songs_again(collection, analysed, dask_client, tmp_path):
    _, out, _ = analysed
    copy = tmp_path / "library"
    shutil.copytree(out, copy)
    report = analyse_library([collection / "song001.wav"], copy, checkpoints=["mca"], client=dask_client,
                             progress=False)
    assert report.analysed == 1
    lib = store.open_library(copy)
    assert lib.models == ["mca"]
    songs = lib.songs().set_index("song_id")
    assert songs.loc[_sha(collection / "song001.wav"), "checkpoint_set"] == lib.checkpoint_set
    earlier = songs.loc[_sha(collection / "song000.wav"), "checkpoint_set"]
    assert earlier != lib.checkpoint_set
    # each song still finds the checkpoints of the run that analysed it
    assert [c["key"] for c in lib.checkpoints_of(lib.checkpoint_set)] == ["mca"]
    assert [c["key"] for c in lib.checkpoints_of(earlier)] == KEYS
    assert lib.checkpoints_of("0" * 16) is None


def test_sql_over_the_library(analysed, collection, tmp_path):
    _, out, _ = analysed
    per_model = query_library(out, "SELECT model, count(*) AS n, count(DISTINCT song_id) AS songs FROM frames "
                                   "GROUP BY model")
    assert per_model.to_dict("records") == [{"model": "mca", "n": 24, "songs": 3}]
    rise = query_library(out, """
        SELECT s.name, last(f.arousal ORDER BY f.time_s) - first(f.arousal ORDER BY f.time_s) AS rise
        FROM frames f JOIN songs s USING (song_id) WHERE f.model = 'mca' GROUP BY s.name ORDER BY rise DESC""")
    lib = store.open_library(out)
    expected = {}
    for sid in lib.song_ids():
        f = lib.frames(sid)
        expected[lib.song(sid)["name"]] = f["arousal"].iloc[-1] - f["arousal"].iloc[0]
    assert dict(zip(rise["name"], rise["rise"])) == pytest.approx(expected)
    assert query_library(out, "SELECT count(*) AS n FROM errors")["n"].item() == 1
    with pytest.raises(MemoError, match="tables are songs, frames, errors"):
        query_library(out, "SELECT nothing FROM songs")
    written = export_library(out, tmp_path / "csv")
    assert sorted(p.name for p in written) == ["errors.csv", "frames.csv", "paths.csv", "songs.csv"]
    exported = pd.read_csv(tmp_path / "csv" / "frames.csv")
    assert len(exported) == 24 and list(exported.columns) == list(store.FRAME_COLUMNS)
    assert list(exported[["song_id", "model", "time_s"]].itertuples(index=False)) == sorted(
        exported[["song_id", "model", "time_s"]].itertuples(index=False))  # by song, model and time
    # a library of an older MEMO (frames without distance) reads with the documented columns, distance NULL
    old = tmp_path / "old"
    shutil.copytree(out, old)
    for part in (old / store.FRAMES_DIR).glob("*.parquet"):
        pd.read_parquet(part).drop(columns="distance").to_parquet(part, index=False)
    frames = query_library(old, "SELECT * FROM frames")
    assert list(frames.columns) == list(store.FRAME_COLUMNS) and frames["distance"].isna().all() and len(frames) == 24
    assert pd.read_csv(tmp_path / "csv" / "songs.csv")["song_id"].tolist() == lib.songs()["song_id"].tolist()


def test_open_library_refuses_a_folder_that_is_not_one(tmp_path, collection):
    with pytest.raises(store.LibraryError, match="not a MEMO library"):
        store.open_library(collection)
    with pytest.raises(store.LibraryError, match="not a MEMO library"):
        store.create_library(collection, [], features=[])  # never writes into a folder of other files
    assert not (collection / store.MANIFEST_FILE).exists()
    with pytest.raises(MemoError, match="does not exist"):
        list_sources([tmp_path / "nowhere"])


@pytest.mark.parametrize("dataset, folder", [("emomusic", "emomusic"), ("pmemo", "pmemo/PMEmo2019"),
                                             ("4q", "4q/MER_audio_taffc_dataset")])
def test_a_dataset_folder_in_its_official_layout_is_a_source(shared_data, dataset, folder):
    """A dataset's top folder gives every song its loader finds audio for (the recursive search reaches the
    layout's audio subfolders), and nothing that is not audio."""
    from memo_core.data import load_dataset

    root = shared_data / folder
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    found = set(list_sources([root]))
    songs = [s for s in load_dataset(dataset, str(root)).songs if s.has_audio]
    assert songs, f"{dataset}: the loader found no song with audio in {root}"
    assert {Path(s.audio_path).resolve() for s in songs} <= found
    assert all(p.suffix.lower() in (".mp3", ".wav", ".flac", ".ogg") for p in found)


def test_a_dataset_songs_row_carries_its_id_and_the_listeners_labels(tiny_corpus, dask_client, tmp_path):
    """The synthetic corpus given as SOURCE is found in its layout: each song's row names the dataset, its id and
    its labels (the corpus's song-level values); a folder that is no dataset gives none."""
    from memo_core.data import load_dataset

    out = tmp_path / "library"
    report = analyse_library([tiny_corpus], out, checkpoints=["loudness"], client=dask_client, progress=False)
    assert report.analysed == 4
    songs = store.open_library(out).songs().set_index("dataset_song_id")
    corpus = {s.song_id: s for s in load_dataset("synth", tiny_corpus).songs}
    assert set(songs.index) == set(corpus) and set(songs["dataset"]) == {"synth"}
    for song_id, song in corpus.items():
        assert songs.loc[song_id, "label_valence"] == pytest.approx(song.static_valence)
        assert songs.loc[song_id, "label_arousal"] == pytest.approx(song.static_arousal)
        assert Path(songs.loc[song_id, "path"]) == Path(song.audio_path).resolve()
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(next(iter(corpus.values())).audio_path, plain / "one.flac")
    analyse_library([plain], tmp_path / "lib2", checkpoints=["loudness"], client=dask_client, progress=False)
    row = store.open_library(tmp_path / "lib2").songs().iloc[0]
    assert row["dataset"] == "" and np.isnan(row["label_valence"])


def test_a_folder_whose_dataset_files_are_broken_is_simply_not_a_dataset(tmp_path):
    """Looking for datasets never stops a run: files named as a layout's but unreadable (binary annotations.csv
    and corpus.json, a 4Q annotations file without its columns) make the folder no dataset, with no error."""
    from memo_core.experiments.library.datasets import dataset_labels

    (tmp_path / "annotations.csv").write_bytes(b"\xff\xfe\x00garbage\x00" * 10)
    (tmp_path / "corpus.json").write_bytes(b"{not json")
    (tmp_path / "panda_dataset_taffc_annotations.csv").write_text("nothing,here\n1,2\n")
    generate_collection(tmp_path, n_songs=1, duration_s=1.0, seed=0)
    assert dataset_labels([tmp_path, tmp_path / "missing"]) == {}


def test_dataset_labels_of_the_shared_real_datasets(shared_data):
    """4Q's labels are its quadrant's signs; emoMusic's and PMEmo's the static ratings on [-1, 1]; the dataset's
    top folder is found one level down (pmemo/PMEmo2019, 4q/MER_audio_taffc_dataset)."""
    from memo_core.data import load_dataset
    from memo_core.data.fourq import QUADRANT_SIGNS
    from memo_core.experiments.library.datasets import dataset_labels

    roots = {"4q": shared_data / "4q", "emomusic": shared_data / "emomusic", "pmemo": shared_data / "pmemo"}
    if not all(r.is_dir() for r in roots.values()):
        pytest.skip("the shared 4Q, emoMusic and PMEmo folders are absent")
    found = dataset_labels(list(roots.values()))
    fourq = {p: v for p, v in found.items() if v["dataset"] == "4q"}
    assert len(fourq) == len([s for s in load_dataset("4q", roots["4q"] / "MER_audio_taffc_dataset").songs
                              if s.has_audio])
    for path, value in fourq.items():
        assert (value["label_valence"], value["label_arousal"]) == QUADRANT_SIGNS[path.parent.name]
    emo = {s.song_id: s for s in load_dataset("emomusic", roots["emomusic"]).songs if s.has_audio}
    for value in (v for v in found.values() if v["dataset"] == "emomusic"):
        song = emo[value["dataset_song_id"]]
        assert (value["label_valence"], value["label_arousal"]) == (song.static_valence, song.static_arousal)
        assert -1 <= value["label_valence"] <= 1
    assert {v["dataset_song_id"] for v in found.values() if v["dataset"] == "pmemo"} == {"108", "372"}


def test_a_text_file_of_paths_is_a_source(collection, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my picks\n{collection / 'song001.wav'}\n\nsub/copy.wav\n")
    shutil.copy(listing, collection / "list.txt")
    try:
        found = list_sources([collection / "list.txt"])
    finally:
        (collection / "list.txt").unlink()
    assert found == [(collection / "song001.wav").resolve(), (collection / "sub" / "copy.wav").resolve()]


@pytest.mark.slow
def test_a_killed_run_continues_and_leaves_no_process(tmp_path):
    """The CLI with its own LocalCluster, killed (the whole process group) after its first songs are written,
    then run again: every song once, and no process of the killed run's group survives."""
    import psutil

    source = tmp_path / "songs"
    generate_collection(source, n_songs=6, duration_s=6.0, seed=5)
    out = tmp_path / "library"
    cmd = [sys.executable, "-m", "memo_core", "library", "analyse", str(source), "--out", str(out),
           "--checkpoints", "mca", "--workers", "1", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / store.SONGS_DIR).glob("*.parquet"))) < 1:
        time.sleep(0.2)
    group = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs([psutil.Process(p) for p in group if psutil.pid_exists(p)], timeout=10)
    assert not alive
    partial = len(store.open_library(out).song_ids())
    assert 1 <= partial < 6
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{6 - partial} analysed, {partial} already done" in done.stdout
    songs = store.open_library(out).songs()
    assert len(songs) == 6 and songs["song_id"].is_unique


@pytest.mark.slow
def test_the_benchmark_section_times_one_and_two_workers():
    from memo_core.experiments.bench import format_section
    from memo_core.experiments.library.bench import bench_library

    rows = bench_library(keys=["mca"], n_songs=2, duration_s=3.0)
    assert [r["workers"] for r in rows] == [1, 2] and all(r["songs"] == 2 for r in rows)
    assert rows[0]["speedup"] == 1.0 and rows[1]["speedup"] > 0
    assert all(1 <= len(r["peak_rss_mb"]) <= r["workers"] and r["peak_rss_mb_max"] > 100 for r in rows)
    assert all(0 < r["scheduler_ms_per_task"] < 1000 for r in rows)
    assert "Library analysis on Dask" in format_section("library", rows)
