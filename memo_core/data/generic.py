"""The generic layout: bring any dynamically annotated collection (MER1101, your own) to MEMO.

Layout (``root`` is any folder)::

    root/annotations.csv     one row per song and instant (long format), header required:
                             song_id,time_s,valence,arousal
                             optional columns: valence_std,arousal_std,split,tags
    root/audio/{song_id}.wav  (or .flac, .ogg, .mp3; the file stem is the song id)

* ``time_s`` is seconds from the start of the audio file; rows need not be in
  order (each song's frames are sorted), but two different rows of one song at
  the same instant make that song skipped (an exact copy of a row is dropped).
  MEMO pairs each 500 ms frame with one value (the frame ending at ``time_s``),
  so a row in the same frame as an earlier row of its song is dropped.
* Rows with an empty or non-numeric time, valence or arousal are dropped
  (a lost frame, not a lost song); so are rows without a song id, with a
  ``time_s`` that is not finite, negative or past 24 hours, or with a value
  that is not finite or off the scale.
* Values must be in [-1, 1], or say which scale they use with ``scale``:
  ``"-1-1"`` (default), ``"0-1"`` (mapped with ``2y - 1``) or ``"1-9"``
  (mapped with ``(y - 5) / 4``); std columns are rescaled by the same factor
  and must lie between 0 and half the scale's width.
* Every dropped row is counted, with the first examples, in
  :attr:`DatasetLoad.dropped` and an :class:`InvalidAnnotationsWarning`; a file
  where more than half of the rows are invalid is refused (wrong ``scale``).
* ``split`` (e.g. ``train``/``test``) and ``tags`` (separated by ``;``) are
  read from a song's first row that has them.
* Audio files with no annotation rows are reported as skipped.

Example ``annotations.csv``::

    song_id,time_s,valence,arousal,split
    track01,15.0,0.12,-0.30,train
    track01,15.5,0.10,-0.28,train
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memo_core.audio import FRAME_SECONDS
from memo_core.data._common import (
    MAX_TIME_S,
    SCALES,
    DropLog,
    bounds_text,
    check_columns,
    clean_id,
    finish_load,
    read_long_series,
    read_table,
    require_dir,
    require_file,
    scale_bounds,
    spread_to_unit_scale,
    to_unit_scale,
    values_at,
)
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError
from memo_core.features.base import annotation_frame_index

__all__ = ["load_generic", "SCALES", "AUDIO_EXTENSIONS"]

#: In order of preference when one song has several files.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
_REQUIRED = ("song_id", "time_s", "valence", "arousal")
_HINT = (
    "The generic layout is root/annotations.csv (song_id,time_s,valence,arousal) plus "
    "root/audio/{song_id}.wav|.flac|.ogg|.mp3; see memo_core.data.generic."
)


def _index_audio(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for ext in reversed(AUDIO_EXTENSIONS):
        for path in folder.glob(f"*{ext}"):
            found[path.stem] = path
    return found


def _first_per_song(frame: pd.DataFrame, column: str) -> dict[str, str]:
    if column not in frame.columns:
        return {}
    first: dict[str, str] = {}
    present = frame.dropna(subset=[column])
    for song_id, value in zip(present["song_id"], present[column], strict=True):
        first.setdefault(clean_id(song_id), value)
    return first


def _one_row_per_frame(series: dict, log: DropLog) -> dict:
    """Each song's rows, keeping the latest row of each 500 ms frame; the earlier ones are dropped and reported.

    The value at ``t`` describes the frame ending at ``t``, so the latest row
    in a frame is the one nearest its end (what alignment would keep anyway).
    """
    out = {}
    n_frames = int(MAX_TIME_S / FRAME_SECONDS) + 2
    for song_id, (times, values) in series.items():
        index = annotation_frame_index(times, n_frames)
        earlier = np.zeros(len(times), dtype=bool)
        earlier[:-1] = index[:-1] == index[1:]   # times are sorted, so a frame's rows are adjacent
        for i in np.flatnonzero(earlier):
            log.add("annotations.csv", "row in the same 500 ms frame as a later row of its song (MEMO uses one "
                    "value per frame, the latest)", f"song {song_id} at {times[i]:g} s (then {times[i + 1]:g} s)")
        out[song_id] = (times[~earlier], {name: v[~earlier] for name, v in values.items()})
    return out


@register_dataset("generic")
def load_generic(root: Path | None, *, require_audio: bool = False, scale: str = "-1-1") -> DatasetLoad:
    """Load a collection in the generic layout (see the module docstring).

    Args:
        root: the folder holding ``annotations.csv`` and ``audio/``.
        require_audio: skip songs with no audio file instead of keeping them
            with ``audio_path=None``.
        scale: the scale of the valence/arousal values: ``"-1-1"``, ``"0-1"`` or ``"1-9"``.

    Returns:
        One :class:`SongRecord` per annotated song, values in [-1, 1].

    Raises:
        DatasetError: missing folder or file, missing columns, an unknown
            ``scale``, or more than half of the rows invalid (values off the
            ``scale``: a wrong ``scale``; times that are not seconds).
    """
    if scale not in SCALES:
        raise DatasetError(f"generic: unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    if root is None:
        raise DatasetError(f"generic: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="generic", hint=_HINT)
    path = require_file(root / "annotations.csv", dataset="generic", hint=_HINT)
    frame = read_table(path, dataset="generic")
    check_columns(frame, _REQUIRED, path=path, dataset="generic")
    value_columns = {"valence": "valence", "arousal": "arousal"}
    means, spreads = scale_bounds(scale), scale_bounds(scale, spread=True)
    hint = (f"With scale={scale!r}, valence and arousal must lie on {bounds_text(means)} (std columns on "
            f"{bounds_text(spreads)}) and time_s must be seconds from the start of the audio (0 to {MAX_TIME_S:g}). "
            "Pass scale='0-1' or scale='1-9' if that is how the file is annotated.")
    invalid = DropLog()
    series, skipped = read_long_series(frame, id_column="song_id", time_column="time_s", value_columns=value_columns,
                                       bounds={"valence": means, "arousal": means}, log=invalid, path=path,
                                       dataset="generic", hint=hint)
    series = _one_row_per_frame(series, invalid)
    # Each std column is read apart from the means, so a missing std never drops a frame that has its mean.
    stds: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for column in ("valence_std", "arousal_std"):
        if column in frame.columns:
            std_log = DropLog()
            read, _ = read_long_series(frame, id_column="song_id", time_column="time_s", value_columns={column: column},
                                       bounds={column: spreads}, log=std_log, path=path, dataset="generic",
                                       hint=hint, report_missing=False)
            invalid.extend(std_log, reason_starts=column)   # the rest was reported with the means
            stds.update({(song_id, column): (t, v[column]) for song_id, (t, v) in read.items()})
    splits = _first_per_song(frame, "split")
    tags = _first_per_song(frame, "tags")
    audio = _index_audio(root / "audio")
    songs = []
    for song_id, (times, values) in series.items():
        valence = to_unit_scale(values["valence"], scale)
        arousal = to_unit_scale(values["arousal"], scale)
        std_times, std_values = zip(*(stds.get((song_id, c), (None, None)) for c in ("valence_std", "arousal_std")))
        valence_std, arousal_std = (
            values_at(times, source_times=t, source_values=v) for t, v in zip(std_times, std_values, strict=True)
        )
        songs.append(
            SongRecord(
                song_id=song_id,
                dataset="generic",
                audio_path=audio.get(song_id),
                frame_times=times,
                valence=valence,
                arousal=arousal,
                valence_std=None if valence_std is None else spread_to_unit_scale(valence_std, scale),
                arousal_std=None if arousal_std is None else spread_to_unit_scale(arousal_std, scale),
                split=splits.get(song_id),
                tags=tuple(t.strip() for t in tags[song_id].split(";") if t.strip()) if song_id in tags else (),
            )
        )
    for song_id in audio.keys() - series.keys() - skipped.keys():
        skipped[song_id] = "audio file without annotations"
    return finish_load(dataset="generic", root=root, songs=songs, skipped=skipped, require_audio=require_audio,
                       invalid=invalid)
