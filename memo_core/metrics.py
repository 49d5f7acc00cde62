"""Evaluation metrics for dynamic (per-frame) emotion regression and mood tagging.

Every metric is a pure function: it validates its inputs, raises
:class:`~memo_core.errors.MetricError` with a message naming the problem
("y_true has 60 frames but y_pred has 59"), and returns a Python ``float``.
Implementations come from scipy and scikit-learn where they exist.

Frame-level regression (1-D ``y_true``, ``y_pred`` of one series):
    :func:`rmse`, :func:`mae`, :func:`pearson_r`, :func:`ccc` (Lin's concordance
    correlation coefficient), :func:`r2` (coefficient of determination) and
    :func:`kendall_tau` (tau-b).

Over a test set of songs, a frame metric can be aggregated two ways, and the
papers MEMO reproduces do not agree on which:

* **pooled** (:func:`pooled`): concatenate all songs' frames, compute once.
  Long songs weigh more; between-song differences in level count towards the
  correlation.
* **per song** (:func:`per_song`): compute the metric on each song, then take
  the unweighted mean over songs. Songs on which the metric is undefined (a
  correlation on a constant series) are skipped.

:func:`regression_report` reports both where the papers differ. Its stable names,
for each target ``t`` in ``("valence", "arousal")``:

=========================  ==========  ==========================================
name                       aggregate   used by
=========================  ==========  ==========================================
``t/RMSE``                 pooled      Ma et al. 2017 (MCA), Li et al. 2016
                                       (DBLSTM-ELM); both report RMSE, without
                                       always saying how it is aggregated
``t/RMSE-per-song``        per song    Zhang et al. 2023 (DAMFF)
``t/MAE``                  pooled      Chaki et al. 2020 (10-fold CV)
``t/r``                    pooled      Pearson's r, a common companion metric
``t/r-per-song``           per song    Zhang et al. 2023 (DAMFF's "PCC")
``t/CCC``                  pooled      for comparison with the per-song value
``t/CCC-per-song``         per song    Zhang et al. 2023 (DAMFF)
``t/R2``                   pooled      Chaki et al. 2020
``t/tau-per-song``         per song    Chaki et al. 2020 (Kendall's tau-b)
=========================  ==========  ==========================================

Mood tagging (Rajamani et al. 2020 on MTG-Jamendo) uses :func:`roc_auc_macro` and
:func:`pr_auc_macro`, computed as mtg-jamendo's ``scripts/mediaeval/evaluate.py``
does (scikit-learn, ``average="macro"`` over tags); :func:`tagging_report` names
them ``"ROC-AUC-macro"`` and ``"PR-AUC-macro"``.

Annotation consistency: :func:`cronbach_alpha`, as DEAM reports it between raters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from memo_core.errors import MetricError

__all__ = [
    "rmse",
    "mae",
    "pearson_r",
    "ccc",
    "r2",
    "kendall_tau",
    "per_song",
    "pooled",
    "kendall_tau_per_song",
    "cronbach_alpha",
    "roc_auc_macro",
    "pr_auc_macro",
    "REGRESSION_METRICS",
    "regression_report",
    "tagging_report",
    "roc_auc",
    "bootstrap",
]

FrameMetric = Callable[[np.ndarray, np.ndarray], float]

#: The per-target metric names :func:`regression_report` gives (``valence/RMSE``, ...), in its order.
REGRESSION_METRICS = ("RMSE", "RMSE-per-song", "MAE", "r", "r-per-song", "CCC", "CCC-per-song", "R2", "tau-per-song")


# --------------------------------------------------------------------------- validation


def _as_float_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricError(f"{name} must be numeric, could not convert it to floats: {exc}") from None
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise MetricError(f"{name} has {bad} non-finite value(s) (NaN or inf); drop or fill them first")


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Validate one series pair: 1-D, same length, non-empty, finite. Returns float64 copies."""
    t = _as_float_array(y_true, "y_true")
    p = _as_float_array(y_pred, "y_pred")
    for arr, name in ((t, "y_true"), (p, "y_pred")):
        if arr.ndim != 1:
            raise MetricError(f"{name} must be 1-D [shape=(n_frames,)], got shape {arr.shape}")
    if t.shape[0] != p.shape[0]:
        raise MetricError(f"y_true has {t.shape[0]} frames but y_pred has {p.shape[0]}")
    if t.shape[0] == 0:
        raise MetricError("y_true and y_pred are empty (0 frames)")
    _check_finite(t, "y_true")
    _check_finite(p, "y_pred")
    return t, p


def _is_constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0]))


# --------------------------------------------------------------------------- frame metrics


