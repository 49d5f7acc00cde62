"""Render a MIDI dataset with real listeners' labels (VGMIDI, EMOPIA) to training audio.

The MIDI files are rendered with the synthetic corpus's machinery
(:mod:`memo_core.data.synth`): the same soundfont renderer
(``midirenderer``, through ``synth._render_midi``) and the same randomised
nuisance chain (``synth._post_process`` with a :class:`synth.Style` drawn by
``synth.sample_style``: convolution reverb, EQ tilt, compressor, mastering
gain, background noise, soft limiter). The chain's emotion-driven brightness
cue is switched off (it gets neutral curves): the labels come from listeners,
and nothing in the rendering is drawn from them.

Arrangements
------------
Each piece is rendered ``arrangements`` times; arrangement 0 keeps the file's
own instruments (piano), the others substitute General MIDI programs:

* ``"single"``: every part on one program from a pool of instruments that
  play polyphony well (pianos, electric pianos, harpsichord, mallets, organs,
  nylon guitar, harp, strings);
* ``"split"``: the notes are split by pitch into a lead (the skyline: notes at
  or above C4 with nothing higher sounding at their onset), a bass (notes below
  G3 with nothing lower sounding) and the accompaniment (the rest), each on a
  program from its own pool (lead: piano, electric piano, vibraphone, nylon
  guitar, violin, harp, trumpet, horn, sax, oboe, clarinet, flute; accompaniment:
  pianos, electric pianos, harpsichord, organs, guitars, harp, strings, choir,
  warm pad; bass: piano, acoustic/finger/fretless bass, cello, contrabass).

Programs that have no sustain pedal (winds, strings, organs, basses) get the
pedal written into their note lengths (a note released while the pedal is
down lasts until the pedal comes up) and no pedal events.

Velocities: files whose non-drum notes use at most 3 velocity values (most of
VGMIDI: constant 110, 127, ...; listeners rated renders of exactly that) get
musically varied velocities in every arrangement: phrase-level dynamics
(4-bar phrases, a level drawn per phrase boundary, +-7 velocity steps,
interpolated, plus an arch within each phrase of up to 6 steps), a metric
accent (downbeats +6, other beats +2, off-beats -2, beats from pretty_midi),
the melody voiced over the rest (skyline notes +5, accompaniment -4) and a
jitter of 3 steps. The offsets are centred on zero over the piece so its mean
level (a loudness cue the listeners heard) stays, except that a piece above
velocity 112 is moved down to 112 to leave room for accents. Files with
performed velocities (EMOPIA) keep them.

Timing is never changed (no tempo change, no transposition), so the labels'
clock is the audio's: VGMIDI curves are cut to the rendered length; EMOPIA
clips keep their quadrant signs. A second of release is rendered after the
last note.

Output and cache
----------------
``out_dir/audio/<song>-a<k>-<key>.flac`` (mono, 16 bit) where ``key`` hashes
the MIDI bytes, the arrangement's seed, :data:`RENDERER_VERSION`, the
soundfont's name, the sample rate and ``max_seconds``: an existing file is
reused, so a second call renders nothing. ``out_dir/corpus.json`` records the
source, the soundfont, the labels' licence, the records returned and every
file's arrangement; ``out_dir/labels.json`` the source's labels, so that
``load_dataset("vgmidi_rendered", out_dir)`` (or ``"emopia_rendered"``) reads
the result back without the source (:mod:`memo_core.data.midi_corpus`). All
files are written atomically.

Soundfont: Debian's FluidR3_GM (``/usr/share/sounds/sf2/FluidR3_GM.sf2``,
package ``fluid-soundfont-gm``) where installed, else the TimGM6mb inside
pretty_midi. Speed with FluidR3_GM at 22.05 kHz on one core: about 0.02 s of
work per second of music: a VGMIDI piece (113 s on average) in about 2.8 s,
an EMOPIA clip (41 s) in about 0.9 s; about half of it synthesis, the rest the
nuisance chain and FLAC encoding (TimGM6mb is about 20 % faster). The FLAC
files take about 28 kB per second of music.

Licences: renders are for research only and must not be redistributed
(VGMIDI is copyrighted game music); models trained on EMOPIA inherit
CC BY-NC-SA 4.0 (see :data:`memo_core.data.licences.SOURCE_LICENCES`).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import os
import re
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from memo_core.data import synth
from memo_core.data._common import finish_load
from memo_core.data.licences import licence_of
from memo_core.data.midi_corpus import (
    CORPUS_FILE,
    LABELS_FILE,
    RENDERER_NAME,
    RENDERER_VERSION,
    labels_to_json,
    rendered_record,
)
from memo_core.data.records import DatasetLoad, SkippedSong, SongRecord
from memo_core.errors import DatasetError
from memo_core.fileio import atomic_write

__all__ = [
    "RENDERER_NAME",
    "RENDERER_VERSION",
    "FLUIDR3_PATH",
    "SoundFont",
    "find_soundfont",
    "Arrangement",
    "plan_arrangement",
    "split_roles",
    "arrange_midi",
    "RenderedMidi",
    "render_midi",
    "render_midi_dataset",
]

FLUIDR3_PATH = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
_TAIL_S = 1.0

# General MIDI programs (0-based) per role.
_SOLO_POOL = (0, 1, 2, 4, 5, 6, 11, 12, 16, 19, 24, 46, 48)
_LEAD_POOL = (0, 4, 11, 24, 40, 46, 56, 60, 65, 68, 71, 73)
_ACCOMPANIMENT_POOL = (0, 1, 4, 5, 6, 16, 19, 24, 25, 46, 48, 49, 52, 89)
_BASS_POOL = (0, 32, 33, 35, 42, 43)
#: Programs played with the sustain pedal (pianos, chromatic percussion, guitars, harp); the others
#: get the pedal written into their note lengths.
_PEDAL_PROGRAMS = frozenset(range(0, 16)) | {24, 25, 26, 46}
_ROLES = ("lead", "accompaniment", "bass")
_LEAD_MIN_PITCH = 60
_BASS_MAX_PITCH = 55
_ONSET_TOLERANCE_S = 0.03
_FLAT_VELOCITY_VALUES = 3
_VELOCITY_CEILING = 112


# ----------------------------------------------------------------------------
# Soundfont
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SoundFont:
    """A soundfont file and the name recorded for it (the file name without ``.sf2``)."""

    name: str
    path: Path


def find_soundfont(path: str | os.PathLike | None = None) -> SoundFont:
    """The soundfont to render with: ``path``, else FluidR3_GM where installed, else pretty_midi's TimGM6mb.

    Args:
        path: an ``.sf2`` file to use instead of the default.

    Returns:
        The soundfont.

    Raises:
        DatasetError: ``path`` is not a file, or pretty_midi's soundfont is missing.
    """
    if path is not None:
        chosen = Path(path).expanduser()
        if not chosen.is_file():
            raise DatasetError(f"soundfont {chosen} does not exist; give an .sf2 file or leave it out "
                               "(FluidR3_GM where installed, else TimGM6mb)")
        return SoundFont(name=chosen.stem, path=chosen)
    if FLUIDR3_PATH.is_file():
        return SoundFont(name=FLUIDR3_PATH.stem, path=FLUIDR3_PATH)
    # lazy: pretty_midi (and mido) only when MIDI is rendered
    import pretty_midi

    tim = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
    if not tim.is_file():
        raise DatasetError(f"pretty_midi's sound font is missing ({tim}) and FluidR3_GM is not installed; "
                           "reinstall pretty_midi or apt-get install fluid-soundfont-gm")
    return SoundFont(name=tim.stem, path=tim)


_SOUNDFONT_BYTES: dict[str, bytes] = {}


def _soundfont_bytes(soundfont: SoundFont) -> bytes:
    """The soundfont's bytes, read once per process."""
    key = str(soundfont.path)
    if key not in _SOUNDFONT_BYTES:
        _SOUNDFONT_BYTES.clear()   # FluidR3 is 148 MB: keep one
        _SOUNDFONT_BYTES[key] = soundfont.path.read_bytes()
    return _SOUNDFONT_BYTES[key]


