"""The only place in the dashboard with ``st.cache_*``: every call into memo_core goes through here."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from memo_core.data import DatasetLoad, load_dataset
from memo_core.data import synth

__all__ = [
    "default_corpus_dir",
    "corpus_is_ready",
    "corpus_is_damaged",
    "render_default_corpus",
    "corpus_table",
    "song_curves",
    "song_audio",
]

#: The embedded demo corpus the dashboard renders on first use.
DEMO_N_SONGS = 150
DEMO_SEED = 0


def default_corpus_dir() -> Path:
    return synth.default_corpus_dir()


def corpus_is_ready(root: Path) -> bool:
    """Whether ``root`` holds a complete synthetic corpus (every file present, of any size or seed)."""
    return synth.is_complete_corpus(root)


def corpus_is_damaged(root: Path) -> bool:
    """Whether ``root`` holds a corpus description but not every file of the corpus (an interrupted copy)."""
    return (Path(root) / "corpus.json").is_file() and not synth.is_complete_corpus(root)


def render_default_corpus(progress: Callable[[int, int], None]) -> Path:
    """Render (or re-render) the demo corpus into the default folder, then forget what was cached.

    Raises:
        MemoError: the folder holds something else, or rendering failed.
    """
    path = synth.ensure_corpus(n_songs=DEMO_N_SONGS, seed=DEMO_SEED, progress=False, progress_callback=progress)
    for cached in (_load, corpus_table, song_curves, song_audio):
        cached.clear()
    return path


@st.cache_data(show_spinner="Reading the corpus…")
def _load(root: str) -> DatasetLoad:
    """The corpus, read once and shared by the table, the curves and the audio."""
    return load_dataset("synth", Path(root))


@st.cache_data(show_spinner="Reading the corpus…")
def corpus_table(root: str) -> tuple[pd.DataFrame, str]:
    """One row per song (id, split, tags, song-level valence and arousal) and the loader's report.

    Raises:
        DatasetError: the corpus cannot be read.
    """
    load = _load(root)
    rows = [
        {
            "song": s.song_id,
            "split": s.split,
            "tags": ", ".join(s.tags),
            "valence": float(np.mean(s.valence)) if s.valence is not None else np.nan,
            "arousal": float(np.mean(s.arousal)) if s.arousal is not None else np.nan,
            "tempo_bpm": s.meta.get("tempo_bpm"),
            "mode": s.meta.get("mode"),
        }
        for s in load.songs
    ]
    return pd.DataFrame(rows), load.summary()


@st.cache_data
def song_curves(root: str, song_id: str) -> dict[str, np.ndarray]:
    """Annotated (mean and rater spread) and designed valence/arousal curves of one song."""
    song = _load(root).by_id()[song_id]
    out = {
        "time_s": song.frame_times,
        "valence": song.valence,
        "arousal": song.arousal,
        "valence_std": song.valence_std,
        "arousal_std": song.arousal_std,
    }
    for key in ("design_times", "design_valence", "design_arousal"):
        if key in song.meta:
            out[key] = np.asarray(song.meta[key])
    return out


@st.cache_data
def song_audio(root: str, song_id: str) -> bytes | None:
    """The song's FLAC file, or None when it has no audio."""
    song = _load(root).by_id()[song_id]
    if not song.has_audio:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Path(song.audio_path).read_bytes()
