"""The 4Q audio emotion dataset (Panda, Malheiro & Paiva, IEEE TAFFC 2018).

900 AllMusic 30 s samples of commercial recordings, one Russell quadrant each,
obtained from AllMusic mood tags checked by the authors:

======  =========  =======  =========================
folder  arousal    valence  e.g.
======  =========  =======  =========================
Q1      high (+)   pos (+)  happy, excited
Q2      high (+)   neg (-)  tense, angry
Q3      low (-)    neg (-)  sad, depressed
Q4      low (-)    pos (+)  calm, relaxed
======  =========  =======  =========================

Layout, as distributed (``root`` is ``MER_audio_taffc_dataset/`` or the folder
holding it)::

    root/Q1/ ... root/Q4/<Song>.mp3                 the clips (16-44.1 kHz, mostly stereo, 10-30 s)
    root/panda_dataset_taffc_annotations.csv        Song,Quadrant
    root/panda_dataset_taffc_metadata.csv           Song,Artist,Title,Quadrant,PQuad,...,MoodsStrSplit,...,GenresStr,...

Any subset of the 900 clips is read: a song listed in the annotations without
its mp3 is skipped with the reason (or kept without audio when audio is not
required). The labels are clip-level signs, not ratings: ``meta["quadrant"]``,
``meta["arousal_sign"]`` and ``meta["valence_sign"]`` (+1 or -1); the dynamic
``valence``/``arousal`` are ``None`` and ``static_*`` stay ``None``, so no
frame target and no rating magnitude is ever invented from a quadrant. The
artist is the grouping key of every split (``meta["group"]``): clips of one
artist never fall in two folds (:func:`memo_core.data.splits.grouped_folds`).
``tags`` are the AllMusic mood tags (``MoodsStrSplit``, lower case).

Licence: none stated by the authors, who ask for the paper to be cited; the
audio is commercial recordings, for research use only, never redistributed.
"""

from __future__ import annotations

from pathlib import Path

from memo_core.data._common import (
    DropLog,
    check_columns,
    clean_id,
    finish_load,
    missing_id,
    outside_bounds,
    read_table,
    refuse_if_mostly_invalid,
    require_file,
)
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_4q", "QUADRANT_SIGNS", "quadrant_signs", "FOURQ_LICENCE", "FOURQ_CITATION"]

_HINT = ("Pass the MER_audio_taffc_dataset folder (the one holding Q1/ ... Q4/ and "
         "panda_dataset_taffc_annotations.csv), or the folder that holds it.")
_FOLDER = "MER_audio_taffc_dataset"
_ANNOTATIONS = "panda_dataset_taffc_annotations.csv"
_METADATA = "panda_dataset_taffc_metadata.csv"

#: Russell quadrant -> (valence sign, arousal sign).
QUADRANT_SIGNS: dict[str, tuple[int, int]] = {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}
FOURQ_CITATION = ("R. Panda, R. Malheiro, R. P. Paiva, 'Novel audio features for music emotion recognition', "
                  "IEEE Transactions on Affective Computing, 2018")
FOURQ_LICENCE = ("4Q (Panda et al. 2018): no licence stated; the authors ask for the paper to be cited "
                 f"({FOURQ_CITATION}); commercial recordings, research use only, never redistributed")


def quadrant_signs(quadrant: str) -> tuple[int, int]:
    """``(valence sign, arousal sign)`` of a Russell quadrant name (``"Q1"`` ... ``"Q4"``).

    Raises:
        DatasetError: not a quadrant name.
    """
    key = str(quadrant).strip().upper()
    if key not in QUADRANT_SIGNS:
        raise DatasetError(f"{quadrant!r} is not a Russell quadrant; expected one of {', '.join(QUADRANT_SIGNS)}")
    return QUADRANT_SIGNS[key]


def _dataset_dir(root: Path | None) -> Path:
    if root is None:
        raise DatasetError(f"4q needs the dataset folder. {_HINT}")
    root = Path(root)
    if (root / _ANNOTATIONS).is_file():
        return root
    if (root / _FOLDER / _ANNOTATIONS).is_file():
        return root / _FOLDER
    if not root.is_dir():
        raise DatasetError(f"4q: {root} is not a folder. {_HINT}")
    return require_file(root / _ANNOTATIONS, dataset="4q", hint=_HINT).parent


