"""Whether a song is like what the models learned from: a per-frame distance to a checkpoint's training
features, and a per-frame level that finds silence. The dashboard shades the frames flagged on its time axes.

The distance
------------
A checkpoint stores its :class:`~memo_core.data.sequences.Normalizer`: the mean and standard deviation
of every feature over its training frames. A frame's features standardised with them are its z-scores;
:func:`feature_distance` is their root mean square over the features (:data:`DISTANCE`). By construction the
mean of ``z**2`` over the training frames is 1 for every feature, so a typical training frame has a distance
near 1 (or below: features are correlated). Feature sets with frames shorter than 500 ms (the taggers'
mel frames) are pooled to the 500 ms grid (the root mean square over the block), and the series is smoothed with
a running median over :data:`SMOOTH_FRAMES` frames (2.5 s), so one odd frame (an onset, a song's last partial
frame) does not count, while a stretch that stays away does. :func:`distance_map` gives this series as a map
:func:`~memo_core.explain.analysis.analyse_song` adds to every result (:data:`DISTANCE_MAP`).

The threshold
-------------
:func:`familiarity_reference` measures the same distance on a checkpoint's own training songs and takes its
:data:`REFERENCE_QUANTILE` quantile: 99.5 % of the training frames lie at or below it.
``python -m memo_core train-defaults`` stores it in each manifest entry under :data:`MANIFEST_KEY`
(``{"distance", "quantile", "threshold", "median", "n_frames", "n_songs"}``); the shipped set's entries were
given theirs by the same function on the same training songs (synthetic corpus seed 0 and the 4Q training
clips, read through the feature cache). A checkpoint without one falls back on :data:`FALLBACK_THRESHOLD`
(:func:`reference_of` says which rule is used): on the shipped set's training songs the 99.5th percentile lies
between about 1.2 and 3.4 depending on the feature set, so 3 training standard deviations on average over the
features is well outside what the training songs do.

A frame is *outside what the models know* for a checkpoint when its distance exceeds the checkpoint's
threshold; :func:`familiarity` pools the checkpoints a page shows (a frame is flagged when it is outside for
any of them). What the distance does not see: a sound whose features are each within the training range but
combine unlike music (loud white noise is near the range of loud real recordings for these feature sets); the
silence check and the reader's ears cover part of that.

Silence
-------
:func:`frame_levels_db` is each 500 ms frame's RMS level in dBFS (a full-scale sine is -3 dBFS); frames below
:data:`SILENCE_DBFS` are silent or near-silent. Every model here was trained on music, so what it says about
such frames (a quadrant, a tag) says nothing about the song.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memo_core.audio import FRAME_SECONDS

__all__ = [
    "DISTANCE",
    "DISTANCE_MAP",
    "MANIFEST_KEY",
    "SMOOTH_FRAMES",
    "REFERENCE_QUANTILE",
    "FALLBACK_THRESHOLD",
    "SILENCE_DBFS",
    "feature_distance",
    "distance_map",
    "familiarity_reference",
    "Reference",
    "reference_of",
    "frame_levels_db",
    "spans",
    "ModelFamiliarity",
    "Familiarity",
    "familiarity",
    "result_distances",
    "results_familiarity",
    "familiarity_notes",
]

#: What the distance is (stored with a reference, so a reference of another kind is not mixed with it).
DISTANCE = "rms_z_500ms_median5"
#: The name of the map :func:`~memo_core.explain.analysis.analyse_song` adds to each result.
DISTANCE_MAP = "feature_distance"
#: The manifest entry's key for the checkpoint's reference (:func:`familiarity_reference`).
MANIFEST_KEY = "familiarity"
#: Frames (500 ms each) in the running median: 2.5 s.
SMOOTH_FRAMES = 5
#: The share of training frames at or below the threshold.
REFERENCE_QUANTILE = 0.995
#: The threshold when a checkpoint's manifest entry has no reference: 3 training standard deviations (RMS).
FALLBACK_THRESHOLD = 3.0
#: Frames quieter than this (RMS, dB relative to full scale) are silent or near-silent.
SILENCE_DBFS = -60.0
#: A song is called outside (or silent) as a whole when at least this share of its frames is.
WHOLE_SONG_SHARE = 0.5

_FLOOR_DB = -120.0


# --------------------------------------------------------------------------- the distance


def _mean_square_z(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Per feature frame, the mean over features of ``((x - mean) / std) ** 2`` (non-finite values left out;
    NaN for a frame with none)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features should be (n_frames, n_features), got shape {x.shape}")
    mean = np.asarray(mean, dtype=np.float64).reshape(1, -1)
    std = np.asarray(std, dtype=np.float64).reshape(1, -1)
    if mean.shape[1] != x.shape[1] or std.shape[1] != x.shape[1]:
        raise ValueError(f"{x.shape[1]} features but statistics for {mean.shape[1]}")
    safe = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    z2 = ((x - mean) / safe) ** 2
    z2[~np.isfinite(z2)] = np.nan
    counts = np.sum(~np.isnan(z2), axis=1)
    sums = np.nansum(z2, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _on_grid(values: np.ndarray, frame_seconds: float) -> np.ndarray:
    """Per-frame values averaged over the 500 ms frames their starts fall in (500 ms input: unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    if abs(frame_seconds - FRAME_SECONDS) < 1e-9 or values.size == 0:
        return values
    starts = np.arange(values.size) * float(frame_seconds)
    n = int(np.ceil(values.size * float(frame_seconds) / FRAME_SECONDS - 1e-9))
    index = np.minimum((starts / FRAME_SECONDS + 1e-9).astype(int), n - 1)
    sums = np.bincount(index, weights=np.nan_to_num(values), minlength=n)
    counts = np.bincount(index, weights=np.isfinite(values).astype(float), minlength=n)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """The median of each centred window of ``width`` values (shorter at the ends; NaNs left out)."""
    values = np.asarray(values, dtype=np.float64)
    half = max(int(width), 1) // 2
    out = np.full(values.shape, np.nan)
    for i in range(values.size):
        window = values[max(0, i - half): i + half + 1]
        window = window[np.isfinite(window)]
        if window.size:
            out[i] = float(np.median(window))
    return out


def feature_distance(features: np.ndarray, mean: np.ndarray, std: np.ndarray, *, frame_seconds: float,
                     smooth: int = SMOOTH_FRAMES) -> np.ndarray:
    """A song's distance to the training features on the 500 ms grid (:data:`DISTANCE`). [shape=(n_frames,)]

    Args:
        features: the song's raw (unnormalised) features. [shape=(n_feature_frames, n_features)]
        mean, std: the checkpoint's :class:`~memo_core.data.sequences.Normalizer` statistics.
        frame_seconds: seconds per feature frame (shorter frames are pooled to 500 ms).
        smooth: frames in the running median (1: none).

    Returns:
        The root mean square z-score of each 500 ms frame after the running median; NaN where a frame has no
        finite feature.
    """
    grid = _on_grid(_mean_square_z(features, mean, std), frame_seconds)
    return np.sqrt(_running_median(grid, smooth) if smooth > 1 else grid)


def distance_map(features: np.ndarray, normalizer: Any, *, frame_seconds: float) -> dict[str, Any]:
    """:func:`feature_distance` as a result's map: ``{"values": distance, "axes": {"time_s": frame starts}}``."""
    distance = feature_distance(features, normalizer.mean, normalizer.std, frame_seconds=frame_seconds)
    return {"values": distance.astype(np.float32), "axes": {"time_s": np.arange(distance.size) * FRAME_SECONDS}}


# --------------------------------------------------------------------------- the threshold


def familiarity_reference(normalizer: Any, training_features: Iterable[np.ndarray], *, frame_seconds: float,
                          quantile: float = REFERENCE_QUANTILE) -> dict[str, Any]:
    """The distance's distribution on a checkpoint's training songs, for its manifest entry (:data:`MANIFEST_KEY`).

    Args:
        normalizer: the checkpoint's statistics (fitted on these songs' frames).
        training_features: each training song's raw features. [shape=(n_frames, n_features)] each
        frame_seconds: seconds per feature frame.
        quantile: the share of training frames at or below the threshold.

    Returns:
        ``{"distance", "quantile", "threshold", "median", "n_frames", "n_songs"}``; ``threshold`` is None when no
        training frame has a finite distance.
    """
    found = [feature_distance(x, normalizer.mean, normalizer.std, frame_seconds=frame_seconds)
             for x in training_features]
    pooled = np.concatenate(found) if found else np.zeros(0)
    pooled = pooled[np.isfinite(pooled)]
    return {"distance": DISTANCE, "quantile": float(quantile),
            "threshold": round(float(np.quantile(pooled, quantile)), 4) if pooled.size else None,
            "median": round(float(np.median(pooled)), 4) if pooled.size else None,
            "n_frames": int(pooled.size), "n_songs": len(found)}


@dataclass(frozen=True)
class Reference:
    """The threshold one checkpoint's distance is judged by.

    Attributes:
        threshold: frames with a larger distance are outside what the checkpoint knows.
        measured: True when it comes from the checkpoint's training songs (its manifest entry), False for
            the fallback rule.
        quantile: the share of training frames at or below it (measured only).
        median: the training frames' median distance (measured only).
    """

    threshold: float
    measured: bool
    quantile: float | None = None
    median: float | None = None

    def describe(self) -> str:
        if self.measured and self.quantile is not None:
            return f"{self.quantile:.1%} of its training frames stay at or below {self.threshold:.2f}"
        return f"a rule of thumb (no measurement on its training songs): {self.threshold:g} on average"


def _finite(raw: Any, low: float = 0.0) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, np.integer, np.floating)):
        return None
    value = float(raw)
    return value if np.isfinite(value) and value > low else None


