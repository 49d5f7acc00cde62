"""Dataset loaders: the real files in ../shared/data, and small layouts written here (good and broken)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from memo_core.data import (
    DatasetLoad,
    jamendo_tag_list,
    list_datasets,
    load_dataset,
    register_dataset,
)
from memo_core.data.records import InvalidAnnotationsWarning
from memo_core.errors import DatasetError
from tests._helpers import make_tone

DEAM_DYNAMIC = Path("annotations/annotations averaged per song/dynamic (per second annotations)")
DEAM_STATIC = Path("annotations/annotations averaged per song/song_level")


# --------------------------------------------------------------------------- helpers


def write_wide(path: Path, rows: dict[str, list], *, n_columns: int, start_ms: int = 15_000) -> None:
    """A wide ``song_id,sample_15000ms,...`` file; a row shorter than ``n_columns`` ends in empty cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["song_id"] + [f"sample_{start_ms + 500 * i}ms" for i in range(n_columns)]
    lines = [",".join(header)]
    for song_id, values in rows.items():
        cells = ["" if v is None else str(v) for v in values]
        lines.append(",".join([song_id, *cells, *[""] * (n_columns - len(cells))]))
    path.write_text("\n".join(lines) + "\n")


def touch_audio(path: Path) -> Path:
    # The loaders only look for the file; decoding is memo_core.audio's business.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"ID3 not really audio")
    return path


def skip_reasons(load: DatasetLoad) -> dict[str, str]:
    return {s.song_id: s.reason for s in load.skipped}


def assert_bipolar(load: DatasetLoad) -> None:
    for song in load:
        assert song.valence.shape == song.arousal.shape == song.frame_times.shape
        assert np.all(np.abs(song.valence) <= 1.0) and np.all(np.abs(song.arousal) <= 1.0)
        assert np.all(np.diff(song.frame_times) > 0)


# --------------------------------------------------------------------------- registry


def test_registry_lists_all_datasets():
    assert list_datasets() == ["4q", "deam", "emomusic", "emopia", "emopia_rendered", "generic", "mtg_jamendo",
                               "pmemo", "synth", "vgmidi", "vgmidi_rendered"]


def test_unknown_dataset_lists_names():
    with pytest.raises(DatasetError, match="known datasets: 4q, deam, emomusic"):
        load_dataset("nope", "/tmp")


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("deam")(lambda root, **kw: None)


# ids avoid "synth" so that `-k "not synth"` (which skips the slow generator) keeps these.
@pytest.mark.parametrize(
    "name", ["deam", "emomusic", "pmemo", "mtg_jamendo", "generic", "synth"],
    ids=["deam", "emomusic", "pmemo", "mtg_jamendo", "generic", "corpus"],
)
def test_missing_folder_names_expected_path(name, tmp_path):
    missing = tmp_path / "not-here"
    with pytest.raises(DatasetError, match="not-here"):
        load_dataset(name, missing)


@pytest.mark.parametrize("name", ["deam", "emomusic", "pmemo", "mtg_jamendo", "generic"])
def test_no_root_is_a_clear_error(name):
    with pytest.raises(DatasetError, match="no dataset folder given"):
        load_dataset(name)


def test_corpus_loader_without_corpus_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match=r"corpus\.json.*python -m memo_core synth --out DIR"):
        load_dataset("synth")


# --------------------------------------------------------------------------- DEAM


@pytest.fixture
def deam_root(tmp_path) -> Path:
    root = tmp_path / "DEAM"
    valence = {"2": [0.1, 0.2, 0.3, 0.4], "3": [0.0, 0.0, 0.0, 0.0], "5": [0.5] * 4,
               "2001": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "2002": [-0.1, -0.2, -0.3]}
    arousal = {"2": [-0.1, -0.2, -0.3, -0.4], "3": [0.1, "", 0.1, 0.1],
               "2001": [0.6, 0.5, 0.4, 0.3, 0.2, 0.1], "2002": [0.3, 0.2, 0.1]}
    write_wide(root / DEAM_DYNAMIC / "valence.csv", valence, n_columns=6)
    write_wide(root / DEAM_DYNAMIC / "arousal.csv", arousal, n_columns=6)
    (root / DEAM_STATIC).mkdir(parents=True)
    (root / DEAM_STATIC / "static_annotations_averaged_songs_1_2000.csv").write_text(
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n2,9,0.8,1,0.4\n3,5,1,5,1\n"
    )
    (root / DEAM_STATIC / "static_annotations_averaged_songs_2000_2058.csv").write_text(
        "song_id, valence_mean, valence_std, valence_ max_mean, arousal_mean, arousal_std\n2001,7,1,8,3,1\n"
    )
    touch_audio(root / "MEMD_audio" / "2.mp3")
    return root


