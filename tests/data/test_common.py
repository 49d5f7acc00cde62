"""Annotation values checked against each dataset's declared scale (memo_core.data._common).

Small files in each official layout, written here with the bad values a careless or hostile user
gives: a value off the scale (5.0 or 1e308 on [-1, 1]), a whole file on another scale, an empty
song id, a time that is not finite, negative or absurd, duplicate rows. A few bad rows are dropped
and reported (count and first examples in ``DatasetLoad.dropped``, its summary and a warning); a
file whose values are mostly off the scale is refused with a DatasetError.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memo_core.data import load_dataset
from memo_core.errors import DatasetError

DEAM_DYNAMIC = Path("annotations/annotations averaged per song/dynamic (per second annotations)")
DEAM_STATIC = Path("annotations/annotations averaged per song/song_level")


def write_wide(path: Path, rows: dict[str, list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(len(v) for v in rows.values())
    lines = [",".join(["song_id"] + [f"sample_{15_000 + 500 * i}ms" for i in range(n)])]
    lines += [",".join([song_id, *map(str, values)]) for song_id, values in rows.items()]
    path.write_text("\n".join(lines) + "\n")


def good_rows(n_songs: int, value: float = 0.1) -> dict[str, list]:
    return {str(i): [value, -value, value] for i in range(1, n_songs + 1)}


def spread_rows(n_songs: int) -> dict[str, list]:
    return {str(i): [0.2, 0.3, 0.2] for i in range(1, n_songs + 1)}


def load_warned(name: str, root: Path, **options):
    """The load, and the text of the one warning that reports invalid values."""
    with pytest.warns(UserWarning, match="invalid annotation") as caught:
        load = load_dataset(name, root, **options)
    return load, "\n".join(str(w.message) for w in caught)


def dropped(load) -> dict[str, tuple[int, tuple[str, ...]]]:
    """reason -> (count, examples) of what the loader left out as invalid."""
    return {entry.reason: (entry.count, entry.examples) for entry in load.dropped}


# --------------------------------------------------------------------------- emoMusic / DEAM wide files


@pytest.fixture
def emomusic_root(tmp_path) -> Path:
    ann = tmp_path / "emoMusic" / "annotations"
    write_wide(ann / "valence_cont_average.csv", good_rows(6))
    write_wide(ann / "arousal_cont_average.csv", good_rows(6))
    write_wide(ann / "valence_cont_std.csv", spread_rows(6))
    write_wide(ann / "arousal_cont_std.csv", spread_rows(6))
    (ann / "static_annotations.csv").write_text(
        "song_id,mean_arousal,std_arousal,mean_valence,std_valence\n"
        + "".join(f"{i},5,1,6,1\n" for i in range(1, 7))
    )
    return tmp_path / "emoMusic"


def test_emomusic_values_off_the_scale_are_dropped_and_reported(emomusic_root):
    ann = emomusic_root / "annotations"
    valence = good_rows(6)
    valence["2"] = [0.1, 5.0, 0.1]        # a 1-9 rating in a [-1, 1] file
    valence["3"] = [1e308, 0.1, 0.1]      # finite, absurd
    write_wide(ann / "valence_cont_average.csv", valence)
    std = spread_rows(6)
    std["4"] = [0.2, -0.3, 0.2]           # a negative spread
    write_wide(ann / "valence_cont_std.csv", std)
    load, warning = load_warned("emomusic", emomusic_root)
    songs = load.by_id()
    assert sorted(songs) == ["1", "4", "5", "6"]
    for song in songs.values():
        assert np.all(np.abs(song.valence) <= 1.0)
    # The song with a bad std row keeps its means, without that std.
    assert songs["4"].valence_std is None and songs["4"].arousal_std is not None
    report = dropped(load)
    count, examples = report["value outside the scale [-1, 1]"]
    assert count == 2 and examples == ("song 2 at 15.5 s: 5", "song 3 at 15 s: 1e+308")
    assert report["value outside the scale [0, 1]"] == (1, ("song 4 at 15.5 s: -0.3",))
    assert "valence_cont_average.csv: 2 songs skipped" in warning and "1e+308" in warning
    assert "invalid values in valence_cont_average.csv: 2 songs skipped" in load.summary()


def test_emomusic_static_values_off_1_to_9_are_left_out(emomusic_root):
    rows = ["song_id,mean_arousal,std_arousal,mean_valence,std_valence"]
    rows += [f"{i},5,1,6,1" for i in range(1, 6)] + ["6,1e308,1,0,-2"]
    (emomusic_root / "annotations" / "static_annotations.csv").write_text("\n".join(rows) + "\n")
    load, _ = load_warned("emomusic", emomusic_root)
    six = load.by_id()["6"]
    assert six.static_arousal is None and six.static_valence is None and "static_valence_std" not in six.meta
    assert load.by_id()["5"].static_valence == 0.25
    report = dropped(load)
    assert report["mean_arousal outside the scale [1, 9]"] == (1, ("song 6: 1e+308",))
    assert report["mean_valence outside the scale [1, 9]"] == (1, ("song 6: 0",))
    assert report["std_valence outside the scale [0, 4]"] == (1, ("song 6: -2",))


def test_deam_file_on_another_scale_is_refused(tmp_path):
    root = tmp_path / "DEAM"
    ratings = {str(i): [3.0 + i, 4.0, 5.5] for i in range(1, 7)}   # 1-9 ratings where [-1, 1] belongs
    ratings["7"] = [0.1, 0.2, 0.3]
    write_wide(root / DEAM_DYNAMIC / "valence.csv", ratings)
    write_wide(root / DEAM_DYNAMIC / "arousal.csv", good_rows(7))
    with pytest.raises(DatasetError, match=r"6 of the 7 annotation rows of .*valence\.csv are invalid "
                                           r"\(first: song 1 at 15 s: 4.*on another scale.*\[-1, 1\]"):
        load_dataset("deam", root)


def test_deam_static_file_on_another_scale_is_refused(tmp_path):
    root = tmp_path / "DEAM"
    write_wide(root / DEAM_DYNAMIC / "valence.csv", good_rows(4))
    write_wide(root / DEAM_DYNAMIC / "arousal.csv", good_rows(4))
    (root / DEAM_STATIC).mkdir(parents=True)
    # [-1, 1] values in the 1-9 song-level file: three of four off the scale.
    (root / DEAM_STATIC / "static_annotations_averaged_songs_1_2000.csv").write_text(
        "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
        "1,0.5,0.1,5,1\n2,-0.5,0.1,5,1\n3,0.2,0.1,5,1\n4,2,0.1,5,1\n"
    )
    with pytest.raises(DatasetError, match=r"3 of the 4 values of the column 'valence_mean'.*\[1, 9\]"):
        load_dataset("deam", root)


def test_wide_row_without_a_song_id_is_reported(emomusic_root):
    ann = emomusic_root / "annotations"
    text = (ann / "valence_cont_average.csv").read_text() + ",0.3,0.3,0.3\n"
    (ann / "valence_cont_average.csv").write_text(text)
    load, _ = load_warned("emomusic", emomusic_root)
    assert "nan" not in load.by_id() and "" not in load.by_id()
    assert dropped(load)["row without a song id"] == (1, ("line 8: song_id ''",))


# --------------------------------------------------------------------------- PMEmo (long, [0, 1])


def write_pmemo(root: Path, rows: list[str]) -> Path:
    ann = root / "PMEmo2019" / "annotations"
    ann.mkdir(parents=True)
    (ann / "dynamic_annotations.csv").write_text("musicId,frameTime,Arousal(mean),Valence(mean)\n"
                                                 + "\n".join(rows) + "\n")
    return root / "PMEmo2019"


def test_pmemo_values_off_0_to_1_are_dropped_and_reported(tmp_path):
    rows = [f"{song},{15.5 + 0.5 * k},0.5,0.5" for song in (1, 2, 3) for k in range(4)]
    rows[1] = "1,16.0,1.5,0.5"            # off [0, 1]
    rows[5] = "2,16.0,0.5,inf"
    root = write_pmemo(tmp_path, rows)
    load, _ = load_warned("pmemo", root)
    songs = load.by_id()
    np.testing.assert_allclose(songs["1"].frame_times, [15.5, 16.5, 17.0])
    np.testing.assert_allclose(songs["2"].frame_times, [15.5, 16.5, 17.0])
    report = dropped(load)
    assert report["Arousal(mean) outside the scale [0, 1]"] == (1, ("song 1 at 16 s: Arousal(mean) 1.5",))
    assert report["Valence(mean) not a finite number"] == (1, ("song 2 at 16 s: Valence(mean) inf",))


def test_pmemo_file_on_the_bipolar_scale_is_refused(tmp_path):
    rows = [f"{song},{15.5 + 0.5 * k},{-0.2 - 0.1 * k},0.3" for song in (1, 2) for k in range(3)]
    root = write_pmemo(tmp_path, rows)
    with pytest.raises(DatasetError, match=r"6 of the 6 rows of .*dynamic_annotations\.csv are invalid.*"
                                           r"Arousal\(mean\) outside the scale \[0, 1\].*\[0, 1\]"):
        load_dataset("pmemo", root)


# --------------------------------------------------------------------------- generic layout


def write_generic(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "annotations.csv").write_text("song_id,time_s,valence,arousal\n" + body)
    return root


GOOD = "".join(f"{s},{t},0.1,0.2\n" for s in ("a", "b") for t in (0.5, 1.0, 1.5, 2.0))


def test_generic_empty_or_nan_id_is_never_a_song(tmp_path):
    root = write_generic(tmp_path / "g", GOOD + ",0.5,0.1,0.1\nnan,1.0,0.1,0.1\n")
    load, warning = load_warned("generic", root)
    assert sorted(load.by_id()) == ["a", "b"]
    assert dropped(load)["row without a song id"] == (2, ("data row 9", "data row 10"))
    assert "2 rows dropped, row without a song id" in warning


@pytest.mark.parametrize("time,reason", [
    ("inf", "time_s not a finite number"),
    ("-3", "negative time_s"),
    ("1e12", "time_s past 24 hours (not a time in a recording)"),
], ids=["inf", "negative", "absurd"])
def test_generic_bad_times_are_dropped_and_reported(tmp_path, time, reason):
    root = write_generic(tmp_path / "g", GOOD + f"a,{time},0.9,0.9\n")
    load, _ = load_warned("generic", root)
    a = load.by_id()["a"]
    np.testing.assert_allclose(a.frame_times, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(a.valence, [0.1] * 4)
    count, examples = dropped(load)[reason]
    assert count == 1 and examples[0].startswith("song a: time_s ")


def test_generic_file_of_bad_times_is_refused(tmp_path):
    body = "".join(f"a,{-t},0.1,0.1\n" for t in (1, 2, 3)) + "a,0.5,0.1,0.1\n"
    root = write_generic(tmp_path / "g", body)
    with pytest.raises(DatasetError, match=r"3 of the 4 rows .* are invalid \(first: song a: time_s -1 "
                                           r"\(negative time_s\).*time_s must be seconds"):
        load_dataset("generic", root)


def test_generic_values_off_the_scale_a_few_dropped_most_refused(tmp_path):
    root = write_generic(tmp_path / "g", GOOD + "a,2.5,5.0,0.1\n")
    load, _ = load_warned("generic", root)
    assert load.by_id()["a"].n_frames == 4
    assert dropped(load)["valence outside the scale [-1, 1]"] == (1, ("song a at 2.5 s: valence 5",))
    body = "".join(f"{s},{t},{3 + t},5\n" for s in ("a", "b") for t in (0.5, 1.0))   # 1-9 ratings
    write_generic(root, body)
    with pytest.raises(DatasetError, match="Pass scale='0-1' or scale='1-9'"):
        load_dataset("generic", root)


def test_generic_duplicate_rows_are_reported_not_overwritten(tmp_path):
    body = GOOD + "a,1.0,0.1,0.2\n" + "b,1.2,0.7,0.7\n" + "c,0.5,0.1,0.1\nc,0.5,0.3,0.3\n"
    root = write_generic(tmp_path / "g", body)
    load, _ = load_warned("generic", root)
    songs = load.by_id()
    report = dropped(load)
    # An exact copy: dropped, reported.
    assert report["copy of an earlier row (same song, time and values)"] == (1, ("song a at 1 s",))
    np.testing.assert_allclose(songs["a"].frame_times, [0.5, 1.0, 1.5, 2.0])
    # Two rows in one 500 ms frame (1.0 < t <= 1.5): the earlier one is dropped and said so.
    ((count, examples),) = [v for k, v in report.items() if k.startswith("row in the same 500 ms frame")]
    assert count == 1 and examples == ("song b at 1.2 s (then 1.5 s)",)
    np.testing.assert_allclose(songs["b"].frame_times, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(songs["b"].valence, [0.1] * 4)
    # Two different rows at one instant: the song is skipped, with the instant named.
    assert "c" not in songs
    assert report["two different rows at the same time"] == (1, ("song c at 0.5 s",))


def test_generic_checks_against_the_declared_scale_and_its_spreads(tmp_path):
    root = tmp_path / "g"
    root.mkdir()
    rows = ["song_id,time_s,valence,arousal,valence_std"]
    rows += [f"{s},{t},5,6,1" for s in ("a", "b") for t in (0.5, 1.0, 1.5)]
    rows += ["a,2.0,0,5,1", "b,2.0,5,5,-1"]   # 0 is off 1-9; a spread cannot be negative
    (root / "annotations.csv").write_text("\n".join(rows) + "\n")
    load, _ = load_warned("generic", root, scale="1-9")
    songs = load.by_id()
    np.testing.assert_allclose(songs["a"].frame_times, [0.5, 1.0, 1.5])
    np.testing.assert_allclose(songs["a"].valence_std, [0.25] * 3)
    assert songs["b"].n_frames == 4 and songs["b"].valence_std is None
    report = dropped(load)
    assert report["valence outside the scale [1, 9]"] == (1, ("song a at 2 s: valence 0",))
    assert report["valence_std outside the scale [0, 4]"] == (1, ("song b at 2 s: valence_std -1",))


# --------------------------------------------------------------------------- VGMIDI, 4Q, MTG-Jamendo


def test_vgmidi_curves_off_the_scale_are_reported(tmp_path):
    labelled = tmp_path / "vgmidi" / "labelled"
    (labelled / "midi").mkdir(parents=True)
    (labelled / "annotations").mkdir()
    (labelled / "midi" / "S_C_G_Piece.mid").write_bytes(b"MThd")   # the loader only lists MIDI files
    good = {"valence": [0.1, 0.2], "arousal": [0.3, 0.4]}
    annotations = {f"piece0_{i}": good for i in range(3)}
    annotations["piece0_3"] = {"valence": [0.1, 5.0], "arousal": [0.3, 0.4]}
    data = {"pieces": {"piece0": {"midi": "S_C_G_Piece.mid", "duration": 4.0, "measures": 2}},
            "annotations": annotations}
    (labelled / "annotations" / "vgmidi_raw_1.json").write_text(json.dumps(data))
    load, _ = load_warned("vgmidi", tmp_path / "vgmidi")
    assert load.songs[0].meta["n_raters"] == 3
    assert dropped(load)["listener curve with a value not finite or off [-1, 1]"] == (
        1, ("piece0 listener 4: valence 5",))
    data["annotations"] = {f"piece0_{i}": {"valence": [2.0, 3.0], "arousal": [1, 1]} for i in range(3)}
    (labelled / "annotations" / "vgmidi_raw_1.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="3 of the 3 listener curves"):
        load_dataset("vgmidi", tmp_path / "vgmidi")


def test_4q_empty_song_and_bad_pquad(tmp_path):
    folder = tmp_path / "MER_audio_taffc_dataset"
    folder.mkdir()
    (folder / "panda_dataset_taffc_annotations.csv").write_text("Song,Quadrant\nMT1,Q1\nMT2,Q2\nMT3,Q3\n,Q4\n")
    (folder / "panda_dataset_taffc_metadata.csv").write_text(
        "Song,Artist,Title,Quadrant,PQuad\nMT1,A,t,Q1,0.8\nMT2,B,t,Q2,150\nMT3,C,t,Q3,0.6\n")
    load, _ = load_warned("4q", tmp_path)
    songs = load.by_id()
    assert sorted(songs) == ["MT1", "MT2", "MT3"]
    assert songs["MT2"].meta["pquad"] is None and songs["MT1"].meta["pquad"] == 0.8
    report = dropped(load)
    assert report["PQuad not finite or off [0, 1]"] == (1, ("song MT2: PQuad 150",))
    assert report["row without a song name"] == (1, ("data row 4: Quadrant 'Q4'",))


def test_jamendo_bad_durations_are_reported(tmp_path):
    data = tmp_path / "jamendo" / "data"
    (data / "splits" / "split-0").mkdir(parents=True)
    header = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
    rows = [f"track_{i}\tartist\talbum\t0{i}/{i}.mp3\t{d}\tmood/theme---happy\n"
            for i, d in enumerate(["100.5", "inf", "-5", "80", "90"])]
    (data / "autotagging_moodtheme.tsv").write_text(header + "".join(rows))
    for name in ("train", "validation", "test"):
        (data / "splits" / "split-0" / f"autotagging_moodtheme-{name}.tsv").write_text(header)
    load, _ = load_warned("mtg_jamendo", tmp_path / "jamendo")
    tracks = load.by_id()
    assert tracks["track_1"].meta["duration"] is None and tracks["track_2"].meta["duration"] is None
    assert tracks["track_0"].meta["duration"] == 100.5
    ((count, examples),) = dropped(load).values()
    assert count == 2 and examples == ("track track_1: DURATION 'inf'", "track track_2: DURATION '-5'")