def reference_of(entry: Any) -> Reference:
    """The checkpoint's reference from its manifest entry (:data:`MANIFEST_KEY`), else the fallback rule.

    An entry whose reference is missing, of another distance, or malformed gets :data:`FALLBACK_THRESHOLD`.
    """
    raw = entry.get(MANIFEST_KEY) if isinstance(entry, Mapping) else None
    if isinstance(raw, Mapping) and raw.get("distance") == DISTANCE:
        threshold = _finite(raw.get("threshold"))
        if threshold is not None:
            quantile = _finite(raw.get("quantile"))
            return Reference(threshold, True, quantile if quantile is not None and quantile <= 1 else None,
                             _finite(raw.get("median"), low=-1.0))
    return Reference(FALLBACK_THRESHOLD, False)


# --------------------------------------------------------------------------- silence


def frame_levels_db(samples: np.ndarray, sample_rate: int, *, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """Each frame's RMS level in dBFS (frames of ``frame_seconds`` from 0 s; the last one may be shorter).

    Digital silence reads as -120 dB. [shape=(ceil(duration / frame_seconds),)]
    """
    y = np.asarray(samples, dtype=np.float64).ravel()
    hop = max(1, int(round(float(frame_seconds) * int(sample_rate))))
    n = int(np.ceil(y.size / hop)) if y.size else 0
    if n == 0:
        return np.zeros(0)
    padded = np.zeros(n * hop)
    padded[:y.size] = y ** 2
    sizes = np.full(n, hop, dtype=float)
    sizes[-1] = y.size - (n - 1) * hop
    mean_square = padded.reshape(n, hop).sum(axis=1) / sizes
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(mean_square), _FLOOR_DB)


