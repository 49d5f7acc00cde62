"""What a display of one song needs beyond the models: its waveform, log-mel and chromagram on one time
axis, per-song metrics against the annotation, the rating scales and Russell's quadrants, song search.

The dashboard draws these; it computes none of them itself (STYLE.md section 7).

>>> from memo_core.audio import load_audio
>>> view = song_view(load_audio("song.wav"))            # doctest: +SKIP
>>> view.logmel_db.shape                                # (n_mels, n_columns)     # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from memo_core.audio import Audio
from memo_core.data._common import SCALES
from memo_core.data.records import SongRecord
from memo_core.errors import MemoError
from memo_core.explain._common import block_edges, block_mean
from memo_core.explain.trust import TRUST_LEVELS, estimate_of, trust_of
from memo_core.metrics import ccc, kendall_tau, mae, pearson_r, r2, rmse

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
    "scale_range",
    "scale_of",
    "to_scale",
    "QUADRANTS",
    "quadrant",
    "AxisPosition",
    "POSITION_BLOCK_S",
    "NEUTRAL_MARGIN",
    "axis_position",
    "axis_side",
    "quadrant_call",
    "song_position_table",
    "model_spread",
    "focus_model",
    "song_label",
    "search_songs",
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






def song_view(audio: Audio, *, max_columns: int = 1200, n_mels: int = 96) -> SongView:
    """The display views of ``audio``: cost grows linearly with its length (about 0.1 s a minute).

    Args:
        audio: the song.
        max_columns: the most spectrogram columns and waveform bins kept (long
            songs are averaged down; a chart cannot show more than its pixels).
        n_mels: mel bands of the log-mel.
    """
    # lazy: librosa loads numba (about 1 s); listing or loading without computing never needs it
    import librosa

    y = np.asarray(audio.resampled(VIEW_SAMPLE_RATE).samples, dtype=np.float32)
    if len(y) < VIEW_N_FFT:
        y = np.pad(y, (0, VIEW_N_FFT - len(y)))
    power = np.abs(librosa.stft(y, n_fft=VIEW_N_FFT, hop_length=VIEW_HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=VIEW_SAMPLE_RATE, n_mels=n_mels)
    chroma = librosa.feature.chroma_stft(S=power, sr=VIEW_SAMPLE_RATE, norm=None)
    n_cols = power.shape[1]
    groups = min(n_cols, max_columns)
    if mel.shape[-1] > groups:  # at most `groups` columns: the mean of consecutive column groups
        starts = block_edges(mel.shape[-1], n_blocks=groups)
        mel, chroma = block_mean(mel, starts), block_mean(chroma, starts)
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



#: Length (s) of the blocks whose means give the uncertainty of a song mean (frames 0.5 s apart are far from
#: independent; 5 s blocks roughly are, so the spread of block means is an honest one).
POSITION_BLOCK_S = 5.0
#: A song mean closer to 0 than this (on [-1, 1]) is called neutral on its axis, however narrow its interval.
NEUTRAL_MARGIN = 0.1
#: How a decided side of one axis is said when the other axis is near the centre.
_SIDE_WORDS = {("valence", 1): "pleasant (positive valence)", ("valence", -1): "unpleasant (negative valence)",
               ("arousal", 1): "energetic (high arousal)", ("arousal", -1): "calm (low arousal)"}


@dataclass(frozen=True)
class AxisPosition:
    """Where a song sits on one axis (valence or arousal), on [-1, 1].

    Attributes:
        mean: the song mean (of the curves' means, when several curves).
        lo, hi: the interval of that mean: each curve's mean +- 1.96 standard errors of its
            :data:`POSITION_BLOCK_S` block means, joined over the curves (so it widens when the curves disagree).
        frame_sd: how far the frames stray from the mean (standard deviation over every curve's frames).
        model_lo, model_hi: the lowest and highest curve mean (equal for one curve).
        n_curves: how many curves had values.
    """

    mean: float
    lo: float
    hi: float
    frame_sd: float
    model_lo: float
    model_hi: float
    n_curves: int


def axis_position(curves: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                  block_s: float = POSITION_BLOCK_S, z: float = 1.96) -> AxisPosition | None:
    """The song mean of one axis over one or more curves, with its interval and spread (:class:`AxisPosition`).

    Args:
        curves: ``(time_s, values)`` per curve, on [-1, 1]; NaN values are ignored.
        block_s: block length for the standard error of a curve's mean.
        z: the interval's half-width in standard errors.

    Returns:
        None when no curve has a finite value.
    """
    means, los, his, frames = [], [], [], []
    for times, values in curves:
        t, v = np.asarray(times, float), np.asarray(values, float)
        keep = np.isfinite(v) & np.isfinite(t) if t.shape == v.shape else np.isfinite(v)
        v = v[keep]
        if not len(v):
            continue
        step = float(np.median(np.diff(t[keep]))) if t.shape == keep.shape and keep.sum() > 1 else 0.5
        per_block = max(1, int(round(block_s / step))) if np.isfinite(step) and step > 0 else 10
        blocks = np.array([b.mean() for b in np.array_split(v, max(1, len(v) // per_block))])
        # one block (a short song): the frames' own spread, the cautious choice
        se = blocks.std(ddof=1) / np.sqrt(len(blocks)) if len(blocks) >= 2 else float(v.std())
        m = float(v.mean())
        means.append(m)
        los.append(m - z * se)
        his.append(m + z * se)
        frames.append(v)
    if not means:
        return None
    pooled = np.concatenate(frames)
    return AxisPosition(float(np.mean(means)), float(min(los)), float(max(his)), float(pooled.std()),
                        float(min(means)), float(max(means)), len(means))


def axis_side(mean: float, lo: float, hi: float, *, neutral: float = NEUTRAL_MARGIN) -> int:
    """+1 or -1 when the interval ``[lo, hi]`` of a song mean lies wholly on that side of 0 and the mean is at
    least ``neutral`` away from it; 0 (near the centre) otherwise."""
    if not all(np.isfinite([mean, lo, hi])):
        return 0
    if lo > 0 and mean >= neutral:
        return 1
    if hi < 0 and mean <= -neutral:
        return -1
    return 0


def quadrant_call(valence: tuple[float, float, float] | None, arousal: tuple[float, float, float] | None, *,
                  neutral: float = NEUTRAL_MARGIN) -> str:
    """Russell's quadrant of a song mean, called only when the mean is clearly inside it.

    Args:
        valence, arousal: ``(mean, lo, hi)`` of each axis (the mean and its interval, on [-1, 1]); None when
            the axis is unknown.
        neutral: see :func:`axis_side`.

    Returns:
        The quadrant's words (:data:`QUADRANTS`) when both intervals exclude 0 (and both means are at least
        ``neutral`` from it); otherwise which axis is decided and which is near the centre, e.g.
        ``"near the centre on valence; energetic (high arousal)"``, or ``"near the centre (neutral on both
        axes)"``.
    """
    sides = {name: (axis_side(*found, neutral=neutral) if found is not None else None)
             for name, found in (("valence", valence), ("arousal", arousal))}
    v, a = sides["valence"], sides["arousal"]
    if v and a:
        return QUADRANTS[(v, a)]
    decided = [_SIDE_WORDS[(name, side)] for name, side in sides.items() if side]
    centre = [name for name, side in sides.items() if side == 0]
    if not decided and len(centre) == 2:
        return "near the centre (neutral on both axes)"
    words = [f"near the centre on {name}" for name in centre] + decided
    return "; ".join(words) if words else "unknown"


def song_position_table(truth: Mapping | None, curves: Mapping[str, pd.DataFrame], *,
                        combined: str | None = "chosen models", block_s: float = POSITION_BLOCK_S,
                        ) -> pd.DataFrame:
    """Where the song sits, with how sure that is: one row for the annotation, one per curve and (with two
    or more curves) one for all curves together, named ``combined`` (its interval joins every curve's, so it
    widens where they disagree).

    Values stay on [-1, 1]. Columns: ``source, n, valence, valence_lo, valence_hi, valence_sd,
    valence_models_lo, valence_models_hi`` (and the same for arousal), ``where`` (:func:`quadrant_call`).
    """
    axes = ("valence", "arousal")
    rows = []

    def row(name: str, parts: Mapping[str, list]) -> None:
        found = {a: axis_position(parts[a], block_s=block_s) if parts[a] else None for a in axes}
        if all(p is None for p in found.values()):
            return
        out: dict = {"source": name, "n": max(p.n_curves for p in found.values() if p is not None)}
        for a, p in found.items():
            out.update({a: p.mean if p else np.nan, f"{a}_lo": p.lo if p else np.nan,
                        f"{a}_hi": p.hi if p else np.nan, f"{a}_sd": p.frame_sd if p else np.nan,
                        f"{a}_models_lo": p.model_lo if p else np.nan, f"{a}_models_hi": p.model_hi if p else np.nan})
        out["where"] = quadrant_call(*[(p.mean, p.lo, p.hi) if p else None for p in found.values()])
        rows.append(out)

    if truth is not None:
        row("annotation", {a: [(truth["time_s"], truth[a])] if truth.get(a) is not None else [] for a in axes})
    together: dict[str, list] = {a: [] for a in axes}
    for name, frame in curves.items():
        mine = {a: [(frame["time_s"].to_numpy(float), frame[a].to_numpy(float))] if a in frame else [] for a in axes}
        for a in axes:
            together[a] += mine[a]
        row(name, mine)
    if combined and len(curves) >= 2:
        row(f"{combined} ({len(curves)})", together)
    columns = ["source", "n"] + [f"{a}{s}" for a in axes for s in ("", "_lo", "_hi", "_sd", "_models_lo",
                                                                   "_models_hi")] + ["where"]
    return pd.DataFrame(rows, columns=columns)


def model_spread(curves: Mapping[str, pd.DataFrame], target: str) -> pd.DataFrame:
    """How far the curves spread at each instant: ``time_s, lo, hi, mean, sd, n`` on the union of their times
    (each curve interpolated within its own span, absent outside it); empty when no curve has ``target``."""
    found = [(f["time_s"].to_numpy(float), f[target].to_numpy(float)) for f in curves.values() if target in f]
    found = [(t, v) for t, v in found if len(t) and len(t) == len(v)]
    columns = ["time_s", "lo", "hi", "mean", "sd", "n"]
    if not found:
        return pd.DataFrame(columns=columns)
    times = np.unique(np.concatenate([t for t, _ in found]))
    stack = np.full((len(found), len(times)), np.nan)
    for i, (t, v) in enumerate(found):
        order = np.argsort(t)
        t, v = t[order], v[order]
        ok = np.isfinite(v)
        if ok.sum() == 0:
            continue
        inside = (times >= t[ok][0]) & (times <= t[ok][-1])
        stack[i, inside] = np.interp(times[inside], t[ok], v[ok])
    n = np.isfinite(stack).sum(axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = pd.DataFrame({"time_s": times, "lo": np.nanmin(stack, axis=0), "hi": np.nanmax(stack, axis=0),
                            "mean": np.nanmean(stack, axis=0), "sd": np.nanstd(stack, axis=0), "n": n})
    return out[out["n"] > 0].reset_index(drop=True)


def _real_score(entry: Mapping) -> float:
    """The mean of an entry's held-out 4Q ROC-AUCs (arousal, valence) on real recordings, or -inf."""
    real = entry.get("validation_real") if isinstance(entry, Mapping) else None
    fourq = real.get("4q") if isinstance(real, Mapping) else None
    if not isinstance(fourq, Mapping):
        return -np.inf
    found = [estimate_of(fourq.get(k), lower=0.0, upper=1.0) for k in ("arousal_auc", "valence_auc")]
    values = [e.value for e in found if e is not None]
    return float(np.mean(values)) if values else -np.inf


def focus_model(entries: Iterable[Mapping], keys: Sequence[str]) -> str | None:
    """The checkpoint among ``keys`` best trusted on real music: the best trust level
    (:func:`memo_core.explain.trust.trust_of`), then the highest mean 4Q ROC-AUC, then the order of ``keys``.
    None when ``keys`` is empty. Entries may be malformed (then unvalidated)."""
    keys = list(keys)
    if not keys:
        return None
    by_key = {str(e.get("key")): e for e in entries if isinstance(e, Mapping)}

    def rank(item: tuple[int, str]) -> tuple[int, float, int]:
        i, key = item
        entry = by_key.get(key, {"key": key})
        level = trust_of(entry).level
        return TRUST_LEVELS.index(level) if level in TRUST_LEVELS else len(TRUST_LEVELS), -_real_score(entry), i

    return min(enumerate(keys), key=rank)[1]



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
