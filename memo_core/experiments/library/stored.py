"""A library song's stored results in the form a fresh analysis gives, so a page can show them without analysing
the song again (the dashboard's Song page opens a Library song this way).

Kept apart from :mod:`.store` because it builds :mod:`memo_core.explain` objects (which load torch), and reading
or querying a library needs neither.

>>> analysis = stored_analysis("out/library", song_id)     # doctest: +SKIP
>>> analysis.results["mca"].predictions.head()              # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from memo_core.experiments.library.store import open_library
from memo_core.explain.analysis import SongAnalysis
from memo_core.explain.explanation import SongExplanation
from memo_core.explain.familiarity import DISTANCE_MAP

__all__ = ["stored_analysis"]


def stored_analysis(library: str | os.PathLike, song_id: str) -> SongAnalysis:
    """Song ``song_id``'s results as :func:`memo_core.explain.analysis.analyse_song` gives them: per per-frame model
    of the library a :class:`~memo_core.explain.explanation.SongExplanation` with its curve and (where the library
    holds it) its per-frame feature distance as the :data:`~memo_core.explain.familiarity.DISTANCE_MAP` map, in the
    library's model order; every key is listed in ``cached``; ``content_hash`` is empty (no audio is decoded).
    Nothing is computed, and the other explanation maps of a fresh analysis (attention, saliency) are not
    stored, so they are absent.

    Raises:
        LibraryError: not a library, or it has no such song.
    """
    lib = open_library(library)
    row = lib.song(song_id)
    table = lib.frames(song_id)
    entries = {str(c.get("key")): c for c in lib.checkpoints_of(str(row.get("checkpoint_set") or "")) or ()}
    present = set(table["model"])
    order = [m for m in lib.frame_models if m in present] + sorted(present - set(lib.frame_models))
    results = {}
    for key in order:
        rows = table[table["model"] == key]
        curve = rows[["time_s", "valence", "arousal"]].astype(float).reset_index(drop=True)
        distance = rows["distance"].to_numpy(float)
        maps = ({DISTANCE_MAP: {"values": distance, "axes": {"time_s": curve["time_s"].to_numpy(float)}}}
                if np.isfinite(distance).any() else {})
        results[key] = SongExplanation(source=str(row["name"]), predictions=curve, explanations=maps,
                                       model_name=str(entries.get(key, {}).get("model", "")))
    # content_hash is the decoded audio's (what the caches key); the library keys songs by the file's bytes
    return SongAnalysis(source=str(row["name"]), duration_s=float(row["duration_s"]), content_hash="",
                        results=results, cached=tuple(results))
