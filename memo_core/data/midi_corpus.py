"""Read back a folder of rendered MIDI pieces (``"vgmidi_rendered"``, ``"emopia_rendered"``).

:func:`memo_core.data.midi_render.render_midi_dataset` writes, besides the
audio, everything needed to load its result again without the source dataset::

    out_dir/corpus.json     name, renderer_version, source, dataset, soundfont, sample_rate, seed,
                            arrangements, max_seconds, licences, records (the file names the last
                            call returned, in order), skipped, files (every render on disk: song_id,
                            arrangement, kind, programs, velocity, seconds, style, ...)
    out_dir/labels.json     per source song: frame_times, valence, arousal, their std over listeners,
                            static labels, split, tags and meta (EMOPIA's quadrant, VGMIDI's raters)
    out_dir/audio/<song>-a<k>-<key>.flac

``load_dataset("vgmidi_rendered", out_dir)`` returns the same records as the
call that rendered them (ids ``"<song_id>#a<k>"``; see
:func:`memo_core.data.midi_render.render_midi_dataset`). This module is the
light half: it reads, and does not import the renderer.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.data._common import finish_load, require_dir, require_file
from memo_core.data.licences import licence_of
from memo_core.data.records import DatasetLoad, SkippedSong, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = [
    "RENDERER_NAME",
    "RENDERER_VERSION",
    "CORPUS_FILE",
    "LABELS_FILE",
    "labels_to_json",
    "labels_from_json",
    "rendered_record",
    "read_rendered",
    "load_vgmidi_rendered",
    "load_emopia_rendered",
]

RENDERER_NAME = "memo-midi-render"
#: Bump when a change alters the audio: every cached file is rendered again.
RENDERER_VERSION = 1
CORPUS_FILE = "corpus.json"
LABELS_FILE = "labels.json"
_SERIES = ("frame_times", "valence", "arousal", "valence_std", "arousal_std")


def _plain(value: Any) -> Any:
    """``value`` as JSON: paths as strings, numpy scalars as numbers."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def labels_to_json(song: SongRecord) -> dict[str, Any]:
    """A source record's labels and meta as JSON-ready values (series rounded to 6 decimals)."""
    out: dict[str, Any] = {}
    for name in _SERIES:
        value = getattr(song, name)
        if value is not None and (name != "frame_times" or len(value)):
            out[name] = [round(float(v), 6) for v in np.asarray(value)]
    for name in ("static_valence", "static_arousal", "split"):
        if getattr(song, name) is not None:
            out[name] = getattr(song, name)
    if song.tags:
        out["tags"] = list(song.tags)
    out["meta"] = _plain(song.meta)
    return out


def labels_from_json(song_id: str, data: dict[str, Any], *, dataset: str) -> SongRecord:
    """The source record :func:`labels_to_json` stored (``meta["midi_path"]`` back as a Path)."""
    series = {name: np.asarray(data[name], dtype=np.float64) for name in _SERIES if name in data}
    meta = dict(data.get("meta") or {})
    if meta.get("midi_path"):
        meta["midi_path"] = Path(meta["midi_path"])
    return SongRecord(song_id=song_id, dataset=dataset, audio_path=None,
                      frame_times=series.pop("frame_times", np.zeros(0, dtype=np.float64)),
                      static_valence=data.get("static_valence"), static_arousal=data.get("static_arousal"),
                      split=data.get("split"), tags=tuple(data.get("tags") or ()), meta=meta, **series)


def rendered_record(song: SongRecord, arrangement: int, path: Path | None, duration: float, entry: dict[str, Any],
                    *, source: str, soundfont: str | None) -> SongRecord | None:
    """A source record as a rendered one: the audio, labels cut to its length, provenance in ``meta``.

    Args:
        song: the source record (VGMIDI or EMOPIA).
        arrangement: the arrangement number.
        path: the FLAC file (None when it is missing).
        duration: the audio's length in seconds.
        entry: the file's corpus.json entry (``kind``, ``programs``, ``velocity``, ``soundfont``).
        source: the source dataset's name.
        soundfont: the soundfont name to record when ``entry`` has none.

    Returns:
        The record, or None when no annotation instant falls inside the audio.
    """
    group = song.meta.get("song_group") or song.song_id
    meta = dict(song.meta)
    meta.update({
        "source": source, "source_song_id": song.song_id, "arrangement": arrangement,
        "arrangement_kind": entry.get("kind"), "programs": entry.get("programs"), "velocity": entry.get("velocity"),
        "song_group": group, "group": group, "soundfont": entry.get("soundfont", soundfont),
        "renderer_version": RENDERER_VERSION, "licence": licence_of(source),
    })
    record = replace(song, song_id=f"{song.song_id}#a{arrangement}", dataset=f"{source}_rendered",
                     audio_path=path, meta=meta)
    if song.n_frames:
        keep = song.frame_times <= duration + 1e-6
        if not keep.any():
            return None
        record.frame_times = song.frame_times[keep]
        for name in _SERIES[1:]:
            value = getattr(song, name)
            if value is not None:
                setattr(record, name, np.asarray(value)[keep])
    return record