def test_deam_fixture(deam_root):
    load = load_dataset("deam", deam_root)
    songs = load.by_id()
    assert sorted(songs) == ["2", "2001", "2002"]
    reasons = skip_reasons(load)
    assert reasons["5"] == "valence annotated but not arousal"
    assert "empty cell inside" in reasons["3"]
    # Ragged ends: empty trailing cells give a shorter series on the same grid.
    assert songs["2001"].n_frames == 6 and songs["2002"].n_frames == 3
    np.testing.assert_allclose(songs["2002"].frame_times, [15.0, 15.5, 16.0])
    np.testing.assert_allclose(songs["2"].valence, [0.1, 0.2, 0.3, 0.4])
    assert songs["2"].static_valence == 1.0 and songs["2"].static_arousal == -1.0
    assert songs["2"].meta["static_valence_std"] == pytest.approx(0.2)
    assert songs["2001"].static_valence == 0.5
    assert songs["2"].split == "train" and songs["2001"].split == "test"
    assert songs["2"].audio_path == deam_root / "MEMD_audio" / "2.mp3" and songs["2001"].audio_path is None


def test_deam_require_audio_skips_songs_without_audio(deam_root):
    load = load_dataset("deam", deam_root, require_audio=True)
    assert [s.song_id for s in load] == ["2"]
    assert load.skipped_summary()["no audio file"] == 2
    assert "skipped 2: no audio file" in load.summary()


def test_deam_missing_annotations_folder(tmp_path):
    (tmp_path / "DEAM" / "MEMD_audio").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"dynamic \(per second annotations\)"):
        load_dataset("deam", tmp_path / "DEAM")


def test_deam_wrong_header_is_a_layout_error(deam_root):
    (deam_root / DEAM_DYNAMIC / "valence.csv").write_text("id,v1,v2\n1,0.1,0.2\n")
    with pytest.raises(DatasetError, match="sample_15000ms"):
        load_dataset("deam", deam_root)


def test_deam_real(shared_data):
    load = load_dataset("deam", shared_data / "deam")
    assert len(load) == 1802 and not load.skipped
    songs = load.by_id()
    static_1_2000 = [s for s in load if int(s.song_id) <= 2000 and s.static_valence is not None]
    static_2001 = [s for s in load if int(s.song_id) > 2000 and s.static_valence is not None]
    assert (len(static_1_2000), len(static_2001)) == (1744, 58)
    assert songs["2"].n_frames == 60
    np.testing.assert_allclose(songs["2"].frame_times[[0, -1]], [15.0, 44.5])
    assert all(s.n_frames > 60 for s in static_2001)
    assert max(s.n_frames for s in load) == 1223
    assert_bipolar(load)
    assert {s.split for s in static_2001} == {"test"}


# --------------------------------------------------------------------------- emoMusic


@pytest.fixture
def emomusic_root(tmp_path) -> Path:
    root = tmp_path / "emoMusic"
    ann = root / "annotations"
    write_wide(ann / "valence_cont_average.csv", {"2": [0.1, 0.2, 0.3], "3": [0.0, 0.1, 0.2], "4": [0.1]}, n_columns=3)
    write_wide(ann / "arousal_cont_average.csv", {"2": [0.3, 0.2, 0.1], "3": [0.2, 0.1, 0.0, 0.5, 0.6]}, n_columns=3)
    write_wide(ann / "valence_cont_std.csv", {"2": [0.01, 0.02, 0.03]}, n_columns=3)
    (ann / "static_annotations.csv").write_text(
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n2,7,0.4,3,0.8\n"
    )
    (ann / "songs_info.csv").write_text(
        '"song_id","file_name","Artist","Song title","Genre","Mediaeval 2013 set"\n'
        '2,"\t2.mp3","Some Band\t","\tA Song\t","\tBlues\t","development"\n'
        '3,"\t3.mp3","Other\t","\tB\t","\tRock\t","evaluation"\n'
    )
    touch_audio(root / "clips_45seconds" / "2.mp3")
    touch_audio(root / "clips_45seconds" / "3.wav")
    return root


