"""The 4Q loader (Panda et al. 2018) on a layout written here and on ../shared/data/4q; artist-grouped folds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from memo_core.cli.parser import main
from memo_core.data import DatasetLoad, load_dataset
from memo_core.data.fourq import QUADRANT_SIGNS, quadrant_signs
from memo_core.data.splits import grouped_folds, grouped_split
from memo_core.errors import DatasetError
from tests.realdata_layouts import FOLDER, Clip, quadrant_clips, write_4q

# --------------------------------------------------------------------------- fixture layout


def _four(tmp_path: Path, **kw) -> Path:
    clips = [
        Clip("MT0000000001", "Q1", artist="Gipsy Kings", title="Bamboleo", moods="Happy; Cheerful; happy",
             genres="Latin; International", pquad=0.8),
        Clip("MT0000000002", "Q2", artist="Dismember", title="Reborn, in \"Blasphemy\"", moods="Angry; Tense",
             genres="Pop/Rock", pquad=0.6666666666667),
        Clip("MT0000000003", "Q3", artist="Billie Holiday", title="Gloomy Sunday", moods="Sad; Gloomy",
             genres="Jazz"),
        Clip("MT0000000004", "Q4", artist="Billie Holiday", title="Calm", moods="Calm; Relaxed; Peaceful",
             genres="Jazz"),
    ]
    write_4q(tmp_path, clips, **kw)
    return tmp_path


def test_quadrant_signs_follow_russell():
    assert QUADRANT_SIGNS == {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}
    assert quadrant_signs(" q3 ") == (-1, -1)
    with pytest.raises(DatasetError, match="not a Russell quadrant"):
        quadrant_signs("Q5")


def test_signs_artist_group_tags_per_quadrant(tmp_path):
    load = load_dataset("4q", _four(tmp_path) / FOLDER)
    assert isinstance(load, DatasetLoad) and load.dataset == "4q"
    assert [s.song_id for s in load] == ["MT0000000001", "MT0000000002", "MT0000000003", "MT0000000004"]
    by = load.by_id()
    signs = {i: (s.meta["quadrant"], s.meta["valence_sign"], s.meta["arousal_sign"]) for i, s in by.items()}
    assert signs == {"MT0000000001": ("Q1", 1, 1), "MT0000000002": ("Q2", -1, 1),
                     "MT0000000003": ("Q3", -1, -1), "MT0000000004": ("Q4", 1, -1)}
    for s in load:
        # a clip label is a sign: no rating and no frame target is invented from it
        assert s.valence is None and s.arousal is None and s.n_frames == 0
        assert s.static_valence is None and s.static_arousal is None
        assert s.meta["group"] == s.meta["artist"]
        assert s.has_audio and s.audio_path.parent.name == s.meta["quadrant"]
    first, second = by["MT0000000001"], by["MT0000000002"]
    assert first.meta["artist"] == "Gipsy Kings" and first.meta["title"] == "Bamboleo"
    assert first.tags == ("happy", "cheerful")  # lower case, each once
    assert first.meta["genres"] == "Latin; International" and first.meta["pquad"] == pytest.approx(0.8)
    # the quoted metadata (comma and quotes in a title, CRLF line ends) is read cell by cell
    assert second.meta["title"] == 'Reborn, in "Blasphemy"' and second.meta["pquad"] == pytest.approx(2 / 3)
    assert not any("\r" in str(v) for s in load for v in s.meta.values())
    assert by["MT0000000004"].tags == ("calm", "relaxed", "peaceful")
    # two clips of one artist share a group
    assert by["MT0000000003"].meta["group"] == by["MT0000000004"].meta["group"] == "Billie Holiday"
    assert load.skipped == []


def test_root_may_be_the_dataset_folder_or_its_parent(tmp_path):
    root = _four(tmp_path)
    inner, outer = load_dataset("4q", root / FOLDER), load_dataset("4q", root)
    assert outer.root == inner.root == root / FOLDER
    assert [(s.song_id, s.meta, s.tags, s.audio_path) for s in outer] == \
        [(s.song_id, s.meta, s.tags, s.audio_path) for s in inner]


def test_listed_song_without_mp3_is_kept_without_audio_or_skipped_with_require_audio(tmp_path):
    clips = [Clip("A1", "Q1", artist="x"), Clip("A2", "Q2", artist="y", audio=False), Clip("A3", "Q3", artist="z")]
    write_4q(tmp_path, clips)
    kept = load_dataset("4q", tmp_path)
    assert [s.song_id for s in kept] == ["A1", "A2", "A3"]
    assert kept.by_id()["A2"].audio_path is None and not kept.by_id()["A2"].has_audio
    strict = load_dataset("4q", tmp_path, require_audio=True)
    assert [s.song_id for s in strict] == ["A1", "A3"]
    assert strict.skipped_summary() == {"no audio file": 1} and strict.skipped[0].song_id == "A2"


def test_mp3_in_another_quadrant_folder_is_found(tmp_path):
    write_4q(tmp_path, [Clip("B1", "Q1", artist="x", folder="Q3"), Clip("B2", "Q4", artist="y")])
    song = load_dataset("4q", tmp_path, require_audio=True).by_id()["B1"]
    assert song.audio_path.parent.name == "Q3" and song.meta["quadrant"] == "Q1"  # the label is the annotation's


def test_bad_quadrant_is_skipped_with_its_reason(tmp_path):
    clips = [Clip("C1", "Q1", artist="x"), Clip("C2", "Q5", artist="y"), Clip("C3", "", artist="z", audio=False),
             Clip("C4", "q2", artist="w", folder="Q2")]
    write_4q(tmp_path, clips)
    load = load_dataset("4q", tmp_path)
    assert [s.song_id for s in load] == ["C1", "C4"]
    assert load.by_id()["C4"].meta["quadrant"] == "Q2"  # case of the annotation does not matter
    reasons = {s.song_id: s.reason for s in load.skipped}
    assert set(reasons) == {"C2", "C3"}
    assert "'Q5'" in reasons["C2"] and "Q1-Q4" in reasons["C2"]
    assert "Q1-Q4" in reasons["C3"]


def test_missing_annotations_file_is_a_clear_error(tmp_path):
    write_4q(tmp_path, [Clip("D1", "Q1")], annotations=False)
    for root in (tmp_path, tmp_path / FOLDER):
        with pytest.raises(DatasetError) as info:
            load_dataset("4q", root)
        message = str(info.value)
        assert "panda_dataset_taffc_annotations.csv" in message and "does not exist" in message
        assert "MER_audio_taffc_dataset" in message  # says what to pass
    with pytest.raises(DatasetError, match="needs the dataset folder"):
        load_dataset("4q", None)
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset("4q", tmp_path / "nowhere")


def test_annotations_without_the_quadrant_column_is_an_error(tmp_path):
    folder = write_4q(tmp_path, [Clip("E1", "Q1")])
    (folder / "panda_dataset_taffc_annotations.csv").write_text("Song,Mood\nE1,Q1\n")
    with pytest.raises(DatasetError, match="Quadrant"):
        load_dataset("4q", tmp_path)


def test_without_metadata_every_clip_is_its_own_group(tmp_path):
    write_4q(tmp_path, [Clip("F1", "Q1"), Clip("F2", "Q2"), Clip("F3", "Q3", in_metadata=False)], metadata=False)
    load = load_dataset("4q", tmp_path)
    groups = [s.meta["group"] for s in load]
    assert len(set(groups)) == 3 and all(g.startswith("unknown artist of ") for g in groups)
    assert all(s.tags == () and s.meta["title"] == "" for s in load)


def test_song_missing_from_metadata_or_with_an_empty_artist_gets_its_own_group(tmp_path):
    # The real metadata has three clips with an empty Artist cell: they must not share one made-up artist.
    clips = [Clip("G1", "Q2", artist=""), Clip("G2", "Q2", artist=""), Clip("G3", "Q1", in_metadata=False),
             Clip("G4", "Q1", artist="Known", moods="")]
    write_4q(tmp_path, clips)
    by = load_dataset("4q", tmp_path).by_id()
    for song_id in ("G1", "G2", "G3"):
        assert by[song_id].meta["artist"] == f"unknown artist of {song_id}"
        assert by[song_id].meta["group"] == by[song_id].meta["artist"]
    assert by["G4"].meta["artist"] == "Known" and by["G4"].tags == ()
    assert by["G3"].meta["title"] == "" and by["G3"].meta["pquad"] is None


def test_cli_datasets_reports_quadrants_and_groups(tmp_path, capsys):
    write_4q(tmp_path, quadrant_clips(n_artists=3, per_artist=3), seconds=0.5)
    assert main(["datasets", "--dataset", "4q", "--root", str(tmp_path), "--list"]) == 0
    out = capsys.readouterr().out
    assert "4q: 9 songs" in out and "9 with audio" in out
    assert "quadrants: Q1 3, Q2 2, Q3 2, Q4 2; 3 artists/groups (the split key)" in out
    assert "MT0000000004\t-\t0 frames\taudio\tQ1\tArtist 1" in out


# --------------------------------------------------------------------------- the real 4Q clips


@pytest.fixture(scope="module")
def real_4q(shared_data) -> Path:
    root = shared_data / "4q"
    if not (root / FOLDER / "panda_dataset_taffc_annotations.csv").is_file():
        pytest.skip("../shared/data/4q is absent")
    return root


def test_real_4q(real_4q):
    load = load_dataset("4q", real_4q, require_audio=True)
    assert len(load.songs) == 439 and load.skipped == []
    assert Counter(s.meta["quadrant"] for s in load) == {"Q1": 121, "Q2": 110, "Q3": 105, "Q4": 103}
    for s in load:
        assert s.audio_path.suffix == ".mp3" and s.audio_path.parent.name == s.meta["quadrant"]
        assert (s.meta["valence_sign"], s.meta["arousal_sign"]) == QUADRANT_SIGNS[s.meta["quadrant"]]
        assert s.meta["artist"].strip() and s.meta["artist"].lower() != "nan"
        assert s.meta["group"] == s.meta["artist"]
        assert s.tags and all(t == t.lower() for t in s.tags)
    assert load.by_id()["MT0000011357"].meta["artist"] == "Dismember"
    assert load.by_id()["MT0000011357"].tags == ("negative", "nervous", "jittery")


def test_real_4q_artist_folds(real_4q):
    load = load_dataset("4q", real_4q)
    groups = {s.song_id: s.meta["group"] for s in load}
    folds = grouped_folds(groups, n_folds=5, seed=0)
    _check_folds(folds, groups, n_folds=5)
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= max(Counter(groups.values()).values())
    split = grouped_split(groups, n_folds=5, seed=3)
    _check_parts(split, groups)


def test_cli_datasets_on_the_real_4q(real_4q, capsys):
    assert main(["datasets", "--dataset", "4q", "--root", str(real_4q)]) == 0
    out = capsys.readouterr().out
    assert "4q: 439 songs" in out and "439 with audio" in out
    assert "quadrants: Q1 121, Q2 110, Q3 105, Q4 103" in out


# --------------------------------------------------------------------------- grouped folds


def _check_folds(folds: list[list[str]], groups: dict[str, str], *, n_folds: int) -> None:
    assert len(folds) == n_folds and all(folds)
    every = [s for f in folds for s in f]
    assert sorted(every) == sorted(groups)  # each song exactly once
    fold_of_group: dict[str, set[int]] = {}
    for k, fold in enumerate(folds):
        for s in fold:
            fold_of_group.setdefault(groups[s], set()).add(k)
    assert all(len(ks) == 1 for ks in fold_of_group.values())  # no group in two folds


def _check_parts(split: dict[str, list[str]], groups: dict[str, str]) -> None:
    assert set(split) == {"train", "validation", "test"}
    assert sorted(s for p in split.values() for s in p) == sorted(groups)
    part_groups = {p: {groups[s] for s in ids} for p, ids in split.items()}
    assert not part_groups["train"] & part_groups["validation"]
    assert not part_groups["train"] & part_groups["test"]
    assert not part_groups["validation"] & part_groups["test"]


def _skewed() -> dict[str, str]:
    """One artist with 12 songs, two with 5, and 15 with one song each (37 songs)."""
    groups = {f"big{i}": "big" for i in range(12)}
    groups |= {f"m{i}": "mid-a" for i in range(5)} | {f"n{i}": "mid-b" for i in range(5)}
    groups |= {f"solo{i}": f"solo {i}" for i in range(15)}
    return groups


def test_grouped_folds_on_skewed_groups():
    groups = _skewed()
    for seed in range(5):
        folds = grouped_folds(groups, n_folds=4, seed=seed)
        _check_folds(folds, groups, n_folds=4)
        sizes = sorted(len(f) for f in folds)
        # the big artist's fold holds only it; the other 25 songs spread evenly over the other three
        assert sizes[-1] == 12 and sum(1 for f in folds if "big0" in f and len(f) == 12) == 1
        assert sizes[0] >= 8 and sizes[2] <= 9
        assert all(f == sorted(f) for f in folds)


def test_grouped_folds_equal_groups_balance_to_one_group():
    groups = {f"s{g}-{k}": f"g{g}" for g in range(11) for k in range(3)}
    folds = grouped_folds(groups, n_folds=4, seed=1)
    _check_folds(folds, groups, n_folds=4)
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 3 and sum(sizes) == 33


def test_grouped_folds_are_deterministic_per_seed_and_order_free():
    groups = _skewed()
    shuffled = dict(reversed(list(groups.items())))
    assert grouped_folds(groups, n_folds=3, seed=7) == grouped_folds(shuffled, n_folds=3, seed=7)
    many = {f"s{i}": f"g{i}" for i in range(30)}
    outcomes = {tuple(map(tuple, grouped_folds(many, n_folds=3, seed=seed))) for seed in range(4)}
    assert len(outcomes) > 1  # the seed shuffles the groups


def test_grouped_folds_errors():
    groups = {"a": "x", "b": "x", "c": "y"}
    with pytest.raises(DatasetError, match="at least 2"):
        grouped_folds(groups, n_folds=1)
    with pytest.raises(DatasetError, match="3 folds from 2 groups"):
        grouped_folds(groups, n_folds=3)
    assert sorted(map(len, grouped_folds(groups, n_folds=2))) == [1, 2]


def test_grouped_split_parts():
    groups = _skewed()
    split = grouped_split(groups, n_folds=5, test_fold=2, val_fold=4, seed=0)
    folds = grouped_folds(groups, n_folds=5, seed=0)
    assert split["test"] == folds[2] and split["validation"] == folds[4]
    assert sorted(split["train"]) == sorted(folds[0] + folds[1] + folds[3])
    _check_parts(split, groups)
    no_val = grouped_split(groups, n_folds=5, val_fold=None)
    assert no_val["validation"] == [] and len(no_val["train"]) + len(no_val["test"]) == len(groups)
    for bad in ({"test_fold": 5}, {"test_fold": 1, "val_fold": 1}, {"val_fold": -1}):
        with pytest.raises(DatasetError, match="distinct folds"):
            grouped_split(groups, n_folds=5, **bad)
