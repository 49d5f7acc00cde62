"""Song-level splits: the official ones, k folds, and train/validation/test.

Every split is by song: all frames of a song go to the same side, since
frames of one song are strongly correlated and a song on both sides would
inflate every score. Splits are deterministic for a given seed and song set,
whatever the order the ids come in.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from memo_core.data._common import song_sort_key
from memo_core.data.records import DatasetLoad
from memo_core.errors import DatasetError

__all__ = ["official_split", "kfold_by_song", "train_val_test_by_song", "dataset_split", "grouped_folds",
           "grouped_split"]


def _unique_sorted(song_ids: Iterable[str]) -> list[str]:
    return sorted({str(s) for s in song_ids}, key=song_sort_key)


def _shuffled(song_ids: Iterable[str], seed: int) -> list[str]:
    ids = _unique_sorted(song_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    return [ids[i] for i in order]


def official_split(load: DatasetLoad) -> dict[str, list[str]]:
    """The dataset's own split: song ids per split name.

    Songs without a split (e.g. MTG-Jamendo tracks the chosen split leaves
    out) are left out.

    Args:
        load: what a loader returned.

    Returns:
        ``{split name: sorted song ids}``, e.g. ``{"train": [...], "test": [...]}``.

    Raises:
        DatasetError: no song has a split (PMEmo, the generic layout without a
            ``split`` column).
    """
    split: dict[str, list[str]] = {}
    for song in load.songs:
        if song.split is not None:
            split.setdefault(song.split, []).append(song.song_id)
    if not split:
        raise DatasetError(
            f"{load.dataset} has no official split (no song carries a split name); "
            "use kfold_by_song or train_val_test_by_song instead"
        )
    return {name: sorted(ids, key=song_sort_key) for name, ids in sorted(split.items())}


def kfold_by_song(
    song_ids: Iterable[str], *, n_folds: int = 10, seed: int = 0
) -> list[tuple[list[str], list[str]]]:
    """K folds over songs: each song is in exactly one test fold.

    Args:
        song_ids: the songs (duplicates are counted once).
        n_folds: number of folds, at least 2 and at most the number of songs.
        seed: shuffling seed.

    Returns:
        ``n_folds`` pairs ``(train ids, test ids)``, each list sorted; test
        fold sizes differ by at most one.

    Raises:
        DatasetError: ``n_folds`` < 2 or more folds than songs.
    """
    ids = _shuffled(song_ids, seed)
    if n_folds < 2:
        raise DatasetError(f"n_folds must be at least 2, got {n_folds}")
    if n_folds > len(ids):
        raise DatasetError(
            f"cannot make {n_folds} folds from {len(ids)} songs: each fold needs at least one song; "
            f"use n_folds <= {len(ids)}"
        )
    folds = [list(chunk) for chunk in np.array_split(np.asarray(ids, dtype=object), n_folds)]
    out = []
    for k, test in enumerate(folds):
        train = [s for j, fold in enumerate(folds) if j != k for s in fold]
        out.append((sorted(train, key=song_sort_key), sorted(test, key=song_sort_key)))
    return out


def train_val_test_by_song(
    song_ids: Iterable[str], *, val: float = 0.15, test: float = 0.15, seed: int = 0
) -> dict[str, list[str]]:
    """A random train/validation/test split of songs.

    Args:
        song_ids: the songs (duplicates are counted once).
        val: fraction of songs for validation, in [0, 1).
        test: fraction of songs for test, in [0, 1); ``val + test`` < 1.
        seed: shuffling seed.

    Returns:
        ``{"train": ids, "validation": ids, "test": ids}``, each sorted. Sizes
        are the rounded fractions, at least one song for a non-zero fraction.

    Raises:
        DatasetError: fractions out of range, or too few songs to give every
            requested part one song and keep one for training.
    """
    for name, fraction in (("val", val), ("test", test)):
        if not 0.0 <= fraction < 1.0:
            raise DatasetError(f"{name} must be a fraction in [0, 1), got {fraction}")
    if val + test >= 1.0:
        raise DatasetError(f"val + test must be below 1 to leave songs for training, got {val + test}")
    ids = _shuffled(song_ids, seed)
    n = len(ids)
    n_val = max(1, round(val * n)) if val > 0 else 0
    n_test = max(1, round(test * n)) if test > 0 else 0
    if n_val + n_test >= n:
        raise DatasetError(
            f"{n} songs are too few for val={val} and test={test}: each needs at least one song "
            "and training needs at least one"
        )
    parts = {
        "train": ids[n_val + n_test :],
        "validation": ids[:n_val],
        "test": ids[n_val : n_val + n_test],
    }
    return {name: sorted(part, key=song_sort_key) for name, part in parts.items()}


def grouped_folds(groups: dict[str, str], *, n_folds: int = 5, seed: int = 0) -> list[list[str]]:
    """K folds of songs where all songs of one group (an artist, a piece's segments) share a fold.

    Groups are shuffled (seeded), then each goes to the fold with the fewest songs so far
    (largest groups first), so folds are balanced in songs while no group spans two folds.

    Args:
        groups: ``{song_id: group key}``.
        n_folds: number of folds, at least 2 and at most the number of groups.
        seed: shuffling seed.

    Returns:
        ``n_folds`` lists of song ids (each sorted), disjoint, covering every song.

    Raises:
        DatasetError: fewer than 2 folds or more folds than groups.
    """
    members: dict[str, list[str]] = {}
    for song_id in _unique_sorted(groups):
        members.setdefault(str(groups[song_id]), []).append(song_id)
    if n_folds < 2:
        raise DatasetError(f"n_folds must be at least 2, got {n_folds}")
    if n_folds > len(members):
        raise DatasetError(f"cannot make {n_folds} folds from {len(members)} groups: use n_folds <= {len(members)}")
    keys = sorted(members)
    order = np.random.default_rng(seed).permutation(len(keys))
    shuffled = [keys[i] for i in order]
    shuffled.sort(key=lambda k: -len(members[k]))  # stable: ties keep the seeded order
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for key in shuffled:
        target = min(range(n_folds), key=lambda f: (len(folds[f]), f))
        folds[target].extend(members[key])
    return [sorted(fold, key=song_sort_key) for fold in folds]


def grouped_split(groups: dict[str, str], *, n_folds: int = 5, test_fold: int = 0, val_fold: int | None = 1,
                  seed: int = 0) -> dict[str, list[str]]:
    """Train/validation/test songs from :func:`grouped_folds`: one fold for test, one for validation.

    Returns:
        ``{"train": ids, "validation": ids, "test": ids}`` with no group in two parts.

    Raises:
        DatasetError: bad fold numbers (see :func:`grouped_folds`).
    """
    folds = grouped_folds(groups, n_folds=n_folds, seed=seed)
    if not 0 <= test_fold < n_folds or (val_fold is not None and (not 0 <= val_fold < n_folds or val_fold == test_fold)):
        raise DatasetError(f"test_fold {test_fold} and val_fold {val_fold} must be distinct folds of 0..{n_folds - 1}")
    held = {test_fold} | ({val_fold} if val_fold is not None else set())
    train = sorted((s for f, fold in enumerate(folds) if f not in held for s in fold), key=song_sort_key)
    return {"train": train, "validation": folds[val_fold] if val_fold is not None else [], "test": folds[test_fold]}


_TRAIN_NAMES = ("train", "development")
_VAL_NAMES = ("validation", "val")
_TEST_NAMES = ("test", "evaluation")


def dataset_split(load: DatasetLoad, *, seed: int = 0, val: float = 0.15, test: float = 0.15
                  ) -> dict[str, list[str]]:
    """Train/validation/test song ids: the dataset's official split where it has one.

    emoMusic's ``development``/``evaluation`` count as train/test; a split
    without validation songs gets them from its training songs (fraction
    ``val``, seeded). A dataset without an official split (PMEmo) gets
    :func:`train_val_test_by_song`.

    Returns:
        ``{"train": ids, "validation": ids, "test": ids}``.

    Raises:
        DatasetError: an official split without training songs, or too few songs to split.
    """
    try:
        official = official_split(load)
    except DatasetError:
        return train_val_test_by_song([s.song_id for s in load.songs], val=val, test=test, seed=seed)
    pick = lambda names: [i for n in names for i in official.get(n, [])]  # noqa: E731
    train, validation, test_ids = pick(_TRAIN_NAMES), pick(_VAL_NAMES), pick(_TEST_NAMES)
    if not train:
        raise DatasetError(f"{load.dataset}'s official split has no training songs (splits: {', '.join(official)})")
    if not validation and len(train) >= 3:
        carved = train_val_test_by_song(train, val=val, test=0.0, seed=seed)
        train, validation = carved["train"], carved["validation"]
    return {"train": train, "validation": validation, "test": test_ids}