# --------------------------------------------------------------------------- one song, several checkpoints


def spans(mask: np.ndarray, times: np.ndarray, frame_seconds: float = FRAME_SECONDS,
          end_s: float | None = None) -> list[tuple[float, float]]:
    """The runs of True in ``mask`` as ``(start_s, end_s)``: from a run's first frame's start to its last
    frame's end (``end_s`` caps the last frame, e.g. the song's duration)."""
    mask = np.asarray(mask, dtype=bool)
    times = np.asarray(times, dtype=float)
    out = []
    i = 0
    while i < mask.size:
        if not mask[i]:
            i += 1
            continue
        j = i
        while j + 1 < mask.size and mask[j + 1]:
            j += 1
        stop = float(times[j]) + float(frame_seconds)
        out.append((float(times[i]), min(stop, end_s) if end_s is not None else stop))
        i = j + 1
    return out


@dataclass(frozen=True)
class ModelFamiliarity:
    """How far one checkpoint's features of the song are from its training features."""

    key: str
    reference: Reference
    distance: np.ndarray  # per 500 ms frame
    outside: np.ndarray   # bool per frame

    @property
    def share_outside(self) -> float:
        return float(self.outside.mean()) if self.outside.size else 0.0

    @property
    def median_distance(self) -> float:
        finite = self.distance[np.isfinite(self.distance)]
        return float(np.median(finite)) if finite.size else float("nan")


@dataclass(frozen=True)
class Familiarity:
    """One song against the training data of the checkpoints a page shows.

    Attributes:
        time_s: frame start times (500 ms grid).
        level_db: each frame's RMS level (dBFS).
        silent: frames below :data:`SILENCE_DBFS`.
        outside: frames outside what at least one checkpoint knows (its distance above its threshold).
        models: each checkpoint's distances, in the order given.
        duration_s: the song's length.
    """

    time_s: np.ndarray
    level_db: np.ndarray
    silent: np.ndarray
    outside: np.ndarray
    models: dict[str, ModelFamiliarity] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def silent_share(self) -> float:
        return float(self.silent.mean()) if self.silent.size else 0.0

    @property
    def outside_share(self) -> float:
        return float(self.outside.mean()) if self.outside.size else 0.0

    @property
    def silent_spans(self) -> list[tuple[float, float]]:
        return spans(self.silent, self.time_s, end_s=self.duration_s)

    @property
    def outside_spans(self) -> list[tuple[float, float]]:
        """Frames outside that are not silent (silence has its own band)."""
        return spans(self.outside & ~self.silent, self.time_s, end_s=self.duration_s)

    @property
    def flagged(self) -> bool:
        return bool(self.silent.any() or self.outside.any())


