"""Loudness and tonality on the 500 ms grid: ``loudness`` (2) and ``tonal`` (14).

Both follow the 500 ms contract: frame ``i`` covers ``[0.5 i, 0.5 i + 0.5)`` s,
``ceil(duration / 0.5)`` rows, the end zero-padded to whole frames (so a short
last frame reads quieter: its padding is silence, as in every 500 ms set).

``loudness`` (computed from the samples at the audio's own rate, in float64:
exact and cheap; frame ``i`` is samples ``[i sr // 2, (i + 1) sr // 2)``):

- ``rms_db``: RMS level of the frame, ``10 log10(mean(y ** 2))`` in dB re full
  scale (a sine of amplitude ``A`` reads ``20 log10(A / sqrt 2)``, a full-scale
  sine -3.01 dB), floored at -100 dB so silence is finite.
- ``rms_db_2s``: the same over the 2 s ENDING at the frame's end: mean power of
  frames ``i - 3 .. i`` (fewer at the start: frame 0 equals ``rms_db``), weighted
  by samples. It trails: a step up in level shows fully from the frame where it
  happens in ``rms_db``, and in ``rms_db_2s`` 3 frames (1.5 s) later.

``tonal`` (librosa chroma from the CQT that ``chroma``, ``cqt`` and ``spectral``
use: 25.6 kHz, hop 512 = 20 ms, 7 octaves x 36 bins from C1, frames
``25 i .. 25 i + 24`` pooled into step ``i``; see :mod:`.librosa_sets` for why
not 22.05 kHz. The CQT is shared with those sets when they run on the same
audio):

- ``key_major_r``, ``key_minor_r``: the largest Pearson correlation between the
  chroma of the key context and the 12 rotations of the Krumhansl-Kessler major,
  resp. minor, key profile (Krumhansl & Kessler 1982, "Tracing the dynamic
  changes in perceived tonal organization in a spatial representation of
  musical keys", Psychological Review 89(4); the Krumhansl-Schmuckler key
  finder). The key context is TRAILING: the ``context_s`` seconds (default 4 s,
  8 frames) ending at the frame's end, ``[0.5 i + 0.5 - context_s, 0.5 i + 0.5)``,
  fewer at the start; like the annotations, it only uses what was already heard.
- ``mode_strength``: ``key_major_r - key_minor_r`` (> 0 major-like, < 0 minor-like).
- ``key_clarity``: the best correlation over the 24 keys; ``key_clarity_margin``:
  its excess over the second best (often the relative or parallel key).
- ``tonnetz_fifth_x``, ``tonnetz_fifth_y``, ``tonnetz_minor3_x``, ``tonnetz_minor3_y``,
  ``tonnetz_major3_x``, ``tonnetz_major3_y``: ``librosa.feature.tonnetz`` (Harte et
  al. 2006) of the 20 ms chroma, averaged over the frame's sounding 20 ms frames.
- ``harmonic_change``: L2 distance between this frame's 6 tonnetz values and the
  previous frame's (0 for frame 0): Harte et al.'s harmonic change, per 500 ms.
- ``chroma_entropy``: Shannon entropy of the frame's mean chroma normalised to
  sum 1, divided by log 12: near 0 for one pitch class, 1 for a flat (noisy) chroma.
- ``chroma_flatness``: geometric over arithmetic mean of the frame's mean chroma
  (floor 1e-10, as ``librosa.feature.spectral_flatness``): 0 tonal, 1 flat.

The 20 ms chroma frames are each normalised to max 1 by librosa, so each
sounding frame weighs the same and the key and harmony values do not depend on
the level. A 20 ms frame whose signal (80 ms window around its centre, at
25.6 kHz) is below -80 dBFS RMS counts as silent and is left out: otherwise the
long low-frequency CQT filters' leakage from nearby music, normalised to max 1,
would read as chords in the silence. Silence therefore gives correlations,
tonnetz and harmonic change 0, and entropy and flatness 1 (no pitch evidence;
librosa's flatness of silence is 1 too). A key context without pitch variation
(silence, a perfectly flat chroma) gives correlations 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import FeatureError
from memo_core.features.base import FeatureExtractor, register_feature
from memo_core.features.librosa_sets import (
    _PER_STEP,
    HOP_LENGTH,
    PITCH_CLASSES,
    _analysis,
)

__all__ = ["Loudness", "Tonal", "KK_MAJOR", "KK_MINOR", "frame_power", "key_correlations"]

#: Krumhansl & Kessler (1982) probe-tone ratings, tonic first (C major / C minor).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

_FLOOR_POWER = 1e-10            # -100 dB
_SILENT_POWER = 1e-8            # -80 dBFS RMS: below it a 20 ms chroma frame is silence
_GATE_WINDOW = 2048             # samples at 25.6 kHz (80 ms) around each chroma frame's centre
_FLATNESS_AMIN = 1e-10
_CHUNK_FRAMES = 120             # 500 ms frames (60 s) a float64 chunk in frame_power
_N_FFT = 2048                   # the librosa_sets analysis whose CQT is shared (chroma's default)

_TONAL_NAMES = [
    "key_major_r",
    "key_minor_r",
    "mode_strength",
    "key_clarity",
    "key_clarity_margin",
    "tonnetz_fifth_x",
    "tonnetz_fifth_y",
    "tonnetz_minor3_x",
    "tonnetz_minor3_y",
    "tonnetz_major3_x",
    "tonnetz_major3_y",
    "harmonic_change",
    "chroma_entropy",
    "chroma_flatness",
]


def _db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _FLOOR_POWER))


def frame_power(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared samples and sample count of each 500 ms frame, in float64.

    Frame ``i`` is samples ``[i sr // 2, (i + 1) sr // 2)`` of the signal
    zero-padded to ``audio.n_frames`` frames (samples past the last frame, a
    rounding remainder, are left out).

    Returns:
        ``(energy, n_samples)``, each [shape=(n_frames,)].
    """
    n, sr = audio.n_frames, int(audio.sample_rate)
    bounds = (np.arange(n + 1, dtype=np.int64) * sr) // 2
    samples = audio.samples
    energy = np.zeros(n, dtype=np.float64)
    for f0 in range(0, n, _CHUNK_FRAMES):
        f1 = min(n, f0 + _CHUNK_FRAMES)
        start, stop = int(bounds[f0]), int(bounds[f1])
        seg = np.zeros(stop - start, dtype=np.float64)
        have = samples[start:min(stop, len(samples))]
        seg[: len(have)] = have
        # every frame holds at least one sample (sr >= 2), so every start is a valid index
        energy[f0:f1] = np.add.reduceat(seg * seg, bounds[f0:f1] - start)
    return energy, np.diff(bounds).astype(np.float64)