def test_emomusic_fixture(emomusic_root):
    load = load_dataset("emomusic", emomusic_root)
    songs = load.by_id()
    assert sorted(songs) == ["2"]
    reasons = skip_reasons(load)
    assert "more values than the header" in reasons["3"]
    assert reasons["4"] == "valence annotated but not arousal"
    song = songs["2"]
    assert song.split == "development"
    assert song.meta["artist"] == "Some Band" and song.meta["title"] == "A Song" and song.meta["genre"] == "Blues"
    np.testing.assert_allclose(song.valence_std, [0.01, 0.02, 0.03])
    assert song.arousal_std is None
    assert song.static_arousal == 0.5 and song.static_valence == -0.5
    assert song.audio_path.name == "2.mp3"


def test_emomusic_accepts_wav_and_tolerates_missing_optional_files(emomusic_root):
    ann = emomusic_root / "annotations"
    write_wide(ann / "arousal_cont_average.csv", {"2": [0.3, 0.2, 0.1], "3": [0.2, 0.1, 0.0]}, n_columns=3)
    (ann / "songs_info.csv").unlink()
    (ann / "static_annotations.csv").unlink()
    songs = load_dataset("emomusic", emomusic_root).by_id()
    assert songs["3"].audio_path.name == "3.wav"
    assert songs["3"].split is None and songs["3"].static_valence is None


def test_emomusic_missing_annotation_file(emomusic_root):
    (emomusic_root / "annotations" / "arousal_cont_average.csv").unlink()
    with pytest.raises(DatasetError, match="arousal_cont_average.csv"):
        load_dataset("emomusic", emomusic_root)


def test_emomusic_real(shared_data):
    load = load_dataset("emomusic", shared_data / "emomusic")
    assert len(load) == 744 and not load.skipped
    assert {s.split for s in load} == {"development", "evaluation"}
    assert all(s.n_frames == 61 for s in load)
    assert_bipolar(load)
    song = load.by_id()["2"]
    np.testing.assert_allclose(song.frame_times[[0, -1]], [15.0, 45.0])
    assert song.meta["artist"] == "The New Mystikal Troubadours"
    assert song.meta["title"] == "Tonight  A Lonely Century" and song.meta["genre"] == "Blues"
    assert not any("\t" in str(v) for s in load for v in s.meta.values())
    assert song.static_arousal == pytest.approx((3.1 - 5) / 4) and song.valence_std.shape == (61,)
    assert song.audio_path.name == "2.mp3"
    assert 4 <= sum(s.has_audio for s in load) <= 5
    with_audio = load_dataset("emomusic", shared_data / "emomusic", require_audio=True)
    assert len(with_audio) == sum(s.has_audio for s in load)
    assert with_audio.skipped_summary() == {"no audio file": 744 - len(with_audio)}


# --------------------------------------------------------------------------- PMEmo


@pytest.fixture
def pmemo_root(tmp_path) -> Path:
    root = tmp_path / "PMEmo2019"
    ann = root / "annotations"
    ann.mkdir(parents=True)
    (ann / "dynamic_annotations.csv").write_text(
        "musicId,frameTime,Arousal(mean),Valence(mean)\r\n"
        "1,16.0,1.0,0.5\r\n1,15.5,0.5,0.0\r\n1,16.5,,0.2\r\n"  # unsorted, one NaN frame
        "4,15.5,0.5,0.5\r\n4,15.5,0.6,0.5\r\n"  # duplicate time
    )
    (ann / "dynamic_annotations_std.csv").write_text(
        "musicId,frameTime,Arousal(std),Valence(std)\n1,15.5,0.1,0.2\n1,16.0,0.1,0.2\n"
    )
    (ann / "static_annotations.csv").write_text("musicId,Arousal(mean),Valence(mean)\n1,0.75,0.25\n9,0.5,0.5\n")
    (root / "metadata.csv").write_text("song_id,file_name,artist,song_title\n1,1.mp3,A+B,Title, with comma\n")
    touch_audio(root / "chorus" / "1.mp3")
    return root


