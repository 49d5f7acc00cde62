"""Which files of a library's sources are songs of a dataset in its official layout, and the listeners' song-level
valence and arousal that dataset gives them (so a collection can be read against its labels).

A SOURCE folder (or a folder directly in it) that one of the audio datasets' loaders opens
(:data:`AUDIO_DATASETS`: 4Q, DEAM, emoMusic, PMEmo, MTG-Jamendo, the synthetic corpus, the generic layout) gives
each of its audio files: ``dataset`` (the loader's name), ``dataset_song_id`` (the dataset's own id),
``dataset_root`` (the folder the loader opened: the Song page reads the song's annotation from it) and
``label_valence`` / ``label_arousal`` on [-1, 1]: the song-level (static) rating where the dataset has one (DEAM,
emoMusic, PMEmo, the synthetic corpus), else the quadrant's sign (4Q: +1 or -1), else the mean of the dynamic
annotation (the generic layout without static values), else missing (MTG-Jamendo has tags only). The MIDI
datasets (VGMIDI, EMOPIA) hold no audio and are not looked for.

>>> labels = dataset_labels(["/data/4q/MER_audio_taffc_dataset"])     # doctest: +SKIP
>>> labels[Path("/data/4q/MER_audio_taffc_dataset/Q1/MT0000004637.mp3")]  # doctest: +SKIP
{'dataset': '4q', 'dataset_song_id': 'MT0000004637', 'dataset_root': '/data/4q/MER_audio_taffc_dataset', ...}
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.data import load_dataset
from memo_core.data.records import SongRecord
from memo_core.experiments.library.store import DATASET_COLUMNS

__all__ = ["AUDIO_DATASETS", "DATASET_COLUMNS", "dataset_labels", "song_labels"]

#: The loaders whose songs are audio files in the dataset's folder (tried in this order; the generic layout last).
AUDIO_DATASETS = ("4q", "deam", "emomusic", "pmemo", "mtg_jamendo", "synth", "generic")
#: Folders directly in a SOURCE tried as dataset roots at most (a dataset's top folder often sits one level down).
_MAX_CHILDREN = 50


def song_labels(song: SongRecord, root: str | os.PathLike = "") -> dict[str, Any]:
    """One dataset song's :data:`DATASET_COLUMNS` values (see the module's docstring for which label); ``root``:
    the folder its loader opened."""
    out: dict[str, Any] = {"dataset": song.dataset, "dataset_song_id": str(song.song_id),
                           "dataset_root": str(Path(root).resolve()) if str(root) else ""}
    for target in ("valence", "arousal"):
        static = getattr(song, f"static_{target}", None)
        sign = song.meta.get(f"{target}_sign")
        curve = getattr(song, target, None)
        if static is not None and np.isfinite(static):
            value = float(static)
        elif sign is not None:
            value = float(np.sign(sign))
        elif curve is not None and np.isfinite(np.asarray(curve, float)).any():
            value = float(np.nanmean(np.asarray(curve, float)))
        else:
            value = float("nan")
        out[f"label_{target}"] = value
    return out


def _open(folder: Path) -> list[SongRecord]:
    """The songs with audio of the first audio dataset whose layout ``folder`` has, or none."""
    for name in AUDIO_DATASETS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a dataset's notes on skipped rows are for its own commands
                found = load_dataset(name, folder, require_audio=True)
        except Exception:  # noqa: BLE001 - any loader failure means "not this layout": the run goes on without it
            continue
        songs = [s for s in found.songs if s.has_audio]
        if songs:
            return songs
    return []


def dataset_labels(sources: Sequence[str | os.PathLike]) -> dict[Path, dict[str, Any]]:
    """``{resolved audio path: its DATASET_COLUMNS values}`` for the files of ``sources`` that belong to a dataset
    in its official layout: each folder source, and each folder directly in one, is tried (files and lists of
    paths are not)."""
    found: dict[Path, dict[str, Any]] = {}
    for source in sources:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            continue
        try:
            children = sorted(c for c in folder.iterdir() if c.is_dir() and not c.name.startswith("."))
        except OSError:
            children = []
        for candidate in [folder, *children[:_MAX_CHILDREN]]:
            for song in _open(candidate):
                found.setdefault(Path(song.audio_path).resolve(), song_labels(song, candidate))
    return found
