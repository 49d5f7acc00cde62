"""Song-level splits: no song on two sides, full coverage, determinism, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from memo_core.data import (
    DatasetLoad,
    SongRecord,
    kfold_by_song,
    load_dataset,
    official_split,
    train_val_test_by_song,
)
from memo_core.errors import DatasetError

SONGS = [str(i) for i in range(1, 24)]


def _load(splits: list[str | None]) -> DatasetLoad:
    songs = [SongRecord(song_id=str(i), dataset="toy", split=s) for i, s in enumerate(splits)]
    return DatasetLoad(dataset="toy", root=None, songs=songs)


def test_official_split_groups_and_leaves_out_unsplit_songs():
    split = official_split(_load(["train", "test", None, "train", "validation"]))
    assert split == {"test": ["1"], "train": ["0", "3"], "validation": ["4"]}


def test_official_split_without_split_raises():
    with pytest.raises(DatasetError, match="no official split.*kfold_by_song"):
        official_split(_load([None, None]))


def test_official_split_real_emomusic(shared_data):
    split = official_split(load_dataset("emomusic", shared_data / "emomusic"))
    assert sorted(split) == ["development", "evaluation"]
    assert len(split["development"]) + len(split["evaluation"]) == 744
    assert not set(split["development"]) & set(split["evaluation"])


@pytest.mark.parametrize("n_folds", [2, 5, 10, 23])
def test_kfold_partitions_songs(n_folds):
    folds = kfold_by_song(SONGS, n_folds=n_folds, seed=3)
    assert len(folds) == n_folds
    tests = [test for _, test in folds]
    # Every song is in exactly one test fold, and never on both sides of a fold.
    assert sorted(s for t in tests for s in t) == sorted(SONGS)
    for train, test in folds:
        assert not set(train) & set(test)
        assert sorted(train + test) == sorted(SONGS)
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1


def test_kfold_is_deterministic_and_order_free():
    a = kfold_by_song(SONGS, n_folds=5, seed=1)
    b = kfold_by_song(list(reversed(SONGS)) + SONGS[:3], n_folds=5, seed=1)
    assert a == b
    assert a != kfold_by_song(SONGS, n_folds=5, seed=2)


def test_kfold_errors():
    with pytest.raises(DatasetError, match="cannot make 24 folds from 23 songs"):
        kfold_by_song(SONGS, n_folds=24)
    with pytest.raises(DatasetError, match="at least 2"):
        kfold_by_song(SONGS, n_folds=1)


def test_train_val_test_sizes_and_coverage():
    ids = [f"s{i}" for i in range(100)]
    split = train_val_test_by_song(ids, val=0.15, test=0.2, seed=0)
    assert [len(split[k]) for k in ("train", "validation", "test")] == [65, 15, 20]
    assert sorted(sum(split.values(), [])) == sorted(ids)
    assert split == train_val_test_by_song(list(reversed(ids)), val=0.15, test=0.2, seed=0)
    assert split != train_val_test_by_song(ids, val=0.15, test=0.2, seed=1)


def test_train_val_test_small_and_zero_fractions():
    split = train_val_test_by_song(["a", "b", "c"], val=0.1, test=0.1)
    assert [len(split[k]) for k in ("train", "validation", "test")] == [1, 1, 1]
    assert train_val_test_by_song(["a", "b"], val=0.0, test=0.5)["validation"] == []


@pytest.mark.parametrize(
    ("ids", "val", "test", "message"),
    [
        (SONGS, 1.0, 0.1, "val must be a fraction"),
        (SONGS, 0.1, -0.1, "test must be a fraction"),
        (SONGS, 0.5, 0.5, "below 1"),
        (["a", "b"], 0.1, 0.1, "too few"),
    ],
)
def test_train_val_test_errors(ids, val, test, message):
    with pytest.raises(DatasetError, match=message):
        train_val_test_by_song(ids, val=val, test=test)


def test_splits_of_real_deam_are_by_song(shared_data):
    load = load_dataset("deam", shared_data / "deam")
    split = official_split(load)
    assert len(split["test"]) == 58 and all(int(s) >= 2001 for s in split["test"])
    folds = kfold_by_song([s.song_id for s in load], n_folds=10)
    assert np.sum([len(t) for _, t in folds]) == 1802