def test_pmemo_fixture(pmemo_root):
    with pytest.warns(InvalidAnnotationsWarning, match=r"pmemo: .*1 row dropped.*1 song skipped"):
        load = load_dataset("pmemo", pmemo_root)  # the fixture's bad rows, reported once
    song = load.by_id()["1"]
    np.testing.assert_allclose(song.frame_times, [15.5, 16.0])
    np.testing.assert_allclose(song.arousal, [0.0, 1.0])
    np.testing.assert_allclose(song.valence, [-1.0, 0.0])
    np.testing.assert_allclose(song.arousal_std, [0.2, 0.2])
    assert song.static_arousal == 0.5 and song.static_valence == -0.5
    assert song.meta["title"] == "Title, with comma" and song.split is None
    reasons = skip_reasons(load)
    assert reasons["4"] == "two annotation rows at the same time"
    assert "static annotation only" in reasons["9"]


def test_pmemo_missing_columns(pmemo_root):
    (pmemo_root / "annotations" / "dynamic_annotations.csv").write_text("musicId,frameTime,Arousal(mean)\n1,15.5,0.5\n")
    with pytest.raises(DatasetError, match=r"Valence\(mean\)"):
        load_dataset("pmemo", pmemo_root)


def test_pmemo_real(shared_data):
    load = load_dataset("pmemo", shared_data / "pmemo" / "PMEmo2019", require_audio=True)
    assert sorted(s.song_id for s in load) == ["108", "372"]
    assert all(s.has_audio for s in load)
    assert_bipolar(load)
    song = load.by_id()["108"]
    assert song.frame_times[0] == 15.5
    assert song.arousal[0] == pytest.approx(2 * 0.8595 - 1) and song.valence[0] == pytest.approx(2 * 0.7834 - 1)
    assert song.meta["artist"] == "Calvin Harris+Rihanna"
    assert song.static_valence is not None and -1 <= song.static_valence <= 1


# --------------------------------------------------------------------------- MTG-Jamendo


TSV_HEADER = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"


@pytest.fixture
def jamendo_root(tmp_path) -> Path:
    root = tmp_path / "mtg-jamendo-dataset"
    data = root / "data"
    (data / "splits" / "split-0").mkdir(parents=True)
    rows = [
        "track_1\tartist_1\talbum_1\t01/1.mp3\t100.5\tmood/theme---happy\r\n",
        "track_2\tartist_1\talbum_2\t02/2.mp3\t80.0\tmood/theme---sad\tmood/theme---dark\tmood/theme---calm\r\n",
        "track_3\tartist_2\talbum_3\t03/3.mp3\t60.0\tmood/theme---calm\r\n",
        "track_4\tartist_2\talbum_3\r\n",
    ]
    (data / "autotagging_moodtheme.tsv").write_text(TSV_HEADER + "".join(rows))
    # The split files carry the challenge's tags, which may be fewer than the main TSV's.
    split_rows = {"train": rows[0], "validation": "track_2\tartist_1\talbum_2\t02/2.mp3\t80.0\tmood/theme---sad\r\n",
                  "test": ""}
    for name, row in split_rows.items():
        (data / "splits" / "split-0" / f"autotagging_moodtheme-{name}.tsv").write_text(TSV_HEADER + row)
    touch_audio(root / "audio" / "01" / "1.mp3")
    mels = tmp_path / "mels" / "02"
    mels.mkdir(parents=True)
    np.save(mels / "2.npy", np.zeros((96, 10), dtype=np.float32))
    return root


def test_jamendo_fixture(jamendo_root):
    load = load_dataset("mtg_jamendo", jamendo_root, mel_dir=jamendo_root.parent / "mels")
    tracks = load.by_id()
    assert sorted(tracks) == ["track_1", "track_2", "track_3"]
    assert "fewer fields" in skip_reasons(load)["track_4"]
    assert tracks["track_2"].tags == ("sad",) and tracks["track_3"].tags == ("calm",)
    assert tracks["track_1"].split == "train" and tracks["track_2"].split == "validation"
    assert tracks["track_3"].split is None
    assert tracks["track_1"].meta == {"path": "01/1.mp3", "duration": 100.5, "artist_id": "artist_1",
                                       "album_id": "album_1"}
    assert tracks["track_1"].has_audio and tracks["track_2"].audio_path is None
    assert tracks["track_2"].meta["mel_path"].name == "2.npy"
    assert tracks["track_1"].valence is None and tracks["track_1"].n_frames == 0
    # Without data/tags/moodtheme_split.txt the list is the TSV's tags, sorted.
    assert jamendo_tag_list(jamendo_root) == ["calm", "dark", "happy", "sad"]


