"""A synthetic music-emotion corpus rendered from known emotion trajectories.

``generate_corpus`` writes songs whose valence and arousal are known at every
moment, so MEMO can be trained, tested and demonstrated with no dataset. Each
song starts as a designed trajectory (two values every 500 ms), is written as
General MIDI bar by bar (every bar is one segment whose musical parameters come
from the design at that moment), is rendered with sampled GM instruments
(midirenderer with the TimGM6mb sound font that ships with pretty_midi), and is
then post-processed with randomised nuisance factors. Simulated raters listen
through a perceptual lag and report it in the emoMusic layout.

Cue table
---------
The mapping follows the cue findings reviewed by Gabrielsson & Lindström
("The role of structure in the musical expression of emotions", 2010) and
Juslin & Laukka (2003, performance cues): fast tempo, many notes, loud
dynamics, bright timbre, staccato articulation and sharp percussive attacks go
with high activation; major mode, consonant harmony and high pitch go with
positive valence, minor mode, dissonance and low pitch with negative valence,
and rough, harsh timbres with negative high-arousal emotions (anger, fear).
With ``x = (arousal + 1) / 2`` in [0, 1]:

================  ===========================================================
cue               how it is rendered
================  ===========================================================
**arousal**
tempo             per song: ``100 * 2 ** (0.9 * song-mean arousal)`` bpm, +-8 %
                  (about 70 bpm calm .. 170 bpm excited); constant within a
                  song, as in most recorded music
note density      melody subdivision 1/2 .. 4 notes a beat (``2 ** (3x - 1)``),
                  fewer rests; chords from sustained whole notes to 8th stabs;
                  bass from whole notes to 8ths
loudness          MIDI velocity ``40 + 75x`` on every part (the sampled
                  instruments' velocity layers also brighten); an extra
                  sustained layer (strings / brass / choir) above x = 0.55
brightness        a high-shelf tilt following the design, ``4a + 2v`` dB
                  (excited and happy performances sound brighter, sad ones
                  dull); melody doubled an octave up above x = 0.7;
                  hi-hats, open hats and crashes with rising x; per song, GM
                  programs drawn favouring bright timbres for high arousal
articulation      note length ``1.05 - 0.6x`` of the slot: legato .. staccato
percussion        none below x ~ 0.3; side stick / ride; then kick-snare
                  backbeat with 8th hats; 16th hats, extra kicks, crashes
**valence**
mode              per section ``P(major) = sigmoid(v / 0.12)``; a section can
                  turn to the parallel minor (same tonic)
consonance        below v = 0 chords gain semitone / tritone tensions (b9,
                  #11) with probability ``0.8 * -v``; above, sweet added 6ths
                  and 9ths; minor keys use harmonic-minor V chords
register          melody centre ``67 + 10v + 2a``, chord and bass voicings
                  ``+4v`` semitones (MIDI pitch)
roughness         for v < 0 the chord part is doubled by the same program
                  detuned 25-45 cents (beating), at level ``1.2 * -v``
================  ===========================================================

Randomised so that they carry no answer: tonic (12 keys), GM programs within
each role's pool, drum kit, melody contour, reverb (synthetic exponentially
decaying noise impulse response, RT60 0.3-2.2 s, wet 5-35 %), a gentle EQ
tilt, a compressor (ratio 1-4), mastering gain (+-4 dB) and background noise
(-70 .. -45 dBFS).

Trajectories
------------
Song means are drawn from a bivariate normal matching the spread of real
annotations; within a song a smooth AR(1) process adds the small movements
real annotations show, and 30 % of songs alternate contrasting sections (a
quiet verse and a loud chorus, or a turn to minor) at bar boundaries.
Annotations follow the real datasets: 2 Hz from 15 s, each simulated rater
(5-7 a song) hears the design through a causal exponential smoother with a
time constant of 1.5-4 s (listeners report the accumulated past), then adds
a personal bias and scale and slow noise; the rating at ``t`` is what the rater
had heard by ``t`` (the frame ending at ``t``, see
:func:`memo_core.features.annotation_frame_index`). The CSVs store the mean and
the standard deviation over raters.

Everything is drawn from ``numpy.random.default_rng([seed, song_index])``, so a
corpus is byte-identical for a seed whatever the number of worker processes.

A trajectory can also be chosen by hand (the dashboard's Emotion lab):
:data:`TRAJECTORY_PRESETS` names a few teaching curves,
:func:`trajectory_from_points` puts control points on the frame grid and
:func:`render_trajectory` renders them with the same cues as the corpus.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from memo_core.audio import FRAME_SECONDS
from memo_core.errors import DatasetError
from memo_core.features.base import annotation_frame_index

__all__ = [
    "TAG_VOCABULARY",
    "CORPUS_NAME",
    "CORPUS_VERSION",
    "SAMPLE_RATE",
    "ANNOTATION_START_S",
    "SongDesign",
    "Style",
    "design_song",
    "sample_style",
    "render_audio",
    "TRAJECTORY_PRESETS",
    "TRAJECTORY_MIN_S",
    "TRAJECTORY_MAX_S",
    "trajectory_from_points",
    "points_from_path",
    "preset_trajectory",
    "RenderedTrajectory",
    "render_trajectory",
    "generate_corpus",
    "default_corpus_dir",
    "ensure_corpus",
    "is_complete_corpus",
]

CORPUS_NAME = "memo-synth"
#: 2: each annotation describes the frame ending at its instant (1 paired it with the frame starting there).
CORPUS_VERSION = 2
SAMPLE_RATE = 44_100
ANNOTATION_START_S = 15.0

#: Mood/theme tags a song can carry (MTG-Jamendo names, without the
#: ``mood/theme---`` prefix); each is a rule on the design and the rendering
#: choices in ``_tags`` (e.g. energetic: mean arousal > 0.3; heavy: excited
#: with a distorted guitar); a song no rule fits gets its quadrant's tag.
TAG_VOCABULARY = (
    "energetic", "calm", "happy", "sad", "dark", "dramatic", "relaxing",
    "uplifting", "melancholic", "epic", "heavy", "soft", "fast", "slow",
    "romantic", "upbeat", "meditative", "powerful",
)

# Summary statistics of real dynamic annotations, measured once with pandas on
# /work/shared/data (DEAM songs 1-2000: 1,744 songs x 60 samples; emoMusic:
# 744 songs x 61 samples): song-mean mean (DEAM 0.14 / 0.10, emoMusic
# 0.03 / 0.04 for arousal / valence) and std (0.28 / 0.23), correlation of
# song means r = 0.59, within-song std 0.035 / 0.032 with lag-1
# autocorrelation 0.92 / 0.90 at 2 Hz, within-song correlation of arousal and
# valence 0.24, and emoMusic's mean per-frame std over raters 0.34 / 0.31.
_SONG_MEAN = (0.08, 0.07)            # arousal, valence: between DEAM and emoMusic
_SONG_STD = (0.28, 0.23)
_SONG_R = 0.58
_WITHIN_STD = 0.035
_WITHIN_LAG1 = 0.92
_WITHIN_R = 0.24
_RATER_STD = (0.34, 0.31)
# The design spread is set below the annotation spread because the raters'
# personal biases add their own song-level variance: sqrt(0.28^2 - 0.11^2);
# valence is kept at its measured spread because clipping and rater scale shrink it.
_DESIGN_STD = (0.26, 0.23)
_RATER_BIAS_STD = 0.27               # with slow noise and scale gives ~0.3 spread
_RATER_NOISE_STD = 0.08
_CONTRAST_SHARE = 0.3

# GM programs per role, each with a rough brightness score in [0, 1] used to
# tilt the draw towards bright timbres for high-arousal songs.
_MELODY_PROGRAMS = (
    (73, 0.2), (71, 0.3), (68, 0.45), (40, 0.5), (0, 0.5), (11, 0.4), (46, 0.25),
    (24, 0.3), (65, 0.65), (56, 0.8), (80, 0.8), (81, 0.9), (29, 0.9), (30, 1.0),
)
_CHORD_PROGRAMS = (
    (0, 0.5), (4, 0.35), (24, 0.3), (25, 0.5), (48, 0.35), (89, 0.1), (16, 0.6),
    (19, 0.5), (27, 0.55), (29, 0.85), (61, 0.85), (30, 1.0),
)
_BASS_PROGRAMS = ((32, 0.2), (33, 0.4), (34, 0.6), (38, 0.8), (35, 0.3), (42, 0.3))
_LAYER_PROGRAMS = ((48, 0.3), (49, 0.2), (61, 0.9), (52, 0.3), (62, 0.85), (91, 0.3))
_DRUM_KITS = (0, 8, 16, 25, 32)
_BRIGHT_PROGRAMS = {29, 30, 56, 61, 62, 80, 81}
_EPIC_PROGRAMS = {48, 49, 52, 61, 62, 91}

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
# Progressions as scale degrees (0-based); 4 in minor is played as a major V.
_MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 3), (0, 5, 3, 4), (0, 3, 0, 4), (3, 0, 4, 5))
_MINOR_PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 5, 4), (0, 5, 3, 4))
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

_SOUNDFONT: bytes | None = None


def _soundfont() -> bytes:
    """The TimGM6mb sound font shipped inside pretty_midi, read once per process."""
    global _SOUNDFONT
    if _SOUNDFONT is None:
        # lazy: pretty_midi (and mido) only when MIDI is rendered
        import pretty_midi

        path = Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
        if not path.is_file():
            raise DatasetError(f"pretty_midi's sound font is missing ({path}); reinstall pretty_midi")
        _SOUNDFONT = path.read_bytes()
    return _SOUNDFONT


# ----------------------------------------------------------------------------
# Design: what the song should express, frame by frame
# ----------------------------------------------------------------------------


@dataclass
class SongDesign:
    """The designed, noise-free emotion of one song.

    Attributes:
        arousal: designed arousal of each 500 ms frame. [shape=(n_frames,)]
        valence: designed valence of each 500 ms frame. [shape=(n_frames,)]
        tempo_bpm: the song's tempo.
        bar_starts: start time of every bar in seconds. [shape=(n_bars,)]
        section_of_bar: section index of each bar. [shape=(n_bars,)]
        contrast: whether the song alternates contrasting sections.
    """

    arousal: np.ndarray
    valence: np.ndarray
    tempo_bpm: float
    bar_starts: np.ndarray
    section_of_bar: np.ndarray
    contrast: bool


def _ar1(rng: np.random.Generator, *, n: int, phi: float, std: float) -> np.ndarray:
    """A stationary AR(1) series with the given lag-1 autocorrelation and std."""
    e = rng.standard_normal(n) * std * math.sqrt(1.0 - phi * phi)
    x = np.empty(n)
    x[0] = rng.standard_normal() * std
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def _n_frames(duration_s: float) -> int:
    """Number of 500 ms frames covering ``duration_s`` (the last one may be partial)."""
    return int(math.ceil(round(duration_s / FRAME_SECONDS, 6)))


def _song_tempo(rng: np.random.Generator, *, mean_arousal: float) -> float:
    """The song's tempo from its mean arousal, ``100 * 2 ** (0.9 a)`` bpm +-8 % (one uniform draw)."""
    return float(100.0 * 2.0 ** (0.9 * mean_arousal) * rng.uniform(0.92, 1.08))


