"""VGMIDI, piano arrangements of video-game music rated over time (Ferreira & Whitehead, ISMIR 2019).

Layout of the official repository (``root`` is the repository folder; its
``labelled/`` folder is accepted too)::

    root/labelled/midi/<Series>_<Console>_<Game>_<Piece>.mid      the 204 MIDI files
    root/labelled/annotations/vgmidi_raw_1.json                    annotation rounds 1 and 2:
    root/labelled/annotations/vgmidi_raw_2.json
        {"pieces":      {"piece0": {"midi": FILE, "duration": SECONDS, "measures": M, "name", "audio"}, ...},
         "annotations": {"piece0_1": {"valence": [M values], "arousal": [M values], age, gender, ...}, ...}}
    root/vgmidi_labelled.csv    the repository's later phrase-level binary table (not read: its
                                phrase MIDI files are not part of the layout)

Each annotation is one listener's curve for one piece: one valence and one
arousal value in [-1, 1] per "measure". Piece keys are local to their JSON
file (``piece0`` of round 1 and of round 2 are different pieces); about 30
listeners rated each piece.

From measures to 2 Hz
---------------------
Measure times come from ``duration / measures``, not from the MIDI's
downbeats: the annotation tool (lucasnfe/adl-music-annotation) played a WAV
rendering of ``duration`` seconds and stored the cursor position in the slot
``floor(t / duration * measures)`` on every animation frame, so slot ``k``
holds where the listener was at the end of ``[k, k + 1) * duration / measures``
(its ``measures`` is ``ceil(quarter notes / 4)`` of the MIDI: 4/4 "measures"
whatever the time signature, which is why downbeats disagree with it in
3/4 and 6/8 pieces). Each listener's curve is therefore placed at the slot
ends ``(k + 1) * duration / measures`` and read at the annotation instants
``0.5, 1.0, ...`` up to ``duration`` by linear interpolation (the first value
held before its slot end). The value at ``t`` is the listener's position at
``t``: it describes the 500 ms frame ending at ``t``
(:func:`memo_core.features.annotation_frame_index`).

Two artefacts of the tool are undone: a curve one value longer than
``measures`` got its last value at the very end of playback (a write to slot
``measures``) and that value is dropped; trailing slots still at exactly
``(0, 0)`` were never reached (the tool filled the arrays with zeros) and count
as missing for that listener. A curve of any other length, with values that
are not numbers or outside [-1, 1], is left out (counted in
``meta["n_raters_dropped"]``). Frames at the end that fewer than half of the
piece's listeners reached are cut.

Records: ``valence``/``arousal`` are the mean over listeners,
``valence_std``/``arousal_std`` the standard deviation over listeners
(``ddof=1``); ``audio_path`` is ``None`` (the dataset is MIDI: render it with
:func:`memo_core.data.midi_render.render_midi_dataset`); ``meta`` holds
``midi_path``, ``n_raters``, ``n_raters_dropped``, ``piece_key``
(``"vgmidi_raw_1/piece0"``), ``name``, ``duration_s``, ``measures``,
``song_group`` (the song id: every piece is its own group) and ``series``,
``console``, ``game`` from the file name. No split: VGMIDI has none for
these curves. Song ids are the MIDI file names without ``.mid``.

Licence: none in the repository, which asks for the paper to be cited; the
music is copyrighted game music (research use; never redistribute renders).
See :data:`memo_core.data.licences.SOURCE_LICENCES`.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.data._common import DropLog, finish_load, read_text, refuse_if_mostly_invalid, require_dir
from memo_core.data.records import DatasetLoad, SongRecord
from memo_core.data.registry import register_dataset
from memo_core.errors import DatasetError

__all__ = ["load_vgmidi", "measure_curves_to_frames"]

_HINT = ("Pass the VGMIDI repository folder (the one holding labelled/midi/ and "
         "labelled/annotations/vgmidi_raw_1.json), as cloned from https://github.com/lucasnfe/vgmidi.")
_KEY = re.compile(r"^(piece\d+)_(\d+)$")
_ANNOTATION_FILES = re.compile(r"^vgmidi_raw_(\d+)\.json$")


def _labelled_dir(root: Path | None) -> Path:
    if root is None:
        raise DatasetError(f"vgmidi: no dataset folder given. {_HINT}")
    root = require_dir(Path(root), dataset="vgmidi", hint=_HINT)
    if (root / "labelled" / "annotations").is_dir():
        return root / "labelled"
    if (root / "annotations").is_dir() and (root / "midi").is_dir():
        return root
    return require_dir(root / "labelled" / "annotations", dataset="vgmidi", hint=_HINT).parent


def _read_json(path: Path) -> dict[str, dict[str, Any]]:
    """The two tables of one annotation file, checked for shape; a DatasetError for anything else."""
    text = read_text(path, dataset="vgmidi", kind="JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"vgmidi: {path} is not valid JSON ({error}). "
                           "Check that it is the repository's original file.") from None
    if not isinstance(data, dict) or not isinstance(data.get("pieces"), dict) \
            or not isinstance(data.get("annotations"), dict):
        found = list(data) if isinstance(data, dict) else type(data).__name__
        raise DatasetError(f"vgmidi: {path} should hold an object with the objects 'pieces' and 'annotations' "
                           f"(VGMIDI's raw annotation format); found {found}. "
                           "Check that it is the repository's original file.")
    return data


def _curve(values: Any, measures: int) -> tuple[np.ndarray | None, float | None]:
    """One listener's per-measure values, artefacts undone (None when unusable), and the first value
    that is not finite or lies off [-1, 1], if that is why it is unusable."""
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in values):
        return None, None
    if len(values) == measures + 1:   # a write at the very end of playback, into slot `measures`
        values = values[:measures]
    if len(values) != measures:
        return None, None
    x = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(x) | (np.abs(np.nan_to_num(x, nan=2.0)) > 1.0 + 1e-9)
    if bad.any():
        return None, float(x[np.argmax(bad)])
    return x, None


def measure_curves_to_frames(
    curves: list[tuple[np.ndarray, np.ndarray]], *, duration_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Listeners' per-measure curves as 2 Hz mean and spread (see the module docstring).

    Args:
        curves: per listener ``(valence, arousal)``, each one value per
            measure, all of the same length ``measures``; trailing ``(0, 0)``
            pairs count as never reached. [shape=(measures,)]
        duration_s: the length of the audio the measures divide evenly.

    Returns:
        ``(frame_times, valence, arousal, valence_std, arousal_std)``: instants
        ``0.5, 1.0, ...`` up to ``duration_s`` (cut where fewer than half the
        listeners reached), the mean over listeners and the std over listeners
        (``ddof=1``; 0 where one listener is left). [shape=(n_frames,)]

    Raises:
        DatasetError: no curve, curves of different lengths, or a duration
            shorter than one frame.
    """
    if not curves:
        raise DatasetError("measure_curves_to_frames needs at least one listener's curve")
    measures = len(curves[0][0])
    if measures == 0 or any(len(v) != measures or len(a) != measures for v, a in curves):
        raise DatasetError("every listener's valence and arousal curve must have the same, non-zero length")
    n_frames = int(math.floor(round(duration_s / FRAME_SECONDS, 6)))
    if n_frames < 1:
        raise DatasetError(f"a piece of {duration_s} s is shorter than one 500 ms frame")
    times = FRAME_SECONDS * np.arange(1, n_frames + 1)
    slot_ends = (np.arange(measures) + 1) * (duration_s / measures)
    ratings = np.full((2, len(curves), n_frames), np.nan)
    for r, (valence, arousal) in enumerate(curves):
        reached = np.flatnonzero((valence != 0) | (arousal != 0))
        if reached.size == 0:
            continue
        last = int(reached[-1])
        for d, values in enumerate((valence, arousal)):
            at = np.interp(times, slot_ends[: last + 1], values[: last + 1])
            if last < measures - 1:   # slots past the last reached one stay missing
                at[times > slot_ends[last] + 1e-9] = np.nan
            ratings[d, r] = at
    count = np.sum(np.isfinite(ratings[0]), axis=0)
    keep = count >= max(1, math.ceil(len(curves) / 2))
    n_keep = int(np.argmin(keep)) if not keep.all() else n_frames
    ratings, count = ratings[:, :, :n_keep], count[:n_keep]
    mean = np.nanmean(ratings, axis=1) if n_keep else np.zeros((2, 0))
    spread = np.zeros((2, n_keep))
    several = count > 1
    if several.any():
        spread[:, several] = np.nanstd(ratings[:, :, several], axis=1, ddof=1)
    return times[:n_keep], mean[0], mean[1], spread[0], spread[1]