def test_jamendo_require_audio_counts_mels(jamendo_root):
    load = load_dataset("mtg_jamendo", jamendo_root, require_audio=True, mel_dir=jamendo_root.parent / "mels")
    assert sorted(s.song_id for s in load) == ["track_1", "track_2"]
    assert skip_reasons(load)["track_3"] == "no audio or mel-spectrogram file"
    only_audio = load_dataset("mtg_jamendo", jamendo_root, require_audio=True)
    assert [s.song_id for s in only_audio] == ["track_1"]


def test_jamendo_bad_split_index(jamendo_root):
    with pytest.raises(DatasetError, match="split-3"):
        load_dataset("mtg_jamendo", jamendo_root, split_index=3)


def test_jamendo_wrong_header(jamendo_root):
    (jamendo_root / "data" / "autotagging_moodtheme.tsv").write_text("a,b,c\n")
    with pytest.raises(DatasetError, match="TRACK_ID"):
        load_dataset("mtg_jamendo", jamendo_root)


def test_jamendo_real(shared_data):
    root = shared_data / "mtg_jamendo"
    load = load_dataset("mtg_jamendo", root)
    assert len(load) == 18_486 and not load.skipped
    tags = jamendo_tag_list(root)
    assert len(tags) == 56 and tags[0] == "action" and tags == sorted(tags)
    assert not any(t.startswith("mood/theme") for s in load for t in s.tags)
    assert load.by_id()["track_0000948"].tags == ("background",)
    sizes = {name: sum(s.split == name for s in load) for name in ("train", "validation", "test")}
    assert sizes == {"train": 9949, "validation": 3802, "test": 4231}
    # Tracks in the split take the split file's tags: the challenge's 56, not the TSV's 59.
    assert {t for s in load if s.split is not None for t in s.tags} == set(tags)
    assert load.by_id()["track_0025247"].tags == ("inspiring",)
    assert max(len(s.tags) for s in load) == 8


# --------------------------------------------------------------------------- generic


@pytest.fixture
def generic_root(tmp_path) -> Path:
    root = tmp_path / "mine"
    (root / "audio").mkdir(parents=True)
    (root / "annotations.csv").write_text(
        "song_id,time_s,valence,arousal,valence_std,split,tags\n"
        "a,1.0,0.5,1.0,0.1,train,happy; bright\n"
        "a,0.5,0.0,0.5,0.1,train,\n"
        "a,1.5,,0.5,0.1,train,\n"  # NaN -> dropped frame
        "b,0.5,1.0,0.0,,test,\n"
        "c,0.5,0.2,0.2,,,\n"
        "c,0.5,0.3,0.3,,,\n"  # duplicate time
    )
    sf.write(root / "audio" / "a.wav", make_tone(0.2), 22_050)
    sf.write(root / "audio" / "z.flac", make_tone(0.2), 22_050)
    return root


def test_generic_with_scale(generic_root):
    with pytest.warns(InvalidAnnotationsWarning, match=r"generic: .*1 row dropped.*1 song skipped"):
        load = load_dataset("generic", generic_root, scale="0-1")  # the fixture's bad rows, reported once
    songs = load.by_id()
    assert sorted(songs) == ["a", "b"]
    a = songs["a"]
    np.testing.assert_allclose(a.frame_times, [0.5, 1.0])
    np.testing.assert_allclose(a.valence, [-1.0, 0.0])
    np.testing.assert_allclose(a.arousal, [0.0, 1.0])
    np.testing.assert_allclose(a.valence_std, [0.2, 0.2])
    assert a.split == "train" and a.tags == ("happy", "bright") and a.has_audio
    assert songs["b"].audio_path is None and songs["b"].split == "test"
    reasons = skip_reasons(load)
    assert reasons["c"] == "two annotation rows at the same time"
    assert reasons["z"] == "audio file without annotations"


def test_generic_1_9_scale_and_out_of_range_hint(generic_root):
    (generic_root / "annotations.csv").write_text("song_id,time_s,valence,arousal\na,0.5,7,3\na,1.0,9,1\n")
    song = load_dataset("generic", generic_root, scale="1-9").by_id()["a"]
    np.testing.assert_allclose(song.valence, [0.5, 1.0])
    np.testing.assert_allclose(song.arousal, [-0.5, -1.0])
    # Read as [-1, 1] the same values are out of range: the error names the fix.
    with pytest.raises(DatasetError, match="scale='1-9'"):
        load_dataset("generic", generic_root)


