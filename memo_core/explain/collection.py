"""A collection's songs table (a LIBRARY's ``songs``, :mod:`memo_core.experiments.library.store`) turned into what the
dashboard's Library page shows: the per-model columns, filters, values per model for histograms, folders to
compare, and the difference between two subsets' distributions.

Everything here takes and returns pandas tables; nothing reads files.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from memo_core.errors import MemoError

__all__ = ["TARGETS", "LIBRARY_AVERAGE", "library_models", "song_position", "filter_songs", "tags_of", "model_values",
           "folders_of", "in_folder", "subset_difference", "label_agreement"]

TARGETS = ("valence", "arousal")
#: The model choice that means "the song means averaged over every per-frame model" (the table's own columns).
LIBRARY_AVERAGE = "all models (average)"


def library_models(songs: pd.DataFrame) -> list[str]:
    """The per-frame models of a songs table: every ``KEY`` with both ``KEY_valence_mean`` and ``KEY_arousal_mean``."""
    keys = [c[: -len("_valence_mean")] for c in songs.columns if c.endswith("_valence_mean")]
    return [k for k in keys if f"{k}_arousal_mean" in songs.columns]


def song_position(songs: pd.DataFrame, model: str = LIBRARY_AVERAGE) -> pd.DataFrame:
    """``songs`` with ``x_valence`` and ``x_arousal``: the song means of ``model`` (its ``KEY_*_mean`` columns),
    or of every model averaged (the ``valence`` and ``arousal`` columns) for :data:`LIBRARY_AVERAGE`.

    Raises:
        MemoError: ``model`` is not a model of the table.
    """
    if model == LIBRARY_AVERAGE:
        columns = ("valence", "arousal")
    elif model in library_models(songs):
        columns = (f"{model}_valence_mean", f"{model}_arousal_mean")
    else:
        raise MemoError(f"{model!r} is not a model of this library; choose one of "
                        f"{', '.join([LIBRARY_AVERAGE, *library_models(songs)])}.")
    return songs.assign(x_valence=pd.to_numeric(songs[columns[0]], errors="coerce"),
                        x_arousal=pd.to_numeric(songs[columns[1]], errors="coerce"))


def tags_of(songs: pd.DataFrame) -> list[str]:
    """Every tag in the table's ``top_tags`` (comma-separated), sorted."""
    if "top_tags" not in songs:
        return []
    found = {t.strip() for text in songs["top_tags"].fillna("").astype(str) for t in text.split(",")}
    return sorted(t for t in found if t)


def filter_songs(songs: pd.DataFrame, *, quadrants: Iterable[str] | None = None, model: str = LIBRARY_AVERAGE,
                 duration: tuple[float, float] | None = None, tags: Iterable[str] = (), path_text: str = "",
                 ) -> pd.DataFrame:
    """The songs that pass every filter, with their position (:func:`song_position`) for ``model``.

    Args:
        quadrants: keep songs whose ``quadrant`` is one of these (None: any).
        model: a per-frame model key (songs it has no value for are left out) or :data:`LIBRARY_AVERAGE`.
        duration: ``(lo, hi)`` seconds, both included (None: any).
        tags: keep songs whose ``top_tags`` hold every one of these.
        path_text: keep songs whose ``path`` holds this text (case-insensitive).
    """
    out = song_position(songs, model)
    keep = np.ones(len(out), bool)
    if quadrants is not None:
        keep &= out["quadrant"].isin(list(quadrants)).to_numpy()
    if model != LIBRARY_AVERAGE:
        keep &= (out["x_valence"].notna() & out["x_arousal"].notna()).to_numpy()
    if duration is not None:
        seconds = pd.to_numeric(out["duration_s"], errors="coerce")
        keep &= ((seconds >= duration[0]) & (seconds <= duration[1])).to_numpy()
    wanted = [t.strip() for t in tags if t and t.strip()]
    if wanted:
        listed = out["top_tags"].fillna("").astype(str).map(lambda s: {t.strip() for t in s.split(",")})
        keep &= listed.map(lambda have: all(t in have for t in wanted)).to_numpy(bool)
    if path_text.strip():
        keep &= out["path"].astype(str).str.contains(path_text.strip(), case=False, regex=False).to_numpy()
    return out[keep]


