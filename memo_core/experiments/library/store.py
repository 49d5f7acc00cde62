"""The LIBRARY folder: a whole collection's analysis kept as Parquet, and its readers and writers.

A LIBRARY is what ``python -m memo_core library analyse SOURCE --out LIBRARY`` writes
(:mod:`memo_core.experiments.library.analyse`). It is plain files, readable by
pandas, pyarrow, DuckDB or Spark without MEMO::

    LIBRARY/
      manifest.json                 what was run (below)
      songs/<song_id>.parquet       one row per distinct audio content (written last: its presence means "done")
      frames/<song_id>.parquet      that song's per-frame valence/arousal, one row per (model, time)
      errors/<error_id>.parquet     one row per file that could not be analysed
      index.parquet                 every path found -> its song_id (and the size/mtime that hash was taken at)
      songs.parquet                 the songs table in one file (a cache: used only while it matches songs/)

One file per song keeps a run resumable and idempotent: each task writes its
song's files atomically (:func:`memo_core.fileio.atomic_write`), frames first
and the song row last, so a killed run leaves whole songs or nothing, and a
re-run skips every song whose row exists with the same checkpoint set. One
song's frames are read without scanning the rest (:meth:`Library.frames`).

``manifest.json``::

    {"format": "memo-library", "version": 1,
     "checkpoints": [{"key", "file", "sha256", "model", "features", "task", "targets", "familiarity"}, ...],
     "features": [feature set names], "checkpoint_set": CHECKPOINT_SET,
     "checkpoint_sets": {CHECKPOINT_SET: [checkpoints of that set], ...},   every run's, so each song's
                                                                           row (its checkpoint_set) finds its own
     "memo_version", "created", "updated", "sources": [SOURCE, ...]}

The ``songs`` table (:data:`SONG_COLUMNS`, then per per-frame model KEY the
columns of :func:`model_columns`, then :data:`SONG_EXTRA_COLUMNS`):

- ``song_id``: SHA-256 (hex) of the file's bytes; ``path``: the file as found
  (the first path in sorted order when several files hold the same bytes:
  :meth:`Library.paths` lists them all); ``name``: the file name.
- ``duration_s``; ``n_frames``: frames of the longest per-frame model curve;
  ``sections``: how many sections :func:`memo_core.explain.structure.song_structure` found.
- ``valence``, ``arousal``: the song means on [-1, 1], averaged over the per-frame models.
- ``agreement`` (0..1): how much the per-frame models agree: 1 minus the mean,
  over time, of the models' standard deviation at each instant (valence and
  arousal averaged; on [-1, 1] a standard deviation is at most 1). 1 is
  identical curves; NaN with fewer than two per-frame models.
- ``quadrant``: Russell's quadrant (:data:`memo_core.explain.song.QUADRANTS`
  words) when :func:`memo_core.explain.song.quadrant_call` decides both axes for
  the models together, else ``"near the centre"``; ``position`` holds the
  call's full words (e.g. "near the centre on valence; energetic (high arousal)").
- ``quadrant_confidence`` (0..1): the share of frames (every per-frame model's)
  that lie in the quadrant of the song mean; 0.25 is what chance gives, 1 is every frame.
- ``top_tags``: comma-separated tags scored above the tagger's threshold (0.5) by
  the song mean of the tagger checkpoints' scores, best first; "" if none or no tagger.
- ``ood_share``: share of frames the familiarity measure
  (:mod:`memo_core.explain.familiarity`) flags as unlike the training data, over
  the models that have a reference (NaN where none has); ``silent_share``: share of
  frames below :data:`memo_core.explain.familiarity.SILENCE_DBFS`.
- per per-frame model KEY: ``KEY_valence_mean``, ``KEY_valence_std``,
  ``KEY_valence_min``, ``KEY_valence_max`` and the same for arousal.
- ``checkpoint_set``: :func:`checkpoint_set_id` of the checkpoints that made the
  row; ``analysed``: when (ISO 8601, UTC); ``analyse_s``: seconds the task took.
- ``dataset``, ``dataset_song_id``, ``dataset_root``, ``label_valence``, ``label_arousal``: for a
  file of a dataset in its official layout among the sources, the dataset, its own id, the folder its
  loader opened and the listeners' song-level valence and arousal on [-1, 1] (:mod:`.datasets` says
  which label); "" / NaN otherwise
  (and in rows written before these columns existed, read as missing).

The ``frames`` table: ``song_id, time_s`` (frame start), ``model, valence, arousal``, ``distance``
(the frame's feature distance to the model's training songs,
:data:`memo_core.explain.familiarity.DISTANCE`; NaN where the model has none; a
library written before this column existed reads it as NaN).
The ``errors`` table: ``path, song_id`` ("" when the bytes could not be read),
``reason, when``, then ``final`` (True: bad input, not retried for the same bytes
and checkpoints; False: a failure such as a worker dying, retried on the next run)
and ``checkpoint_set``.

>>> lib = open_library("out/library")                        # doctest: +SKIP
>>> lib.songs().sort_values("arousal").tail(3)               # doctest: +SKIP
>>> lib.frames(lib.songs().song_id[0])                       # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from memo_core.errors import MemoError
from memo_core.fileio import atomic_write, json_safe

__all__ = [
    "LIBRARY_FORMAT",
    "LIBRARY_VERSION",
    "MANIFEST_FILE",
    "SONGS_DIR",
    "FRAMES_DIR",
    "ERRORS_DIR",
    "INDEX_FILE",
    "SONGS_FILE",
    "SONG_COLUMNS",
    "SONG_EXTRA_COLUMNS",
    "DATASET_COLUMNS",
    "NO_DATASET",
    "FRAME_COLUMNS",
    "ERROR_COLUMNS",
    "INDEX_COLUMNS",
    "NEAR_CENTRE",
    "LibraryError",
    "Library",
    "open_library",
    "create_library",
    "model_columns",
    "per_frame_models",
    "checkpoint_set_id",
    "manifest_entry",
    "now_iso",
    "error_id",
    "write_song",
    "write_error",
    "remove_error",
    "write_index",
    "is_library",
]

LIBRARY_FORMAT = "memo-library"
LIBRARY_VERSION = 1
MANIFEST_FILE = "manifest.json"
SONGS_DIR = "songs"
FRAMES_DIR = "frames"
ERRORS_DIR = "errors"
INDEX_FILE = "index.parquet"
SONGS_FILE = "songs.parquet"

#: The songs table's fixed columns, in order (per-model columns follow, then :data:`SONG_EXTRA_COLUMNS`).
SONG_COLUMNS = ("song_id", "path", "name", "duration_s", "n_frames", "sections", "valence", "arousal",
                "agreement", "quadrant", "quadrant_confidence", "top_tags", "ood_share", "silent_share")
#: The dataset columns of a file that is no dataset's song (:mod:`.datasets` fills them for one that is).
NO_DATASET: dict[str, Any] = {"dataset": "", "dataset_song_id": "", "dataset_root": "", "label_valence": float("nan"),
                              "label_arousal": float("nan")}
#: A dataset song's id, folder and listeners' labels.
DATASET_COLUMNS = tuple(NO_DATASET)
#: Columns after the per-model ones.
SONG_EXTRA_COLUMNS = ("position", "checkpoint_set", "analysed", "analyse_s", *DATASET_COLUMNS)
FRAME_COLUMNS = ("song_id", "time_s", "model", "valence", "arousal", "distance")
ERROR_COLUMNS = ("path", "song_id", "reason", "when", "final", "checkpoint_set")
#: ``index.parquet``: every audio path found in the sources and the song it holds.
INDEX_COLUMNS = ("path", "song_id", "size", "mtime_ns")
#: The ``quadrant`` of a song whose position is not clearly inside one quadrant.
NEAR_CENTRE = "near the centre"

_STATS = ("mean", "std", "min", "max")


class LibraryError(MemoError):
    """A folder is not a MEMO library, or a library's files are damaged or of another version."""