def _name_parts(stem: str) -> dict[str, str]:
    parts = stem.split("_")
    if len(parts) < 4:
        return {}
    return {"series": parts[0], "console": parts[1], "game": parts[2]}


@register_dataset("vgmidi")
def load_vgmidi(root: Path | None, *, require_audio: bool = False) -> DatasetLoad:
    """Load VGMIDI's labelled pieces with their listeners' valence/arousal curves at 2 Hz.

    Args:
        root: the repository folder (or its ``labelled/`` folder).
        require_audio: VGMIDI has no audio, so True skips every piece with the
            reason ``"no audio file"``; render the MIDI first
            (:func:`memo_core.data.midi_render.render_midi_dataset`).

    Returns:
        One record per annotated piece (see the module docstring for the
        fields). Skipped, with reasons: MIDI files no annotation file lists,
        listed pieces whose MIDI file is missing or that have no usable curve,
        and annotations of piece keys the ``pieces`` table does not list.

    Raises:
        DatasetError: no folder, no ``vgmidi_raw_*.json``, a file that is not
            JSON or lacks the ``pieces``/``annotations`` objects, or a file where
            most listener curves hold values off [-1, 1] (a few are left out,
            counted in ``meta["n_raters_dropped"]`` and reported in
            :attr:`DatasetLoad.dropped`).
    """
    labelled = _labelled_dir(root)
    ann_dir = labelled / "annotations"
    midi_dir = labelled / "midi"
    files = sorted((p for p in ann_dir.iterdir() if _ANNOTATION_FILES.match(p.name)),
                   key=lambda p: int(_ANNOTATION_FILES.match(p.name).group(1)))
    if not files:
        raise DatasetError(f"vgmidi: {ann_dir} holds no vgmidi_raw_*.json annotation file. {_HINT}")
    midi_files = {p.stem: p for p in midi_dir.glob("*.mid")} if midi_dir.is_dir() else {}
    songs: list[SongRecord] = []
    skipped: dict[str, str] = {}
    listed: set[str] = set()
    invalid = DropLog()
    for path in files:
        data = _read_json(path)
        round_name = path.stem
        n_curves, off_scale = 0, []
        by_piece: dict[str, list[dict[str, Any]]] = {}
        for key, annotation in data["annotations"].items():
            match = _KEY.match(str(key))
            piece = match.group(1) if match else str(key)
            by_piece.setdefault(piece, []).append(annotation if isinstance(annotation, dict) else {})
        for piece in sorted(set(by_piece) - set(data["pieces"])):
            skipped[f"{round_name}/{piece}"] = "annotations of a piece the 'pieces' table does not list (no MIDI file)"
        for piece, info in data["pieces"].items():
            piece_key = f"{round_name}/{piece}"
            if not isinstance(info, dict) or not isinstance(info.get("midi"), str):
                skipped[piece_key] = "piece entry without a 'midi' file name"
                continue
            song_id = Path(info["midi"]).stem
            if song_id in listed:
                skipped[f"{piece_key}:{song_id}"] = "piece listed twice in the annotation files"
                continue
            listed.add(song_id)
            try:
                duration = float(info.get("duration"))
                measures = int(info.get("measures"))
            except (TypeError, ValueError):
                skipped[song_id] = "piece entry without a numeric 'duration' and 'measures'"
                continue
            if not (math.isfinite(duration) and duration >= FRAME_SECONDS and measures >= 1):
                skipped[song_id] = "piece entry with a duration under 0.5 s or no measures"
                continue
            midi_path = midi_files.get(song_id)
            if midi_path is None:
                skipped[song_id] = "MIDI file named in the annotations is missing"
                continue
            annotations = by_piece.get(piece, [])
            curves, dropped = [], 0
            for number, annotation in enumerate(annotations, start=1):
                valence, bad_valence = _curve(annotation.get("valence"), measures)
                arousal, bad_arousal = _curve(annotation.get("arousal"), measures)
                n_curves += 1
                for name, value in (("valence", bad_valence), ("arousal", bad_arousal)):
                    if value is not None:
                        off_scale.append(f"{piece} listener {number}: {name} {value:g}")
                        break
                if valence is None or arousal is None or not np.any((valence != 0) | (arousal != 0)):
                    dropped += 1
                else:
                    curves.append((valence, arousal))
            if not curves:
                skipped[song_id] = ("no annotation" if not annotations
                                    else "no usable annotation (curves of the wrong length or not numbers)")
                continue
            times, valence, arousal, valence_std, arousal_std = measure_curves_to_frames(curves, duration_s=duration)
            if len(times) == 0:
                skipped[song_id] = "no annotation reached the first 500 ms frame"
                continue
            songs.append(SongRecord(
                song_id=song_id, dataset="vgmidi", audio_path=None, frame_times=times,
                valence=valence, arousal=arousal, valence_std=valence_std, arousal_std=arousal_std,
                meta={"midi_path": midi_path, "n_raters": len(curves), "n_raters_dropped": dropped,
                      "piece_key": piece_key, "name": str(info.get("name") or ""), "duration_s": duration,
                      "measures": measures, "song_group": song_id, **_name_parts(song_id)},
            ))
        refuse_if_mostly_invalid(dataset="vgmidi", path=path, n_invalid=len(off_scale), n_total=n_curves,
                                 what="listener curves", examples=off_scale,
                                 hint="VGMIDI's valence and arousal curves are on [-1, 1]; check that this is "
                                      "the repository's original file.")
        for example in off_scale:
            invalid.add(path.name, "listener curve with a value not finite or off [-1, 1]", example,
                        action="listener curves left out")
    for song_id in sorted(set(midi_files) - listed):
        skipped[song_id] = "MIDI file with no annotation (no vgmidi_raw_*.json lists it)"
    return finish_load(dataset="vgmidi", root=labelled.parent if labelled.name == "labelled" else labelled,
                       songs=songs, skipped=skipped, require_audio=require_audio, invalid=invalid)