def test_generic_bad_scale_and_missing_columns(generic_root):
    with pytest.raises(DatasetError, match="unknown scale"):
        load_dataset("generic", generic_root, scale="0-100")
    (generic_root / "annotations.csv").write_text("song_id,time,valence,arousal\na,0.5,0,0\n")
    with pytest.raises(DatasetError, match="time_s"):
        load_dataset("generic", generic_root)


def test_generic_missing_annotations_file(tmp_path):
    (tmp_path / "audio").mkdir()
    with pytest.raises(DatasetError, match="annotations.csv"):
        load_dataset("generic", tmp_path)


# --------------------------------------------------------------------------- synthetic corpus (reader only)


@pytest.fixture
def corpus_root(tmp_path) -> Path:
    """A 3-song corpus in the generator's documented layout, written by hand."""
    root = tmp_path / "corpus"
    ann = root / "annotations"
    (root / "audio").mkdir(parents=True)
    ann.mkdir()
    info = {"name": "memo-synth", "version": 1, "seed": 7, "n_songs": 3, "duration_s": 2.0, "sample_rate": 44100,
            "annotation_start_s": 1.0, "frame_seconds": 0.5, "tags": ["happy", "calm"], "splits": {}}
    (root / "corpus.json").write_text(json.dumps(info))
    for name, rows in (
        ("valence_cont_average", {"1": [0.1, 0.2, 0.3], "2": [-0.5, -0.4, -0.3], "3": [0.0, 0.0, 0.0]}),
        ("arousal_cont_average", {"1": [0.5, 0.6, 0.7], "2": [0.0, 0.1, 0.2], "3": [0.0, 0.0, 0.0]}),
        ("valence_cont_std", {"1": [0.1] * 3, "2": [0.1] * 3, "3": [0.1] * 3}),
        ("arousal_cont_std", {"1": [0.2] * 3, "2": [0.2] * 3, "3": [0.2] * 3}),
    ):
        write_wide(ann / f"{name}.csv", rows, n_columns=3, start_ms=1000)
    (ann / "static_annotations.csv").write_text(
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n1,7.0,0.4,5.0,0.8\n2,5,1,3,1\n3,5,1,5,1\n"
    )
    (ann / "songs_info.csv").write_text(
        "song_id,file_name,split,tags,tempo_bpm,key,mode,programs\n"
        "1,1.flac,train,happy;calm,120.5,C,major,melody=0 bass=33\n"
        "2,2.flac,validation,,90,A,minor,melody=40\n"
        "3,3.flac,test,calm,60,D,mixed,melody=1\n"
        "4,4.flac,train,calm,60,D,mixed,melody=1\n"
    )
    design = ["song_id,time_s,valence,arousal"]
    for song in ("1", "2", "3"):
        design += [f"{song},{t},{0.1 * i},{-0.1 * i}" for i, t in enumerate((0.0, 0.5, 1.0, 1.5, 2.0))]
    (ann / "design.csv").write_text("\n".join(design) + "\n")
    for song in ("1", "2"):
        sf.write(root / "audio" / f"{song}.flac", make_tone(0.25, sample_rate=44_100), 44_100, format="FLAC")
    return root