# ----------------------------------------------------------------------------
# Arrangements
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrangement:
    """How one rendering of a piece is orchestrated.

    Attributes:
        index: the arrangement number (0 keeps the file's instruments).
        kind: ``"original"``, ``"single"`` (one program for every part) or
            ``"split"`` (lead / accompaniment / bass on their own programs).
        programs: GM program per role: ``{}`` for ``"original"``, ``{"all": p}``
            for ``"single"``, ``{"lead", "accompaniment", "bass"}`` for ``"split"``.
    """

    index: int
    kind: str
    programs: dict[str, int] = field(default_factory=dict)


def plan_arrangement(rng: np.random.Generator, index: int) -> Arrangement:
    """Draw arrangement ``index``: 0 is the original; others are ``"single"`` (35 %) or ``"split"``.

    Args:
        rng: the arrangement's random generator.
        index: the arrangement number, 0 or more.

    Returns:
        The arrangement.
    """
    if index == 0:
        return Arrangement(index=0, kind="original")
    if rng.random() < 0.35:
        return Arrangement(index=index, kind="single", programs={"all": int(rng.choice(_SOLO_POOL))})
    programs = {"lead": int(rng.choice(_LEAD_POOL)), "accompaniment": int(rng.choice(_ACCOMPANIMENT_POOL)),
                "bass": int(rng.choice(_BASS_POOL))}
    return Arrangement(index=index, kind="split", programs=programs)