def _read_json(path: Path, dataset: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{dataset}: {path} could not be read as JSON ({error}); render the folder again "
                           "with memo_core.data.midi_render.render_midi_dataset") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{dataset}: {path} should hold a JSON object; render the folder again")
    return data


def read_rendered(root: Path | None, *, source: str, require_audio: bool = False) -> DatasetLoad:
    """Load a folder written by :func:`memo_core.data.midi_render.render_midi_dataset`.

    Args:
        root: the renders' folder (``out_dir``).
        source: the source dataset the folder must hold renders of (``"vgmidi"``, ``"emopia"``).
        require_audio: skip records whose FLAC is missing.

    Returns:
        ``"<source>_rendered"`` records of the last render call, with its skipped songs.

    Raises:
        DatasetError: no folder, no corpus.json or labels.json, renders of another source.
    """
    dataset = f"{source}_rendered"
    hint = (f"Pass the folder memo_core.data.midi_render.render_midi_dataset wrote for {source} "
            f"(it holds {CORPUS_FILE}, {LABELS_FILE} and audio/).")
    if root is None:
        raise DatasetError(f"{dataset}: no folder given. {hint}")
    root = require_dir(Path(root), dataset=dataset, hint=hint)
    corpus = _read_json(require_file(root / CORPUS_FILE, dataset=dataset, hint=hint), dataset)
    if corpus.get("name") != RENDERER_NAME:
        raise DatasetError(f"{dataset}: {root / CORPUS_FILE} was not written by the MIDI renderer. {hint}")
    if corpus.get("source") != source:
        raise DatasetError(f"{dataset}: {root} holds renders of {corpus.get('source')!r}, not {source!r}; "
                           f"load it as {corpus.get('source')}_rendered")
    labels = _read_json(require_file(root / LABELS_FILE, dataset=dataset, hint=hint), dataset)
    files = corpus.get("files") if isinstance(corpus.get("files"), dict) else {}
    soundfont = (corpus.get("soundfont") or {}).get("name") if isinstance(corpus.get("soundfont"), dict) else None
    songs: list[SongRecord] = []
    skipped = [SkippedSong(str(s[0]), str(s[1])) for s in corpus.get("skipped", [])
               if isinstance(s, (list, tuple)) and len(s) == 2]
    for name in corpus.get("records", []):
        entry = files.get(name) if isinstance(files.get(name), dict) else {}
        song_id, arrangement = entry.get("song_id"), entry.get("arrangement")
        if song_id not in labels or not isinstance(arrangement, int):
            skipped.append(SkippedSong(f"{song_id}#a{arrangement}", "render listed without its labels"))
            continue
        path = root / "audio" / str(name)
        song = labels_from_json(str(song_id), labels[song_id], dataset=source)
        duration = float(entry.get("seconds") or 0.0)
        record = rendered_record(song, arrangement, path if path.is_file() else None, duration, entry,
                                 source=source, soundfont=soundfont)
        if record is None:
            skipped.append(SkippedSong(f"{song_id}#a{arrangement}", "render shorter than the first annotation instant"))
            continue
        songs.append(record)
    return finish_load(dataset=dataset, root=root, songs=songs, skipped=skipped, require_audio=require_audio)


@register_dataset("vgmidi_rendered")
def load_vgmidi_rendered(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """VGMIDI rendered to audio by :func:`memo_core.data.midi_render.render_midi_dataset` (see :func:`read_rendered`).

    Args:
        root: the renders' folder.
        require_audio: skip records whose FLAC is missing.

    Returns:
        One record per (piece, arrangement) with the listeners' curves cut to the audio.

    Raises:
        DatasetError: not a folder of VGMIDI renders.
    """
    return read_rendered(root, source="vgmidi", require_audio=require_audio)


@register_dataset("emopia_rendered")
def load_emopia_rendered(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """EMOPIA rendered to audio by :func:`memo_core.data.midi_render.render_midi_dataset` (see :func:`read_rendered`).

    Args:
        root: the renders' folder.
        require_audio: skip records whose FLAC is missing.

    Returns:
        One record per (clip, arrangement) with the quadrant's signs.

    Raises:
        DatasetError: not a folder of EMOPIA renders.
    """
    return read_rendered(root, source="emopia", require_audio=require_audio)
