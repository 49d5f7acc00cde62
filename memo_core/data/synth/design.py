"""What a synthetic song should express: its emotion design, the cue table, its song-level style.

Each song of the corpus starts as a designed trajectory (two values every
500 ms, :func:`design_song`) and a set of song-level choices, mostly nuisance
(:func:`sample_style`). :mod:`.arrangement` writes the design as General MIDI
bar by bar (every bar is one segment whose musical parameters come from the
design at that moment) and :mod:`.render` renders it with sampled GM
instruments, then post-processes it with the randomised nuisance factors.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from memo_core.audio import FRAME_SECONDS

__all__ = [
    "SongDesign",
    "Style",
    "design_song",
    "sample_style",
]


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

#: Name of each tonic pitch class, 0 = C (the ``key`` of songs_info.csv and of a rendered trajectory).
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


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