def split_roles(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """The role of every note by pitch: 0 lead (skyline), 1 accompaniment, 2 bass.

    A note is lead when it is at or above C4 (60) and no other note sounding at
    its onset (started up to 30 ms after it and not yet ended) is higher; bass
    when it is below G3 (55) and no sounding note is lower; else accompaniment.

    Args:
        starts: note onsets in seconds. [shape=(n,)]
        ends: note offsets in seconds. [shape=(n,)]
        pitches: MIDI pitches. [shape=(n,)]

    Returns:
        Role codes, int8. [shape=(n,)]
    """
    n = len(starts)
    roles = np.ones(n, dtype=np.int8)
    if n == 0:
        return roles
    order = np.argsort(starts, kind="stable")
    s, e, p = starts[order], ends[order], pitches[order]
    longest = float(np.max(e - s)) if n else 0.0
    out = np.ones(n, dtype=np.int8)
    for i in range(n):
        at = s[i] + _ONSET_TOLERANCE_S
        lo = int(np.searchsorted(s, s[i] - longest - _ONSET_TOLERANCE_S, side="left"))
        hi = int(np.searchsorted(s, at, side="right"))
        window = np.arange(lo, hi)
        window = window[(window != i) & (e[window] > at)]
        others = p[window]
        if p[i] >= _LEAD_MIN_PITCH and (others.size == 0 or p[i] >= others.max()):
            out[i] = 0
        elif p[i] < _BASS_MAX_PITCH and (others.size == 0 or p[i] <= others.min()):
            out[i] = 2
    roles[order] = out
    return roles


def _pedal_intervals(control_changes) -> list[tuple[float, float]]:
    """``(down, up)`` times of the sustain pedal (CC 64 >= 64 is down)."""
    intervals, down = [], None
    for cc in sorted((c for c in control_changes if c.number == 64), key=lambda c: c.time):
        if cc.value >= 64 and down is None:
            down = cc.time
        elif cc.value < 64 and down is not None:
            intervals.append((down, cc.time))
            down = None
    if down is not None:
        intervals.append((down, math.inf))
    return intervals


def _apply_pedal(notes, control_changes) -> None:
    """Write the sustain pedal into note lengths (in place): a note released under the pedal lasts to its release.

    A note is never held past the next onset of the same pitch.
    """
    intervals = _pedal_intervals(control_changes)
    if not intervals:
        return
    downs = np.array([d for d, _ in intervals])
    next_same: dict[int, float] = {}
    for note in sorted(notes, key=lambda n: -n.start):
        k = int(np.searchsorted(downs, note.end, side="right")) - 1
        if k >= 0 and intervals[k][0] <= note.end < intervals[k][1]:
            up = intervals[k][1]
            limit = next_same.get(note.pitch, math.inf)
            new_end = min(up, limit, note.end + 8.0)
            if math.isfinite(new_end) and new_end > note.end:
                note.end = new_end
        next_same[note.pitch] = note.start


def _nearest_distance(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Distance from each time to the nearest point of a sorted grid. [shape=(len(times),)]"""
    i = np.clip(np.searchsorted(grid, times), 1, len(grid) - 1)
    return np.minimum(np.abs(times - grid[i - 1]), np.abs(times - grid[i]))


def _is_flat(velocities: np.ndarray) -> bool:
    return velocities.size > 0 and np.unique(velocities).size <= _FLAT_VELOCITY_VALUES


def _shape_velocities(midi, notes, roles: np.ndarray, rng: np.random.Generator) -> None:
    """Musically varied velocities for a flat-velocity piece, in place (see the module docstring)."""
    starts = np.array([n.start for n in notes])
    base = np.array([n.velocity for n in notes], dtype=np.float64)
    end = float(max(n.end for n in notes))
    downbeats = np.asarray(midi.get_downbeats(), dtype=np.float64)
    beats = np.asarray(midi.get_beats(), dtype=np.float64)
    if downbeats.size < 2:
        downbeats = np.arange(0.0, end + 2.0, 2.0)
    if beats.size < 2:
        beats = np.arange(0.0, end + 0.5, 0.5)
    bounds = np.append(downbeats[::4], max(end, downbeats[-1]) + 1e-3)
    levels = rng.normal(0.0, 7.0, len(bounds))
    phrase = np.clip(np.searchsorted(bounds, starts, side="right") - 1, 0, len(bounds) - 2)
    width = np.maximum(bounds[phrase + 1] - bounds[phrase], 1e-3)
    position = np.clip((starts - bounds[phrase]) / width, 0.0, 1.0)
    arch = rng.uniform(0.0, 6.0, len(bounds))[phrase] * np.sin(np.pi * position)
    offset = np.interp(starts, bounds, levels) + arch
    period = float(np.median(np.diff(beats)))
    tol = min(0.04, 0.2 * period)
    accent = np.where(_nearest_distance(starts, downbeats) < tol, 6.0,
                      np.where(_nearest_distance(starts, beats) < tol, 2.0, -2.0))
    voicing = np.where(roles == 0, 5.0, np.where(roles == 1, -4.0, 0.0))
    offset = offset + accent + voicing + rng.normal(0.0, 3.0, len(notes))
    offset -= offset.mean()
    shift = min(0.0, _VELOCITY_CEILING - float(np.median(base)))
    velocity = np.clip(np.round(base + shift + offset), 20, 127).astype(int)
    for note, v in zip(notes, velocity):
        note.velocity = int(v)


def arrange_midi(midi, arrangement: Arrangement, rng: np.random.Generator, *,
                 max_seconds: float | None = None) -> tuple[Any, dict[str, Any]]:
    """Orchestrate a PrettyMIDI object for one arrangement (a new object; ``midi`` is left as it is).

    Args:
        midi: the piece, as read by ``pretty_midi.PrettyMIDI``.
        arrangement: from :func:`plan_arrangement`.
        rng: the arrangement's random generator (velocity shaping).
        max_seconds: drop notes and events from this time on (notes already
            sounding are cut :data:`_TAIL_S` later).

    Returns:
        ``(midi, info)``: the arranged piece (ending :data:`_TAIL_S` after its
        last note, for the release) and ``{"velocity": "shaped" | "as written",
        "n_notes": ...}``.

    Raises:
        DatasetError: the piece has no notes (before ``max_seconds``).
    """
    # lazy: pretty_midi (and mido) only when MIDI is rendered
    import pretty_midi

    midi = copy.deepcopy(midi)
    if max_seconds is not None:
        for inst in midi.instruments:
            inst.notes = [n for n in inst.notes if n.start < max_seconds]
            for n in inst.notes:
                n.end = min(n.end, max_seconds + _TAIL_S)
            inst.control_changes = [c for c in inst.control_changes if c.time < max_seconds]
            inst.pitch_bends = [b for b in inst.pitch_bends if b.time < max_seconds]
    midi.instruments = [inst for inst in midi.instruments if inst.notes]
    melodic = [inst for inst in midi.instruments if not inst.is_drum]
    notes = [n for inst in melodic for n in inst.notes]
    if not notes:
        raise DatasetError("the MIDI file has no notes" + (f" in its first {max_seconds:g} s" if max_seconds else ""))
    starts = np.array([n.start for n in notes])
    roles = split_roles(starts, np.array([n.end for n in notes]), np.array([n.pitch for n in notes]))
    flat = _is_flat(np.array([n.velocity for n in notes]))
    if flat:
        _shape_velocities(midi, notes, roles, rng)

    if arrangement.kind == "single":
        program = arrangement.programs["all"]
        for inst in melodic:
            inst.program = program
            if program not in _PEDAL_PROGRAMS:
                _apply_pedal(inst.notes, inst.control_changes)
                inst.control_changes = [c for c in inst.control_changes if c.number != 64]
    elif arrangement.kind == "split":
        role_of = {id(n): int(r) for n, r in zip(notes, roles)}
        pedal = [c for inst in melodic for c in inst.control_changes if c.number == 64]
        pedal.sort(key=lambda c: c.time)
        new = []
        for code, role in enumerate(_ROLES):
            program = arrangement.programs[role]
            inst = pretty_midi.Instrument(program=program, name=role)
            inst.notes = [copy.copy(n) for i in melodic for n in i.notes if role_of[id(n)] == code]
            if not inst.notes:
                continue
            if program in _PEDAL_PROGRAMS:
                inst.control_changes = [copy.copy(c) for c in pedal]
            else:
                _apply_pedal(inst.notes, pedal)
            inst.notes.sort(key=lambda n: (n.start, n.pitch))
            new.append(inst)
        midi.instruments = new + [inst for inst in midi.instruments if inst.is_drum]
    elif arrangement.kind != "original":
        raise DatasetError(f"unknown arrangement kind {arrangement.kind!r}")

    # A second of release after the last note: an event there makes the renderer play on.
    last = max(n.end for inst in midi.instruments for n in inst.notes)
    midi.instruments[0].control_changes.append(pretty_midi.ControlChange(number=110, value=0, time=last + _TAIL_S))
    return midi, {"velocity": "shaped" if flat else "as written",
                  "n_notes": sum(len(inst.notes) for inst in midi.instruments)}


# ----------------------------------------------------------------------------
# One piece
# ----------------------------------------------------------------------------


@dataclass
class RenderedMidi:
    """One arrangement of one MIDI file rendered by :func:`render_midi`.

    Attributes:
        samples: mono float32 audio. [shape=(n_samples,)]
        sample_rate: samples a second.
        arrangement: the orchestration used.
        info: ``velocity``, ``n_notes``, ``soundfont``, ``arrangement_seed``
            and the nuisance chain's ``style`` (reverb, tilt, compression, gain, noise).
    """

    samples: np.ndarray
    sample_rate: int
    arrangement: Arrangement
    info: dict[str, Any]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _arrangement_seed(midi_sha: str, seed: int, arrangement: int) -> int:
    """A 63-bit seed from the MIDI content, the run's seed and the arrangement number."""
    digest = hashlib.sha256(f"{RENDERER_NAME}|{seed}|{arrangement}|{midi_sha}".encode()).hexdigest()
    return int(digest[:15], 16)


def _check_args(*, arrangement: int, sample_rate: int, max_seconds: float | None) -> None:
    if isinstance(arrangement, bool) or not isinstance(arrangement, (int, np.integer)) or arrangement < 0:
        raise DatasetError(f"arrangement must be a non-negative integer, got {arrangement!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not 8000 <= sample_rate <= 96000:
        raise DatasetError(f"sample_rate must be an integer between 8000 and 96000 Hz, got {sample_rate!r}")
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and math.isfinite(max_seconds)
                                        and max_seconds >= 1.0):
        raise DatasetError(f"max_seconds must be at least 1 s (or None for the whole piece), got {max_seconds!r}")


def render_midi(midi: str | os.PathLike | bytes, *, arrangement: int = 0, seed: int = 0,
                sample_rate: int = 22050, max_seconds: float | None = None,
                soundfont: SoundFont | str | os.PathLike | None = None) -> RenderedMidi:
    """Render one arrangement of a MIDI file with the corpus's renderer and nuisance chain.

    Everything random (programs, velocities, room, mastering, noise) is drawn
    from a generator seeded by the MIDI bytes, ``seed`` and ``arrangement``,
    so a call is repeatable and independent of the file's name.

    Args:
        midi: a ``.mid`` file or its bytes.
        arrangement: 0 keeps the file's instruments; 1, 2, ... substitute programs
            (see the module docstring).
        seed: the run's seed.
        sample_rate: output rate in Hz.
        max_seconds: render only the first ``max_seconds`` (at least 1 s).
        soundfont: a :class:`SoundFont`, an ``.sf2`` path, or None for :func:`find_soundfont`.

    Returns:
        The audio, ``len = min(last note end + 1 s, max_seconds) * sample_rate`` samples.

    Raises:
        DatasetError: an unreadable or empty MIDI file, or bad arguments.
    """
    _check_args(arrangement=arrangement, sample_rate=sample_rate, max_seconds=max_seconds)
    data = midi if isinstance(midi, bytes) else Path(midi).read_bytes()
    font = soundfont if isinstance(soundfont, SoundFont) else find_soundfont(soundfont)
    arr_seed = _arrangement_seed(hashlib.sha256(data).hexdigest(), seed, int(arrangement))
    return _render(data, arr_seed=arr_seed, arrangement=int(arrangement), sample_rate=int(sample_rate),
                   max_seconds=max_seconds, soundfont=font)


def _render(data: bytes, *, arr_seed: int, arrangement: int, sample_rate: int, max_seconds: float | None,
            soundfont: SoundFont) -> RenderedMidi:
    # lazy: pretty_midi (and mido) only when MIDI is rendered
    import pretty_midi

    rng = np.random.default_rng(arr_seed)
    style = synth.sample_style(rng, mean_arousal=0.0)   # only its room/mastering fields are used
    plan = plan_arrangement(rng, arrangement)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # pretty_midi warns about odd but readable files
            source = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as error:  # mido and pretty_midi raise many kinds on a bad file
        raise DatasetError(f"not a readable MIDI file ({type(error).__name__}: {error})") from None
    arranged, info = arrange_midi(source, plan, rng, max_seconds=max_seconds)
    try:
        x = synth._render_midi(arranged, soundfont=_soundfont_bytes(soundfont), sample_rate=sample_rate)
    except (ValueError, RuntimeError) as error:
        raise DatasetError(f"the soundfont renderer failed ({error})") from None
    n_samples = len(x) if max_seconds is None else min(len(x), int(round(max_seconds * sample_rate)))
    if n_samples < int(0.5 * sample_rate):
        raise DatasetError("the rendering is shorter than 0.5 s")
    # No emotion cue: the chain's brightness follows a neutral curve, only its random tilt stays.
    neutral = np.zeros(1)
    samples = synth._post_process(x, style, rng, n_samples=n_samples, arousal=neutral, valence=neutral,
                                  sample_rate=sample_rate)
    info.update({
        "soundfont": soundfont.name, "arrangement_seed": arr_seed,
        "style": {"reverb_rt60": round(style.reverb_rt60, 3), "reverb_wet": round(style.reverb_wet, 3),
                  "tilt_db": round(style.tilt_db, 2), "comp_ratio": round(style.comp_ratio, 2),
                  "gain_db": round(style.gain_db, 2), "noise_db": round(style.noise_db, 1)},
    })
    return RenderedMidi(samples=samples, sample_rate=sample_rate, arrangement=plan, info=info)


# ----------------------------------------------------------------------------
# A dataset
# ----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(song_id: str, arrangement: int, key: str) -> str:
    slug = _UNSAFE.sub("-", song_id).strip("-.")[:60] or "piece"
    return f"{slug}-a{arrangement}-{key}.flac"


def _cache_key(midi_sha: str, arr_seed: int, soundfont: SoundFont, sample_rate: int, max_seconds: float | None) -> str:
    text = f"{RENDERER_VERSION}|{midi_sha}|{arr_seed}|{soundfont.name}|{sample_rate}|{max_seconds}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _render_job(data_path: str, arr_seed: int, arrangement: int, sample_rate: int, max_seconds: float | None,
                soundfont: SoundFont, out_path: str) -> dict[str, Any]:
    """Render one (piece, arrangement) into ``out_path``; returns its corpus.json entry (runs in workers)."""
    t0 = time.perf_counter()
    rendered = _render(Path(data_path).read_bytes(), arr_seed=arr_seed, arrangement=arrangement,
                       sample_rate=sample_rate, max_seconds=max_seconds, soundfont=soundfont)
    atomic_write(out_path, lambda h: sf.write(h, rendered.samples, sample_rate, format="FLAC", subtype="PCM_16"),
                 binary=True)
    return {"kind": rendered.arrangement.kind, "programs": rendered.arrangement.programs, **rendered.info,
            "seconds": round(rendered.duration_s, 3), "render_s": round(time.perf_counter() - t0, 3)}


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def render_midi_dataset(load: DatasetLoad, out_dir: str | os.PathLike, *, arrangements: int = 1, seed: int = 0,
                        max_songs: int | None = None, sample_rate: int = 22050, max_seconds: float | None = None,
                        soundfont: str | os.PathLike | None = None, workers: int = 1,
                        progress: bool = True) -> DatasetLoad:
    """Render a MIDI dataset's pieces (``meta["midi_path"]``) to FLAC and return them as an audio dataset.

    Args:
        load: a loaded MIDI dataset (``load_dataset("vgmidi", ...)`` or ``"emopia"``).
        out_dir: where ``audio/`` and ``corpus.json`` go (one folder per source dataset).
        arrangements: renderings per piece (arrangement 0 is the original orchestration).
        seed: the run's seed (with the MIDI bytes and the arrangement it seeds every draw).
        max_songs: render only the first ``max_songs`` pieces of ``load``.
        sample_rate: output rate in Hz (22050).
        max_seconds: render only each piece's first ``max_seconds`` (at least 1 s).
        soundfont: an ``.sf2`` file; default FluidR3_GM where installed, else TimGM6mb.
        workers: processes rendering at once (spawned; a script calling this
            with ``workers > 1`` must guard its entry point with
            ``if __name__ == "__main__":``).
        progress: show a tqdm progress bar.

    Returns:
        ``"<dataset>_rendered"``: one record per (piece, arrangement), id
        ``"<song_id>#a<k>"``, with ``audio_path``, the source's labels (dynamic
        curves cut to the audio's length: frames at instants past its end are
        dropped; static labels as they are) and ``meta``: the source's meta plus
        ``source``, ``source_song_id``, ``arrangement``, ``arrangement_kind``,
        ``programs``, ``velocity``, ``song_group`` (also ``group``: the same for
        every arrangement of a piece, and for EMOPIA every segment of a song),
        ``soundfont``, ``renderer_version`` and ``licence``. Skipped: the
        source's skipped songs, pieces without a MIDI file, pieces that could
        not be rendered, and renders shorter than the first annotation instant.

    Raises:
        DatasetError: bad arguments, or ``out_dir`` holds renders of another dataset.
    """
    if isinstance(arrangements, bool) or not isinstance(arrangements, (int, np.integer)) or arrangements < 1:
        raise DatasetError(f"arrangements must be a whole number of at least 1, got {arrangements!r}")
    if max_songs is not None and (isinstance(max_songs, bool) or not isinstance(max_songs, (int, np.integer))
                                  or max_songs < 1):
        raise DatasetError(f"max_songs must be a whole number of at least 1 (or None), got {max_songs!r}")
    _check_args(arrangement=0, sample_rate=sample_rate, max_seconds=max_seconds)
    source = load.dataset
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} is a file, not a folder; choose another folder for the renders")
    previous = _read_json_object(out / CORPUS_FILE)
    if previous and previous.get("source") not in (None, source):
        raise DatasetError(f"{out} holds renders of {previous.get('source')!r}, not {source!r}; "
                           "give each dataset its own folder")
    font = find_soundfont(soundfont)
    audio_dir = out / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    known: dict[str, Any] = previous.get("files", {}) if isinstance(previous.get("files"), dict) else {}

    songs = load.songs if max_songs is None else load.songs[: int(max_songs)]
    skipped: list[SkippedSong] = list(load.skipped)
    planned: list[tuple[SongRecord, int, str]] = []      # (song, arrangement, file name)
    jobs: dict[str, tuple] = {}
    for song in songs:
        midi_path = song.meta.get("midi_path")
        try:
            data = Path(midi_path).read_bytes() if midi_path else None
        except OSError:
            data = None
        if data is None:
            skipped.append(SkippedSong(song.song_id, "no readable MIDI file (meta['midi_path'])"))
            continue
        midi_sha = hashlib.sha256(data).hexdigest()
        for k in range(int(arrangements)):
            arr_seed = _arrangement_seed(midi_sha, seed, k)
            name = _file_name(song.song_id, k, _cache_key(midi_sha, arr_seed, font, sample_rate, max_seconds))
            planned.append((song, k, name))
            if not (audio_dir / name).is_file() and name not in jobs:
                jobs[name] = (str(midi_path), arr_seed, k, int(sample_rate), max_seconds, font, str(audio_dir / name))

    entries, failed = _run_jobs(jobs, workers=workers, progress=progress, desc=f"rendering {source}")
    records: list[SongRecord] = []
    files: dict[str, Any] = {}
    for song, k, name in planned:
        record_id = f"{song.song_id}#a{k}"
        if name in failed:
            skipped.append(SkippedSong(record_id, "MIDI file could not be rendered"))
            continue
        entry = entries.get(name) or known.get(name) or _replan(song, k, seed=seed)
        path = audio_dir / name
        try:
            duration = float(entry["seconds"]) if "seconds" in entry else sf.info(str(path)).duration
        except (RuntimeError, OSError, ValueError, TypeError):
            skipped.append(SkippedSong(record_id, "rendered file unreadable"))
            continue
        record = rendered_record(song, k, path, duration, entry, source=source, soundfont=font.name)
        if record is None:
            skipped.append(SkippedSong(record_id, "render shorter than the first annotation instant"))
            continue
        records.append(record)
        files[name] = {"song_id": song.song_id, "arrangement": k, "seed": seed, "sample_rate": int(sample_rate),
                       "max_seconds": max_seconds, **entry}

    for name, entry in known.items():   # renders of earlier calls (other options) stay listed while on disk
        if name not in files and (audio_dir / name).is_file():
            files[name] = entry
    labels = {k: v for k, v in _read_json_object(out / LABELS_FILE).items() if isinstance(v, dict)}
    labels.update({song.song_id: labels_to_json(song) for song in songs})
    loaded = finish_load(dataset=f"{source}_rendered", root=out, songs=records, skipped=skipped, require_audio=False)
    corpus = {
        "name": RENDERER_NAME, "renderer_version": RENDERER_VERSION, "source": source,
        "dataset": f"{source}_rendered", "source_root": str(load.root) if load.root else None,
        "soundfont": {"name": font.name, "path": str(font.path)}, "sample_rate": int(sample_rate),
        "seed": seed, "arrangements": int(arrangements), "max_songs": max_songs, "max_seconds": max_seconds,
        "licences": {"labels": licence_of(source),
                     "audio": "rendered from the source's MIDI files: the music's terms apply (see labels); "
                              "research use, never redistribute renders of copyrighted music"},
        "n_records": len(loaded.songs),
        "records": [Path(s.audio_path).name for s in loaded.songs],
        "skipped": [[s.song_id, s.reason] for s in loaded.skipped],
        "files": dict(sorted(files.items())),
    }
    # labels first: a corpus.json never names songs its labels.json lacks
    atomic_write(out / LABELS_FILE, lambda h: h.write(json.dumps(labels, separators=(",", ":")) + "\n"))
    atomic_write(out / CORPUS_FILE, lambda h: h.write(json.dumps(corpus, indent=1, default=str) + "\n"))
    return loaded


