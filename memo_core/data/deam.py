"""DEAM, the MediaEval Database for Emotional Analysis in Music (Aljanaki et al., 2017).

Layout, as distributed (``root`` is the dataset's top folder)::

    root/annotations/annotations averaged per song/dynamic (per second annotations)/arousal.csv
    root/annotations/annotations averaged per song/dynamic (per second annotations)/valence.csv
        wide: song_id,sample_15000ms,sample_15500ms,...  (2 Hz, [-1, 1])
    root/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv
    root/annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_2000_2058.csv
        song_id, valence_mean, valence_std, arousal_mean, arousal_std, ...  (1-9; headers with leading spaces)
    root/MEMD_audio/{song_id}.mp3

Songs 1-2000 are 45 s excerpts annotated from 15.0 to 44.5 s; songs 2001-2058
are full songs whose rows end in empty cells where the song ends, so their
series are longer and of different lengths. ``frame_times`` come from the
column names (``sample_15000ms`` -> 15.0 s).

Split: DEAM has no train/test split of its own, but songs 2001-2058 were the
test set of MediaEval 2015 "Emotion in Music" (the 1-2000 excerpts were its
development data), so they get ``split="test"`` and all others
``split="train"``.
"""

from __future__ import annotations

from pathlib import Path

from memo_core.data._common import (
    DropLog,
    find_audio,
    finish_load,
    read_static_table,
    require_dir,
    require_file,
)
from memo_core.data.emomusic import read_dynamic_annotations
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_deam", "DEAM_TEST_FIRST_ID"]

#: The first song of the MediaEval 2015 test set (full songs 2001-2058).
DEAM_TEST_FIRST_ID = 2001

_AVERAGED = Path("annotations") / "annotations averaged per song"
_DYNAMIC = _AVERAGED / "dynamic (per second annotations)"
_STATIC = _AVERAGED / "song_level"
_STATIC_FILES = ("static_annotations_averaged_songs_1_2000.csv", "static_annotations_averaged_songs_2000_2058.csv")
_HINT = (
    "Pass the DEAM top folder (the one holding annotations/ and MEMD_audio/), "
    "as unpacked from https://cvml.unige.ch/databases/DEAM/."
)


_STATIC_COLUMNS = {
    "static_valence": "valence_mean",
    "static_arousal": "arousal_mean",
    "static_valence_std": "valence_std",
    "static_arousal_std": "arousal_std",
}


def _read_static(folder: Path, log: DropLog) -> dict[str, dict[str, float]]:
    static: dict[str, dict[str, float]] = {}
    for name in _STATIC_FILES:
        path = folder / name
        if path.is_file():
            static.update(read_static_table(path, dataset="deam", columns=_STATIC_COLUMNS, scale="1-9", log=log))
    return static


def _split(song_id: str) -> str:
    try:
        return "test" if int(song_id) >= DEAM_TEST_FIRST_ID else "train"
    except ValueError:
        return "train"


@register_dataset("deam")
def load_deam(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load DEAM (1802 songs with dynamic annotations) from its top folder.

    Args:
        root: the folder holding ``annotations/`` and ``MEMD_audio/``.
        require_audio: skip songs whose MP3 is missing instead of keeping them
            with ``audio_path=None``.

    Returns:
        One :class:`SongRecord` per song with both valence and arousal series;
        static ratings mapped from 1-9 with ``(y - 5) / 4``; the static std in
        ``meta["static_valence_std"]`` / ``meta["static_arousal_std"]``.

    Raises:
        DatasetError: ``root`` is missing or lacks the dynamic annotation files, or a file's values
            are mostly off the scale ([-1, 1] dynamic, 1-9 static). A few rows off the scale or not
            finite are left out and reported in :attr:`DatasetLoad.dropped`.
    """
    if root is None:
        raise DatasetError(f"deam: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="deam", hint=_HINT)
    dynamic_dir = require_dir(root / _DYNAMIC, dataset="deam", hint=_HINT)
    dynamic = read_dynamic_annotations(
        valence_path=require_file(dynamic_dir / "valence.csv", dataset="deam", hint=_HINT),
        arousal_path=require_file(dynamic_dir / "arousal.csv", dataset="deam", hint=_HINT),
        dataset="deam",
    )
    static = _read_static(root / _STATIC, dynamic.invalid)
    skipped = dict(dynamic.skipped)
    for song_id in static.keys() - dynamic.frame_times.keys() - skipped.keys():
        skipped[song_id] = "static annotation only (no dynamic annotation)"
    audio_dir = root / "MEMD_audio"
    songs = []
    for song_id, times in dynamic.frame_times.items():
        song_static = static.get(song_id, {})
        songs.append(
            SongRecord(
                song_id=song_id,
                dataset="deam",
                audio_path=find_audio(audio_dir, song_id, (".mp3",)),
                frame_times=times,
                valence=dynamic.valence[song_id],
                arousal=dynamic.arousal[song_id],
                static_valence=song_static.get("static_valence"),
                static_arousal=song_static.get("static_arousal"),
                split=_split(song_id),
                meta={k: v for k, v in song_static.items() if k.endswith("_std")},
            )
        )
    return finish_load(dataset="deam", root=root, songs=songs, skipped=skipped, require_audio=require_audio,
                       invalid=dynamic.invalid)
