"""A song's musical structure: beats (librosa's beat tracker) and sections (novelty on a self-similarity matrix).

What the dashboard draws as markers on any time axis (curves, chromagram, attention), so a reading of a
model's curve or map can be set against the music: does the arousal rise at the chorus, does the attention
jump at a section boundary?

* :func:`song_structure`: beats and tempo from :func:`librosa.beat.beat_track`; section boundaries from a
  checkerboard-kernel novelty curve (Foote 2000) on the cosine self-similarity of chroma and MFCC frames
  (about four frames a second, each feature family scaled to the same weight);
* :func:`section_means`: the mean valence and arousal of each curve (a model's prediction, the annotation,
  the design) in each section, one row per (section, curve).

>>> from memo_core.audio import load_audio
>>> found = song_structure(load_audio("song.wav"))          # doctest: +SKIP
>>> found.boundaries_s                                     # section starts after 0 s  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from memo_core.audio import Audio
from memo_core.errors import MemoError

__all__ = [
    "SongStructure",
    "song_structure",
    "novelty_curve",
    "pick_boundaries",
    "section_means",
    "section_label",
]

#: Sample rate and hop of the structure analysis (23 ms frames, pooled to :data:`POOL` frames).
SAMPLE_RATE = 22_050
HOP = 512
#: Consecutive frames averaged into one self-similarity frame (8 x 23 ms: about 0.19 s).
POOL = 8
#: Half the width of the checkerboard kernel in seconds: a change must hold about this long on each side.
KERNEL_HALF_S = 3.0
#: Shortest section in seconds (two boundaries closer than this: the stronger one is kept).
MIN_SECTION_S = 4.0
#: A boundary's novelty must reach this share of the song's highest novelty.
MIN_PEAK_SHARE = 0.35


@dataclass(frozen=True)
class SongStructure:
    """Beats and sections of one song.

    Attributes:
        duration_s: the song's length.
        tempo_bpm: the beat tracker's tempo estimate (0 when it found no beat).
        beat_times_s: the tracked beats. [shape=(n_beats,)]
        novelty_time_s: centres of the novelty curve's frames. [shape=(n_frames,)]
        novelty: the checkerboard novelty, scaled to a maximum of 1 (all 0 for a song without change).
            [shape=(n_frames,)]
        boundaries_s: where a new section starts, after 0 s and before the end. [shape=(n_boundaries,)]
    """

    duration_s: float
    tempo_bpm: float
    beat_times_s: np.ndarray
    novelty_time_s: np.ndarray
    novelty: np.ndarray
    boundaries_s: np.ndarray

    @property
    def sections(self) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of each section, covering the whole song."""
        edges = [0.0, *map(float, self.boundaries_s), float(self.duration_s)]
        return list(zip(edges[:-1], edges[1:]))


def _checkerboard(half: int) -> np.ndarray:
    """A Gaussian-tapered checkerboard kernel of size ``2 half``: +1 within the past and within the future,
    -1 across them (Foote 2000)."""
    ax = np.arange(-half, half) + 0.5
    sign = np.sign(ax)
    taper = np.exp(-0.5 * (ax / (0.5 * half)) ** 2)
    return np.outer(sign, sign) * np.outer(taper, taper)


def novelty_curve(features: np.ndarray, half: int) -> np.ndarray:
    """The checkerboard novelty of a frame sequence: high where the frames before and after a point are alike
    among themselves and unlike each other.

    Args:
        features: one row per frame. [shape=(n_frames, n_features)]
        half: the kernel's half width in frames.

    Returns:
        Novelty per frame, at least 0, scaled to a maximum of 1 (zeros when nothing changes).
        [shape=(n_frames,)]
    """
    x = np.asarray(features, dtype=float)
    if x.ndim != 2:
        raise MemoError(f"novelty_curve needs (frames, features), got shape {x.shape}")
    n = len(x)
    half = max(1, int(half))
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 1e-12)
    ssm = unit @ unit.T
    kernel = _checkerboard(half)
    padded = np.pad(ssm, half, mode="edge")
    out = np.zeros(n)
    for i in range(n):
        out[i] = float(np.sum(padded[i:i + 2 * half, i:i + 2 * half] * kernel))
    out = np.maximum(out, 0.0)
    top = out.max() if n else 0.0
    return out / top if top > 1e-9 else np.zeros(n)


def pick_boundaries(times: np.ndarray, novelty: np.ndarray, *, min_gap_s: float = MIN_SECTION_S,
                    min_share: float = MIN_PEAK_SHARE, duration_s: float | None = None) -> np.ndarray:
    """Section starts: local maxima of ``novelty`` of at least ``min_share`` of its highest value, strongest
    first, each at least ``min_gap_s`` from the others and from the song's start and end."""
    t = np.asarray(times, float)
    y = np.asarray(novelty, float)
    end = float(duration_s if duration_s is not None else (t[-1] if len(t) else 0.0))
    if len(y) < 3 or y.max() <= 0:
        return np.zeros(0)
    peaks = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] > y[i + 1] and y[i] >= min_share * y.max()]
    chosen: list[float] = []
    for i in sorted(peaks, key=lambda j: -y[j]):
        if t[i] < min_gap_s or end - t[i] < min_gap_s:
            continue
        if all(abs(t[i] - c) >= min_gap_s for c in chosen):
            chosen.append(float(t[i]))
    return np.asarray(sorted(chosen))