def _bar_starts(*, tempo_bpm: float, duration_s: float) -> np.ndarray:
    """Start of every 4/4 bar that begins before the end, in seconds. [shape=(n_bars,)]"""
    return np.arange(0.0, duration_s, 4 * 60.0 / tempo_bpm)


def _sections(*, n_bars: int, bars: int, tempo_bpm: float) -> np.ndarray:
    """Section index of each bar: sections of ``bars`` bars, twice as many above 130 bpm. [shape=(n_bars,)]"""
    return np.arange(n_bars) // (bars * (2 if tempo_bpm > 130 else 1))


def design_song(rng: np.random.Generator, *, duration_s: float, contrast_share: float = _CONTRAST_SHARE) -> SongDesign:
    """Draw one song's emotion trajectory.

    Args:
        rng: the song's random generator.
        duration_s: song length in seconds.
        contrast_share: probability that the song alternates contrasting sections.

    Returns:
        The design; frames cover ``[0.5 i, 0.5 i + 0.5)`` seconds,
        ``n_frames = ceil(duration_s / 0.5)``.
    """
    n = _n_frames(duration_s)
    cov_av = _SONG_R * _DESIGN_STD[0] * _DESIGN_STD[1]
    cov = [[_DESIGN_STD[0] ** 2, cov_av], [cov_av, _DESIGN_STD[1] ** 2]]
    mean_a, mean_v = rng.multivariate_normal(_SONG_MEAN, cov)
    mean_a, mean_v = float(np.clip(mean_a, -0.85, 0.85)), float(np.clip(mean_v, -0.85, 0.85))

    tempo = _song_tempo(rng, mean_arousal=mean_a)
    bar_starts = _bar_starts(tempo_bpm=tempo, duration_s=duration_s)

    # Small smooth movements, correlated between the two dimensions as in DEAM.
    z1 = _ar1(rng, n=n, phi=_WITHIN_LAG1, std=1.0)
    z2 = _ar1(rng, n=n, phi=_WITHIN_LAG1, std=1.0)
    arousal = mean_a + _WITHIN_STD * z1
    valence = mean_v + _WITHIN_STD * (_WITHIN_R * z1 + math.sqrt(1 - _WITHIN_R**2) * z2)

    section_of_bar = np.zeros(len(bar_starts), dtype=int)
    contrast = bool(rng.random() < contrast_share)
    if contrast:
        # Sections of 2-4 bars (4-8 at fast tempi), alternating A (verse) and B.
        section_of_bar = _sections(n_bars=len(bar_starts), bars=int(rng.integers(2, 5)), tempo_bpm=tempo)
        if rng.random() < 0.6:   # quiet verse, loud (and a little brighter) chorus
            delta_a, delta_v = rng.uniform(0.3, 0.65), rng.uniform(0.0, 0.3)
        else:                    # a turn to minor: darker section, a little more tense
            delta_a, delta_v = rng.uniform(-0.1, 0.3), -rng.uniform(0.35, 0.65)
        first_b = bool(rng.random() < 0.3)
        frame_times = np.arange(n) * FRAME_SECONDS
        bar_idx = np.clip(np.searchsorted(bar_starts, frame_times + 1e-9, side="right") - 1, 0, None)
        is_b = ((section_of_bar[bar_idx] % 2) == 1) ^ first_b
        sign = np.where(is_b, 0.5, -0.5)
        arousal = arousal + sign * delta_a
        valence = valence + sign * delta_v
    arousal = np.clip(arousal, -0.95, 0.95)
    valence = np.clip(valence, -0.95, 0.95)
    return SongDesign(arousal=arousal, valence=valence, tempo_bpm=tempo, bar_starts=bar_starts,
                      section_of_bar=section_of_bar, contrast=contrast)


