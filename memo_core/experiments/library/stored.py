"""A library song's stored results in the form a fresh analysis gives, so a page can show them without analysing
the song again (the dashboard's Song page opens a Library song this way).

Kept apart from :mod:`.store` because it builds :mod:`memo_core.explain` objects (which load torch), and reading
or querying a library needs neither.

>>> song = stored_song("out/library", song_id)                 # doctest: +SKIP
>>> song.analysis.results["mca"].predictions.head()           # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memo_core.experiments.library.store import Library, open_library
from memo_core.explain.analysis import SongAnalysis
from memo_core.explain.explanation import SongExplanation
from memo_core.explain.familiarity import DISTANCE_MAP

__all__ = ["StoredSong", "stored_song"]


@dataclass(frozen=True)
class StoredSong:
    """One library song as stored.

    Attributes:
        analysis: its results as :func:`memo_core.explain.analysis.analyse_song` gives them: per per-frame model a
            :class:`~memo_core.explain.explanation.SongExplanation` with its curve and (where the library holds
            it) its per-frame feature distance as the :data:`~memo_core.explain.familiarity.DISTANCE_MAP` map,
            in the library's model order; every key in ``cached``; ``content_hash`` empty (no audio is decoded;
            elsewhere it is the decoded audio's hash). The other maps of a fresh analysis are not stored.
        checkpoints: the records of the checkpoints of the run that analysed it
            (:meth:`~memo_core.experiments.library.store.Library.checkpoints_of`), or None when the manifest does
            not record that run.
        row: its songs-table row.
    """

    analysis: SongAnalysis
    checkpoints: list[dict[str, Any]] | None
    row: dict[str, Any] = field(default_factory=dict)


def stored_song(library: str | os.PathLike | Library, song_id: str) -> StoredSong:
    """Song ``song_id`` of ``library`` as stored (:class:`StoredSong`); nothing is computed.

    Raises:
        LibraryError: not a library, or it has no such song.
    """
    lib = library if isinstance(library, Library) else open_library(library)
    row = lib.song(song_id)
    records = lib.checkpoints_of(str(row.get("checkpoint_set") or ""))
    models = {str(c.get("key")): str(c.get("model", "")) for c in records or ()}
    results = {}
    for key, frames in lib.curves(song_id, ("time_s", "valence", "arousal", "distance")).items():
        curve = frames[["time_s", "valence", "arousal"]].astype(float)
        distance = frames["distance"].to_numpy(float)
        maps = ({DISTANCE_MAP: {"values": distance, "axes": {"time_s": curve["time_s"].to_numpy(float)}}}
                if np.isfinite(distance).any() else {})
        results[key] = SongExplanation(source=str(row["name"]), predictions=curve, explanations=maps,
                                       model_name=models.get(key, ""))
    analysis = SongAnalysis(source=str(row["name"]), duration_s=float(row["duration_s"]), content_hash="",
                            results=results, cached=tuple(results))
    return StoredSong(analysis, records, row)
