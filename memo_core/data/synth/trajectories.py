"""Valence/arousal trajectories chosen by hand (the dashboard's Emotion lab), rendered as music.

:data:`TRAJECTORY_PRESETS` names a few teaching curves,
:func:`trajectory_from_points` puts control points on the frame grid,
:func:`points_from_path` turns a path drawn on the valence-arousal plane into
control points and :func:`render_trajectory` renders a trajectory with the
same cues as the corpus (:mod:`.design`, :mod:`.arrangement`, :mod:`.render`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS
from memo_core.data.synth.design import (
    _NOTE_NAMES,
    SongDesign,
    Style,
    _bar_starts,
    _n_frames,
    _sections,
    _song_tempo,
    sample_style,
)
from memo_core.data.synth.render import SAMPLE_RATE, render_audio
from memo_core.errors import DatasetError

__all__ = [
    "TRAJECTORY_PRESETS",
    "TRAJECTORY_MIN_S",
    "TRAJECTORY_MAX_S",
    "trajectory_from_points",
    "points_from_path",
    "preset_trajectory",
    "RenderedTrajectory",
    "render_trajectory",
]


#: Shortest and longest trajectory :func:`render_trajectory` renders, in seconds.
TRAJECTORY_MIN_S = 5.0
TRAJECTORY_MAX_S = 120.0
# Bars per section of a rendered trajectory (4 above 130 bpm): the mode is drawn
# per section from its mean valence, so short sections let it follow the curve.
_TRAJECTORY_SECTION_BARS = 2


def _circumplex_loop(n_points: int = 13, radius: float = 0.7) -> tuple[tuple[float, float, float], ...]:
    """Points on a circle in the (valence, arousal) plane, anticlockwise from excited-happy (45 degrees)."""
    points = []
    for i in range(n_points):
        angle = math.radians(45.0 + 360.0 * i / (n_points - 1))
        points.append((round(i / (n_points - 1), 4), round(radius * math.cos(angle), 3),
                       round(radius * math.sin(angle), 3)))
    return tuple(points)


#: Named teaching trajectories for :func:`preset_trajectory`: each is a tuple of
#: control points ``(time_fraction, valence, arousal)`` with the time as a
#: fraction of the song (0 = start, 1 = end, increasing) and both values in
#: [-1, 1]; between points the curve is linear, before the first and after the
#: last it holds.
TRAJECTORY_PRESETS: dict[str, tuple[tuple[float, float, float], ...]] = {
    # Arousal cues only: tempo is per song, so density, loudness, percussion and brightness carry the rise.
    "calm to excited": ((0.0, 0.2, -0.7), (0.2, 0.2, -0.7), (0.8, 0.3, 0.8), (1.0, 0.3, 0.8)),
    # Valence and arousal fall together: major, bright and lively to minor, dull and sparse.
    "happy to sad": ((0.0, 0.7, 0.4), (0.2, 0.7, 0.4), (0.8, -0.7, -0.5), (1.0, -0.7, -0.5)),
    # Tension builds (rising arousal, falling valence: dissonance, roughness), then resolves to a calm major close.
    "tension and release": ((0.0, 0.1, -0.4), (0.5, -0.6, 0.75), (0.6, -0.5, 0.8), (0.75, 0.5, 0.0),
                            (1.0, 0.6, -0.5)),
    # Russell's circumplex anticlockwise: excited-happy, tense-angry, sad-tired, calm-content and back.
    "around the circumplex": _circumplex_loop(),
    # One point: the same emotion throughout (a baseline to compare the others with).
    "steady neutral": ((0.0, 0.0, 0.0),),
}


def _as_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array, or a DatasetError that names the argument."""
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{name} must be a sequence of numbers; got {type(values).__name__}") from None
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise DatasetError(f"{name} must be one-dimensional (one value per point); got shape {x.shape}")
    return x


