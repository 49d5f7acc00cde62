"""MTG-Jamendo, mood/theme subset (Bogdanov et al., 2019; MediaEval 2019-2021 "Emotions and Themes in Music").

Layout, as in the dataset's repository plus the downloaded audio (``root`` is
the repository's top folder)::

    root/data/autotagging_moodtheme.tsv
        TRACK_ID  ARTIST_ID  ALBUM_ID  PATH  DURATION  TAGS  [TAGS ...]
        (tab-separated; a track's tags follow each in its own field: "mood/theme---happy")
    root/data/splits/split-{0..4}/autotagging_moodtheme-{train,validation,test}.tsv
    root/data/tags/moodtheme_split.txt     the 56 tags of the challenge, one a line
    root/audio/{PATH}                      e.g. root/audio/48/948.mp3   (option ``audio_dir``)
    {mel_dir}/{PATH with .npy}             precomputed mel-spectrograms (option ``mel_dir``)

Tracks have tags, not valence/arousal: records have ``valence=None``,
``arousal=None`` and empty ``frame_times``; ``tags`` are the tag names without
the ``mood/theme---`` prefix; ``split`` comes from the chosen official split
(``split_index``, 0-4) and is ``None`` for tracks that split leaves out.

The split files list a track's tags restricted to the challenge's 56 (the main
TSV has 59: ``ambiental``, ``horror`` and ``mellow`` were dropped as too rare),
so a track in the split takes its tags from the split file, the challenge's
ground truth, and a track outside it keeps the TSV's tags.
"""

from __future__ import annotations

from pathlib import Path

from memo_core.data._common import (
    MAX_TIME_S,
    DropLog,
    finish_load,
    read_text,
    refuse_if_mostly_invalid,
    require_dir,
    require_file,
)
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_mtg_jamendo", "jamendo_tag_list", "TAG_PREFIX", "JAMENDO_SPLITS"]

TAG_PREFIX = "mood/theme---"
JAMENDO_SPLITS = ("train", "validation", "test")
_TSV = Path("data") / "autotagging_moodtheme.tsv"
_HINT = (
    "Pass the top folder of the mtg-jamendo-dataset repository (the one holding "
    "data/autotagging_moodtheme.tsv), from https://github.com/MTG/mtg-jamendo-dataset."
)
_HEADER = ("TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION", "TAGS")


def _read_tsv(path: Path) -> tuple[list[list[str]], dict[str, str]]:
    """Rows of a Jamendo TSV as ``[track, artist, album, path, duration, tag, tag, ...]``."""
    lines = read_text(path, dataset="mtg_jamendo", kind="TSV").splitlines()
    header = tuple(cell.strip() for cell in lines[0].split("\t")) if lines else ()
    if header[: len(_HEADER)] != _HEADER:
        raise DatasetError(
            f"mtg_jamendo: {path} starts with {header!r}; expected the tab-separated header {'  '.join(_HEADER)}"
        )
    rows, skipped = [], {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("\t")]
        if not cells[0]:
            continue
        if len(cells) < len(_HEADER):
            skipped[cells[0]] = "row has fewer fields than TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS"
            continue
        rows.append(cells)
    return rows, skipped


def _strip_prefix(tag: str) -> str:
    return tag[len(TAG_PREFIX) :] if tag.startswith(TAG_PREFIX) else tag


def jamendo_tag_list(root: str | Path) -> list[str]:
    """The mood/theme tags in the official order, without the ``mood/theme---`` prefix.

    Read from ``data/tags/moodtheme_split.txt`` (the 56 tags of the challenge);
    without it, the sorted tags found in ``data/autotagging_moodtheme.tsv``.

    Args:
        root: the repository's top folder.

    Returns:
        The tag names, e.g. ``["action", "adventure", ...]``.
    """
    root = require_dir(Path(root).expanduser(), dataset="mtg_jamendo", hint=_HINT)
    listed = root / "data" / "tags" / "moodtheme_split.txt"
    if listed.is_file():
        names = [line.strip() for line in read_text(listed, dataset="mtg_jamendo", kind="text").splitlines()]
        return [_strip_prefix(name) for name in names if name]
    rows, _ = _read_tsv(require_file(root / _TSV, dataset="mtg_jamendo", hint=_HINT))
    return sorted({_strip_prefix(tag) for row in rows for tag in row[5:] if tag})