def now_iso() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def model_columns(key: str) -> list[str]:
    """The songs-table columns of one per-frame model: ``KEY_valence_mean`` ... ``KEY_arousal_max``."""
    return [f"{key}_{target}_{stat}" for target in ("valence", "arousal") for stat in _STATS]


def per_frame_models(manifest: Mapping[str, Any]) -> list[str]:
    """Keys of the manifest's checkpoints that give valence/arousal curves (regression), in manifest order."""
    return [str(c["key"]) for c in manifest.get("checkpoints", [])
            if c.get("task") == "regression" and {"valence", "arousal"} <= set(c.get("targets") or ())]


def manifest_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The library manifest's record of one checkpoint: ``key, file, sha256, model, features, task, targets``
    and ``familiarity`` (the reference its ``distance`` column is judged by; None when it has none), taken from
    its checkpoints-manifest entry."""
    reference = entry.get("familiarity")
    return {"key": str(entry["key"]), "file": str(entry.get("file", "")), "sha256": str(entry.get("sha256", "")),
            "model": str(entry.get("model", "")), "features": str(entry.get("features", "")),
            "task": str(entry.get("task", "")), "targets": [str(t) for t in entry.get("targets") or ()],
            "familiarity": dict(reference) if isinstance(reference, Mapping) else None}


def checkpoint_set_id(checkpoints: Iterable[Mapping[str, Any]]) -> str:
    """A short id (16 hex digits) of a set of checkpoints: the SHA-256 of their sorted ``key:sha256`` pairs.

    Songs are keyed by (content hash, this id): a re-run with the same checkpoints
    skips a song, with other checkpoints (or a retrained file) analyses it again.
    """
    pairs = sorted(f"{c['key']}:{c.get('sha256', '')}" for c in checkpoints)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:16]


def error_id(path: str) -> str:
    """The file name stem of a path's error row: SHA-256 of the path, 24 hex digits."""
    return hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _write_parquet(path: Path, table: pd.DataFrame) -> Path:
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    return atomic_write(path, lambda handle: pq.write_table(arrow, handle), binary=True)