def _standardised(x: np.ndarray) -> np.ndarray:
    """Each feature (row) centred and scaled over time, then the family scaled so its frames have unit
    mean norm: chroma and MFCC weigh alike in the similarity whatever their sizes."""
    x = x - x.mean(axis=1, keepdims=True)
    x = x / np.maximum(x.std(axis=1, keepdims=True), 1e-6)
    scale = np.mean(np.linalg.norm(x, axis=0))
    return x / scale if scale > 1e-9 else x


def song_structure(audio: Audio, *, kernel_half_s: float = KERNEL_HALF_S, min_section_s: float = MIN_SECTION_S,
                   min_share: float = MIN_PEAK_SHARE) -> SongStructure:
    """Beats, tempo and section boundaries of ``audio`` (about 0.3 s a minute of audio on one core).

    Args:
        audio: the song.
        kernel_half_s: how long a change must hold on each side of a boundary.
        min_section_s: the shortest section.
        min_share: the weakest boundary, as a share of the strongest novelty.

    Raises:
        MemoError: a song shorter than one analysis frame.
    """
    # lazy: librosa loads numba (about 1 s); callers that only read the dataclass never need it
    import librosa

    y = np.asarray(audio.resampled(SAMPLE_RATE).samples, dtype=np.float32)
    duration = float(audio.duration)
    if len(y) < 2048:
        raise MemoError(f"{duration:.2f} s of audio is too short to find beats and sections")
    peak = float(np.max(np.abs(y)))
    if peak < 1e-4:  # silence: no beat, no section
        return SongStructure(duration, 0.0, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    onset = librosa.onset.onset_strength(y=y, sr=SAMPLE_RATE, hop_length=HOP)
    tempo, beats = librosa.beat.beat_track(onset_envelope=onset, sr=SAMPLE_RATE, hop_length=HOP, units="time")
    tempo = float(np.atleast_1d(tempo)[0]) if np.size(tempo) else 0.0

    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP)) ** 2
    chroma = librosa.feature.chroma_stft(S=power, sr=SAMPLE_RATE)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE)),
                                n_mfcc=13)[1:]  # the first coefficient is loudness, not timbre
    n = power.shape[1] // POOL
    if n < 4:
        return SongStructure(duration, tempo, np.asarray(beats, float), np.zeros(0), np.zeros(0), np.zeros(0))
    feats = np.vstack([_standardised(chroma), _standardised(mfcc)])[:, : n * POOL]
    pooled = feats.reshape(feats.shape[0], n, POOL).mean(axis=2).T
    frame_s = POOL * HOP / SAMPLE_RATE
    times = (np.arange(n) + 0.5) * frame_s
    half = max(2, int(round(kernel_half_s / frame_s)))
    novelty = novelty_curve(pooled, half)
    bounds = pick_boundaries(times, novelty, min_gap_s=min_section_s, min_share=min_share, duration_s=duration)
    return SongStructure(duration, tempo, np.asarray(beats, float), times, novelty.astype(np.float32), bounds)


def section_label(index: int, start_s: float, end_s: float) -> str:
    """``"1 (0:00-0:12)"``: a section's number and span."""
    def mmss(s: float) -> str:
        s = max(0.0, float(s))
        return f"{int(s // 60)}:{int(round(s % 60)):02d}" if round(s % 60) < 60 else f"{int(s // 60) + 1}:00"
    return f"{index + 1} ({mmss(start_s)}-{mmss(end_s)})"


def section_means(curves: Mapping[str, pd.DataFrame | Mapping], sections: list[tuple[float, float]],
                  targets: tuple[str, ...] = ("valence", "arousal")) -> pd.DataFrame:
    """The mean of each curve's targets in each section.

    Args:
        curves: ``{name: table with time_s and target columns}`` (a checkpoint's predictions, the annotation
            or the design as a dict of arrays); a frame counts in the section its start time falls in.
        sections: ``(start_s, end_s)`` pairs (:attr:`SongStructure.sections`).
        targets: the columns to average.

    Returns:
        One row per (section, curve): ``section, start_s, end_s, curve`` and one column per target
        (NaN where a curve has no frame in the section or lacks the target).
    """
    rows = []
    for i, (start, end) in enumerate(sections):
        last = i == len(sections) - 1
        for name, curve in curves.items():
            t = np.asarray(curve["time_s"], float)
            inside = (t >= start) & ((t <= end) if last else (t < end))
            row = {"section": section_label(i, start, end), "start_s": float(start), "end_s": float(end),
                   "curve": str(name)}
            for target in targets:
                values = curve.get(target)  # a table's column or a dict's array; None when absent
                if values is None:
                    row[target] = float("nan")
                    continue
                chosen = np.asarray(values, float)[inside]
                chosen = chosen[np.isfinite(chosen)]
                row[target] = float(chosen.mean()) if chosen.size else float("nan")
            rows.append(row)
    return pd.DataFrame(rows, columns=["section", "start_s", "end_s", "curve", *targets])
