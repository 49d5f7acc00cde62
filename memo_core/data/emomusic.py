"""emoMusic, the "1000 Songs for Emotional Analysis of Music" (Soleymani et al., 2013).

Layout, as distributed (``root`` is the dataset's top folder)::

    root/annotations/arousal_cont_average.csv   wide: song_id,sample_15000ms,...,sample_45000ms
    root/annotations/valence_cont_average.csv   (2 Hz, 15.0-45.0 s, already in [-1, 1])
    root/annotations/{arousal,valence}_cont_std.csv   spread over raters (optional)
    root/annotations/static_annotations.csv     song_id,mean_arousal,std_arousal,mean_valence,std_valence (1-9)
    root/annotations/songs_info.csv             artist, title, genre, "Mediaeval 2013 set" (optional)
    root/clips_45seconds/{song_id}.mp3          (a .wav of the same name is accepted)

``split`` is the MediaEval 2013 set, kept as given: ``"development"`` or
``"evaluation"``. The fields of ``songs_info.csv`` carry stray tabs, which are
stripped. The synthetic corpus uses the same annotation files, so the readers
here are shared with :mod:`memo_core.data.synth_loader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from memo_core.data._common import (
    DropLog,
    bounds_text,
    clean_id,
    find_audio,
    finish_load,
    optional_file,
    read_static_table,
    read_table,
    read_wide_csv,
    require_dir,
    require_file,
    scale_bounds,
)
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_emomusic", "DynamicAnnotations", "read_dynamic_annotations", "read_static_annotations"]

_HINT = (
    "Pass the emoMusic top folder (the one holding annotations/ and clips_45seconds/), "
    "as unpacked from https://cvml.unige.ch/databases/emoMusic/."
)
_INFO_META = {
    "Artist": "artist",
    "Song title": "title",
    "Genre": "genre",
    "start of the segment (min.sec)": "segment_start",
    "end of the segment (min.sec)": "segment_end",
    "file_name": "file_name",
}


@dataclass
class DynamicAnnotations:
    """Per-song dynamic annotations read from the four wide files.

    Attributes:
        frame_times: per song, the annotation instants in seconds. [shape=(n_frames,)]
        valence, arousal: per song, mean over raters. [shape=(n_frames,)]
        valence_std, arousal_std: per song, spread over raters, when the std files exist.
        skipped: per song, why it cannot be used.
        invalid: the rows left out for values that are not finite or off the scale, with examples.
    """

    frame_times: dict[str, np.ndarray] = field(default_factory=dict)
    valence: dict[str, np.ndarray] = field(default_factory=dict)
    arousal: dict[str, np.ndarray] = field(default_factory=dict)
    valence_std: dict[str, np.ndarray] = field(default_factory=dict)
    arousal_std: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    invalid: DropLog = field(default_factory=DropLog)


def read_dynamic_annotations(
    *,
    valence_path: Path,
    arousal_path: Path,
    valence_std_path: Path | None = None,
    arousal_std_path: Path | None = None,
    dataset: str,
    scale: str = "-1-1",
) -> DynamicAnnotations:
    """Pair the valence and arousal wide files (and their std files, if given) song by song.

    A song in only one of the two mean files, or with a bad row in either, is
    skipped with a reason. When the two series differ in length (a ragged row
    in one file only) both are cut to the shorter, which keeps every instant
    that has both values. A std row that does not match its mean row is dropped,
    not the song.

    Values must lie on ``scale`` (DEAM and emoMusic publish [-1, 1]) and
    spreads between 0 and half its width: a row with a value off the scale or
    not finite is skipped (a mean row: the song; a std row: that std) and
    reported in ``invalid``; a file where most rows are off the scale raises.

    Raises:
        DatasetError: a file is not a wide annotation file, or most of its rows are off the scale.
    """
    out = DynamicAnnotations()
    means, spreads = scale_bounds(scale), scale_bounds(scale, spread=True)
    hint = (f"{dataset} dynamic annotations are on {bounds_text(means)} (spreads on {bounds_text(spreads)}); "
            "check that this is the dataset's original file.")
    valence = read_wide_csv(valence_path, dataset=dataset, bounds=means, log=out.invalid, hint=hint)
    arousal = read_wide_csv(arousal_path, dataset=dataset, bounds=means, log=out.invalid, hint=hint)
    out.skipped.update({k: f"valence: {r}" for k, r in valence.skipped.items()})
    out.skipped.update({k: f"arousal: {r}" for k, r in arousal.skipped.items()})
    stds = {
        name: read_wide_csv(path, dataset=dataset, bounds=spreads, log=out.invalid, hint=hint,
                            action="std rows dropped (each song keeps its means)") if path else None
        for name, path in (("valence_std", valence_std_path), ("arousal_std", arousal_std_path))
    }
    for song_id in sorted(set(valence.series) | set(arousal.series)):
        if song_id in out.skipped:
            continue
        if song_id not in arousal.series:
            out.skipped[song_id] = "valence annotated but not arousal"
            continue
        if song_id not in valence.series:
            out.skipped[song_id] = "arousal annotated but not valence"
            continue
        n_frames = min(valence.series[song_id].size, arousal.series[song_id].size)
        out.frame_times[song_id] = valence.frame_times[:n_frames].copy()
        out.valence[song_id] = valence.series[song_id][:n_frames]
        out.arousal[song_id] = arousal.series[song_id][:n_frames]
        for name, table in stds.items():
            if table is not None and song_id in table.series and table.series[song_id].size >= n_frames:
                getattr(out, name)[song_id] = table.series[song_id][:n_frames]
    return out


def read_static_annotations(path: Path, *, dataset: str, log: DropLog | None = None) -> dict[str, dict[str, float]]:
    """``song_id -> {static_valence, static_arousal, static_valence_std, static_arousal_std}`` in [-1, 1] units.

    Reads the emoMusic column names (``mean_arousal,std_arousal,mean_valence,std_valence``,
    1-9 scale). Empty or non-numeric cells give no entry for that value; values
    off the 1-9 scale (spreads off [0, 4]) or not finite give none either and
    are reported to ``log``.

    Raises:
        DatasetError: song_id, mean_valence or mean_arousal is missing, the file is not a UTF-8 CSV,
            or most values of a column are off the scale.
    """
    columns = {
        "static_valence": "mean_valence",
        "static_arousal": "mean_arousal",
        "static_valence_std": "std_valence",
        "static_arousal_std": "std_arousal",
    }
    return read_static_table(path, dataset=dataset, columns=columns, scale="1-9", log=log)


def _read_songs_info(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    frame = read_table(path, dataset="emomusic")
    if "song_id" not in frame.columns:
        return {}
    info: dict[str, dict[str, str]] = {}
    for _, row in frame.iterrows():
        entry = {key: row[col] for col, key in _INFO_META.items() if col in frame.columns and pd.notna(row[col])}
        split = row.get("Mediaeval 2013 set")
        if isinstance(split, str):
            entry["split"] = split
        info[clean_id(row["song_id"])] = entry
    return info


def record_from_annotations(song_id: str, *, dataset: str, frame_times, dynamic, static: dict, meta: dict,
                            **fields) -> SongRecord:
    """A SongRecord from emoMusic-layout annotations: dynamic means and spreads, static ratings
    (their rater spreads go into ``meta``), plus any other ``fields`` (audio_path, split, tags)."""
    song_static = static.get(song_id, {})
    meta.update({k: v for k, v in song_static.items() if k.endswith("_std")})
    return SongRecord(
        song_id=song_id,
        dataset=dataset,
        frame_times=frame_times,
        valence=dynamic.valence[song_id],
        arousal=dynamic.arousal[song_id],
        valence_std=dynamic.valence_std.get(song_id),
        arousal_std=dynamic.arousal_std.get(song_id),
        static_valence=song_static.get("static_valence"),
        static_arousal=song_static.get("static_arousal"),
        meta=meta,
        **fields,
    )


def read_annotation_folder(annotations: Path, *, dataset: str, hint: str):
    """The dynamic (``{valence,arousal}_cont_{average,std}.csv``) and static annotations of an
    emoMusic-layout ``annotations/`` folder, as :func:`read_dynamic_annotations` and
    :func:`read_static_annotations` return them (the synthetic corpus shares this layout)."""
    dynamic = read_dynamic_annotations(
        valence_path=require_file(annotations / "valence_cont_average.csv", dataset=dataset, hint=hint),
        arousal_path=require_file(annotations / "arousal_cont_average.csv", dataset=dataset, hint=hint),
        valence_std_path=optional_file(annotations / "valence_cont_std.csv"),
        arousal_std_path=optional_file(annotations / "arousal_cont_std.csv"),
        dataset=dataset,
    )
    static_path = annotations / "static_annotations.csv"
    static = {}
    if static_path.is_file():
        static = read_static_annotations(static_path, dataset=dataset, log=dynamic.invalid)
    return dynamic, static


@register_dataset("emomusic")
def load_emomusic(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load emoMusic (744 songs with dynamic annotations) from its top folder.

    Args:
        root: the folder holding ``annotations/`` and ``clips_45seconds/``.
        require_audio: skip songs whose clip is missing instead of keeping them
            with ``audio_path=None``.

    Returns:
        One :class:`SongRecord` per song with both valence and arousal; ``meta``
        has artist, title, genre and the segment bounds from ``songs_info.csv``.

    Raises:
        DatasetError: ``root`` is missing or lacks the annotation files, or a file's values are
            mostly off the scale ([-1, 1] dynamic, 1-9 static). A few rows off the scale or not
            finite are left out and reported in :attr:`DatasetLoad.dropped`.
    """
    if root is None:
        raise DatasetError(f"emomusic: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="emomusic", hint=_HINT)
    annotations = require_dir(root / "annotations", dataset="emomusic", hint=_HINT)
    dynamic, static = read_annotation_folder(annotations, dataset="emomusic", hint=_HINT)
    info = _read_songs_info(annotations / "songs_info.csv")
    clips = root / "clips_45seconds"
    songs = []
    for song_id, times in dynamic.frame_times.items():
        meta = dict(info.get(song_id, {}))
        split = meta.pop("split", None)
        songs.append(
            record_from_annotations(song_id, dataset="emomusic", frame_times=times, dynamic=dynamic, static=static,
                                    audio_path=find_audio(clips, song_id, (".mp3", ".wav")), split=split, meta=meta)
        )
    return finish_load(dataset="emomusic", root=root, songs=songs, skipped=dynamic.skipped,
                       require_audio=require_audio, invalid=dynamic.invalid)