# ----------------------------------------------------------------------------
# Style: the song-level choices, mostly nuisance
# ----------------------------------------------------------------------------


@dataclass
class Style:
    """Song-level rendering choices.

    Attributes:
        tonic: pitch class of the key, 0 = C.
        programs: GM program per role (``melody``, ``chords``, ``bass``, ``layer``).
        drum_kit: GM drum-kit program.
        detune_cents: detuning of the rough chord doubling.
        thresholds: per-song jitter of the percussion thresholds (x units).
        reverb_rt60: reverb decay time in seconds.
        reverb_wet: reverb mix in [0, 1].
        tilt_db: EQ tilt in dB (positive = brighter).
        comp_ratio: compressor ratio (1 = none).
        gain_db: mastering gain.
        noise_db: background noise level in dBFS RMS.
        mode_bias: shifts the valence at which major turns to minor.
    """

    tonic: int
    programs: dict[str, int]
    drum_kit: int
    detune_cents: float
    thresholds: float
    reverb_rt60: float
    reverb_wet: float
    tilt_db: float
    comp_ratio: float
    gain_db: float
    noise_db: float
    mode_bias: float = 0.0


def _pick_program(rng: np.random.Generator, pool, x: float) -> int:
    """One program from a pool, brightness tilted towards x but every one possible."""
    bright = np.array([b for _, b in pool])
    w = np.exp(-((bright - x) ** 2) / (2 * 0.3**2)) + 0.15
    return int(pool[rng.choice(len(pool), p=w / w.sum())][0])


def sample_style(rng: np.random.Generator, *, mean_arousal: float) -> Style:
    """Draw the song-level choices.

    Args:
        rng: the song's random generator.
        mean_arousal: the design's mean arousal (tilts the timbre draw).

    Returns:
        The style.
    """
    x = (mean_arousal + 1) / 2
    programs = {
        "melody": _pick_program(rng, _MELODY_PROGRAMS, x),
        "chords": _pick_program(rng, _CHORD_PROGRAMS, x),
        "bass": _pick_program(rng, _BASS_PROGRAMS, x),
        "layer": _pick_program(rng, _LAYER_PROGRAMS, x),
    }
    return Style(
        tonic=int(rng.integers(12)),
        programs=programs,
        drum_kit=int(rng.choice(_DRUM_KITS)),
        detune_cents=float(rng.uniform(25, 45)),
        thresholds=float(rng.normal(0.0, 0.04)),
        reverb_rt60=float(rng.uniform(0.3, 2.2)),
        reverb_wet=float(rng.uniform(0.05, 0.35)),
        tilt_db=float(rng.uniform(-2.0, 2.0)),
        comp_ratio=float(rng.uniform(1.0, 4.0)),
        gain_db=float(rng.uniform(-4.0, 4.0)),
        noise_db=float(rng.uniform(-70.0, -45.0)),
        mode_bias=float(rng.normal(0.0, 0.08)),
    )


# ----------------------------------------------------------------------------
# MIDI: bar by bar from the design
# ----------------------------------------------------------------------------


def _scale_pitch(tonic: int, scale, degree: int, octave_base: int) -> int:
    """MIDI pitch of a scale degree (any integer) above the C of octave_base."""
    octave, step = divmod(degree, 7)
    return octave_base + tonic + 12 * octave + scale[step]


def _near(pitch: int, centre: float) -> int:
    """Transpose by octaves to the octave nearest centre."""
    return int(pitch + 12 * round((centre - pitch) / 12))