def _trailing_sum(values: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = values[max(0, i - width + 1) .. i].sum(axis=0)``, added term by term (no cumsum round-off)."""
    out = values.copy()
    for k in range(1, min(width, len(values))):
        out[k:] += values[:-k]
    return out


@register_feature("loudness")
class Loudness(FeatureExtractor):
    """RMS level in dB per 500 ms (``rms_db``) and over the trailing 2 s (``rms_db_2s``).

    No parameters. Floor -100 dB. See the module docstring.
    """

    n_features = 2
    frame_seconds = FRAME_SECONDS

    def __init__(self) -> None:
        super().__init__()

    def _compute(self, audio: Audio) -> np.ndarray:
        energy, count = frame_power(audio)
        window = int(round(2.0 / FRAME_SECONDS))  # 4 frames
        return np.column_stack(
            [_db(energy / count), _db(_trailing_sum(energy, window) / _trailing_sum(count, window))]
        )

    def _feature_names(self) -> list[str]:
        return ["rms_db", "rms_db_2s"]


def _profiles() -> np.ndarray:
    """The 24 key profiles, z-scored: rows 0-11 major keys C..B, 12-23 minor keys. [shape=(24, 12)]"""
    rows = [np.roll(base, tonic) for base in (KK_MAJOR, KK_MINOR) for tonic in range(12)]
    p = np.array(rows)
    p = p - p.mean(axis=1, keepdims=True)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


_PROFILES = _profiles()
KEY_NAMES = [f"{p} major" for p in PITCH_CLASSES] + [f"{p} minor" for p in PITCH_CLASSES]


def key_correlations(chroma: np.ndarray) -> np.ndarray:
    """Pearson correlation of each chroma vector with the 24 Krumhansl-Kessler key profiles.

    Args:
        chroma: pitch-class weights, C first. [shape=(n, 12)]

    Returns:
        Correlations, major keys C..B then minor keys C..B (:data:`KEY_NAMES`);
        0 where the chroma does not vary (silence, a flat chroma). [shape=(n, 24)]
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    centred = chroma - chroma.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1)
    scale = np.abs(chroma).sum(axis=1)
    varies = norm > 1e-9 * np.maximum(scale, np.finfo(np.float64).tiny)
    r = np.zeros((len(chroma), 24))
    r[varies] = (centred[varies] / norm[varies, None]) @ _PROFILES.T
    return np.clip(r, -1.0, 1.0)