def _check_duration(duration_s: Any) -> float:
    try:
        d = float(duration_s)
    except (TypeError, ValueError):
        raise DatasetError(f"duration_s must be a number of seconds; got {duration_s!r}") from None
    if not math.isfinite(d) or not TRAJECTORY_MIN_S <= d <= TRAJECTORY_MAX_S:
        raise DatasetError(f"duration_s must be between {TRAJECTORY_MIN_S:g} s and {TRAJECTORY_MAX_S:g} s; "
                           f"got {duration_s!r}: choose a length in that range")
    return d


def _check_emotion(x: np.ndarray, name: str) -> np.ndarray:
    """Finite values in [-1, 1] (a rounding overshoot of 1e-6 is clipped), else a DatasetError."""
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise DatasetError(f"{name} holds {bad.size} value(s) that are not finite numbers (first at index "
                           f"{bad[0]}: {x[bad[0]]}); give every point a value in [-1, 1]")
    bad = np.flatnonzero(np.abs(x) > 1.0 + 1e-6)
    if bad.size:
        raise DatasetError(f"{name} must lie in [-1, 1] (the circumplex's range); {bad.size} value(s) are outside, "
                           f"e.g. {x[bad[0]]:g} at index {bad[0]}: rescale the curve or clip it to [-1, 1]")
    return np.clip(x, -1.0, 1.0)


def trajectory_from_points(times_s: Any, valence: Any, arousal: Any, *,
                           duration_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate control points onto the 500 ms frame grid of a song.

    The curve is piecewise linear between the points and holds the first
    (last) point's values before (after) it, so one point gives a constant
    trajectory. Each frame takes the curve's value at its start, as
    ``design.csv`` labels the corpus's frames.

    Args:
        times_s: when each point is reached, in seconds, strictly increasing,
            within ``[0, duration_s]``. [shape=(n_points,)]
        valence: valence at each point, in [-1, 1]. [shape=(n_points,)]
        arousal: arousal at each point, in [-1, 1]. [shape=(n_points,)]
        duration_s: song length, between 5 s and 120 s.

    Returns:
        ``(frame_times, valence_frames, arousal_frames)``: frame start times
        ``0, 0.5, ...`` and the interpolated values, each
        [shape=(ceil(duration_s / 0.5),)].

    Raises:
        DatasetError: no points, lengths that differ, values that are not
            finite or outside [-1, 1], times that do not increase or fall
            outside the song, or a duration outside 5-120 s.
    """
    duration = _check_duration(duration_s)
    t = _as_vector(times_s, "times_s")
    v = _as_vector(valence, "valence")
    a = _as_vector(arousal, "arousal")
    if not (len(t) == len(v) == len(a)):
        raise DatasetError(f"times_s, valence and arousal must have one value per point; got {len(t)}, {len(v)} "
                           f"and {len(a)} values")
    if len(t) == 0:
        raise DatasetError("a trajectory needs at least one point (time, valence, arousal); got none")
    if not np.all(np.isfinite(t)):
        raise DatasetError("times_s holds values that are not finite numbers; give every point a time in seconds")
    if t[0] < 0 or t[-1] > duration + 1e-9:
        raise DatasetError(f"point times must lie within the song, 0 .. {duration:g} s; got {t.min():g} .. "
                           f"{t.max():g} s: drop the points outside or lengthen duration_s")
    steps = np.flatnonzero(np.diff(t) <= 0)
    if steps.size:
        i = int(steps[0])
        raise DatasetError(f"times_s must increase strictly from point to point; point {i + 1} ({t[i + 1]:g} s) "
                           f"does not come after point {i} ({t[i]:g} s): sort the points and merge duplicates")
    v = _check_emotion(v, "valence")
    a = _check_emotion(a, "arousal")
    frame_times = np.arange(_n_frames(duration)) * FRAME_SECONDS
    return frame_times, np.interp(frame_times, t, v), np.interp(frame_times, t, a)


def points_from_path(valence_path: Any, arousal_path: Any, *, duration_s: float,
                     max_points: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control points ``(times_s, valence, arousal)`` from a path drawn on the valence-arousal plane.

    The path is walked at constant speed over the song: each point's time is
    its share of the path's length times ``duration_s``, so a long stroke takes
    long and a dwell (points close together) passes quickly. Values are clipped
    to [-1, 1] and the path is thinned to at most ``max_points`` points evenly
    spaced along its length (ready for :func:`trajectory_from_points`). A path
    that does not move (one point, or a tap) gives one point: a constant emotion.

    Args:
        valence_path: the drawn path's valence, in drawing order. [shape=(n,)]
        arousal_path: the drawn path's arousal. [shape=(n,)]
        duration_s: song length, between 5 s and 120 s.
        max_points: the most control points returned (at least 2).

    Raises:
        DatasetError: an empty path, lengths that differ, values that are not finite, or a bad duration.
    """
    duration = _check_duration(duration_s)
    v = _as_vector(valence_path, "valence_path")
    a = _as_vector(arousal_path, "arousal_path")
    if len(v) != len(a) or len(v) == 0:
        raise DatasetError(f"a drawn path needs matching valence and arousal points; got {len(v)} and {len(a)}: "
                           "draw a line on the plane")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(a))):
        raise DatasetError("the drawn path holds values that are not finite numbers; draw it again")
    v, a = np.clip(v, -1.0, 1.0), np.clip(a, -1.0, 1.0)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(v), np.diff(a)))])
    if along[-1] <= 1e-9:
        return np.zeros(1), v[:1], a[:1]
    at = np.linspace(0.0, along[-1], max(2, int(max_points)))
    keep = np.concatenate([[True], np.diff(along) > 0])  # np.interp needs increasing positions
    return at / along[-1] * duration, np.interp(at, along[keep], v[keep]), np.interp(at, along[keep], a[keep])