def _build_midi(design: SongDesign, style: Style, rng: np.random.Generator, *, duration_s: float):
    """The song as a PrettyMIDI object, plus the per-section modes.

    Returns:
        ``(midi, modes)``: the PrettyMIDI object and one of ``"major"`` /
        ``"minor"`` per section.
    """
    # lazy: pretty_midi (and mido) only when MIDI is rendered
    import pretty_midi

    def instrument(program: int, name: str, *, drum: bool = False):
        inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
        midi.instruments.append(inst)
        return inst

    def note(inst, pitch: float, start: float, length: float, velocity: float) -> None:
        end = min(start + max(length, 0.05), duration_s + 1.0)
        if start >= duration_s:
            return
        inst.notes.append(pretty_midi.Note(velocity=int(np.clip(velocity, 1, 127)), pitch=int(np.clip(pitch, 0, 127)),
                                           start=float(start), end=float(end)))

    midi = pretty_midi.PrettyMIDI(initial_tempo=design.tempo_bpm)
    melody = instrument(style.programs["melody"], "melody")
    melody_hi = instrument(style.programs["melody"], "melody-octave")
    chords = instrument(style.programs["chords"], "chords")
    rough = instrument(style.programs["chords"], "chords-detuned")
    rough.pitch_bends.append(pretty_midi.PitchBend(int(style.detune_cents / 100 * 4096), 0.0))
    bass = instrument(style.programs["bass"], "bass")
    layer = instrument(style.programs["layer"], "layer")
    drums = instrument(style.drum_kit, "drums", drum=True)

    beat = 60.0 / design.tempo_bpm
    n_frames = len(design.arousal)
    n_sections = int(design.section_of_bar.max()) + 1 if len(design.section_of_bar) else 1
    # Mode per section from its mean valence: P(major) = sigmoid(v / 0.12).
    modes = []
    for s in range(n_sections):
        bars = np.flatnonzero(design.section_of_bar == s)
        f0 = int(design.bar_starts[bars[0]] / FRAME_SECONDS)
        f1 = int(min(n_frames, math.ceil((design.bar_starts[bars[-1]] + 4 * beat) / FRAME_SECONDS)))
        v = float(design.valence[f0:max(f1, f0 + 1)].mean())
        p_major = 1 / (1 + math.exp(-(v + style.mode_bias) / 0.12))
        modes.append("major" if rng.random() < p_major else "minor")
    progression_major = _MAJOR_PROGRESSIONS[rng.integers(len(_MAJOR_PROGRESSIONS))]
    progression_minor = _MINOR_PROGRESSIONS[rng.integers(len(_MINOR_PROGRESSIONS))]
    melody_degree = int(rng.integers(0, 5))
    jitter = style.thresholds

    for b, t0 in enumerate(design.bar_starts):
        f0 = int(t0 / FRAME_SECONDS)
        f1 = max(f0 + 1, int(math.ceil((t0 + 4 * beat) / FRAME_SECONDS)))
        a = float(design.arousal[f0:f1].mean())
        v = float(design.valence[f0:f1].mean())
        x = (a + 1) / 2
        section = int(design.section_of_bar[b])
        minor = modes[section] == "minor"
        scale = _MINOR if minor else _MAJOR
        progression = progression_minor if minor else progression_major
        degree = progression[b % 4]
        new_section = b == 0 or design.section_of_bar[b - 1] != section
        vel = 40 + 75 * x
        artic = 1.05 - 0.6 * x

        # Chord tones (pitch classes via the scale) voiced around MIDI 60.
        tones = [_scale_pitch(style.tonic, scale, degree + k, 48) for k in (0, 2, 4)]
        if minor and degree == 4:   # harmonic minor: major V, the leading tone
            tones[1] += 1
        tones = [_near(p, 60 + 4 * v) for p in tones]
        root = tones[0]
        tension_p = 0.8 * max(0.0, -v)
        extra = []
        if rng.random() < tension_p:
            extra.append(root + 1 if rng.random() < 0.6 else root + 6)   # b9 or tritone
        elif v > 0.1 and rng.random() < 0.6 * v + 0.2:
            extra.append(root + (9 if rng.random() < 0.5 else 14))       # add6 / add9
        voicing = sorted(set(tones + extra))

        # Chords: whole notes when calm, halves/quarters in between, 8th stabs when excited.
        rough_level = min(1.0, 1.2 * max(0.0, -v))
        hits_per_bar = int(rng.choice([1, 2, 4, 8], p=_soft_choice([0.15, 0.4, 0.65, 0.9], x)))
        step = 4 * beat / hits_per_bar
        # The detuned double must add roughness, not loudness (loudness is an arousal cue):
        # both parts drop so the pair sounds about as loud as the chord alone.
        rough_on = rough_level > 0.05
        chord_vel = (vel - 8) * (1 - 0.25 * rough_level) if rough_on else vel - 8
        for h in range(hits_per_bar):
            accent = 8 if h == 0 else 0
            for p in voicing:
                note(chords, p, t0 + h * step, step * (artic if hits_per_bar > 1 else 1.05), chord_vel + accent)
                if rough_on:
                    note(rough, p, t0 + h * step, step * (artic if hits_per_bar > 1 else 1.05),
                         chord_vel * (0.55 + 0.35 * rough_level))

        # Bass.
        bass_root = _near(root, 40 + 4 * v)
        bass_hits = int(rng.choice([1, 2, 4, 8], p=_soft_choice([0.15, 0.4, 0.6, 0.85], x)))
        step = 4 * beat / bass_hits
        for h in range(bass_hits):
            p = bass_root + (7 if (bass_hits >= 2 and h % 4 == 2 and rng.random() < 0.5) else 0)
            p += 12 if (bass_hits == 8 and h % 2 == 1 and rng.random() < 0.3) else 0
            note(bass, p, t0 + h * step, step * min(1.0, artic + 0.1), vel - 2)

        # Sustained layer above x = 0.55 (loudness, fullness, brightness).
        if x > 0.55 + jitter:
            for p in tones:
                note(layer, p + 12, t0, 4 * beat, 30 + 110 * (x - 0.55))

        # Melody: a scale-degree random walk, chord tones on the downbeat.
        density = 2.0 ** (3 * x - 1)
        sub = float(np.clip(2.0 ** round(math.log2(density) + rng.normal(0, 0.35)), 0.5, 4.0))
        # Cap at about 9 notes a second so fast songs stay playable.
        while sub > 0.5 and sub / beat > 9:
            sub /= 2
        slot = beat / sub
        n_slots = int(round(4 * beat / slot))
        centre = 67 + 10 * v + 2 * a
        play_p = 0.55 + 0.4 * x
        for k in range(n_slots):
            start = t0 + k * slot
            if k == 0:
                melody_degree = degree + int(rng.choice([0, 2, 4]))
            else:
                melody_degree += int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            pitch = _scale_pitch(style.tonic, scale, melody_degree, 60)
            if minor and (melody_degree % 7) == 6 and degree == 4:
                pitch += 1
            # Keep the line near its register centre by folding octaves.
            while pitch > centre + 8:
                pitch -= 12
                melody_degree -= 7
            while pitch < centre - 8:
                pitch += 12
                melody_degree += 7
            if k > 0 and rng.random() > play_p:
                continue
            v_note = vel + (8 if k == 0 else 0) + rng.normal(0, 5)
            note(melody, pitch, start, slot * artic, v_note)
            if x > 0.7 + jitter:
                note(melody_hi, pitch + 12, start, slot * artic, v_note * 0.7)

        # Percussion.
        th = jitter
        dv = 40 + 80 * x
        for q in range(8):                 # 8th-note grid
            t = t0 + q * beat / 2
            on_beat = q % 2 == 0
            if x < 0.3 + th:
                continue
            if x < 0.45 + th:               # light: ride and side stick
                if on_beat:
                    note(drums, 51, t, 0.1, dv - 10)
                if q in (2, 6):
                    note(drums, 37, t, 0.1, dv - 10)
                continue
            if q in (0, 4) or (x > 0.7 + th and q in (3, 5) and rng.random() < 0.5):
                note(drums, 36, t, 0.1, dv)
            if q in (2, 6):
                note(drums, 38, t, 0.1, dv)
            hat = 46 if (x > 0.65 + th and q == 7 and rng.random() < 0.5) else 42
            note(drums, hat, t, 0.1, dv - 15 + (8 if on_beat else 0))
            if x > 0.75 + th:               # 16th hats
                note(drums, 42, t + beat / 4, 0.05, dv - 25)
        if x > 0.6 + th and (new_section or b % 4 == 0):
            note(drums, 49, t0, 0.5, dv)
    for inst in midi.instruments:
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments = [inst for inst in midi.instruments if inst.notes]
    return midi, modes