def _moods(value: object) -> tuple[str, ...]:
    if not isinstance(value, str):
        return ()
    seen: list[str] = []
    for part in value.split(";"):
        tag = part.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return tuple(seen)


@register_dataset("4q")
def load_4q(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Read the 4Q dataset in its official layout (see the module docstring).

    Args:
        root: ``MER_audio_taffc_dataset/`` or the folder holding it.
        require_audio: skip songs whose mp3 is missing.

    Returns:
        One record per annotated clip: ``meta`` holds ``quadrant``,
        ``valence_sign``, ``arousal_sign``, ``artist`` (also ``group``, the
        split key), ``title``, ``genres``, ``pquad`` (the share of the clip's
        mood tags in its quadrant); ``tags`` the AllMusic moods.

    Raises:
        DatasetError: no annotations file, or one without ``Song`` and ``Quadrant`` columns.
    """
    folder = _dataset_dir(root)
    annotations = read_table(folder / _ANNOTATIONS, dataset="4q")
    check_columns(annotations, ("Song", "Quadrant"), path=folder / _ANNOTATIONS, dataset="4q")
    meta_rows: dict[str, dict] = {}
    if (folder / _METADATA).is_file():
        metadata = read_table(folder / _METADATA, dataset="4q")
        check_columns(metadata, ("Song", "Artist"), path=folder / _METADATA, dataset="4q")
        meta_rows = {clean_id(r["Song"]): r for r in metadata.to_dict("records")}
    songs: list[SongRecord] = []
    skipped: dict[str, str] = {}
    invalid, bad_pquad, n_pquad = DropLog(), [], 0
    for line, row in enumerate(annotations.to_dict("records"), start=1):
        if missing_id(row["Song"]):   # never a song called "nan"
            invalid.add(_ANNOTATIONS, "row without a song name", f"data row {line}: Quadrant {row.get('Quadrant')!r}")
            continue
        song_id = clean_id(row["Song"])
        quadrant = str(row.get("Quadrant") or "").strip().upper()
        if quadrant not in QUADRANT_SIGNS:
            skipped[song_id] = f"quadrant {row.get('Quadrant')!r} is not Q1-Q4"
            continue
        audio = folder / quadrant / f"{song_id}.mp3"
        if not audio.is_file():
            found = [p for p in (folder / q / f"{song_id}.mp3" for q in QUADRANT_SIGNS) if p.is_file()]
            audio = found[0] if found else None
        info = {k: v for k, v in meta_rows.get(song_id, {}).items() if isinstance(v, str)}  # empty cells: NaN
        artist = str(info.get("Artist") or "").strip()
        if not artist:
            artist = f"unknown artist of {song_id}"  # its own group: never merged with another clip
        valence_sign, arousal_sign = QUADRANT_SIGNS[quadrant]
        pquad = info.get("PQuad")
        try:
            pquad = float(pquad) if pquad is not None else None
        except ValueError:
            pquad = None
        if pquad is not None:
            n_pquad += 1
            if outside_bounds(pquad, (0.0, 1.0)):   # a share of the clip's mood tags
                bad_pquad.append(f"song {song_id}: PQuad {pquad:g}")
                pquad = None
        songs.append(SongRecord(
            song_id=song_id,
            dataset="4q",
            audio_path=audio,
            tags=_moods(info.get("MoodsStrSplit") or info.get("MoodsStr")),
            meta={"quadrant": quadrant, "valence_sign": valence_sign, "arousal_sign": arousal_sign,
                  "artist": artist, "group": artist, "title": str(info.get("Title") or ""),
                  "genres": str(info.get("GenresStr") or ""), "pquad": pquad},
        ))
    refuse_if_mostly_invalid(dataset="4q", path=folder / _METADATA, n_invalid=len(bad_pquad), n_total=n_pquad,
                             what="PQuad values", examples=bad_pquad,
                             hint="PQuad is the share of a clip's mood tags in its quadrant, from 0 to 1.")
    for example in bad_pquad:
        invalid.add(_METADATA, "PQuad not finite or off [0, 1]", example, action="values left out")
    return finish_load(dataset="4q", root=folder, songs=songs, skipped=skipped, require_audio=require_audio,
                       invalid=invalid)