def _fit(values: np.ndarray, n: int, fill: float) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()[:n]
    return np.concatenate([values, np.full(n - values.size, fill)]) if values.size < n else values


def familiarity(distances: Mapping[str, np.ndarray | None], references: Mapping[str, Reference],
                level_db: np.ndarray, *, duration_s: float | None = None) -> Familiarity:
    """Pool the checkpoints' distances (:data:`DISTANCE_MAP` of each result) and the song's levels.

    Args:
        distances: ``{checkpoint: distance per 500 ms frame}``; a checkpoint whose result has no distance
            (an older cached result) may be given as None and is left out.
        references: each checkpoint's :class:`Reference` (missing: the fallback rule).
        level_db: :func:`frame_levels_db` of the song; its length sets the frames.
        duration_s: the song's length (default: the frames' end).
    """
    level_db = np.asarray(level_db, dtype=np.float64)
    n = level_db.size
    time_s = np.arange(n) * FRAME_SECONDS
    silent = level_db < SILENCE_DBFS
    models = {}
    outside = np.zeros(n, dtype=bool)
    for key, distance in distances.items():
        if distance is None:
            continue
        reference = references.get(key) or Reference(FALLBACK_THRESHOLD, False)
        d = _fit(distance, n, np.nan)
        out = np.isfinite(d) & (d > reference.threshold)
        models[key] = ModelFamiliarity(key, reference, d, out)
        outside |= out
    return Familiarity(time_s, level_db, silent, outside, models,
                       float(duration_s) if duration_s is not None else n * FRAME_SECONDS)


def result_distances(results: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
    """Each result's per-frame distance (its :data:`DISTANCE_MAP` map; None where it has none)."""
    return {k: (np.asarray(r.explanations[DISTANCE_MAP]["values"], float)
                if DISTANCE_MAP in (getattr(r, "explanations", None) or {}) else None) for k, r in results.items()}


def results_familiarity(results: Mapping[str, Any], entries: Mapping[str, Any], level_db: np.ndarray, *,
                        duration_s: float | None = None) -> Familiarity:
    """:func:`familiarity` of a song's analysis: ``results`` (``{checkpoint: SongExplanation}``), each judged by the
    reference in its manifest entry (``entries[checkpoint]``; missing: the fallback rule)."""
    return familiarity(result_distances(results), {k: reference_of(entries.get(k)) for k in results}, level_db,
                       duration_s=duration_s)


def _where(found: list[tuple[float, float]], limit: int = 4) -> str:
    parts = [f"{a:.1f}-{b:.1f} s" for a, b in found[:limit]]
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return ", ".join(parts) + more


def familiarity_notes(found: Familiarity) -> list[tuple[str, str]]:
    """What a page says next to its predictions: ``[(level, text)]``, level ``"warning"`` for a flag and
    ``"ok"`` for the one line saying nothing was flagged."""
    notes = []
    if found.silent.any():
        if found.silent_share >= WHOLE_SONG_SHARE:
            head = (f"**Silent or near-silent song**: {found.silent_share:.0%} of its frames are below "
                    f"{SILENCE_DBFS:g} dBFS (grey bands).")
        else:
            head = (f"**Near-silent stretches** (grey bands): {_where(found.silent_spans)} are below "
                    f"{SILENCE_DBFS:g} dBFS.")
        notes.append(("warning", head + " The models learned from music, not silence: what they say there (a "
                                        "quadrant, a mood, a tag) says nothing about the song."))
    outside = [m for m in found.models.values() if m.outside.any()]
    if outside:
        loud = found.outside & ~found.silent
        share = float(loud.mean()) if loud.size else 0.0
        worst = max(outside, key=lambda m: m.share_outside)
        head = ("**Outside what the models know**" if found.outside_share >= WHOLE_SONG_SHARE
                else "**Stretches outside what the models know**")
        where = f" (amber bands: {_where(found.outside_spans)})" if found.outside_spans else ""
        rule = worst.reference.describe()
        notes.append(("warning", f"{head}{where}: {found.outside_share:.0%} of the frames have features unlike the "
                                 "training songs' for " + ", ".join(f"**{m.key}**" for m in outside)
                                 + f". For {worst.key} the features sit {worst.median_distance:.1f} training "
                                 f"standard deviations from the training mean (root mean square over the features, "
                                 f"median over the song), where {rule}. "
                                 + ("Treat its predictions as guesses." if share > 0 or not found.silent.any() else
                                    "")))
    if not notes and found.models:
        notes.append(("ok", "Within what the models know: no frame's features are further from the training songs' "
                            "than the training songs' own (" + ", ".join(sorted(found.models)) + "), and no frame "
                            "is silent."))
    return notes
