"""Datasets: one loader per on-disk layout, one record for every song, song-level splits.

>>> from memo_core.data import list_datasets, load_dataset, kfold_by_song
>>> list_datasets()
['deam', 'emomusic', 'generic', 'mtg_jamendo', 'pmemo', 'synth']
>>> load = load_dataset("emomusic", "~/data/emoMusic")       # doctest: +SKIP
>>> folds = kfold_by_song([s.song_id for s in load], n_folds=10)   # doctest: +SKIP

Layouts are documented in each loader's module: :mod:`.deam`, :mod:`.emomusic`,
:mod:`.pmemo`, :mod:`.mtg_jamendo`, :mod:`.generic` and :mod:`.synth_loader`
(the reader of the corpus :mod:`.synth` generates; the generator itself is not
imported here, so loading data stays light).
"""

from __future__ import annotations

# Importing the loader modules registers them.
from . import deam, emomusic, generic, mtg_jamendo, pmemo, synth_loader  # noqa: F401
from .mtg_jamendo import jamendo_tag_list
from .records import DatasetLoad, SkippedSong, SongRecord
from .registry import list_datasets, load_dataset, register_dataset
from .splits import kfold_by_song, official_split, train_val_test_by_song

__all__ = [
    "SongRecord",
    "SkippedSong",
    "DatasetLoad",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "jamendo_tag_list",
    "official_split",
    "kfold_by_song",
    "train_val_test_by_song",
]