def _soft_choice(centres, x: float) -> np.ndarray:
    """Probabilities over options centred at ``centres`` for a value x (softmax of -distance^2)."""
    c = np.asarray(centres)
    w = np.exp(-((c - x) ** 2) / (2 * 0.12**2)) + 1e-3
    return w / w.sum()


# ----------------------------------------------------------------------------
# Audio: render, then randomised post-processing
# ----------------------------------------------------------------------------

# Scales the sound font's output so levels match real recordings: about
# -28 dBFS RMS for the calmest songs to -12 dBFS for the most excited (the real
# clips in the shared data measure -19 .. -11 dBFS).
_RENDER_GAIN = 7.5


def _render_midi(midi, *, soundfont: bytes | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Render with midirenderer; mono float64 at ``sample_rate`` (44.1 kHz).

    ``soundfont`` is the bytes of an .sf2 file (default: TimGM6mb);
    :mod:`memo_core.data.midi_render` passes FluidR3_GM where installed.
    """
    # lazy: the synthesiser only when audio is rendered
    import midirenderer

    # lazy: the resampler only when a sample rate must change
    import soxr

    buf = io.BytesIO()
    midi.write(buf)
    wav = midirenderer.render_wave_from(_soundfont() if soundfont is None else soundfont, buf.getvalue())
    x, rate = sf.read(io.BytesIO(wav), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate)
    return x


def _post_process(x: np.ndarray, style: Style, rng: np.random.Generator, *, n_samples: int,
                  arousal: np.ndarray, valence: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Brightness cue, reverb, EQ tilt, compression, gain, noise; exactly n_samples long at ``sample_rate``."""
    # lazy: scipy.signal only when audio is rendered
    from scipy.signal import fftconvolve, lfilter

    if len(x) < n_samples:
        x = np.pad(x, (0, n_samples - len(x)))
    x = x[:n_samples] * _RENDER_GAIN
    # Convolution reverb: noise with an exponential decay of the drawn RT60.
    n_ir = int(min(style.reverb_rt60 * 1.2, 2.5) * sample_rate)
    t = np.arange(n_ir) / sample_rate
    ir = rng.standard_normal(n_ir) * np.exp(-6.91 * t / style.reverb_rt60)
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(x, ir)[:n_samples]
    x = (1 - style.reverb_wet) * x + style.reverb_wet * wet
    # Brightness follows the design (a cue, 4a + 2v dB) on top of the song's random
    # EQ tilt (a nuisance, +-2 dB): add or subtract a one-pole high-passed copy.
    frame = np.minimum(np.arange(n_samples) // int(FRAME_SECONDS * sample_rate), len(arousal) - 1)
    cue = 4.0 * arousal + 2.0 * valence
    cue_db = np.convolve(np.pad(cue, 1, mode="edge"), np.ones(3) / 3, mode="valid")[frame]
    g = 10 ** ((style.tilt_db + cue_db) / 20) - 1
    # A one-pole low-pass with its corner (~1.1 kHz) kept at any sample rate (pole 0.85 at 44.1 kHz).
    pole = 0.85 ** (SAMPLE_RATE / sample_rate)
    hp = x - lfilter([round(1 - pole, 12)], [1, -pole], x)
    x = x + g * hp
    # Compressor on a 50 ms RMS envelope, threshold 10 dB below the loudest part.
    win = int(0.05 * sample_rate)
    env = np.sqrt(np.convolve(x**2, np.ones(win) / win, mode="same") + 1e-12)
    thr = np.percentile(env, 99) * 10 ** (-10 / 20)
    over = np.maximum(env / thr, 1.0)
    x = x * over ** (1 / style.comp_ratio - 1)
    # Mastering gain (a nuisance, not a cue), then a soft limiter above 0.9.
    x = x * 10 ** (style.gain_db / 20)
    # Pink-ish background noise.
    noise = lfilter([1.0], [1, -0.95], rng.standard_normal(n_samples))
    noise *= 10 ** (style.noise_db / 20) / (np.std(noise) + 1e-12)
    x = x + noise
    peak = np.abs(x)
    limit = 0.9
    x = np.where(peak > limit, np.sign(x) * (limit + (1 - limit) * np.tanh((peak - limit) / (1 - limit))), x)
    # Short fades avoid clicks at the cut.
    fade = int(0.01 * sample_rate)
    x[:fade] *= np.linspace(0, 1, fade)
    x[-fade:] *= np.linspace(1, 0, fade)
    return x.astype(np.float32)


def render_audio(design: SongDesign, style: Style, rng: np.random.Generator, *, duration_s: float,
                 post_process: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """Render a designed song to audio.

    Args:
        design: the emotion trajectory (see :func:`design_song`).
        style: the song-level choices (see :func:`sample_style`).
        rng: random generator for the musical details.
        duration_s: length of the output in seconds.
        post_process: apply reverb, EQ, compression, gain and noise.

    Returns:
        ``(samples, info)``: mono float32 samples at 44.1 kHz
        [shape=(round(duration_s * 44100),)] and a dict with ``modes`` (one per
        section) and ``n_notes``.
    """
    midi, modes = _build_midi(design, style, rng, duration_s=duration_s)
    x = _render_midi(midi)
    n_samples = int(round(duration_s * SAMPLE_RATE))
    if post_process:
        x = _post_process(x, style, rng, n_samples=n_samples, arousal=design.arousal,
                          valence=design.valence)
    else:
        x = np.pad(x, (0, max(0, n_samples - len(x))))[:n_samples] * _RENDER_GAIN
        x = np.clip(x, -1, 1).astype(np.float32)
    return x, {"modes": modes, "n_notes": sum(len(i.notes) for i in midi.instruments)}


# ----------------------------------------------------------------------------
# Trajectories chosen by hand (the dashboard's Emotion lab)
# ----------------------------------------------------------------------------

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

    The song is designed as :func:`design_song` would with this trajectory in
    place of a random one: the tempo follows the mean arousal (clipped to
    +-0.85) with the same +-8 % jitter, bars are 4/4 from 0 s, and sections of
    2 bars (4 above 130 bpm) each draw their mode from their mean valence. The
    instruments and the room are drawn by :func:`sample_style` and the song is
    written and rendered by :func:`render_audio`, so every cue in the module's
    cue table follows the trajectory frame by frame (tempo excepted: it is
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


# ----------------------------------------------------------------------------
# Raters and tags
# ----------------------------------------------------------------------------


def _rate(rng: np.random.Generator, design: np.ndarray, *, bias_z: np.ndarray, rater_std: float) -> np.ndarray:
    """Simulated raters' dynamic ratings of one dimension. [shape=(n_raters, n_frames)]

    Each rater hears the design through a causal exponential smoother (time
    constant 1.5-4 s), applies a personal scale and bias, and adds slow noise.
    ``bias_z`` holds each rater's standardised bias [shape=(n_raters,)]; the
    caller correlates the arousal and valence biases like the song means, since
    independent biases would dilute the valence-arousal correlation of the
    averaged annotation (0.33 measured, against DEAM's 0.58).
    """
    n = len(design)
    n_raters = len(bias_z)
    out = np.empty((n_raters, n))
    for k in range(n_raters):
        tau = rng.uniform(1.5, 4.0)
        alpha = 1 - math.exp(-FRAME_SECONDS / tau)
        heard = np.empty(n)
        state = design[0]
        for i in range(n):
            state += alpha * (design[i] - state)
            heard[i] = state
        bias = bias_z[k] * _RATER_BIAS_STD * rater_std / _RATER_STD[0]
        scale = rng.uniform(0.8, 1.2)
        noise = _ar1(rng, n=n, phi=0.95, std=_RATER_NOISE_STD)
        out[k] = np.clip(scale * heard + bias + noise, -1, 1)
    return out


def _tags(design: SongDesign, style: Style, modes: list[str]) -> list[str]:
    """Mood/theme tags derived from the design and the rendering choices."""
    a, v = float(design.arousal.mean()), float(design.valence.mean())
    minor_share = sum(m == "minor" for m in modes) / len(modes)
    drums = a > -0.35
    programs = set(style.programs.values())
    spread_a = float(np.ptp(design.arousal))
    rules = {
        "energetic": a > 0.3,
        "calm": a < -0.2,
        "happy": v > 0.25 and a > -0.1 and minor_share < 0.5,
        "sad": v < -0.2 and a < 0.05,
        "dark": v < -0.3 or (minor_share > 0.5 and v < -0.15),
        "dramatic": (design.contrast and spread_a > 0.35) or (a > 0.25 and v < -0.1),
        "relaxing": -0.5 < a < -0.05 and v > 0.05,
        "uplifting": v > 0.3 and a > 0.15 and minor_share < 0.5,
        "melancholic": v < -0.05 and a < -0.1 and minor_share >= 0.5,
        "epic": a > 0.35 and style.programs["layer"] in _EPIC_PROGRAMS and (design.contrast or v < 0.2),
        "heavy": a > 0.3 and bool(programs & {29, 30}),
        "soft": a < -0.35,
        "fast": design.tempo_bpm > 140,
        "slow": design.tempo_bpm < 80,
        "romantic": v > 0.1 and -0.5 < a < 0.1 and style.programs["melody"] in {0, 24, 40, 46, 65, 71, 73},
        "upbeat": a > 0.15 and v > 0.15 and drums,
        "meditative": a < -0.45,
        "powerful": a > 0.45 and bool(programs & _BRIGHT_PROGRAMS),
    }
    tags = [t for t in TAG_VOCABULARY if rules[t]]
    if not tags:   # near-neutral songs still get their quadrant's tag, as every MTG-Jamendo track has one
        tags = [("happy" if v >= 0 else "dramatic") if a >= 0 else ("relaxing" if v >= 0 else "melancholic")]
    return tags


# ----------------------------------------------------------------------------
# One song, then the corpus
# ----------------------------------------------------------------------------


def _annotation_times(duration_s: float, annotation_start_s: float) -> np.ndarray:
    """2 Hz instants from the annotation start to the end, inclusive (emoMusic: 61 for 45 s)."""
    n = int(math.floor(round((duration_s - annotation_start_s) / FRAME_SECONDS, 6))) + 1
    return annotation_start_s + FRAME_SECONDS * np.arange(n)


def _make_song(seed: int, index: int, duration_s: float, annotation_start_s: float, contrast_share: float,
               audio_dir: str) -> dict[str, Any]:
    """Design, render and rate song ``index`` (0-based); writes its FLAC, returns its rows."""
    rng = np.random.default_rng([seed, index])
    design = design_song(rng, duration_s=duration_s, contrast_share=contrast_share)
    style = sample_style(rng, mean_arousal=float(design.arousal.mean()))
    samples, info = render_audio(design, style, rng, duration_s=duration_s)
    song_id = str(index + 1)
    path = Path(audio_dir) / f"{song_id}.flac"
    sf.write(str(path), samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")

    times = _annotation_times(duration_s, annotation_start_s)
    # The rating at t is what a rater heard up to t: the smoother's state after the frame ending at t.
    idx = annotation_frame_index(times, len(design.arousal))
    n_raters = int(rng.integers(5, 8))
    rows: dict[str, Any] = {"song_id": song_id}
    static = {}
    z_a, z_v = rng.standard_normal((2, n_raters))
    bias_z = {"arousal": z_a, "valence": _SONG_R * z_a + math.sqrt(1 - _SONG_R**2) * z_v}
    for dim, d, std in (("arousal", design.arousal, _RATER_STD[0]), ("valence", design.valence, _RATER_STD[1])):
        ratings = _rate(rng, d, bias_z=bias_z[dim], rater_std=std)
        rows[f"{dim}_mean"] = ratings[:, idx].mean(axis=0)
        rows[f"{dim}_std"] = ratings[:, idx].std(axis=0, ddof=1)
        # Song-level ratings: each rater's overall impression of the whole excerpt.
        overall = np.clip(ratings.mean(axis=1) + rng.normal(0, 0.08, n_raters), -1, 1)
        static[dim] = (5 + 4 * overall.mean(), 4 * overall.std(ddof=1))
    modes = info["modes"]
    mode = modes[0] if len(set(modes)) == 1 else "mixed"
    rows["static"] = static
    rows["design"] = (design.arousal, design.valence)
    rows["info"] = {
        "song_id": song_id,
        "file_name": f"{song_id}.flac",
        "tags": ";".join(_tags(design, style, modes)),
        "tempo_bpm": round(design.tempo_bpm, 2),
        "key": _NOTE_NAMES[style.tonic],
        "mode": mode,
        "programs": " ".join(f"{k}={v}" for k, v in style.programs.items()),
        "drum_kit": style.drum_kit,
        "contrast": int(design.contrast),
        "n_raters": n_raters,
        "n_notes": info["n_notes"],
        "design_mean_arousal": round(float(design.arousal.mean()), 4),
        "design_mean_valence": round(float(design.valence.mean()), 4),
        "reverb_rt60": round(style.reverb_rt60, 3),
        "reverb_wet": round(style.reverb_wet, 3),
        "tilt_db": round(style.tilt_db, 2),
        "comp_ratio": round(style.comp_ratio, 2),
        "gain_db": round(style.gain_db, 2),
        "noise_db": round(style.noise_db, 1),
    }
    return rows


def _splits(n_songs: int, seed: int) -> list[str]:
    """A deterministic ~70/15/15 train/validation/test split by song."""
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(n_songs)
    n_val = int(round(0.15 * n_songs))
    n_test = int(round(0.15 * n_songs))
    if n_songs >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    split = ["train"] * n_songs
    for i in order[:n_val]:
        split[i] = "validation"
    for i in order[n_val:n_val + n_test]:
        split[i] = "test"
    return split


def _fmt(x: float) -> str:
    """Four decimals, without a negative zero."""
    s = f"{x:.4f}"
    return "0.0000" if s == "-0.0000" else s


def _write_wide(path: Path, songs: list[dict], key: str, times: np.ndarray) -> None:
    header = ["song_id"] + [f"sample_{int(round(t * 1000))}ms" for t in times]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for s in songs:
            w.writerow([s["song_id"]] + [_fmt(v) for v in s[key]])


def _write_corpus_files(root: Path, songs: list[dict], meta: dict, splits: list[str], times: np.ndarray) -> None:
    ann = root / "annotations"
    for dim in ("arousal", "valence"):
        _write_wide(ann / f"{dim}_cont_average.csv", songs, f"{dim}_mean", times)
        _write_wide(ann / f"{dim}_cont_std.csv", songs, f"{dim}_std", times)
    with open(ann / "static_annotations.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["song_id", "mean_arousal", "std_arousal", "mean_valence", "std_valence"])
        for s in songs:
            (ma, sa), (mv, sv) = s["static"]["arousal"], s["static"]["valence"]
            w.writerow([s["song_id"], _fmt(ma), _fmt(sa), _fmt(mv), _fmt(sv)])
    info_rows = [dict(s["info"], split=splits[i]) for i, s in enumerate(songs)]
    fields = ["song_id", "file_name", "split"] + [k for k in info_rows[0] if k not in ("song_id", "file_name", "split")]
    with open(ann / "songs_info.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(info_rows)
    with open(ann / "design.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["song_id", "time_s", "valence", "arousal"])
        for s in songs:
            a, v = s["design"]
            for i in range(len(a)):
                w.writerow([s["song_id"], f"{i * FRAME_SECONDS:.1f}", _fmt(v[i]), _fmt(a[i])])
    (root / "corpus.json").write_text(json.dumps(meta, indent=2) + "\n")


def generate_corpus(out_dir: str | os.PathLike, *, n_songs: int = 150, seed: int = 0, duration_s: float = 45.0,
                    annotation_start_s: float = ANNOTATION_START_S, workers: int | None = None,
                    progress: bool = True, progress_callback: Callable[[int, int], None] | None = None,
                    overwrite: bool = False, contrast_share: float = _CONTRAST_SHARE) -> Path:
    """Render a synthetic emotion corpus.

    Layout (read by :mod:`memo_core.data.synth_loader`)::

        out_dir/corpus.json                 name, version, seed, n_songs, duration_s, sample_rate,
                                            annotation_start_s, frame_seconds, tags, splits
        out_dir/audio/{song_id}.flac        mono 44.1 kHz, song_id "1" .. str(n_songs)
        out_dir/annotations/{arousal,valence}_cont_{average,std}.csv   wide, as emoMusic
        out_dir/annotations/static_annotations.csv   1-9 scale, mean and std over raters
        out_dir/annotations/songs_info.csv  split, tags (';'-separated), rendering choices
        out_dir/annotations/design.csv      song_id,time_s,valence,arousal from 0 s

    The corpus is rendered into a temporary folder beside ``out_dir`` and
    renamed into place when complete, with ``corpus.json`` written last, so an
    interrupted run never leaves a corpus that looks complete; a lock file
    beside it (``.{name}.lock``, empty, left in place) keeps two processes from
    rendering it at once. With
    ``workers > 1`` songs render in spawned processes, so a script that calls
    this must guard its entry point with ``if __name__ == "__main__":``.

    Args:
        out_dir: where the corpus goes (created).
        n_songs: number of songs; ids are ``"1"`` .. ``str(n_songs)``.
        seed: the corpus seed; a seed gives byte-identical files whatever
            ``workers`` is.
        duration_s: length of every song in seconds.
        annotation_start_s: first annotated instant (emoMusic and DEAM: 15 s).
        workers: worker processes (default: up to 2, the CPU count); 1 renders
            in this process.
        progress: show a tqdm progress bar.
        progress_callback: called as ``progress_callback(done, total)`` after
            each song (e.g. to drive ``st.progress``).
        overwrite: replace an existing corpus in ``out_dir``.
        contrast_share: share of songs with contrasting sections (0.3; 1.0
            gives every song verse/chorus dynamics, e.g. for tests).

    Returns:
        The corpus folder.

    Raises:
        DatasetError: on bad arguments, or when ``out_dir`` exists and is not
            empty and ``overwrite`` is false.
    """
    out = Path(out_dir).expanduser()
    with _corpus_lock(out):
        return _render_into(out, n_songs=n_songs, seed=seed, duration_s=duration_s,
                            annotation_start_s=annotation_start_s, workers=workers, progress=progress,
                            progress_callback=progress_callback, overwrite=overwrite,
                            contrast_share=contrast_share)


@contextmanager
def _corpus_lock(out: Path):
    """Hold an exclusive lock on ``.{name}.lock`` beside ``out`` (waits for another renderer to finish).

    Two processes (two dashboard sessions, or the CLI beside the dashboard)
    rendering into one folder would swap it out under each other; the lock
    makes the second wait, then find the first one's corpus.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        # lazy: POSIX only; the lock is taken only when a corpus is written
        import fcntl
    except ImportError:   # not POSIX: no cross-process lock
        yield
        return
    with open(out.parent / f".{out.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _render_into(out: Path, *, n_songs: int, seed: int, duration_s: float, annotation_start_s: float,
                 workers: int | None, progress: bool, progress_callback: Callable[[int, int], None] | None,
                 overwrite: bool, contrast_share: float) -> Path:
    """:func:`generate_corpus` once the lock is held."""
    if n_songs < 1:
        raise DatasetError(f"n_songs must be at least 1, got {n_songs}")
    if duration_s < annotation_start_s + FRAME_SECONDS or duration_s > 20 * 60:
        raise DatasetError(f"duration_s must be between {annotation_start_s + FRAME_SECONDS} s and 1200 s, "
                           f"got {duration_s}")
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} is a file, not a folder; choose another corpus folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatasetError(f"{out} exists and is not empty; pass overwrite=True or choose another folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)   # mkdtemp makes it private; a corpus is ordinary data
        (tmp / "audio").mkdir()
        (tmp / "annotations").mkdir()
        songs = _render_all(seed=seed, n_songs=n_songs, duration_s=duration_s,
                            annotation_start_s=annotation_start_s, contrast_share=contrast_share,
                            audio_dir=tmp / "audio",
                            workers=workers, progress=progress, progress_callback=progress_callback)
        splits = _splits(n_songs, seed)
        meta = {
            "name": CORPUS_NAME, "version": CORPUS_VERSION, "seed": seed, "n_songs": n_songs,
            "duration_s": duration_s, "sample_rate": SAMPLE_RATE, "annotation_start_s": annotation_start_s,
            "frame_seconds": FRAME_SECONDS, "tags": list(TAG_VOCABULARY),
            "splits": {name: splits.count(name) for name in ("train", "validation", "test")},
            "contrast_share": contrast_share,
        }
        _write_corpus_files(tmp, songs, meta, splits, _annotation_times(duration_s, annotation_start_s))
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(trash / "corpus")
            tmp.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _render_all(*, seed: int, n_songs: int, duration_s: float, annotation_start_s: float, contrast_share: float,
                audio_dir: Path,
                workers: int | None, progress: bool,
                progress_callback: Callable[[int, int], None] | None) -> list[dict]:
    """Render every song, in a process pool when workers > 1; results in song order."""

    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, min(int(workers), n_songs))
    args = [(seed, i, duration_s, annotation_start_s, contrast_share, str(audio_dir)) for i in range(n_songs)]
    results: list[dict | None] = [None] * n_songs
    bar = tqdm(total=n_songs, desc="rendering synthetic corpus", unit="song", disable=not progress)
    done = 0

    def finished(i: int, row: dict) -> None:
        nonlocal done
        results[i] = row
        done += 1
        bar.update(1)
        if progress_callback is not None:
            progress_callback(done, n_songs)

    try:
        if workers == 1:
            for i, a in enumerate(args):
                finished(i, _make_song(*a))
        else:
            # spawn: the caller may hold torch or streamlit threads that fork would copy.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_make_song, *a): i for i, a in enumerate(args)}
                for fut in as_completed(futures):
                    finished(futures[fut], fut.result())
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def default_corpus_dir() -> Path:
    """Where the default corpus lives: ``$MEMO_DATA_DIR`` or ``~/.cache/memo/corpus``."""
    env = os.environ.get("MEMO_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "memo" / "corpus"


def is_complete_corpus(path: str | os.PathLike, **expected: Any) -> bool:
    """Whether ``path`` holds a complete synthetic corpus whose corpus.json matches ``expected``.

    Args:
        path: the corpus folder.
        **expected: corpus.json fields that must match (e.g. ``seed=0``).
    """
    root = Path(path).expanduser()
    try:
        meta = json.loads((root / "corpus.json").read_text())
    except (OSError, ValueError):
        return False
    if meta.get("name") != CORPUS_NAME or meta.get("version") != CORPUS_VERSION:
        return False
    for k, v in expected.items():
        if isinstance(v, float) or isinstance(meta.get(k), float):
            if not isinstance(meta.get(k), (int, float)) or abs(float(meta[k]) - float(v)) > 1e-9:
                return False
        elif meta.get(k) != v:
            return False
    n = int(meta.get("n_songs", -1))
    files = [root / "audio" / f"{i}.flac" for i in range(1, n + 1)]
    names = ("arousal_cont_average.csv", "valence_cont_average.csv", "arousal_cont_std.csv",
             "valence_cont_std.csv", "static_annotations.csv", "songs_info.csv", "design.csv")
    return n > 0 and all(f.is_file() for f in files) and all((root / "annotations" / m).is_file() for m in names)


def ensure_corpus(out_dir: str | os.PathLike | None = None, *, n_songs: int = 150, seed: int = 0,
                  duration_s: float = 45.0, annotation_start_s: float = ANNOTATION_START_S,
                  workers: int | None = None, progress: bool = True,
                  progress_callback: Callable[[int, int], None] | None = None) -> Path:
    """Return a complete corpus with these parameters, rendering it if needed.

    An existing synthetic corpus (its corpus.json names ``memo-synth``) with
    other parameters, or left incomplete, is replaced; a folder holding
    anything else is left alone and raises. Rendering holds a lock beside the
    folder, so concurrent callers render once and share the result.

    Args:
        out_dir: the corpus folder (default :func:`default_corpus_dir`).
        n_songs, seed, duration_s, annotation_start_s, workers, progress,
        progress_callback: as for :func:`generate_corpus`.

    Returns:
        The corpus folder.

    Raises:
        DatasetError: ``out_dir`` holds something that is not a synthetic corpus.
    """
    out = Path(out_dir).expanduser() if out_dir is not None else default_corpus_dir()
    params = dict(n_songs=n_songs, seed=seed, duration_s=float(duration_s), annotation_start_s=float(annotation_start_s))
    if is_complete_corpus(out, **params):
        return out
    with _corpus_lock(out):
        if is_complete_corpus(out, **params):   # another process rendered it while we waited
            return out
        if out.exists() and (not out.is_dir() or any(out.iterdir())) and not _is_memo_corpus(out):
            raise DatasetError(f"{out} is not empty and holds no MEMO synthetic corpus; choose another folder")
        return _render_into(out, workers=workers, progress=progress, progress_callback=progress_callback,
                            overwrite=True, contrast_share=_CONTRAST_SHARE, **params)


def _is_memo_corpus(path: Path) -> bool:
    """Whether ``path`` holds a corpus.json written by this module (complete or not, any version)."""
    try:
        meta = json.loads((path / "corpus.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("name") == CORPUS_NAME