def rmse(y_true, y_pred) -> float:
    """Root mean squared error.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        ``sqrt(mean((y_true - y_pred) ** 2))``.

    Raises:
        MetricError: If the inputs are not 1-D, differ in length, are empty or
            hold NaN/inf.
    """
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(skm.mean_squared_error(t, p)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        ``mean(abs(y_true - y_pred))``.

    Raises:
        MetricError: As :func:`rmse`.
    """
    t, p = _check_pair(y_true, y_pred)
    return float(skm.mean_absolute_error(t, p))


def pearson_r(y_true, y_pred) -> float:
    """Pearson's correlation coefficient.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        r in [-1, 1], or ``nan`` when it is undefined: when either series is
        constant (zero variance; this includes a single frame). An undefined
        correlation is not an input error, so it is not raised; :func:`per_song`
        skips such songs.

    Raises:
        MetricError: As :func:`rmse`.
    """
    t, p = _check_pair(y_true, y_pred)
    if _is_constant(t) or _is_constant(p):
        return float("nan")
    return float(stats.pearsonr(t, p).statistic)


def ccc(y_true, y_pred) -> float:
    """Lin's concordance correlation coefficient (Lin 1989), with population variances.

    ``ccc = 2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p)) ** 2)``, where
    ``cov`` and ``var`` divide by ``n_frames`` (ddof=0). Unlike Pearson's r it
    penalises a shift or a change of scale between prediction and reference.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        CCC in [-1, 1]. ``0.0`` for two constant series with different values;
        ``nan`` (undefined, 0/0) only when both series are the same constant.

    Raises:
        MetricError: As :func:`rmse`.
    """
    t, p = _check_pair(y_true, y_pred)
    mt, mp = t.mean(), p.mean()
    cov = np.mean((t - mt) * (p - mp))
    denom = t.var() + p.var() + (mt - mp) ** 2
    if denom == 0.0:
        return float("nan")
    return float(2.0 * cov / denom)


def r2(y_true, y_pred) -> float:
    """Coefficient of determination, ``1 - SS_res / SS_tot`` (scikit-learn's definition).

    It is not the square of a correlation: it is 1 for a perfect prediction, 0
    for always predicting the mean of ``y_true``, and negative for worse.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        R^2, or ``nan`` when ``y_true`` is constant (SS_tot = 0, undefined).
        scikit-learn's default instead substitutes 1.0 or 0.0 there
        (``force_finite=True``); MEMO returns ``nan`` so :func:`per_song`
        skips such songs rather than averaging in an arbitrary value.

    Raises:
        MetricError: As :func:`rmse`.
    """
    t, p = _check_pair(y_true, y_pred)
    if _is_constant(t):
        return float("nan")
    return float(skm.r2_score(t, p))


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's rank correlation, tau-b (ties accounted for), via :func:`scipy.stats.kendalltau`.

    Args:
        y_true: Reference values. [shape=(n_frames,)]
        y_pred: Predictions. [shape=(n_frames,)]

    Returns:
        tau-b in [-1, 1], or ``nan`` when either series is constant (undefined).

    Raises:
        MetricError: As :func:`rmse`.
    """
    t, p = _check_pair(y_true, y_pred)
    if _is_constant(t) or _is_constant(p):
        return float("nan")
    return float(stats.kendalltau(t, p, variant="b").statistic)


# --------------------------------------------------------------------------- aggregation over songs


def _check_songs(songs_true, songs_pred) -> tuple[list, list]:
    if isinstance(songs_true, Mapping) or isinstance(songs_pred, Mapping):
        raise MetricError("songs_true and songs_pred must be sequences of per-song arrays, not mappings")
    try:
        st, sp = list(songs_true), list(songs_pred)
    except TypeError:
        raise MetricError("songs_true and songs_pred must be sequences of per-song arrays") from None
    if len(st) != len(sp):
        raise MetricError(f"songs_true has {len(st)} songs but songs_pred has {len(sp)}")
    if not st:
        raise MetricError("songs_true and songs_pred are empty (0 songs)")
    return st, sp


def _check_song_pair(i: int, t, p) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _check_pair(t, p)
    except MetricError as exc:
        raise MetricError(f"song {i}: {exc}") from None


def per_song(metric: FrameMetric, songs_true: Sequence[np.ndarray], songs_pred: Sequence[np.ndarray]) -> float:
    """Compute ``metric`` on each song, then the unweighted mean over songs.

    Songs on which the metric is ``nan`` (undefined, e.g. a correlation on a
    constant annotation) are left out of the mean; if it is ``nan`` on every
    song, the result is ``nan``.

    Args:
        metric: A frame metric such as :func:`rmse` or :func:`ccc`.
        songs_true: One reference series per song, each [shape=(n_frames_i,)].
        songs_pred: One prediction series per song, in the same order, each
            [shape=(n_frames_i,)].

    Returns:
        The mean of the per-song values.

    Raises:
        MetricError: If the song counts differ, there are no songs, or a song's
            pair is invalid (the message names the song's index).
    """
    st, sp = _check_songs(songs_true, songs_pred)
    values = []
    for i, (t, p) in enumerate(zip(st, sp)):
        t, p = _check_song_pair(i, t, p)
        values.append(metric(t, p))
    values = np.asarray(values, dtype=np.float64)
    kept = values[~np.isnan(values)]
    if kept.size == 0:
        return float("nan")
    return float(kept.mean())


def pooled(metric: FrameMetric, songs_true: Sequence[np.ndarray], songs_pred: Sequence[np.ndarray]) -> float:
    """Concatenate every song's frames and compute ``metric`` once.

    Each song's pair is checked for equal length before concatenating, so a
    mismatch cannot hide behind equal totals.

    Args:
        metric: A frame metric such as :func:`rmse` or :func:`ccc`.
        songs_true: One reference series per song, each [shape=(n_frames_i,)].
        songs_pred: One prediction series per song, in the same order, each
            [shape=(n_frames_i,)].

    Returns:
        The metric over all ``sum(n_frames_i)`` frames.

    Raises:
        MetricError: As :func:`per_song`.
    """
    st, sp = _check_songs(songs_true, songs_pred)
    pairs = [_check_song_pair(i, t, p) for i, (t, p) in enumerate(zip(st, sp))]
    return metric(np.concatenate([t for t, _ in pairs]), np.concatenate([p for _, p in pairs]))


def kendall_tau_per_song(songs_true: Sequence[np.ndarray], songs_pred: Sequence[np.ndarray]) -> float:
    """Kendall's tau-b on each song, averaged over songs (Chaki et al. 2020).

    Args:
        songs_true: One reference series per song, each [shape=(n_frames_i,)].
        songs_pred: One prediction series per song, each [shape=(n_frames_i,)].

    Returns:
        The mean tau-b over songs where it is defined (see :func:`per_song`).

    Raises:
        MetricError: As :func:`per_song`.
    """
    return per_song(kendall_tau, songs_true, songs_pred)


# --------------------------------------------------------------------------- annotation consistency


def cronbach_alpha(ratings) -> float:
    """Cronbach's alpha between raters, as DEAM reports annotation consistency.

    Orientation: **rows are the rated samples** (frames or songs) and **columns
    are raters**. In psychometric terms the raters play the part of the test's
    "items" and the samples that of the respondents, so with ``k = n_raters``::

        alpha = k / (k - 1) * (1 - sum_j var(ratings[:, j]) / var(ratings.sum(axis=1)))

    (sample variances, ddof=1; the ratio does not depend on ddof). Pass the
    transpose if your matrix is (n_raters, n_samples).

    Args:
        ratings: One column per rater. [shape=(n_samples, n_raters)]

    Returns:
        alpha (at most 1; 1 when all raters agree exactly, up to a constant
        offset per rater), or ``nan`` when the summed ratings are constant
        (zero total variance, undefined).

    Raises:
        MetricError: If ``ratings`` is not 2-D, has fewer than 2 samples or 2
            raters, or holds NaN/inf (drop samples with missing ratings first).
    """
    r = _as_float_array(ratings, "ratings")
    if r.ndim != 2:
        raise MetricError(f"ratings must be 2-D [shape=(n_samples, n_raters)], got shape {r.shape}")
    n_samples, n_raters = r.shape
    if n_raters < 2:
        raise MetricError(f"ratings has {n_raters} rater column(s); Cronbach's alpha needs at least 2")
    if n_samples < 2:
        raise MetricError(f"ratings has {n_samples} sample row(s); Cronbach's alpha needs at least 2")
    _check_finite(r, "ratings")
    total_var = r.sum(axis=1).var(ddof=1)
    if total_var == 0.0:
        return float("nan")
    item_var = r.var(axis=0, ddof=1).sum()
    return float(n_raters / (n_raters - 1) * (1.0 - item_var / total_var))


# --------------------------------------------------------------------------- tagging


def _check_tags(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Validate a tag matrix pair: 2-D, same shape, non-empty, finite, binary ``y_true``."""
    t = _as_float_array(y_true, "y_true")
    s = _as_float_array(scores, "scores")
    for arr, name in ((t, "y_true"), (s, "scores")):
        if arr.ndim != 2:
            raise MetricError(
                f"{name} must be 2-D [shape=(n_songs, n_tags)], got shape {arr.shape}; "
                "for a single tag use .reshape(-1, 1)"
            )
    if t.shape != s.shape:
        raise MetricError(f"y_true has shape {t.shape} but scores has shape {s.shape}")
    if t.size == 0:
        raise MetricError(f"y_true and scores are empty (shape {t.shape})")
    _check_finite(t, "y_true")
    _check_finite(s, "scores")
    if not np.all((t == 0) | (t == 1)):
        others = np.unique(t[(t != 0) & (t != 1)])[:5]
        raise MetricError(f"y_true must be binary (0 or 1), found other values such as {others.tolist()}")
    return t.astype(np.int64), s


def _usable_tags(t: np.ndarray, skip_degenerate: bool, *, stacklevel: int = 3) -> np.ndarray:
    """Indices of tags with at least one positive and one negative song; warn or raise on the rest."""
    n_pos = t.sum(axis=0)
    ok = (n_pos > 0) & (n_pos < t.shape[0])
    bad = np.flatnonzero(~ok)
    if bad.size:
        what = f"{bad.size} of {t.shape[1]} tag(s) (columns {bad[:10].tolist()}) have only one class in y_true"
        if not skip_degenerate:
            raise MetricError(f"{what}; AUC is undefined for them. Pass skip_degenerate=True to leave them out")
        if bad.size == t.shape[1]:
            raise MetricError(f"all {what}; no tag can be evaluated")
        warnings.warn(f"{what}; they are left out of the macro average", UserWarning, stacklevel=stacklevel)
    return np.flatnonzero(ok)


def roc_auc_macro(y_true, scores, *, skip_degenerate: bool = False) -> float:
    """Area under the ROC curve per tag, averaged over tags (macro), via scikit-learn.

    Args:
        y_true: Binary ground truth, 1 where the song has the tag.
            [shape=(n_songs, n_tags)]
        scores: Scores or probabilities, higher meaning more likely.
            [shape=(n_songs, n_tags)]
        skip_degenerate: What to do with a tag whose column in ``y_true`` is all
            0 or all 1 (AUC undefined). ``False`` (default, as mtg-jamendo's
            evaluate.py, which lets scikit-learn fail): raise. ``True``: leave
            the tag out of the average and emit a ``UserWarning`` giving how
            many were left out. Note that the result then averages fewer tags
            and is not directly comparable with published numbers.

    Returns:
        Macro ROC-AUC in [0, 1].

    Raises:
        MetricError: If the inputs are not 2-D, differ in shape, are empty, hold
            NaN/inf, ``y_true`` is not binary, or a tag is degenerate (see
            ``skip_degenerate``; all tags degenerate always raises).
    """
    t, s = _check_tags(y_true, scores)
    keep = _usable_tags(t, skip_degenerate)
    return float(skm.roc_auc_score(t[:, keep], s[:, keep], average="macro"))


def pr_auc_macro(y_true, scores, *, skip_degenerate: bool = False) -> float:
    """Average precision (area under the precision-recall curve) per tag, macro-averaged.

    Computed with :func:`sklearn.metrics.average_precision_score` (step-wise
    sum, no interpolation). Degenerate tags are handled exactly as in
    :func:`roc_auc_macro`, so both macro averages always cover the same tags.

    Args:
        y_true: Binary ground truth. [shape=(n_songs, n_tags)]
        scores: Scores or probabilities. [shape=(n_songs, n_tags)]
        skip_degenerate: See :func:`roc_auc_macro`.

    Returns:
        Macro PR-AUC in [0, 1].

    Raises:
        MetricError: As :func:`roc_auc_macro`.
    """
    t, s = _check_tags(y_true, scores)
    keep = _usable_tags(t, skip_degenerate)
    return float(skm.average_precision_score(t[:, keep], s[:, keep], average="macro"))


# --------------------------------------------------------------------------- reports


def regression_report(
    songs_true: Mapping[str, Sequence[np.ndarray]],
    songs_pred: Mapping[str, Sequence[np.ndarray]],
    *,
    targets: Sequence[str] = ("valence", "arousal"),
) -> dict[str, float]:
    """All regression metrics for each target, under MEMO's stable names.

    For each target ``t``: ``t/RMSE``, ``t/MAE``, ``t/r``, ``t/CCC``, ``t/R2``
    (pooled over frames) and ``t/RMSE-per-song``, ``t/r-per-song``,
    ``t/CCC-per-song``, ``t/tau-per-song`` (mean over songs); see the module docstring for which
    paper reports which.

    Args:
        songs_true: For each target name, one reference series per song, each
            [shape=(n_frames_i,)].
        songs_pred: The same layout for the predictions.
        targets: Target names to report, in order.

    Returns:
        ``{"valence/RMSE": ..., "valence/RMSE-per-song": ..., ...}``, keys in
        the order of ``targets`` then the order above.

    Raises:
        MetricError: If a target is missing from either mapping, or any song's
            pair is invalid (the message names the target and song).
    """
    if isinstance(targets, str):
        raise MetricError(f"targets must be a sequence of names, not the string {targets!r}")
    if not targets:
        raise MetricError("targets is empty; name at least one target such as 'valence'")
    report: dict[str, float] = {}
    for target in targets:
        for mapping, name in ((songs_true, "songs_true"), (songs_pred, "songs_pred")):
            if target not in mapping:
                raise MetricError(f"{name} has no target {target!r}; it has {sorted(mapping)}")
        st, sp = songs_true[target], songs_pred[target]
        try:
            report[f"{target}/RMSE"] = pooled(rmse, st, sp)
            report[f"{target}/RMSE-per-song"] = per_song(rmse, st, sp)
            report[f"{target}/MAE"] = pooled(mae, st, sp)
            report[f"{target}/r"] = pooled(pearson_r, st, sp)
            report[f"{target}/r-per-song"] = per_song(pearson_r, st, sp)
            report[f"{target}/CCC"] = pooled(ccc, st, sp)
            report[f"{target}/CCC-per-song"] = per_song(ccc, st, sp)
            report[f"{target}/R2"] = pooled(r2, st, sp)
            report[f"{target}/tau-per-song"] = kendall_tau_per_song(st, sp)
        except MetricError as exc:
            raise MetricError(f"{target}: {exc}") from None
    return report


def tagging_report(y_true, scores, *, skip_degenerate: bool = False) -> dict[str, float]:
    """Macro ROC-AUC and PR-AUC under MEMO's stable names.

    Args:
        y_true: Binary ground truth. [shape=(n_songs, n_tags)]
        scores: Scores or probabilities. [shape=(n_songs, n_tags)]
        skip_degenerate: See :func:`roc_auc_macro`.

    Returns:
        ``{"ROC-AUC-macro": ..., "PR-AUC-macro": ...}``.

    Raises:
        MetricError: As :func:`roc_auc_macro`.
    """
    t, s = _check_tags(y_true, scores)
    # Choose the tags once, so a degenerate-tag warning is given once for both averages.
    keep = _usable_tags(t, skip_degenerate, stacklevel=3)
    return {
        "ROC-AUC-macro": roc_auc_macro(t[:, keep], s[:, keep]),
        "PR-AUC-macro": pr_auc_macro(t[:, keep], s[:, keep]),
    }


# --------------------------------------------------------------------------- intervals and clip scores


def roc_auc(labels, scores) -> float:
    """ROC-AUC of one binary label by the Mann-Whitney rank sum (ties get average ranks; the value
    sklearn's ``roc_auc_score`` gives, at a fraction of its cost, for thousands of bootstrap resamples).

    Args:
        labels: True for the positive class. [shape=(n,)]
        scores: higher = more positive. [shape=(n,)]

    Returns:
        The AUC in [0, 1], or ``nan`` when it is undefined (one class only, or a non-finite score).
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0 or not np.all(np.isfinite(scores)):
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap(n_items: int, stat: Callable[[np.ndarray], float], *, n_boot: int = 2000, seed: int = 0,
              level: float = 0.9) -> dict[str, float]:
    """A statistic over items (songs) and its percentile bootstrap interval, items resampled with replacement.

    Songs, not frames, are the unit: frames of one song are not independent.

    Args:
        n_items: how many items the statistic is over.
        stat: the statistic of a selection of item indices (repeats allowed); may return NaN.
        n_boot: resamples.
        seed: resampling seed.
        level: interval coverage.

    Returns:
        ``{"value", "lo", "hi"}``: the statistic on all items and the interval (NaN when undefined,
        e.g. fewer than 2 items, or too few resamples where it is defined).
    """
    nan = float("nan")
    if n_items < 1:
        return {"value": nan, "lo": nan, "hi": nan}
    value = float(stat(np.arange(n_items)))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(int(n_boot)):
        v = stat(rng.integers(0, n_items, n_items))
        if np.isfinite(v):
            draws.append(float(v))
    if n_items < 2 or len(draws) < max(10, n_boot // 10):
        return {"value": value, "lo": nan, "hi": nan}
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return {"value": value, "lo": float(lo), "hi": float(hi)}