def model_values(songs: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """The song means of each model in long form (``model, target, value``), for histograms per model."""
    rows = []
    for key in (library_models(songs) if models is None else models):
        for target in TARGETS:
            column = f"{key}_{target}_mean"
            if column in songs:
                values = pd.to_numeric(songs[column], errors="coerce").dropna()
                rows.append(pd.DataFrame({"model": key, "target": target, "value": values.to_numpy(float)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["model", "target", "value"])


def folders_of(paths: Iterable[str]) -> list[str]:
    """The folders holding the songs (each song's folder and every folder above it, up to the folder all share),
    sorted: the subsets a collection is most naturally split into."""
    parents = {posixpath.dirname(str(p).replace("\\", "/")) for p in paths if str(p)}
    if not parents:
        return []
    common = posixpath.commonpath(list(parents)) if len(parents) > 1 else next(iter(parents))
    found = set()
    for parent in parents:
        while parent and parent not in found:
            found.add(parent)
            if parent == common or posixpath.dirname(parent) == parent:
                break
            parent = posixpath.dirname(parent)
    return sorted(found)


def in_folder(songs: pd.DataFrame, folder: str) -> pd.DataFrame:
    """The songs whose ``path`` lies in ``folder`` (at any depth)."""
    folder = folder.replace("\\", "/").rstrip("/")
    paths = songs["path"].astype(str).str.replace("\\", "/", regex=False)
    return songs[paths.str.startswith(folder + "/")]


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    from scipy import stats  # lazy: scipy.stats costs an import only when subsets are compared

    if len(values) < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def subset_difference(a: pd.DataFrame, b: pd.DataFrame, columns: Sequence[str] = ("x_valence", "x_arousal"), *,
                      level: float = 0.95) -> pd.DataFrame:
    """How subset ``b``'s song means differ from subset ``a``'s, one row per column.

    Columns of the result: ``target``, ``n_a``, ``mean_a``, ``a_lo``, ``a_hi`` (the mean's ``level`` t interval),
    the same for ``b``, ``difference`` (mean of b minus mean of a) with ``diff_lo``, ``diff_hi`` (Welch's
    interval), and ``ks`` and ``ks_p``: the two-sample Kolmogorov-Smirnov statistic (the largest gap between the
    two subsets' distribution functions, 0 to 1) and its p-value (scipy). Intervals need two songs in a subset
    (else NaN).

    Raises:
        MemoError: a subset has no song with a value (nothing to compare).
    """
    from scipy import stats  # lazy: scipy.stats costs an import only when subsets are compared

    rows = []
    for column in columns:
        x = pd.to_numeric(a[column], errors="coerce").dropna().to_numpy(float)
        y = pd.to_numeric(b[column], errors="coerce").dropna().to_numpy(float)
        if len(x) == 0 or len(y) == 0:
            which = "A" if len(x) == 0 else "B"
            raise MemoError(f"subset {which} has no song with a {column.removeprefix('x_')} value; choose subsets "
                            "that both hold songs.")
        diff_lo = diff_hi = math.nan
        if len(x) >= 2 and len(y) >= 2:
            va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
            se = math.sqrt(va + vb)
            if se > 0:
                dof = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(y) - 1))
                half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
            else:
                half = 0.0
            diff_lo, diff_hi = float(y.mean() - x.mean() - half), float(y.mean() - x.mean() + half)
        ks = stats.ks_2samp(x, y)
        rows.append({"target": column.removeprefix("x_"), "n_a": len(x), "mean_a": float(x.mean()),
                     "a_lo": _interval(x, level)[0], "a_hi": _interval(x, level)[1], "n_b": len(y),
                     "mean_b": float(y.mean()), "b_lo": _interval(y, level)[0], "b_hi": _interval(y, level)[1],
                     "difference": float(y.mean() - x.mean()), "diff_lo": diff_lo, "diff_hi": diff_hi,
                     "ks": float(ks.statistic), "ks_p": float(ks.pvalue)})
    return pd.DataFrame(rows)


def label_agreement(songs: pd.DataFrame, model: str = LIBRARY_AVERAGE, *, level: float = 0.95) -> pd.DataFrame:
    """How often ``model``'s song means (:func:`song_position`) fall on the same side of neutral as the listeners'
    labels of the dataset songs among ``songs`` (``label_valence``, ``label_arousal``), per dataset and target.

    Columns: ``dataset``, ``target``, ``n`` (songs with a label off neutral and a song mean), ``agree`` (of them,
    those on the label's side), ``share`` (agree / n; 0.5 is what a coin gives) with ``lo`` and ``hi``, its
    Wilson score interval at ``level``. Empty when no song has a label.
    """
    from scipy import stats  # lazy: scipy.stats costs an import only when labels are compared

    columns = ["dataset", "target", "n", "agree", "share", "lo", "hi"]
    if "dataset" not in songs or not len(songs):
        return pd.DataFrame(columns=columns)
    placed = song_position(songs, model)
    rows = []
    datasets = placed["dataset"].fillna("").astype(str)
    for name in sorted(set(datasets) - {""}):
        part = placed[datasets == name]
        for target in TARGETS:
            label = pd.to_numeric(part.get(f"label_{target}"), errors="coerce").to_numpy(float)
            mean = part[f"x_{target}"].to_numpy(float)
            ok = np.isfinite(label) & np.isfinite(mean) & (label != 0)
            n = int(ok.sum())
            if not n:
                continue
            agree = int((np.sign(label[ok]) == np.sign(mean[ok])).sum())
            ci = stats.binomtest(agree, n).proportion_ci(confidence_level=level, method="wilson")
            rows.append({"dataset": name, "target": target, "n": n, "agree": agree, "share": agree / n,
                         "lo": float(ci.low), "hi": float(ci.high)})
    return pd.DataFrame(rows, columns=columns)