def _replan(song: SongRecord, arrangement: int, *, seed: int) -> dict[str, Any]:
    """The arrangement of a cached file that corpus.json does not list (drawn again; no MIDI parsing)."""
    try:
        data = Path(song.meta["midi_path"]).read_bytes()
    except (KeyError, OSError, TypeError):
        return {}
    rng = np.random.default_rng(_arrangement_seed(hashlib.sha256(data).hexdigest(), seed, arrangement))
    synth.sample_style(rng, mean_arousal=0.0)   # drawn first in _render
    plan = plan_arrangement(rng, arrangement)
    return {"kind": plan.kind, "programs": plan.programs}


def _run_jobs(jobs: dict[str, tuple], *, workers: int, progress: bool,
              desc: str) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Run the render jobs; returns the corpus.json entries of those that worked and the names that failed."""

    entries: dict[str, dict[str, Any]] = {}
    failed: set[str] = set()
    if not jobs:
        return entries, failed
    workers = max(1, min(int(workers or 1), len(jobs)))
    bar = tqdm(total=len(jobs), desc=desc, unit="file", disable=not progress)

    def done(name: str, result: dict[str, Any] | None, error: Exception | None) -> None:
        if error is not None:
            failed.add(name)
            warnings.warn(f"{name}: {error}", stacklevel=3)
        else:
            entries[name] = result
        bar.update(1)

    try:
        if workers == 1:
            for name, args in jobs.items():
                try:
                    done(name, _render_job(*args), None)
                except DatasetError as error:
                    done(name, None, error)
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_render_job, *args): name for name, args in jobs.items()}
                for future in as_completed(futures):
                    try:
                        done(futures[future], future.result(), None)
                    except DatasetError as error:
                        done(futures[future], None, error)
    finally:
        bar.close()
    return entries, failed