def _read_split(root: Path, split_index: int) -> dict[str, tuple[str, list[str]]]:
    folder = require_dir(
        root / "data" / "splits" / f"split-{split_index}",
        dataset="mtg_jamendo",
        hint="The official splits are split-0 to split-4; choose one with split_index.",
    )
    split: dict[str, tuple[str, list[str]]] = {}
    for name in JAMENDO_SPLITS:
        path = require_file(
            folder / f"autotagging_moodtheme-{name}.tsv",
            dataset="mtg_jamendo",
            hint="The split folder should hold the train, validation and test TSVs of the repository.",
        )
        rows, _ = _read_tsv(path)
        split.update({row[0]: (name, row[5:]) for row in rows})
    return split


@register_dataset("mtg_jamendo")
def load_mtg_jamendo(
    root: Path | None,
    *,
    require_audio: bool = False,
    split_index: int = 0,
    audio_dir: str | Path | None = None,
    mel_dir: str | Path | None = None,
) -> DatasetLoad:
    """Load the MTG-Jamendo mood/theme subset (18,486 tracks, 56 tags).

    Args:
        root: the repository's top folder.
        require_audio: skip tracks with neither an audio file nor (when
            ``mel_dir`` is given) a mel-spectrogram.
        split_index: which official split (0-4) fills ``SongRecord.split``.
        audio_dir: where the audio is, laid out by ``PATH`` (``48/948.mp3``);
            default ``root/audio``.
        mel_dir: where the precomputed mel-spectrograms are, laid out by
            ``PATH`` with ``.npy``; found files go to ``meta["mel_path"]``.

    Returns:
        One tag-only :class:`SongRecord` per track; ``meta`` has ``path``,
        ``duration`` (seconds), ``artist_id`` and ``album_id``.

    Raises:
        DatasetError: ``root``, the TSV or the split files are missing.
    """
    if root is None:
        raise DatasetError(f"mtg_jamendo: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="mtg_jamendo", hint=_HINT)
    rows, skipped = _read_tsv(require_file(root / _TSV, dataset="mtg_jamendo", hint=_HINT))
    split = _read_split(root, split_index)
    audio_root = Path(audio_dir).expanduser() if audio_dir is not None else root / "audio"
    mel_root = Path(mel_dir).expanduser() if mel_dir is not None else None
    # Checking 18k paths in a folder that is not there costs time and finds nothing.
    audio_root = audio_root if audio_root.is_dir() else None
    mel_root = mel_root if mel_root is not None and mel_root.is_dir() else None
    songs = []
    invalid, bad_durations = DropLog(), []
    for track_id, artist_id, album_id, path, duration, *tags in rows:
        split_name, split_tags = split.get(track_id, (None, tags))
        seconds = _to_float(duration)
        if seconds is None or not 0 < seconds <= MAX_TIME_S:   # NaN fails the comparison too
            bad_durations.append(f"track {track_id}: DURATION {duration!r}")
            seconds = None
        meta: dict[str, object] = {
            "path": path,
            "duration": seconds,
            "artist_id": artist_id,
            "album_id": album_id,
        }
        audio_path = audio_root / path if audio_root is not None and (audio_root / path).is_file() else None
        if mel_root is not None:
            mel_path = (mel_root / path).with_suffix(".npy")
            if mel_path.is_file():
                meta["mel_path"] = mel_path
        if require_audio and audio_path is None and "mel_path" not in meta:
            skipped[track_id] = "no audio file" if mel_dir is None else "no audio or mel-spectrogram file"
            continue
        songs.append(
            SongRecord(
                song_id=track_id,
                dataset="mtg_jamendo",
                audio_path=audio_path,
                tags=tuple(_strip_prefix(tag) for tag in split_tags if tag),
                split=split_name,
                meta=meta,
            )
        )
    tsv = root / _TSV
    refuse_if_mostly_invalid(dataset="mtg_jamendo", path=tsv, n_invalid=len(bad_durations), n_total=len(rows),
                             what="track durations", examples=bad_durations,
                             hint="DURATION is the track's length in seconds.")
    for example in bad_durations:
        invalid.add(tsv.name, f"DURATION not a number of seconds in (0, {MAX_TIME_S:g}]", example,
                    action="values left out")
    return finish_load(dataset="mtg_jamendo", root=root, songs=songs, skipped=skipped, require_audio=False,
                       invalid=invalid)


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
