"""PMEmo2019, the Popular Music dataset with Emotional annotations (Zhang et al., 2018).

Layout, as distributed (``root`` is the ``PMEmo2019`` folder, or the folder holding it)::

    root/annotations/dynamic_annotations.csv      long: musicId,frameTime,Arousal(mean),Valence(mean)
    root/annotations/dynamic_annotations_std.csv  long: musicId,frameTime,Arousal(std),Valence(std)  (optional)
    root/annotations/static_annotations.csv       musicId,Arousal(mean),Valence(mean)  (optional)
    root/metadata.csv                             song_id,file_name,artist,song_title  (optional)
    root/chorus/{musicId}.mp3

Values are in [0, 1] and are mapped to [-1, 1] with ``2y - 1`` (spreads with
``2y``). Frames are at 2 Hz from 15.5 s into the chorus excerpt. Songs with a
static annotation but no dynamic one are reported as skipped. PMEmo has no
official split. ``metadata.csv`` has titles with unquoted commas; the overflow
is kept in the title.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memo_core.data._common import (
    DropLog,
    bounds_text,
    check_columns,
    clean_id,
    find_audio,
    finish_load,
    read_long_series,
    read_static_table,
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

__all__ = ["load_pmemo"]

_HINT = "Pass the PMEmo2019 folder (the one holding annotations/, chorus/ and metadata.csv)."
_ID, _TIME = "musicId", "frameTime"
_MEANS, _SPREADS = scale_bounds("0-1"), scale_bounds("0-1", spread=True)
_SCALE_HINT = (f"PMEmo values are on {bounds_text(_MEANS)} (spreads on {bounds_text(_SPREADS)}); "
               "check that this is the dataset's original file.")


def _read_static(path: Path, log: DropLog) -> dict[str, tuple[float, float]]:
    if not path.is_file():
        return {}
    static = read_static_table(path, dataset="pmemo", columns={"v": "Valence(mean)", "a": "Arousal(mean)"},
                               scale="0-1", id_column=_ID, log=log)
    return {song_id: (values["v"], values["a"]) for song_id, values in static.items() if len(values) == 2}


def _read_metadata(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    frame = read_table(path, dataset="pmemo")
    if "song_id" not in frame.columns:
        return {}
    names = {"artist": "artist", "song_title": "title", "file_name": "file_name"}
    return {
        clean_id(row["song_id"]): {key: row[col] for col, key in names.items() if col in row and pd.notna(row[col])}
        for _, row in frame.iterrows()
    }


@register_dataset("pmemo")
def load_pmemo(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load PMEmo2019 from its ``PMEmo2019`` folder.

    Args:
        root: the ``PMEmo2019`` folder, or the folder holding it.
        require_audio: skip songs whose chorus MP3 is missing instead of keeping
            them with ``audio_path=None``.

    Returns:
        One :class:`SongRecord` per song with dynamic annotations, in [-1, 1];
        ``meta`` has artist and title.

    Raises:
        DatasetError: ``root`` is missing, lacks ``annotations/dynamic_annotations.csv``,
            that file lacks its columns, or a file's rows are mostly invalid (values off
            [0, 1], times not finite or negative). A few invalid rows are left out and
            reported in :attr:`DatasetLoad.dropped`.
    """
    if root is None:
        raise DatasetError(f"pmemo: no dataset folder given. {_HINT}")
    root = Path(root)
    if not (root / "annotations").is_dir() and (root / "PMEmo2019" / "annotations").is_dir():
        root = root / "PMEmo2019"  # the folder the archive unpacks into was given
    root = require_dir(root, dataset="pmemo", hint=_HINT)
    annotations = require_dir(root / "annotations", dataset="pmemo", hint=_HINT)
    dynamic_path = require_file(annotations / "dynamic_annotations.csv", dataset="pmemo", hint=_HINT)
    frame = read_table(dynamic_path, dataset="pmemo")
    check_columns(frame, (_ID, _TIME, "Arousal(mean)", "Valence(mean)"), path=dynamic_path, dataset="pmemo")
    invalid = DropLog()
    series, skipped = read_long_series(
        frame,
        id_column=_ID,
        time_column=_TIME,
        value_columns={"valence": "Valence(mean)", "arousal": "Arousal(mean)"},
        bounds={"valence": _MEANS, "arousal": _MEANS},
        log=invalid, path=dynamic_path, dataset="pmemo", hint=_SCALE_HINT,
    )
    stds: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    std_path = annotations / "dynamic_annotations_std.csv"
    if std_path.is_file():
        std_frame = read_table(std_path, dataset="pmemo")
        check_columns(std_frame, (_ID, _TIME, "Arousal(std)", "Valence(std)"), path=std_path, dataset="pmemo")
        stds, _ = read_long_series(
            std_frame,
            id_column=_ID,
            time_column=_TIME,
            value_columns={"valence_std": "Valence(std)", "arousal_std": "Arousal(std)"},
            bounds={"valence_std": _SPREADS, "arousal_std": _SPREADS},
            log=invalid, path=std_path, dataset="pmemo", hint=_SCALE_HINT,
        )
    static = _read_static(annotations / "static_annotations.csv", invalid)
    metadata = _read_metadata(root / "metadata.csv")
    for song_id in static.keys() - series.keys() - skipped.keys():
        skipped[song_id] = "static annotation only (no dynamic annotation)"
    audio_dir = root / "chorus"
    songs = []
    for song_id, (times, values) in series.items():
        std_times, std_values = stds.get(song_id, (None, {}))
        valence_std, arousal_std = (
            values_at(times, source_times=std_times, source_values=std_values.get(name))
            for name in ("valence_std", "arousal_std")
        )
        static_valence, static_arousal = static.get(song_id, (None, None))
        songs.append(
            SongRecord(
                song_id=song_id,
                dataset="pmemo",
                audio_path=find_audio(audio_dir, song_id, (".mp3",)),
                frame_times=times,
                valence=to_unit_scale(values["valence"], "0-1"),
                arousal=to_unit_scale(values["arousal"], "0-1"),
                valence_std=None if valence_std is None else spread_to_unit_scale(valence_std, "0-1"),
                arousal_std=None if arousal_std is None else spread_to_unit_scale(arousal_std, "0-1"),
                static_valence=static_valence,
                static_arousal=static_arousal,
                meta=dict(metadata.get(song_id, {})),
            )
        )
    return finish_load(dataset="pmemo", root=root, songs=songs, skipped=skipped, require_audio=require_audio,
                       invalid=invalid)
