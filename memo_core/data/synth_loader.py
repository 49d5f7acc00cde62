"""Reader of MEMO's synthetic corpus (registry name ``"synth"``), as written by :mod:`memo_core.data.synth`.

Layout (``root`` is the corpus folder; ``python -m memo_core synth --out DIR`` writes it)::

    root/corpus.json                      name, version, seed, n_songs, duration_s, sample_rate,
                                          annotation_start_s, frame_seconds, tags, splits
    root/audio/{song_id}.flac
    root/annotations/{arousal,valence}_cont_average.csv, {arousal,valence}_cont_std.csv
                                          wide, as emoMusic, in [-1, 1]
    root/annotations/static_annotations.csv   song_id,mean_arousal,std_arousal,mean_valence,std_valence (1-9)
    root/annotations/songs_info.csv       song_id,file_name,split,tags (';'-separated),tempo_bpm,key,mode,...
    root/annotations/design.csv           long: song_id,time_s,valence,arousal (the designed trajectory)

The annotation files are read with the emoMusic readers. Extra
``songs_info.csv`` columns go to ``meta`` (numbers as numbers); the designed
trajectory goes to ``meta["design_times"]``, ``meta["design_valence"]`` and
``meta["design_arousal"]`` [shape=(n_design,)], the ground truth the
simulated raters' annotations were drawn around.

This module only reads files: it does not import the generator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from memo_core.data._common import (
    check_columns,
    clean_id,
    find_audio,
    finish_load,
    read_long_series,
    read_table,
    require_dir,
)
from memo_core.data.emomusic import read_annotation_folder, record_from_annotations
from memo_core.data.records import DatasetLoad
from memo_core.data.registry import register_dataset
from memo_core.data.synth import default_corpus_dir
from memo_core.errors import DatasetError

__all__ = ["load_synth", "read_corpus_info"]

_HINT = "Generate a corpus with `python -m memo_core synth --out DIR` and pass DIR."
_INFO_COLUMNS = ("song_id", "file_name", "split", "tags")


def read_corpus_info(root: str | Path) -> dict[str, Any]:
    """The corpus description ``root/corpus.json`` (seed, durations, tag vocabulary, splits).

    Raises:
        DatasetError: the file is missing or is not a JSON object.
    """
    path = Path(root).expanduser() / "corpus.json"
    if not path.is_file():
        raise DatasetError(f"synth: expected the corpus description {path}, which does not exist. {_HINT}")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DatasetError(f"synth: {path} is not UTF-8 JSON text. {_HINT}") from None
    except json.JSONDecodeError as error:
        raise DatasetError(f"synth: {path} is not valid JSON ({error}). {_HINT}") from error
    if not isinstance(info, dict):
        raise DatasetError(f"synth: {path} should hold a JSON object. {_HINT}")
    return info


def _scalar(text: Any) -> Any:
    """A songs_info cell as int, float or the string itself."""
    if not isinstance(text, str):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _read_design(path: Path) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    if not path.is_file():
        return {}
    frame = read_table(path, dataset="synth")
    check_columns(frame, ("song_id", "time_s", "valence", "arousal"), path=path, dataset="synth")
    design, _ = read_long_series(
        frame, id_column="song_id", time_column="time_s", value_columns={"valence": "valence", "arousal": "arousal"}
    )
    return design


@register_dataset("synth")
def load_synth(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load the synthetic corpus.

    Args:
        root: the corpus folder; ``None`` for the default one
            (:func:`memo_core.data.synth.default_corpus_dir`).
        require_audio: skip songs whose FLAC is missing instead of keeping them
            with ``audio_path=None``.

    Returns:
        One :class:`SongRecord` per song, with tags, split, tempo/key/... and
        the designed trajectory in ``meta``.

    Raises:
        DatasetError: no ``corpus.json`` in ``root`` or missing annotation files.
    """
    if root is None:
        # Imported here so that reading a corpus never loads the generator's dependencies.

        root = Path(default_corpus_dir())
    root = require_dir(Path(root), dataset="synth", hint=_HINT)
    corpus = read_corpus_info(root)
    annotations = require_dir(root / "annotations", dataset="synth", hint=_HINT)
    dynamic, static = read_annotation_folder(annotations, dataset="synth", hint=_HINT)
    info_path = annotations / "songs_info.csv"
    info = read_table(info_path, dataset="synth") if info_path.is_file() else pd.DataFrame(columns=["song_id"])
    check_columns(info, ("song_id",), path=info_path, dataset="synth")
    info_by_id = {clean_id(row["song_id"]): row for _, row in info.iterrows()}
    design = _read_design(annotations / "design.csv")
    skipped = dict(dynamic.skipped)
    for song_id in info_by_id.keys() - dynamic.frame_times.keys() - skipped.keys():
        skipped[song_id] = "no dynamic annotation"
    audio_dir = root / "audio"
    songs = []
    for song_id, times in dynamic.frame_times.items():
        row = info_by_id.get(song_id)
        meta: dict[str, Any] = {"corpus": corpus.get("name", "memo-synth"), "seed": corpus.get("seed")}
        tags: tuple[str, ...] = ()
        split = None
        audio_path = None
        if row is not None:
            meta.update({k: _scalar(v) for k, v in row.items() if k not in _INFO_COLUMNS and pd.notna(v)})
            if isinstance(row.get("tags"), str):
                tags = tuple(t.strip() for t in row["tags"].split(";") if t.strip())
            split = row.get("split") if isinstance(row.get("split"), str) else None
            if isinstance(row.get("file_name"), str) and (audio_dir / row["file_name"]).is_file():
                audio_path = audio_dir / row["file_name"]
        audio_path = audio_path or find_audio(audio_dir, song_id, (".flac", ".wav"))
        if song_id in design:
            design_times, design_values = design[song_id]
            meta.update(
                design_times=design_times,
                design_valence=design_values["valence"],
                design_arousal=design_values["arousal"],
            )
        songs.append(
            record_from_annotations(song_id, dataset="synth", frame_times=times, dynamic=dynamic, static=static,
                                    audio_path=audio_path, tags=tags, split=split, meta=meta)
        )
    return finish_load(dataset="synth", root=root, songs=songs, skipped=skipped, require_audio=require_audio,
                       invalid=dynamic.invalid)
