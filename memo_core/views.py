"""What a display of one song needs beyond the models: its waveform, log-mel and chromagram on one time
axis, per-song metrics against the annotation, the rating scales and Russell's quadrants, song search.

How far to trust a checkpoint on real music comes from its manifest entry (written by
``python -m memo_core validate-real``): :func:`trust_of` gives a short label and a level
(:data:`TRUST_LEVELS`), :func:`trust_table` and :func:`training_sources_table` the tables of every
checkpoint beside the baselines on the same songs, :func:`tag_spread_of` a tagger's tag scores
across real songs. Missing or malformed figures read as "not validated on real recordings".

The dashboard draws these; it computes none of them itself (STYLE.md section 7).

>>> from memo_core.audio import load_audio
>>> view = song_view(load_audio("song.wav"))            # doctest: +SKIP
>>> view.logmel_db.shape                                # (n_mels, n_columns)     # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .audio import Audio
from .data._common import SCALES
from .data.records import SongRecord
from .errors import MemoError
from .metrics import ccc, kendall_tau, mae, pearson_r, r2, rmse

__all__ = [
    "SongView",
    "song_view",
    "SONG_METRICS",
    "song_metrics",
    "song_metrics_table",
    "song_summary",
    "curves_table",
    "corpus_summary",
    "NATIVE_SCALES",
    "SCALE_NAMES",
    "scale_of",
    "scale_range",
    "to_scale",
    "QUADRANTS",
    "quadrant",
    "song_label",
    "search_songs",
    "TRUST_LEVELS",
    "TRUST_BADGES",
    "BASELINE_KEYS",
    "TRUST_RULES",
    "UNVALIDATED",
    "FLAT_TAGS",
    "FLAT_TAG_STD",
    "Estimate",
    "estimate_of",
    "Trust",
    "trust_of",
    "trust_table",
    "training_sources_table",
    "TagSpread",
    "tag_spread_of",
    "trained_on_summary",
]

#: Sample rate, FFT size and hop of the display spectrograms (46 ms frames every 23 ms).
VIEW_SAMPLE_RATE = 22_050
VIEW_N_FFT = 2048
VIEW_HOP = 512


@dataclass
class SongView:
    """A song's waveform, log-mel and chromagram, downsampled for display on one time axis.

    Attributes:
        duration_s: the audio's length.
        wave_time_s: bin centres of the waveform envelope. [shape=(n_bins,)]
        wave_low: lowest sample in each bin. [shape=(n_bins,)]
        wave_high: highest sample in each bin. [shape=(n_bins,)]
        time_s: centres of the spectrogram columns. [shape=(n_columns,)]
        mel_hz: centre frequencies of the mel bands. [shape=(n_mels,)]
        logmel_db: log-mel power in dB re the song's maximum. [shape=(n_mels, n_columns)]
        chroma: chroma energy normalised to 1 per column (C, C#, ..., B). [shape=(12, n_columns)]
    """

    duration_s: float
    wave_time_s: np.ndarray
    wave_low: np.ndarray
    wave_high: np.ndarray
    time_s: np.ndarray
    mel_hz: np.ndarray
    logmel_db: np.ndarray
    chroma: np.ndarray

    PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _pool_columns(x: np.ndarray, n_out: int) -> np.ndarray:
    """Mean of consecutive column groups so that at most ``n_out`` columns remain."""
    n = x.shape[-1]
    if n <= n_out:
        return x
    edges = np.linspace(0, n, n_out + 1).astype(int)
    return np.add.reduceat(x, edges[:-1], axis=-1) / np.diff(edges)


def song_view(audio: Audio, *, max_columns: int = 1200, n_mels: int = 96) -> SongView:
    """The display views of ``audio``: cost grows linearly with its length (about 0.1 s a minute).

    Args:
        audio: the song.
        max_columns: the most spectrogram columns and waveform bins kept (long
            songs are averaged down; a chart cannot show more than its pixels).
        n_mels: mel bands of the log-mel.
    """
    import librosa

    y = np.asarray(audio.resampled(VIEW_SAMPLE_RATE).samples, dtype=np.float32)
    if len(y) < VIEW_N_FFT:
        y = np.pad(y, (0, VIEW_N_FFT - len(y)))
    power = np.abs(librosa.stft(y, n_fft=VIEW_N_FFT, hop_length=VIEW_HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=VIEW_SAMPLE_RATE, n_mels=n_mels)
    chroma = librosa.feature.chroma_stft(S=power, sr=VIEW_SAMPLE_RATE, norm=None)
    n_cols = power.shape[1]
    groups = min(n_cols, max_columns)
    mel = _pool_columns(mel, groups)
    chroma = _pool_columns(chroma, groups)
    chroma = chroma / np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)
    logmel = librosa.power_to_db(mel, ref=np.max(mel) if np.max(mel) > 0 else 1.0, top_db=80.0)
    duration = audio.duration
    col_edges = np.linspace(0.0, duration, mel.shape[1] + 1)
    # waveform envelope: min and max per bin, so peaks stay visible however long the song
    samples = np.asarray(audio.samples, dtype=np.float32)
    n_bins = int(min(len(samples), max_columns * 2))
    edges = np.linspace(0, len(samples), n_bins + 1).astype(int)
    low = np.minimum.reduceat(samples, edges[:-1])
    high = np.maximum.reduceat(samples, edges[:-1])
    wave_t = (edges[:-1] + edges[1:]) / 2.0 / audio.sample_rate
    mel_hz = librosa.mel_frequencies(n_mels=n_mels + 2, fmax=VIEW_SAMPLE_RATE / 2)[1:-1]
    return SongView(duration, wave_t, low, high, (col_edges[:-1] + col_edges[1:]) / 2.0, mel_hz,
                    logmel.astype(np.float32), chroma.astype(np.float32))


# --------------------------------------------------------------------------- metrics of one song

#: The per-song metrics, in display order.
SONG_METRICS = {"RMSE": rmse, "MAE": mae, "PCC": pearson_r, "CCC": ccc, "R2": r2, "Kendall tau": kendall_tau}


def song_metrics(times_true: Sequence[float], y_true: Sequence[float], times_pred: Sequence[float],
                 y_pred: Sequence[float]) -> dict[str, float]:
    """RMSE, MAE, PCC, CCC, R^2 and Kendall's tau of one song's prediction against its annotation.

    The prediction is interpolated at the annotation's instants within the span
    both cover (annotations often start 15 s in, predictions at 0 s).

    Returns:
        ``{metric: value}``; ``nan`` where a metric is undefined (a constant
        series) or fewer than two instants overlap.
    """
    tt, yt = np.asarray(times_true, float), np.asarray(y_true, float)
    tp, yp = np.asarray(times_pred, float), np.asarray(y_pred, float)
    if tt.shape != yt.shape or tp.shape != yp.shape:
        raise MemoError("song_metrics: times and values must have the same length")
    keep = np.isfinite(yt) & (tt >= (tp.min() if len(tp) else np.inf)) & (tt <= (tp.max() if len(tp) else -np.inf))
    if keep.sum() < 2:
        return {name: float("nan") for name in SONG_METRICS}
    truth, pred = yt[keep], np.interp(tt[keep], tp, yp)
    out = {}
    for name, metric in SONG_METRICS.items():
        try:
            out[name] = float(metric(truth, pred))
        except (MemoError, ValueError):
            out[name] = float("nan")
    return out


def song_metrics_table(truth: Mapping | None, curves: Mapping[str, pd.DataFrame], targets: Sequence[str], *,
                       label: str = "curve") -> pd.DataFrame:
    """Per-song metrics (:func:`song_metrics`) of several curves against the annotation.

    Args:
        truth: annotation curves (``time_s`` and one array per target) or None.
        curves: ``{name: DataFrame(time_s, <target columns>)}`` (checkpoints' predictions, fusions, scales).
        targets: the targets to score.
        label: the name of the column naming the curve.

    Returns:
        One row per (curve, target) with ``label, target`` and the metrics; empty when there is no annotation.
    """
    rows = []
    if truth is not None:
        for name, frame in curves.items():
            for target in targets:
                if truth.get(target) is None or target not in frame:
                    continue
                scores = song_metrics(truth["time_s"], truth[target], frame["time_s"], frame[target])
                rows.append({label: name, "target": target, **scores})
    return pd.DataFrame(rows, columns=[label, "target", *SONG_METRICS])


def song_summary(truth: Mapping | None, curves: Mapping[str, pd.DataFrame], *, scale: str = "-1-1") -> pd.DataFrame:
    """Where the song sits: mean valence and arousal of the annotation and of each curve, on ``scale``,
    with the circumplex quadrant (judged on [-1, 1]). Columns ``source, valence, arousal, quadrant``."""
    means = []
    if truth is not None and truth.get("valence") is not None and truth.get("arousal") is not None:
        means.append(("annotation", float(np.nanmean(truth["valence"])), float(np.nanmean(truth["arousal"]))))
    for name, frame in curves.items():
        if {"valence", "arousal"} <= set(frame.columns):
            means.append((name, float(frame["valence"].mean()), float(frame["arousal"].mean())))
    return pd.DataFrame([{"source": name, "valence": float(to_scale(v, scale)), "arousal": float(to_scale(a, scale)),
                          "quadrant": quadrant(v, a)} for name, v, a in means],
                        columns=["source", "valence", "arousal", "quadrant"])


def curves_table(truth: Mapping | None, curves: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Every curve on one time column, for a CSV: ``time_s``, ``<name>/<target>`` per curve and
    ``annotation/<target>``; None when there are no curves."""
    merged = None
    for name, frame in curves.items():
        part = frame.rename(columns={c: f"{name}/{c}" for c in frame.columns if c != "time_s"})
        merged = part if merged is None else merged.merge(part, on="time_s", how="outer")
    if merged is not None and truth is not None:
        annotation = pd.DataFrame({"time_s": truth["time_s"],
                                   **{f"annotation/{t}": truth[t] for t in ("valence", "arousal")
                                      if truth.get(t) is not None}})
        merged = merged.merge(annotation, on="time_s", how="outer").sort_values("time_s")
    return merged


def corpus_summary(songs: Iterable[SongRecord]) -> pd.DataFrame:
    """One row per song: id, split, tags, mean valence and arousal, tempo and mode where known."""
    def mean(x) -> float:
        return float(np.mean(x)) if x is not None and len(x) else float("nan")

    return pd.DataFrame([{"song": s.song_id, "split": s.split, "tags": ", ".join(s.tags), "valence": mean(s.valence),
                          "arousal": mean(s.arousal), "tempo_bpm": s.meta.get("tempo_bpm"), "mode": s.meta.get("mode")}
                         for s in songs])


# --------------------------------------------------------------------------- scales and quadrants

#: The scale of each dataset's own DYNAMIC ratings where it is not [-1, 1] (a ``memo_core.data`` scale name).
#: DEAM's and emoMusic's dynamic ratings are already on [-1, 1] (only their static ratings use 1-9).
NATIVE_SCALES = {"pmemo": "0-1"}
#: How each scale is written for people.
SCALE_NAMES = {"-1-1": "[-1, 1]", "0-1": "0-1", "1-9": "1-9"}


def scale_range(scale: str) -> tuple[float, float]:
    """The lowest and highest value of ``scale`` (a :data:`memo_core.data._common.SCALES` name)."""
    return float(to_scale(-1.0, scale)), float(to_scale(1.0, scale))


def scale_of(dataset: str | None) -> tuple[str, tuple[float, float]]:
    """The dataset's own scale name and range (``("-1-1", (-1, 1))`` when it has none of its own)."""
    name = NATIVE_SCALES.get(str(dataset), "-1-1")
    return name, scale_range(name)


def to_scale(values, scale: str, *, spread: bool = False):
    """Values in [-1, 1] mapped onto ``scale``: the inverse of the loaders' :func:`to_unit_scale`;
    ``spread`` maps a width (a rater spread), which moves with the scale's width only."""
    if scale not in SCALES:
        raise MemoError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    offset, factor = SCALES[scale]
    values = np.asarray(values, dtype=float)
    return values / factor if spread else values / factor + offset


#: Russell's circumplex quadrants: (valence sign, arousal sign) -> words a class knows.
QUADRANTS = {(1, 1): "happy / excited", (-1, 1): "tense / angry", (-1, -1): "sad / depressed",
             (1, -1): "calm / relaxed"}


def quadrant(valence: float, arousal: float) -> str:
    """The circumplex quadrant of a point in [-1, 1]^2 (zero counts as positive)."""
    return QUADRANTS[(1 if valence >= 0 else -1, 1 if arousal >= 0 else -1)]


# --------------------------------------------------------------------------- finding songs


def song_label(song: SongRecord) -> str:
    """``id``, then title and artist where the metadata has them."""
    title, artist = song.meta.get("title"), song.meta.get("artist")
    words = " - ".join(str(x).strip() for x in (artist, title) if x is not None and str(x).strip())
    return f"{song.song_id}: {words}" if words else str(song.song_id)


def search_songs(songs: Iterable[SongRecord], query: str, *, limit: int | None = None) -> list[SongRecord]:
    """Songs whose id, title, artist or tags contain every word of ``query`` (case-insensitive)."""
    words = str(query or "").casefold().split()
    found = []
    for song in songs:
        text = " ".join([song_label(song), " ".join(song.tags), str(song.meta.get("genre", ""))]).casefold()
        if all(w in text for w in words):
            found.append(song)
            if limit is not None and len(found) >= limit:
                break
    return found


# --------------------------------------------------------------------------- trust on real recordings

#: How far a checkpoint can be trusted on real music, best first (the order :func:`trust_of` ranks them in).
TRUST_LEVELS = ("good", "limited", "poor", "unvalidated")
#: A short mark per level, for a checkpoint's name in a list.
TRUST_BADGES = {"good": "🟢", "limited": "🟡", "poor": "🔴", "unvalidated": "⚪"}
#: Checkpoints that are baselines for the others (``memo_core.validate_real.BASELINES``): labelled as baselines.
BASELINE_KEYS = ("loudness", "mlr", "songlin")
#: What a checkpoint says when its manifest entry has no usable real-music figures.
UNVALIDATED = "not validated on real recordings"
#: What a tagger with (nearly) constant tags says.
FLAT_TAGS = "this tagger gives nearly the same tags to every song"
#: A tagger whose every tag score varies less than this (standard deviation across songs, 0-1 scale) is flat.
FLAT_TAG_STD = 0.05

# The levels' thresholds (``validation_real`` of a manifest entry; AUCs on the held-out 4Q songs, r on the
# listener-annotated clips, pooled over their frames):
_POOR_AROUSAL_AUC = 0.75
_POOR_VALENCE_AUC = 0.60
_GOOD_AROUSAL_AUC = 0.90
_GOOD_VALENCE_AUC = 0.75
# ... and of ``tag_spread`` (taggers): the mean tag ROC-AUC over tags, the quadrant agreement against chance.
_POOR_TAG_AUC = 0.60
_GOOD_TAG_AUC = 0.75

#: The rules behind each level, as a reader is told them.
TRUST_RULES = {
    "unvalidated": "no real-music figures in the manifest (or none that can be read)",
    "poor": (f"4Q arousal ROC-AUC below {_POOR_AROUSAL_AUC:.2f}, 4Q valence ROC-AUC below {_POOR_VALENCE_AUC:.2f}, "
             "or valence r with listeners at or below 0; taggers: nearly the same tags for every song "
             f"(every tag's spread below {FLAT_TAG_STD:.2f}), mean tag ROC-AUC below {_POOR_TAG_AUC:.2f}, or "
             "quadrant agreement no better than chance"),
    "good": (f"4Q arousal ROC-AUC at least {_GOOD_AROUSAL_AUC:.2f} and valence ROC-AUC at least "
             f"{_GOOD_VALENCE_AUC:.2f} (and not poor); taggers: mean tag ROC-AUC at least {_GOOD_TAG_AUC:.2f} "
             "and quadrant agreement above chance over its whole interval"),
    "limited": "validated on real recordings, neither poor nor good",
}
_MAX_TEXT = 400  # longest free text (a verdict, a licence) taken from a manifest


@dataclass(frozen=True)
class Estimate:
    """A figure with its (bootstrap) interval; ``lo``/``hi`` are None when the manifest gives none."""

    value: float
    lo: float | None = None
    hi: float | None = None

    def __str__(self) -> str:
        if self.lo is None or self.hi is None:
            return f"{self.value:.2f}"
        return f"{self.value:.2f} [{self.lo:.2f}, {self.hi:.2f}]"


def _number(raw: Any, lower: float = -math.inf, upper: float = math.inf) -> float | None:
    """``raw`` as a finite float within [lower, upper], else None (a bool, a string, NaN are not numbers here)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, np.integer, np.floating)):
        return None
    value = float(raw)
    return value if math.isfinite(value) and lower <= value <= upper else None


def estimate_of(raw: Any, *, lower: float = -math.inf, upper: float = math.inf) -> Estimate | None:
    """A manifest figure (``{"value", "lo", "hi"}``, or a bare number) as an :class:`Estimate`.

    Returns None for anything else: a value that is missing, not a finite number or outside ``[lower, upper]``.
    An interval that is incomplete, out of bounds or reversed is dropped (the value is kept).
    """
    if not isinstance(raw, Mapping):
        value = _number(raw, lower, upper)
        return None if value is None else Estimate(value)
    value = _number(raw.get("value"), lower, upper)
    if value is None:
        return None
    lo, hi = _number(raw.get("lo"), lower, upper), _number(raw.get("hi"), lower, upper)
    if lo is None or hi is None or lo > hi:
        return Estimate(value)
    return Estimate(value, lo, hi)


def _auc(raw: Any) -> Estimate | None:
    return estimate_of(raw, lower=0.0, upper=1.0)


def _corr(raw: Any) -> Estimate | None:
    return estimate_of(raw, lower=-1.0, upper=1.0)


def _section(raw: Any, key: str) -> Mapping[str, Any]:
    found = raw.get(key) if isinstance(raw, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _count(raw: Any) -> int | None:
    value = _number(raw, 0.0)
    return int(value) if value is not None and value == int(value) else None


def _text(raw: Any, limit: int = _MAX_TEXT) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = " ".join(raw.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class _Real:
    """The readable part of a manifest entry's ``validation_real``."""

    arousal_auc: Estimate | None = None
    valence_auc: Estimate | None = None
    n_4q: int | None = None
    clip_r: dict[str, Estimate] = field(default_factory=dict)   # target -> pooled r with listeners
    clip_ccc: dict[str, Estimate] = field(default_factory=dict)
    n_clips: int | None = None
    targets: tuple[tuple[str, bool], ...] = ()
    verdict: str | None = None
    interval: str | None = None

    @property
    def validated(self) -> bool:
        return bool(self.arousal_auc or self.valence_auc or self.clip_r)


def _clip_figures(clips: Mapping[str, Any]) -> tuple[dict[str, Estimate], dict[str, Estimate]]:
    r, concordance = {}, {}
    for target in ("arousal", "valence"):
        part = _section(clips, target)
        found = _corr(part.get("pooled_r")) or _corr(part.get("song_r"))
        if found is not None:
            r[target] = found
        found = _corr(part.get("ccc"))
        if found is not None:
            concordance[target] = found
    return r, concordance


def _real(entry: Any) -> _Real:
    real = _section(entry, "validation_real")
    fourq, clips = _section(real, "4q"), _section(real, "clips")
    clip_r, clip_ccc = _clip_figures(clips)
    targets = []
    raw_targets = real.get("targets")
    for item in raw_targets if isinstance(raw_targets, list) else []:
        what = _text(item.get("what"), 120) if isinstance(item, Mapping) else None
        if what is not None and isinstance(item.get("met"), bool):
            targets.append((what, item["met"]))
    return _Real(_auc(fourq.get("arousal_auc")), _auc(fourq.get("valence_auc")), _count(fourq.get("n_songs")),
                 clip_r, clip_ccc, _count(clips.get("n_songs")), tuple(targets), _text(real.get("verdict")),
                 _text(real.get("interval"), 120))


def _real_level(real: _Real) -> tuple[str, list[str]]:
    """The level of ``validation_real`` figures (:data:`TRUST_RULES`) and why."""
    a, v, clip_v = real.arousal_auc, real.valence_auc, real.clip_r.get("valence")
    why = []
    if a is not None and a.value < _POOR_AROUSAL_AUC:
        why.append(f"arousal AUC {a.value:.2f} is below {_POOR_AROUSAL_AUC:.2f}")
    if v is not None and v.value < _POOR_VALENCE_AUC:
        why.append(f"valence AUC {v.value:.2f} is below {_POOR_VALENCE_AUC:.2f}")
    if clip_v is not None and clip_v.value <= 0.0:
        why.append(f"valence r with listeners is {clip_v.value:.2f}")
    if why:
        return "poor", why
    if a is not None and v is not None and a.value >= _GOOD_AROUSAL_AUC and v.value >= _GOOD_VALENCE_AUC:
        return "good", [f"arousal AUC {a.value:.2f} and valence AUC {v.value:.2f} reach {_GOOD_AROUSAL_AUC:.2f} "
                        f"and {_GOOD_VALENCE_AUC:.2f}"]
    return "limited", ["neither poor nor good by the thresholds"]


def _real_label(real: _Real) -> str:
    parts = []
    aucs = [f"{name} AUC {e}" for name, e in (("arousal", real.arousal_auc), ("valence", real.valence_auc)) if e]
    if aucs:
        songs = f"{real.n_4q} " if real.n_4q is not None else ""
        parts.append(", ".join(aucs) + f" on {songs}held-out 4Q clips")
    if real.clip_r:
        songs = f"{real.n_clips} " if real.n_clips is not None else ""
        parts.append(f"r with listeners on {songs}clips: "
                     + ", ".join(f"{t[0].upper()} {real.clip_r[t]}" for t in ("arousal", "valence")
                                 if t in real.clip_r))
    return "real music: " + "; ".join(parts)


@dataclass(frozen=True)
class TagSpread:
    """A tagger's tag scores across real songs (``tag_spread`` of its manifest entry).

    Attributes:
        table: one row per tag: ``tag, mean, std, min, max`` (scores 0-1), highest mean first.
        n_songs: how many songs the spread is over (None when not given).
        tag_auc: the mean over tags of each tag's ROC-AUC.
        quadrant_agreement: how often the quadrant read off the tags matches the song's.
        chance: the agreement by chance (0.25 for four quadrants).
        n_tags_scored: how many tags ``tag_auc`` is the mean over (those with songs on both sides).
    """

    table: pd.DataFrame
    n_songs: int | None = None
    tag_auc: Estimate | None = None
    quadrant_agreement: Estimate | None = None
    chance: float | None = None
    n_tags_scored: int | None = None

    @property
    def flat(self) -> bool:
        """Whether every tag's score barely moves from song to song (std below :data:`FLAT_TAG_STD`; False when
        no tag has figures)."""
        return not self.table.empty and bool((self.table["std"] < FLAT_TAG_STD).all())

    def summary(self) -> str:
        """``"mean tag ROC-AUC 0.71 [0.65, 0.77] over 5 tags, quadrant agreement 0.40 [0.31, 0.49] (chance 0.25)
        on 88 held-out 4Q songs"``."""
        parts = []
        if self.tag_auc is not None:
            over = f" over {self.n_tags_scored} tags" if self.n_tags_scored else ""
            parts.append(f"mean tag ROC-AUC {self.tag_auc}{over}")
        if self.quadrant_agreement is not None:
            chance = f" (chance {self.chance:.2f})" if self.chance is not None else ""
            parts.append(f"quadrant agreement {self.quadrant_agreement}{chance}")
        songs = f" on {self.n_songs} held-out 4Q songs" if self.n_songs is not None and parts else ""
        return ", ".join(parts) + songs


def tag_spread_of(entry: Any) -> TagSpread | None:
    """The ``tag_spread`` of a manifest entry, or None when it is missing or has nothing readable.

    Tags whose ``mean``/``std``/``min``/``max`` are not numbers in [0, 1] (std at least 0) are left out.
    """
    raw = _section(entry, "tag_spread")
    rows = []
    for tag, figures in _section(raw, "tags").items():
        if not isinstance(figures, Mapping):
            continue
        values = {k: _number(figures.get(k), 0.0, 1.0) for k in ("mean", "std", "min", "max")}
        if all(v is not None for v in values.values()) and values["min"] <= values["max"]:
            rows.append({"tag": str(tag), **values})
    table = pd.DataFrame(rows, columns=["tag", "mean", "std", "min", "max"])
    table = table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    agreement = _section(raw, "quadrant_agreement")
    spread = TagSpread(table, _count(raw.get("n_songs")), _auc(raw.get("tag_auc_mean")), _auc(agreement),
                       _number(agreement.get("chance"), 0.0, 1.0), _count(raw.get("n_tags_scored")))
    if table.empty and spread.tag_auc is None and spread.quadrant_agreement is None:
        return None
    return spread


def _tag_level(spread: TagSpread) -> tuple[str, list[str]] | None:
    """The level of a tagger's ``tag_spread`` (:data:`TRUST_RULES`) and why; None when it says nothing."""
    auc, agree, chance = spread.tag_auc, spread.quadrant_agreement, spread.chance
    why = []
    if spread.flat:
        why.append(FLAT_TAGS)
    if auc is not None and auc.value < _POOR_TAG_AUC:
        why.append(f"mean tag ROC-AUC {auc.value:.2f} is below {_POOR_TAG_AUC:.2f}")
    if agree is not None and chance is not None and agree.value <= chance:
        why.append(f"quadrant agreement {agree.value:.2f} is no better than chance ({chance:.2f})")
    if why:
        return "poor", why
    if auc is None and agree is None:
        return None
    if (auc is not None and auc.value >= _GOOD_TAG_AUC and agree is not None and chance is not None
            and agree.lo is not None and agree.lo > chance):
        return "good", [f"mean tag ROC-AUC {auc.value:.2f} and quadrant agreement above chance"]
    return "limited", ["neither poor nor good by the thresholds"]


@dataclass(frozen=True)
class Trust:
    """How far to trust one checkpoint on real music.

    Attributes:
        key: the checkpoint.
        level: one of :data:`TRUST_LEVELS`.
        label: the figures in a line (``"real music: arousal AUC 0.92 [0.86, 0.96], ..."``), or
            :data:`UNVALIDATED`.
        verdict: the validation's own sentence, when it gave one.
        reasons: why the level (the thresholds that decided it).
        targets_met: ``(met, listed)`` of the validation's targets, when it listed any.
        interval: what the brackets are (e.g. ``"90 % percentile bootstrap over songs"``).
    """

    key: str
    level: str
    label: str
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    targets_met: tuple[int, int] | None = None
    interval: str | None = None

    @property
    def validated(self) -> bool:
        return self.level != "unvalidated"

    @property
    def badge(self) -> str:
        return TRUST_BADGES[self.level]


def trust_of(entry: Any) -> Trust:
    """How far to trust a checkpoint on real music, from its manifest entry.

    The level follows :data:`TRUST_RULES`: ``validation_real`` (4Q ROC-AUCs and r with listeners on clips)
    and, for taggers, ``tag_spread``; with both, the worse one counts. An entry without them, or with
    values that cannot be read (not a mapping, not finite numbers, AUCs outside [0, 1]), is
    ``"unvalidated"`` with the label :data:`UNVALIDATED`; this never raises.
    """
    key = str(entry.get("key", "?")) if isinstance(entry, Mapping) else "?"
    real = _real(entry)
    spread = tag_spread_of(entry)
    levels, labels, reasons = [], [], []
    if real.validated:
        level, why = _real_level(real)
        levels.append(level)
        reasons += why
        labels.append(_real_label(real))
    tagged = _tag_level(spread) if spread is not None else None
    if tagged is not None:
        levels.append(tagged[0])
        reasons += tagged[1]
        summary = spread.summary()
        flat = f"; {FLAT_TAGS}" if spread.flat else ""
        labels.append(("real music: " + summary if summary else "real music") + flat)
    if not levels:
        return Trust(key, "unvalidated", UNVALIDATED)
    worst = max(levels, key=TRUST_LEVELS.index)
    met = (sum(m for _, m in real.targets), len(real.targets)) if real.targets else None
    label = labels[0] if len(labels) == 1 else labels[0] + "; " + labels[1].removeprefix("real music: ")
    return Trust(key, worst, label, real.verdict if real.validated else None, tuple(reasons), met,
                 real.interval if real.validated else None)


_TRUST_COLUMNS = ["model", "kind", "trust", "4Q arousal AUC", "4Q valence AUC", "4Q songs", "clips arousal r",
                  "clips valence r", "clips arousal CCC", "clips valence CCC", "clip songs", "targets met",
                  "verdict", "trained on"]


def _shown(e: Estimate | None) -> str | None:
    return None if e is None else str(e)


def _baselines(entry: Any, n_4q: int | None, n_clips: int | None) -> list[dict[str, Any]]:
    """The baselines' figures on the songs of one checkpoint's validation: 4Q's ``baselines`` and the loudness
    level on the clips (one row with 4Q's ``loudness``/``loudness_level``)."""
    real = _section(entry, "validation_real")
    fourq, clips = _section(real, "4q"), _section(real, "clips")
    rows = []
    for name, figures in _section(fourq, "baselines").items():
        figures = figures if isinstance(figures, Mapping) else {}
        rows.append({"name": str(name), "4Q arousal AUC": _shown(_auc(figures.get("arousal_auc"))),
                     "4Q valence AUC": _shown(_auc(figures.get("valence_auc"))), "4Q songs": n_4q})
    clip_r, clip_ccc = _clip_figures(_section(clips, "loudness"))
    if clip_r or clip_ccc:
        found = next((row for row in rows if row["name"] in ("loudness", "loudness_level")), None)
        if found is None:
            found = {"name": "loudness_level"}
            rows.append(found)
        found.update({f"clips {t} r": _shown(clip_r.get(t)) for t in ("arousal", "valence")}
                     | {f"clips {t} CCC": _shown(clip_ccc.get(t)) for t in ("arousal", "valence")}
                     | {"clip songs": n_clips})
    return [row for row in rows if any(v is not None for k, v in row.items() if k != "name" and "songs" not in k)]


def _is_baseline(entry: Mapping[str, Any]) -> bool:
    """Whether a manifest entry is one of the baselines the others are measured against."""
    return (str(entry.get("key")) in BASELINE_KEYS or entry.get("baseline") is True
            or "baseline" in str(entry.get("family", "")).casefold())


def _source_names(entry: Any) -> str:
    sources = entry.get("training_sources") if isinstance(entry, Mapping) else None
    names = [str(s.get("name")) for s in sources if isinstance(s, Mapping) and s.get("name") is not None] \
        if isinstance(sources, list) else []
    if names:
        return ", ".join(names)
    return (str(entry.get("training_data", "")).split(":")[0].split(" (")[0] if isinstance(entry, Mapping)
            else "") or "n/a"


def trust_table(entries: Iterable[Any]) -> pd.DataFrame:
    """Every checkpoint's real-music figures, then the baselines' on the same songs.

    Args:
        entries: manifest entries (those of the loaded checkpoints, say); malformed figures read as
            unvalidated, and what is not a mapping at all is left out.

    Returns:
        One row per checkpoint (``kind`` "checkpoint"; a baseline's own checkpoint, :data:`BASELINE_KEYS`,
        ``"<key> (baseline checkpoint)"`` of kind "baseline"), then one per baseline scored on a checkpoint's
        songs (``kind`` "baseline", ``model`` "<name> (baseline)", e.g. "loudness level (baseline)"), with
        columns ``model, kind, trust, 4Q arousal AUC, 4Q valence AUC, 4Q songs, clips arousal r, clips valence r,
        clips arousal CCC, clips valence CCC, clip songs, targets met, verdict, trained on``; figures as ``"0.92 [0.86, 0.96]"`` text, None where absent.
        A baseline scored alike on every checkpoint's songs is listed once; otherwise once per checkpoint
        (``"<name> (baseline, songs of <key>)"``).
    """
    rows, baselines = [], {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        trust = trust_of(entry)
        real = _real(entry)
        own = _is_baseline(entry)
        rows.append({
            "model": f"{trust.key} (baseline checkpoint)" if own else trust.key,
            "kind": "baseline" if own else "checkpoint", "trust": trust.level,
            "4Q arousal AUC": _shown(real.arousal_auc), "4Q valence AUC": _shown(real.valence_auc),
            "4Q songs": real.n_4q if real.arousal_auc or real.valence_auc else None,
            **{f"clips {t} r": _shown(real.clip_r.get(t)) for t in ("arousal", "valence")},
            **{f"clips {t} CCC": _shown(real.clip_ccc.get(t)) for t in ("arousal", "valence")},
            "clip songs": real.n_clips if real.clip_r or real.clip_ccc else None,
            "targets met": f"{trust.targets_met[0]} of {trust.targets_met[1]}" if trust.targets_met else None,
            "verdict": trust.verdict, "trained on": _source_names(entry),
        })
        for row in _baselines(entry, real.n_4q, real.n_clips):
            figures = tuple(sorted((k, v) for k, v in row.items() if k != "name"))
            baselines.setdefault(row["name"], {}).setdefault(figures, []).append(trust.key)
    for name, versions in baselines.items():
        for figures, keys in versions.items():
            shown = name.replace("_", " ")
            label = f"{shown} (baseline)" if len(versions) == 1 else f"{shown} (baseline, songs of {keys[0]})"
            rows.append({"model": label, "kind": "baseline", "trust": None, **dict(figures),
                         "trained on": None})
    return pd.DataFrame(rows, columns=_TRUST_COLUMNS).astype({"4Q songs": "Int64", "clip songs": "Int64"})


def training_sources_table(entries: Iterable[Any]) -> pd.DataFrame:
    """What each checkpoint was trained on (``training_sources`` of its manifest entry), with the licences.

    Returns:
        Columns ``checkpoint, source, songs, weight, labels, licence``; an entry without readable
        ``training_sources`` gets one row naming its ``training_data`` (the other columns None).
    """
    rows = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        key = str(entry.get("key", "?"))
        sources = entry.get("training_sources")
        found = [s for s in sources if isinstance(s, Mapping) and _text(str(s.get("name") or ""))] \
            if isinstance(sources, list) else []
        for source in found:
            rows.append({"checkpoint": key, "source": _text(str(source["name"]), 120),
                         "songs": _count(source.get("songs")), "weight": _number(source.get("weight"), 0.0),
                         "labels": _text(source.get("labels"), 200), "licence": _text(source.get("licence"))})
        if not found:
            rows.append({"checkpoint": key, "source": _text(str(entry.get("training_data") or "")) or "n/a",
                         "songs": None, "weight": None, "labels": None, "licence": None})
    columns = ["checkpoint", "source", "songs", "weight", "labels", "licence"]
    return pd.DataFrame(rows, columns=columns).astype({"songs": "Int64", "weight": float})


def trained_on_summary(manifest: Any) -> str:
    """One line on what a checkpoint set was trained on, from its manifest's ``trained_on`` and ``created``
    (as ``python -m memo_core train-defaults`` writes them), e.g.
    ``"synth (memo-synth v2, seed 0, 150 songs of 45 s); made 2026-11-22 on x86_64, 2 cores"``.

    Sources with weights other than 1 show them (``"deam ×1, synth ×0.5"``); malformed or missing parts
    are left out, and a manifest with none readable gives ``"not stated in the manifest"``.
    """
    info = manifest if isinstance(manifest, Mapping) else {}
    trained = _section(info, "trained_on")
    sources = trained.get("sources")
    listed = [(_text(s.get("dataset"), 60), _number(s.get("weight"), 0.0)) for s in sources
              if isinstance(s, Mapping)] if isinstance(sources, list) else []
    listed = [(name, weight) for name, weight in listed if name]
    weighted = any(weight is not None and weight != 1.0 for _, weight in listed)
    names = [f"{name} ×{weight:g}" if weighted and weight is not None else name for name, weight in listed]
    if not names and _text(trained.get("dataset"), 120):
        listed = [(name, None) for name in _text(trained.get("dataset"), 120).split("+") if name]
        names = [name for name, _ in listed]
    corpus = _section(trained, "corpus")
    about = []
    if _text(corpus.get("name"), 40):
        version = _count(corpus.get("version"))
        about.append(_text(corpus.get("name"), 40) + (f" v{version}" if version is not None else ""))
    if _count(corpus.get("seed")) is not None:
        about.append(f"seed {_count(corpus.get('seed'))}")
    n_songs, seconds = _count(corpus.get("n_songs")), _number(corpus.get("duration_s"), 0.0)
    if n_songs is not None:
        about.append(f"{n_songs} songs" + (f" of {seconds:g} s" if seconds else ""))
    if about:
        synth = next((i for i, (name, _) in enumerate(listed) if name == "synth"), None)
        if synth is not None and names:
            names[synth] += f" ({', '.join(about)})"
        else:
            names.append(f"synthetic corpus ({', '.join(about)})")
    made = _text(info.get("created"), 40)
    when = [part for part in (made[:10] if made else None, _text(trained.get("machine"), 80)) if part]
    return ((", ".join(names) if names else "not stated in the manifest")
            + ("; made " + " on ".join(when) if when else ""))
