"""Datasets: one loader per on-disk layout, one record for every song, song-level splits.

>>> from memo_core.data import list_datasets, load_dataset, kfold_by_song
>>> list_datasets()
['4q', 'deam', 'emomusic', 'emopia', 'emopia_rendered', 'generic', 'mtg_jamendo', 'pmemo', 'synth',
 'vgmidi', 'vgmidi_rendered']
>>> load = load_dataset("emomusic", "~/data/emoMusic")       # doctest: +SKIP
>>> folds = kfold_by_song([s.song_id for s in load], n_folds=10)   # doctest: +SKIP

Layouts are documented in each loader's module: :mod:`.deam`, :mod:`.emomusic`,
:mod:`.pmemo`, :mod:`.mtg_jamendo`, :mod:`.generic`, the MIDI datasets
:mod:`.vgmidi` and :mod:`.emopia` (rendered to audio by :mod:`.midi_render`,
read back by :mod:`.midi_corpus`) and :mod:`.synth_loader` (the reader of the
corpus :mod:`.synth` generates; the generators are not imported here, so
loading data stays light).
"""

from __future__ import annotations

# Importing the loader modules registers them.
from memo_core.data import (
    deam,
    emomusic,
    emopia,
    fourq,
    generic,
    midi_corpus,
    mtg_jamendo,
    pmemo,
    synth_loader,
    vgmidi,
)
from memo_core.data.mtg_jamendo import jamendo_tag_list
from memo_core.data.records import DatasetLoad, DroppedValues, InvalidAnnotationsWarning, SkippedSong, SongRecord
from memo_core.data.registry import list_datasets, load_dataset, register_dataset
from memo_core.data.splits import (
    grouped_folds,
    grouped_split,
    kfold_by_song,
    official_split,
    train_val_test_by_song,
)

__all__ = [
    "SongRecord",
    "SkippedSong",
    "DroppedValues",
    "InvalidAnnotationsWarning",
    "DatasetLoad",
    "register_dataset",
    "list_datasets",
    "load_dataset",
    "jamendo_tag_list",
    "official_split",
    "kfold_by_song",
    "grouped_folds",
    "grouped_split",
    "train_val_test_by_song",
]