def test_corpus_loader_fixture(corpus_root):
    load = load_dataset("synth", corpus_root)
    songs = load.by_id()
    assert sorted(songs) == ["1", "2", "3"]
    assert skip_reasons(load) == {"4": "no dynamic annotation"}
    one = songs["1"]
    np.testing.assert_allclose(one.frame_times, [1.0, 1.5, 2.0])
    np.testing.assert_allclose(one.arousal_std, [0.2] * 3)
    assert one.tags == ("happy", "calm") and songs["2"].tags == ()
    assert [songs[i].split for i in "123"] == ["train", "validation", "test"]
    assert one.meta["tempo_bpm"] == 120.5 and one.meta["key"] == "C" and one.meta["programs"] == "melody=0 bass=33"
    assert one.static_arousal == 0.5 and one.static_valence == 0.0
    np.testing.assert_allclose(one.meta["design_times"], [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(one.meta["design_arousal"], [0.0, -0.1, -0.2, -0.3, -0.4])
    assert one.has_audio and songs["3"].audio_path is None
    assert sf.info(one.audio_path).samplerate == 44_100


def test_corpus_loader_default_dir_and_require_audio(corpus_root, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(corpus_root))
    load = load_dataset("synth", require_audio=True)
    assert [s.song_id for s in load] == ["1", "2"]
    assert skip_reasons(load)["3"] == "no audio file"


def test_corpus_loader_corrupt_json(corpus_root):
    (corpus_root / "corpus.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_dataset("synth", corpus_root)


# --------------------------------------------------------------------------- unreadable files, shared readers

LATIN1 = "song_id,sample_15000ms\n1,0.1\n2,caf\xe9\n".encode("latin-1")


@pytest.mark.parametrize(
    "fixture,relative,kind",
    [
        ("deam_root", DEAM_DYNAMIC / "valence.csv", "CSV"),
        ("deam_root", DEAM_STATIC / "static_annotations_averaged_songs_1_2000.csv", "CSV"),
        ("emomusic_root", Path("annotations/static_annotations.csv"), "CSV"),
        ("pmemo_root", Path("annotations/dynamic_annotations.csv"), "CSV"),
        ("jamendo_root", Path("data/autotagging_moodtheme.tsv"), "TSV"),
        ("generic_root", Path("annotations.csv"), "CSV"),
    ],
    ids=["deam-dynamic", "deam-static", "emomusic-static", "pmemo", "jamendo", "generic"],
)
def test_non_utf8_or_binary_file_is_a_dataset_error(request, fixture, relative, kind):
    root = request.getfixturevalue(fixture)
    name = {"deam_root": "deam", "emomusic_root": "emomusic", "pmemo_root": "pmemo",
            "jamendo_root": "mtg_jamendo", "generic_root": "generic"}[fixture]
    for content in (LATIN1, bytes(range(256)) * 4):
        (root / relative).write_bytes(content)
        with pytest.raises(DatasetError, match=f"is not a UTF-8 {kind}"):
            load_dataset(name, root)


def test_csv_parser_errors_are_dataset_errors(tmp_path):
    import csv

    from memo_core.data._common import read_table

    path = tmp_path / "bad.csv"
    path.write_text("song_id,title\n1," + "x" * 200 + "\n")
    old_limit = csv.field_size_limit(100)   # a cell over the limit makes csv raise csv.Error
    try:
        with pytest.raises(DatasetError, match="is not a UTF-8 CSV"):
            read_table(path, dataset="generic")
    finally:
        csv.field_size_limit(old_limit)


def test_deam_static_non_numeric_cells_are_left_out(deam_root):
    (deam_root / DEAM_STATIC / "static_annotations_averaged_songs_1_2000.csv").write_text(
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n2,NA,0.8,1,n/a\n"
    )
    songs = load_dataset("deam", deam_root).by_id()
    assert songs["2"].static_valence is None and songs["2"].static_arousal == -1.0
    assert songs["2"].meta == {"static_valence_std": pytest.approx(0.2)}


def test_wide_file_must_start_with_song_id(deam_root):
    (deam_root / DEAM_DYNAMIC / "valence.csv").write_text("track,sample_15000ms\n2,0.1\n")
    with pytest.raises(DatasetError, match="starts with the column 'track'"):
        load_dataset("deam", deam_root)


@pytest.mark.parametrize("name", ["deam", "emomusic", "pmemo", "mtg_jamendo", "generic", "synth"],
                         ids=["deam", "emomusic", "pmemo", "mtg_jamendo", "generic", "corpus"])
def test_a_file_given_as_root_is_not_a_folder(name, tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(b"\x00\x01")
    with pytest.raises(DatasetError, match="random.bin is not a folder"):
        load_dataset(name, path)


def test_scales_live_in_one_place():
    from memo_core.data import _common, generic

    assert generic.SCALES is _common.SCALES
    assert _common.to_unit_scale(9, "1-9") == 1.0 and _common.to_unit_scale(0.25, "0-1") == -0.5
    np.testing.assert_allclose(_common.to_unit_scale(np.array([0.0, 1.0]), "0-1"), [-1.0, 1.0])
    assert _common.spread_to_unit_scale(0.8, "1-9") == pytest.approx(0.2)