def _sounding(y: np.ndarray, n_chroma_frames: int) -> np.ndarray:
    """Whether each centred 20 ms chroma frame's 80 ms window is above -80 dBFS RMS. [shape=(n_chroma_frames,)]

    ``y`` holds ``(n_chroma_frames - 1) * 512`` samples; frame ``j`` is centred on sample ``512 j``.
    """
    n_hops = len(y) // HOP_LENGTH
    hops = np.zeros(n_hops, dtype=np.float64)
    for h0 in range(0, n_hops, 4096):  # float64 squares a block at a time
        block = np.asarray(y[h0 * HOP_LENGTH:(h0 + 4096) * HOP_LENGTH], dtype=np.float64).reshape(-1, HOP_LENGTH)
        hops[h0:h0 + len(block)] = np.einsum("ij,ij->i", block, block)
    per_window = _GATE_WINDOW // HOP_LENGTH                     # 4 hops, 2 each side of the centre
    padded = np.concatenate([np.zeros(per_window // 2), hops, np.zeros(per_window)])
    windows = sum(padded[k:k + n_chroma_frames] for k in range(per_window))
    return windows / _GATE_WINDOW > _SILENT_POWER


def _tonal(audio: Audio, context_frames: int) -> np.ndarray:
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    a = _analysis(audio, _N_FFT)
    n, per = a.n_steps, _PER_STEP
    chroma = a.get("chroma_cqt").astype(np.float64)             # (12, 1 + n * per): y is padded to n steps
    sounding = _sounding(a.y, chroma.shape[1])
    chroma = chroma * sounding
    tonnetz = librosa.feature.tonnetz(chroma=chroma)             # zero chroma gives zero tonnetz
    used = n * per                                               # frames 25 i .. 25 i + 24 make step i
    chroma_sum = chroma[:, :used].T.reshape(n, per, 12).sum(axis=1)
    tonnetz_sum = tonnetz[:, :used].T.reshape(n, per, 6).sum(axis=1)
    count = sounding[:used].reshape(n, per).sum(axis=1).astype(np.float64)
    safe = np.maximum(count, 1.0)[:, None]
    chroma_mean, tonnetz_mean = chroma_sum / safe, tonnetz_sum / safe

    r = key_correlations(_trailing_sum(chroma_sum, context_frames))
    major, minor = r[:, :12].max(axis=1), r[:, 12:].max(axis=1)
    top2 = -np.sort(-r, axis=1)[:, :2]

    change = np.zeros(n)
    change[1:] = np.linalg.norm(np.diff(tonnetz_mean, axis=0), axis=1)

    total = chroma_mean.sum(axis=1, keepdims=True)
    silent = total[:, 0] <= 0
    p = chroma_mean / np.where(silent[:, None], 1.0, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = np.where(silent, 1.0, -plogp.sum(axis=1) / np.log(12))
    floored = np.maximum(chroma_mean, _FLATNESS_AMIN)
    flatness = np.exp(np.log(floored).mean(axis=1)) / floored.mean(axis=1)

    return np.column_stack(
        [major, minor, major - minor, top2[:, 0], top2[:, 0] - top2[:, 1], tonnetz_mean, change, entropy, flatness]
    )


@register_feature("tonal")
class Tonal(FeatureExtractor):
    """Key, mode and harmony per 500 ms from the CQT chroma (14 columns; see the module docstring).

    Args:
        context_s: length of the trailing key context in seconds, a multiple of
            0.5 in 0.5..30 (default 4.0: 8 frames ending at the frame's end).
    """

    n_features = 14
    frame_seconds = FRAME_SECONDS

    def __init__(self, *, context_s: float = 4.0) -> None:
        if isinstance(context_s, bool) or not isinstance(context_s, numbers.Real):
            raise FeatureError(f"tonal: context_s must be a number of seconds, got {context_s!r}.")
        frames = float(context_s) / FRAME_SECONDS
        if not (1 <= frames <= 60 and abs(frames - round(frames)) < 1e-9):
            raise FeatureError(f"tonal: context_s must be a multiple of 0.5 s in 0.5..30, got {context_s!r}.")
        super().__init__(context_s=float(context_s))

    def _compute(self, audio: Audio) -> np.ndarray:
        return _tonal(audio, int(round(self.params["context_s"] / FRAME_SECONDS)))

    def _feature_names(self) -> list[str]:
        return list(_TONAL_NAMES)