def _read_parquet(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        return pq.read_table(path, columns=list(columns) if columns else None).to_pandas()
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise LibraryError(f"{path} is not a readable Parquet file ({exc}); run `library analyse` again "
                           "to rewrite it, or delete it") from exc


def write_song(library: str | os.PathLike, row: Mapping[str, Any], frames: pd.DataFrame) -> None:
    """Write one song's results: its frames, then its songs-table row (the row marks the song done).

    Args:
        library: the LIBRARY folder.
        row: the song's row (:data:`SONG_COLUMNS`, per-model columns, :data:`SONG_EXTRA_COLUMNS`).
        frames: its frames (:data:`FRAME_COLUMNS`).
    """
    root = Path(library)
    song_id = str(row["song_id"])
    frames = frames.reindex(columns=list(FRAME_COLUMNS)).sort_values(["model", "time_s"], kind="stable")
    _write_parquet(root / FRAMES_DIR / f"{song_id}.parquet", frames)
    _write_parquet(root / SONGS_DIR / f"{song_id}.parquet", pd.DataFrame([dict(row)]))


def write_error(library: str | os.PathLike, path: str, reason: str, *, song_id: str = "", final: bool = True,
                checkpoint_set: str = "") -> None:
    """Record that ``path`` could not be analysed, and why (replaces an earlier row for the same path)."""
    row = {"path": str(path), "song_id": str(song_id or ""), "reason": str(reason), "when": now_iso(),
           "final": bool(final), "checkpoint_set": str(checkpoint_set)}
    _write_parquet(Path(library) / ERRORS_DIR / f"{error_id(path)}.parquet", pd.DataFrame([row]))


def remove_error(library: str | os.PathLike, path: str) -> None:
    """Forget an earlier error of ``path`` (it has now been analysed)."""
    (Path(library) / ERRORS_DIR / f"{error_id(path)}.parquet").unlink(missing_ok=True)


def write_index(library: str | os.PathLike, index: pd.DataFrame) -> None:
    """Write ``index.parquet`` (:data:`INDEX_COLUMNS`): every path found and the song it holds."""
    _write_parquet(Path(library) / INDEX_FILE, index.reindex(columns=list(INDEX_COLUMNS)))


def is_library(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with a MEMO library manifest."""
    try:
        data = json.loads((Path(path) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == LIBRARY_FORMAT


def create_library(path: str | os.PathLike, checkpoints: Sequence[Mapping[str, Any]], *,
                   features: Sequence[str], sources: Sequence[str] = (), memo_version: str = "") -> Library:
    """Create a LIBRARY folder, or update an existing one's manifest for a new run.

    Args:
        path: the folder (created if missing; an existing folder must be empty or a MEMO library).
        checkpoints: the run's checkpoints (:func:`manifest_entry` records).
        features: the feature sets they need.
        sources: the SOURCE arguments of the run (added to those of earlier runs).
        memo_version: MEMO's version.

    Raises:
        LibraryError: the folder holds other files and is not a MEMO library.
    """
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise LibraryError(f"{root} is a file; give --out a folder (new or an existing MEMO library)")
    previous: dict[str, Any] = {}
    if root.is_dir() and any(root.iterdir()):
        previous = open_library(root).manifest
    entries = [manifest_entry(c) for c in checkpoints]
    now = now_iso()
    set_id = checkpoint_set_id(entries)
    sets = dict(previous.get("checkpoint_sets") or {})
    if previous.get("checkpoint_set") and isinstance(previous.get("checkpoints"), list):
        sets.setdefault(str(previous["checkpoint_set"]), previous["checkpoints"])  # a manifest from before the map
    sets[set_id] = entries
    manifest = {"format": LIBRARY_FORMAT, "version": LIBRARY_VERSION, "checkpoints": entries,
                "features": sorted({str(f) for f in features}), "checkpoint_set": set_id,
                "checkpoint_sets": sets,
                "memo_version": str(memo_version), "created": previous.get("created", now), "updated": now,
                "sources": list(dict.fromkeys([*previous.get("sources", []), *map(str, sources)]))}
    for sub in (SONGS_DIR, FRAMES_DIR, ERRORS_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    atomic_write(root / MANIFEST_FILE, lambda h: json.dump(json_safe(manifest), h, indent=2))
    return Library(root, manifest)


def open_library(path: str | os.PathLike) -> Library:
    """Open a LIBRARY folder for reading.

    Raises:
        LibraryError: no such folder, no ``manifest.json``, a manifest that is not a
            MEMO library's, or one of a newer version.
    """
    root = Path(path).expanduser()
    hint = "give the folder `python -m memo_core library analyse SOURCE --out LIBRARY` wrote"
    if not root.is_dir():
        raise LibraryError(f"{root} is not a folder; {hint}")
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise LibraryError(f"{root} is not a MEMO library (it has no {MANIFEST_FILE}); {hint}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{manifest_path} is not readable JSON ({exc}); {hint}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != LIBRARY_FORMAT:
        raise LibraryError(f"{manifest_path} is not a MEMO library manifest (format is not {LIBRARY_FORMAT!r}); "
                           f"{hint}")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > LIBRARY_VERSION:
        raise LibraryError(f"{root} is a library of version {manifest.get('version')!r}; this MEMO reads version "
                           f"{LIBRARY_VERSION} and older: update MEMO")
    if not isinstance(manifest.get("checkpoints"), list):
        raise LibraryError(f"{manifest_path} has no list of checkpoints; {hint}")
    return Library(root, manifest)


def _part_files(folder: Path) -> dict[str, os.DirEntry]:
    """``{stem: entry}`` of the ``*.parquet`` files in ``folder`` (none when it is missing)."""
    try:
        with os.scandir(folder) as found:
            return {e.name[:-8]: e for e in found if e.name.endswith(".parquet") and not e.name.startswith(".")}
    except FileNotFoundError:
        return {}


def _concat(parts: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


class Library:
    """A LIBRARY folder opened for reading (see the module's docstring for the format).

    Attributes:
        path: the folder.
        manifest: ``manifest.json``'s content.
    """

    def __init__(self, path: str | os.PathLike, manifest: dict[str, Any]):
        self.path = Path(path)
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r}, {len(self.song_ids())} songs, models={self.models})"

    @property
    def models(self) -> list[str]:
        """Every checkpoint key of the library's (latest) run, in manifest order."""
        return [str(c["key"]) for c in self.manifest.get("checkpoints", [])]

    @property
    def frame_models(self) -> list[str]:
        """The keys of the per-frame (valence/arousal) models: those with ``KEY_*`` columns and frames."""
        return per_frame_models(self.manifest)

    @property
    def checkpoint_set(self) -> str:
        """:func:`checkpoint_set_id` of the latest run's checkpoints."""
        return str(self.manifest.get("checkpoint_set") or checkpoint_set_id(self.manifest.get("checkpoints", [])))

    def checkpoints_of(self, checkpoint_set: str) -> list[dict[str, Any]] | None:
        """The checkpoint records (:func:`manifest_entry`) of the run whose :func:`checkpoint_set_id` is
        ``checkpoint_set`` (a song row's ``checkpoint_set``), or None when the manifest does not know it (a
        library written before runs kept their sets)."""
        found = (self.manifest.get("checkpoint_sets") or {}).get(str(checkpoint_set))
        if found is None and str(checkpoint_set) == self.checkpoint_set:
            found = self.manifest.get("checkpoints")
        return [dict(c) for c in found] if isinstance(found, list) else None

    def song_ids(self) -> list[str]:
        """The ids of the songs analysed (sorted)."""
        return sorted(_part_files(self.path / SONGS_DIR))

    def songs(self) -> pd.DataFrame:
        """The songs table: one row per song (columns: see the module's docstring), sorted by ``path``.

        Reads ``songs.parquet`` when it holds exactly the songs of ``songs/`` and is
        newer than every one of them, else the per-song files (and does not write).
        """
        parts = _part_files(self.path / SONGS_DIR)
        compact = self.path / SONGS_FILE
        table = None
        if parts and compact.is_file():
            newest = max(e.stat().st_mtime_ns for e in parts.values())
            if compact.stat().st_mtime_ns >= newest:
                table = _read_parquet(compact)
                if set(table["song_id"].astype(str)) != set(parts):
                    table = None
        if table is None:
            table = _concat([_read_parquet(Path(e.path)) for e in parts.values()], SONG_COLUMNS)
        return table.sort_values(["path", "song_id"], kind="stable").reset_index(drop=True)

    def compact(self) -> Path | None:
        """Write ``songs.parquet``, the songs table in one file (faster to read than thousands of parts).

        Returns:
            Its path, or None when the library has no songs.
        """
        parts = _part_files(self.path / SONGS_DIR)
        if not parts:
            (self.path / SONGS_FILE).unlink(missing_ok=True)
            return None
        table = _concat([_read_parquet(Path(e.path)) for e in parts.values()], SONG_COLUMNS)
        return _write_parquet(self.path / SONGS_FILE, table)

    def frames(self, song_id: str) -> pd.DataFrame:
        """One song's frames (:data:`FRAME_COLUMNS`), sorted by model and time; reads only that song's file.

        Raises:
            LibraryError: the library has no such song.
        """
        song_id = str(song_id)
        path = self.path / FRAMES_DIR / f"{song_id}.parquet"
        if not all(c in "0123456789abcdef" for c in song_id) or not song_id or not path.is_file():
            raise LibraryError(f"the library {self.path} has no song {song_id!r}; pick a song_id from its songs table")
        table = _read_parquet(path).reindex(columns=list(FRAME_COLUMNS))  # an older library: no distance
        return table.sort_values(["model", "time_s"], kind="stable").reset_index(drop=True)

    def curves(self, song_id: str, columns: Sequence[str] = ("time_s", "valence", "arousal"),
               ) -> dict[str, pd.DataFrame]:
        """One song's frames as ``{model: DataFrame(columns)}`` (by default ``time_s, valence, arousal``, the form
        the explain displays take), in the library's model order."""
        table = self.frames(song_id)
        order = [m for m in self.frame_models if m in set(table["model"])]
        order += sorted(set(table["model"]) - set(order))
        return {m: table.loc[table["model"] == m, list(columns)].reset_index(drop=True) for m in order}

    def errors(self) -> pd.DataFrame:
        """The errors table (:data:`ERROR_COLUMNS`), sorted by ``path``."""
        parts = _part_files(self.path / ERRORS_DIR)
        table = _concat([_read_parquet(Path(e.path)) for e in parts.values()], ERROR_COLUMNS)
        return table.sort_values("path", kind="stable").reset_index(drop=True)

    def paths(self) -> pd.DataFrame:
        """Every audio path the runs found (:data:`INDEX_COLUMNS`): duplicates share a ``song_id``; a path
        whose bytes could not be read has an empty one."""
        path = self.path / INDEX_FILE
        if not path.is_file():
            return pd.DataFrame(columns=list(INDEX_COLUMNS))
        return _read_parquet(path)

    def song(self, song_id: str) -> dict[str, Any]:
        """One song's row as a dict.

        Raises:
            LibraryError: the library has no such song.
        """
        path = self.path / SONGS_DIR / f"{song_id}.parquet"
        if not str(song_id) or not all(c in "0123456789abcdef" for c in str(song_id)) or not path.is_file():
            raise LibraryError(f"the library {self.path} has no song {song_id!r}; pick a song_id from its songs table")
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in _read_parquet(path).iloc[0].items()}