def preset_trajectory(name: str, *, duration_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One of :data:`TRAJECTORY_PRESETS` stretched over ``duration_s`` (see :func:`trajectory_from_points`).

    Args:
        name: a key of :data:`TRAJECTORY_PRESETS`.
        duration_s: song length, between 5 s and 120 s.

    Returns:
        ``(frame_times, valence_frames, arousal_frames)``, each [shape=(ceil(duration_s / 0.5),)].

    Raises:
        DatasetError: an unknown name or a duration outside 5-120 s.
    """
    if name not in TRAJECTORY_PRESETS:
        raise DatasetError(f"unknown trajectory preset {name!r}; choose one of "
                           + ", ".join(repr(k) for k in TRAJECTORY_PRESETS))
    duration = _check_duration(duration_s)
    points = np.array(TRAJECTORY_PRESETS[name], dtype=np.float64)
    return trajectory_from_points(points[:, 0] * duration, points[:, 1], points[:, 2], duration_s=duration)


@dataclass
class RenderedTrajectory:
    """A chosen emotion trajectory rendered as music by :func:`render_trajectory`.

    Attributes:
        samples: mono float32 audio. [shape=(round(duration_s * sample_rate),)]
        sample_rate: samples a second (:data:`SAMPLE_RATE`).
        frame_times: start of each 500 ms frame in seconds. [shape=(n_frames,)]
        valence: the valence the music was written to express. [shape=(n_frames,)]
        arousal: the arousal the music was written to express. [shape=(n_frames,)]
        tempo_bpm: the song's tempo (from its mean arousal; constant within a song).
        bar_starts: start of every bar in seconds. [shape=(n_bars,)]
        section_of_bar: section index of each bar. [shape=(n_bars,)]
        modes: ``"major"`` or ``"minor"`` for each section. [len=n_sections]
        key: name of the tonic, e.g. ``"Eb"``.
        style: the song-level choices (instruments, room, mastering).
        n_notes: number of MIDI notes played.
    """

    samples: np.ndarray
    sample_rate: int
    frame_times: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    tempo_bpm: float
    bar_starts: np.ndarray
    section_of_bar: np.ndarray
    modes: list[str]
    key: str
    style: Style
    n_notes: int

    @property
    def frame_modes(self) -> np.ndarray:
        """``"major"`` or ``"minor"`` for each frame: the mode of the bar it starts in. [shape=(n_frames,)]"""
        bar = np.clip(np.searchsorted(self.bar_starts, self.frame_times + 1e-9, side="right") - 1, 0, None)
        return np.asarray(self.modes)[self.section_of_bar[bar]]


def render_trajectory(valence_frames: Any, arousal_frames: Any, *, duration_s: float,
                      seed: int = 0) -> RenderedTrajectory:
    """Render a chosen valence/arousal trajectory with the corpus's emotional cues.

    The song is designed as :func:`.design.design_song` would with this trajectory in
    place of a random one: the tempo follows the mean arousal (clipped to
    +-0.85) with the same +-8 % jitter, bars are 4/4 from 0 s, and sections of
    2 bars (4 above 130 bpm) each draw their mode from their mean valence. The
    instruments and the room are drawn by :func:`sample_style` and the song is
    written and rendered by :func:`render_audio`, so every cue in the cue table
    (:mod:`.design`) follows the trajectory frame by frame (tempo excepted: it is
    per song, as in the corpus). Rendering 30 s takes 2-3 s on one core
    (about 1 s synthesis, the rest the corpus's post-processing), plus about
    1.5 s once a process to import pretty_midi and read the sound font.

    Args:
        valence_frames: valence of each 500 ms frame, in [-1, 1], e.g. from
            :func:`trajectory_from_points`. [shape=(ceil(duration_s / 0.5),)]
        arousal_frames: arousal of each frame, in [-1, 1]. [shape=(n_frames,)]
        duration_s: length of the audio in seconds, between 5 s and 120 s.
        seed: a non-negative integer; the same seed and trajectory give the
            same audio, another seed other instruments, key, room and melody.

    Returns:
        The audio with the trajectory and the musical choices it was rendered with.

    Raises:
        DatasetError: frames that do not cover ``duration_s``, values not
            finite or outside [-1, 1], a duration outside 5-120 s or a bad seed.
    """
    duration = _check_duration(duration_s)
    n = _n_frames(duration)
    v = _check_emotion(_as_vector(valence_frames, "valence_frames"), "valence_frames")
    a = _check_emotion(_as_vector(arousal_frames, "arousal_frames"), "arousal_frames")
    if len(v) != n or len(a) != n:
        raise DatasetError(f"a {duration:g} s song needs one value per 500 ms frame, {n} of each; got {len(v)} "
                           f"valence and {len(a)} arousal values: build them with trajectory_from_points")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(f"seed must be a non-negative integer; got {seed!r}")

    rng = np.random.default_rng(int(seed))
    mean_a = float(np.clip(a.mean(), -0.85, 0.85))
    tempo = _song_tempo(rng, mean_arousal=mean_a)
    bar_starts = _bar_starts(tempo_bpm=tempo, duration_s=duration)
    section_of_bar = _sections(n_bars=len(bar_starts), bars=_TRAJECTORY_SECTION_BARS, tempo_bpm=tempo)
    design = SongDesign(arousal=a.copy(), valence=v.copy(), tempo_bpm=tempo, bar_starts=bar_starts,
                        section_of_bar=section_of_bar, contrast=False)
    style = sample_style(rng, mean_arousal=float(a.mean()))
    samples, info = render_audio(design, style, rng, duration_s=duration)
    return RenderedTrajectory(samples=samples, sample_rate=SAMPLE_RATE, frame_times=np.arange(n) * FRAME_SECONDS,
                              valence=design.valence, arousal=design.arousal, tempo_bpm=tempo,
                              bar_starts=bar_starts, section_of_bar=section_of_bar, modes=list(info["modes"]),
                              key=_NOTE_NAMES[style.tonic], style=style, n_notes=int(info["n_notes"]))
