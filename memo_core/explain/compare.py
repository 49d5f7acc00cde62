"""Comparison tables for the dashboard's Compare page: the shipped checkpoints, the papers' figures, a live run.

Nothing here computes a metric. The held-out metrics come from
``checkpoints/manifest.json`` (written when the checkpoints were trained), the
papers' figures from the tables transcribed in :mod:`memo_core.reproduce`, and a
small live experiment from :func:`memo_core.experiments.compare.compare_models`; this module
arranges them into frames:

* :func:`checkpoint_metrics`: one row per regression checkpoint, the valence and
  arousal value of one metric, with what it was trained on;
* :func:`tagger_metrics`: one row per tagger (ROC-AUC, PR-AUC, F1 macro);
* :func:`paper_rows`: each paper row that corresponds to a shipped checkpoint,
  one row per metric, the paper's figure beside ours (never comparable: the
  papers' datasets are not the synthetic corpus);
* :func:`seed_summary`: a live run's rows (one per model, feature set and seed,
  from :func:`memo_core.experiments.compare_features.run_experiment`) as the mean,
  standard deviation, minimum and maximum over the seeds;
* :func:`compare_headline`: that summary read in one sentence (which model is
  best on which target, whether the neural models beat the linear baseline,
  whether per-song CCC is near zero).

>>> from memo_core.defaults import read_manifest
>>> entries = read_manifest()["checkpoints"]                       # doctest: +SKIP
>>> checkpoint_metrics(entries, "CCC")                             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd

from memo_core.models.registry import get_model
from memo_core.papers import DATASET_NAMES, PAPER_SPECS, RunSpec
from memo_core.pretrained import FEATURE_SUBSET_FAMILY, FEATURE_SUBSETS

__all__ = [
    "TARGETS",
    "TAG_METRICS",
    "EXPERIMENT_MODELS",
    "EXPERIMENT_FEATURES",
    "EXPERIMENT_METRICS",
    "METRIC_DESCRIPTIONS",
    "lower_is_better",
    "metric_names",
    "checkpoint_metrics",
    "feature_subset_metrics",
    "tagger_metrics",
    "paper_rows",
    "BASELINE_MODEL",
    "seed_summary",
    "compare_headline",
]

TARGETS = ("valence", "arousal")



TAG_METRICS = ("ROC-AUC-macro", "PR-AUC-macro", "F1-macro")



#: Per-frame models quick enough to train in seconds at their tiny presets (``mlr`` is the linear baseline).
EXPERIMENT_MODELS: dict[str, str] = {
    "mlr": "paper", "ma_lstm": "tiny", "ma_alstm": "tiny", "mca": "tiny", "chaki_lstm": "tiny", "at": "tiny",
    "bat": "tiny", "transformer": "tiny",
}



#: The 500 ms feature sets of the feature-subset checkpoints, fastest first (openSMILE's two are about
#: 7x slower to extract than chroma).
EXPERIMENT_FEATURES = FEATURE_SUBSETS



#: Per-target metrics the live experiment's table shows first.
EXPERIMENT_METRICS = ("RMSE", "CCC", "CCC-per-song", "r-per-song", "R2")



#: What each per-target metric is (:mod:`memo_core.metrics`): pooled over every annotated test frame,
#: or computed per song and averaged over the test songs.
METRIC_DESCRIPTIONS = {
    "RMSE": "root mean squared error, pooled over the test frames (lower is better)",
    "RMSE-per-song": "RMSE per song, averaged over the test songs (lower is better)",
    "MAE": "mean absolute error, pooled over the test frames (lower is better)",
    "r": "Pearson correlation, pooled over the test frames",
    "r-per-song": "Pearson correlation per song, averaged over the test songs (Zhang et al.'s PCC)",
    "CCC": "concordance correlation, pooled over the test frames",
    "CCC-per-song": "concordance correlation per song, averaged over the test songs",
    "R2": "coefficient of determination, pooled over the test frames (1 is perfect, below 0 is worse than "
          "the mean)",
    "tau-per-song": "Kendall's tau-b per song, averaged over the test songs (Chaki et al.)",
}



#: Metric suffixes where smaller is better (the others: larger).
_LOWER_BETTER = ("RMSE", "MAE")



#: Config fields of a paper row's run that say how targets are trained, not what the model is:
#: a checkpoint trained jointly still corresponds to the row.
_PROTOCOL_FIELDS = frozenset({"per_target_networks"})



def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` (``"RMSE"``, ``"valence/RMSE-per-song"``) is better."""
    return metric.rsplit("/", 1)[-1].startswith(_LOWER_BETTER)



def _regression(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in entries if e.get("task", "regression") == "regression" and isinstance(e.get("metrics"), Mapping)]



def metric_names(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The per-target metric names (``"CCC"``, ``"RMSE"``, ...) the regression checkpoints all report.

    Ordered as the manifest writes them, so the choice lists read alike each run.
    """
    found: list[str] = []
    common: set[str] | None = None
    for entry in _regression(entries):
        names = {key.split("/", 1)[1] for key in entry["metrics"] if "/" in key and key.split("/")[0] in TARGETS}
        common = names if common is None else common & names
        for key in entry["metrics"]:
            name = key.split("/", 1)[-1]
            if "/" in key and name not in found:
                found.append(name)
    return [n for n in found if common and n in common]



def _split_sizes(entry: Mapping[str, Any]) -> dict[str, Any]:
    sizes = entry.get("split_sizes") or {}
    return {"train songs": sizes.get("train"), "validation songs": sizes.get("validation"),
            "test songs": sizes.get("test")}



def _value(entry: Mapping[str, Any], key: str) -> float | None:
    value = (entry.get("metrics") or {}).get(key)
    return None if value is None else float(value)



def checkpoint_metrics(entries: Sequence[Mapping[str, Any]], metric: str, *,
                       families: Sequence[str] | None = None,
                       exclude_families: Sequence[str] = ()) -> pd.DataFrame:
    """One row per regression checkpoint: valence and arousal ``metric`` and what it was trained on.

    Args:
        entries: the manifest's ``checkpoints`` list.
        metric: a per-target metric name (``"CCC"``, ``"RMSE-per-song"``; see :func:`metric_names`).
        families: keep only these families (``None``: all).
        exclude_families: leave these out.

    Returns:
        Columns ``checkpoint, family, model, preset, features, valence, arousal, train songs,
        validation songs, test songs, training data``; a metric a checkpoint lacks is NaN.
    """
    rows = []
    for entry in _regression(entries):
        family = str(entry.get("family", ""))
        if (families is not None and family not in families) or family in exclude_families:
            continue
        rows.append({
            "checkpoint": str(entry.get("key")), "family": family, "model": entry.get("model"),
            "preset": entry.get("preset"), "features": entry.get("features"),
            **{target: _value(entry, f"{target}/{metric}") for target in TARGETS},
            **_split_sizes(entry), "training data": entry.get("training_data", ""),
        })
    columns = ["checkpoint", "family", "model", "preset", "features", *TARGETS, "train songs", "validation songs",
               "test songs", "training data"]
    return pd.DataFrame(rows, columns=columns).astype({t: float for t in TARGETS})



def feature_subset_metrics(entries: Sequence[Mapping[str, Any]], metric: str) -> pd.DataFrame:
    """:func:`checkpoint_metrics` of the AT checkpoints on each feature set: ``at`` (on its own features,
    ``deam260_tonal`` in the shipped set) and the feature-subset family (``deam260``, ``chroma``, ...),
    as Chaki et al.'s Tables 3-4."""
    subsets = checkpoint_metrics(entries, metric, families=[FEATURE_SUBSET_FAMILY])
    base = checkpoint_metrics(entries, metric, exclude_families=[FEATURE_SUBSET_FAMILY])
    base = base[base["checkpoint"].isin(set(subsets["model"]))]  # the model's own checkpoint: ``at``
    return pd.concat([base, subsets], ignore_index=True) if len(base) else subsets



def tagger_metrics(entries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per tagging checkpoint: ROC-AUC, PR-AUC and F1 macro, the tags scored and its training data."""
    rows = []
    for entry in entries:
        if entry.get("task") != "tagging":
            continue
        metrics = entry.get("metrics") or {}
        rows.append({
            "checkpoint": str(entry.get("key")), "model": entry.get("model"), "preset": entry.get("preset"),
            "features": entry.get("features"), **{m: _value(entry, m) for m in TAG_METRICS},
            "tags scored": None if metrics.get("n_tags_scored") is None else int(metrics["n_tags_scored"]),
            **_split_sizes(entry), "training data": entry.get("training_data", ""),
        })
    columns = ["checkpoint", "model", "preset", "features", *TAG_METRICS, "tags scored", "train songs",
               "validation songs", "test songs", "training data"]
    return pd.DataFrame(rows, columns=columns)



def _preset_config(model: str, preset: str) -> dict[str, Any]:
    """The config fields of a registered model's preset (empty when it cannot be built)."""

    try:
        config = get_model(model, preset).config
    except Exception:  # noqa: BLE001 - an unknown model or preset simply matches no paper row
        return {}
    return asdict(config) if is_dataclass(config) else dict(getattr(config, "__dict__", {}))



def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b



def _row_matches(run: Any, entry: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    """Whether a paper row's run is the checkpoint's model at its preset and structure (any features)."""

    if not isinstance(run, RunSpec) or run.model != entry.get("model") or run.quick_preset != entry.get("preset"):
        return False
    return all(_same(config.get(name), value) for name, value in run.quick_overrides
               if name not in _PROTOCOL_FIELDS and name in config)



def _compares_features(table: Any) -> bool:
    """A paper table whose rows differ in their feature sets (Chaki Tables 3-4): its rows match on features."""

    return len({row.run.features for row in table.rows if isinstance(row.run, RunSpec)}) > 1



def _ours(entry: Mapping[str, Any], metric: Any) -> float | None:
    if metric.part != "test":
        return None  # the manifest holds test-song metrics only
    if metric.key == "params":
        return None if entry.get("n_parameters") is None else float(entry["n_parameters"])
    return _value(entry, metric.key)



def paper_rows(entries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The papers' published rows that correspond to the shipped checkpoints, figure by figure beside ours.

    A paper row corresponds to a checkpoint when its run (:class:`memo_core.papers.RunSpec`) is the
    checkpoint's model at the tiny preset MEMO uses for it, with the row's structure (window, scales,
    attention, depth): Ma's MCA rows, Li's ELM-fused DBLSTM rows, Chaki's LSTM/AT/BAT/Transformer rows,
    Zhang's DAMFF rows, Rajamani's tagger rows. Rows of a table that compares feature sets (Chaki
    Tables 3-4) match only a checkpoint on the row's features; other rows match a checkpoint on any
    features, flagged in ``note`` when no checkpoint of that model has the paper's features.

    Returns:
        One row per (paper row, metric, checkpoint): ``family, checkpoint, paper, table, caption, paper row,
        dataset, metric, metric key, paper's figure, ours (synthetic corpus), note``. The paper's figure is
        on the paper's dataset; ours on the synthetic corpus's held-out songs: not comparable.
    """

    out = []
    for entry in entries:
        if not entry.get("model") or not entry.get("preset"):
            continue
        config = _preset_config(str(entry["model"]), str(entry["preset"]))
        exact, loose = [], []
        for spec in PAPER_SPECS.values():
            for table in spec.tables:
                by_features = _compares_features(table)
                for row in table.rows:
                    if not _row_matches(row.run, entry, config):
                        continue
                    if row.run.features is None or row.run.features == entry.get("features"):
                        exact.append((spec, table, row))
                    elif not by_features:
                        loose.append((spec, table, row))
        for spec, table, row in exact or loose:
            note = "" if exact else (f"the paper's features: {row.run.features}; this checkpoint's: "
                                     f"{entry.get('features')}")
            for metric in table.metrics:
                out.append({
                    "family": entry.get("family", ""), "checkpoint": str(entry.get("key")),
                    "paper": spec.citation, "table": f"Table {table.number}", "caption": table.caption,
                    "paper row": row.label, "dataset": DATASET_NAMES.get(row.dataset, row.dataset),
                    "metric": metric.label + ("" if metric.part == "test" else f" ({metric.part})"),
                    "metric key": metric.key, "paper's figure": row.figures.get(metric.label),
                    "ours (synthetic corpus)": _ours(entry, metric), "note": note,
                })
    columns = ["family", "checkpoint", "paper", "table", "caption", "paper row", "dataset", "metric", "metric key",
               "paper's figure", "ours (synthetic corpus)", "note"]
    return pd.DataFrame(out, columns=columns).astype({"paper's figure": float, "ours (synthetic corpus)": float})



#: The linear baseline every chart and headline sets the neural models against.
BASELINE_MODEL = "mlr"
#: Per-song CCC whose absolute value stays below this counts as "near zero".
NEAR_ZERO_CCC = 0.15


def seed_summary(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """A live run's rows summarised over the seeds: one row per (feature set, model).

    Args:
        table: one row per (feature set, seed, model) with ``model, features, seed`` and ``<target>/<metric>``
            columns (:func:`memo_core.experiments.compare_features.run_experiment`'s table).
        metrics: the per-target metrics to summarise (default: every ``<target>/<metric>`` column).

    Returns:
        ``model, features, seeds`` (how many), then for each ``<target>/<metric>`` column its mean under the
        same name, and ``... sd`` (standard deviation over the seeds, 0 for one seed), ``... min``,
        ``... max``; rows in the order the models first appear.
    """
    columns = [c for c in table.columns if "/" in c and c.split("/", 1)[0] in TARGETS
               and (metrics is None or c.split("/", 1)[1] in metrics)]
    rows = []
    for (features, model), part in table.groupby(["features", "model"], sort=False):
        row: dict[str, Any] = {"model": model, "features": features,
                               "seeds": int(part["seed"].nunique()) if "seed" in part else len(part)}
        for column in columns:
            values = pd.to_numeric(part[column], errors="coerce").dropna().to_numpy(float)
            row[column] = float(values.mean()) if values.size else float("nan")
            row[f"{column} sd"] = float(values.std(ddof=1)) if values.size > 1 else (0.0 if values.size else
                                                                                     float("nan"))
            row[f"{column} min"] = float(values.min()) if values.size else float("nan")
            row[f"{column} max"] = float(values.max()) if values.size else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _best(frame: pd.DataFrame, column: str) -> pd.Series | None:
    found = frame.dropna(subset=[column]) if column in frame else frame.iloc[0:0]
    if found.empty:
        return None
    index = found[column].idxmin() if lower_is_better(column) else found[column].idxmax()
    return found.loc[index]


def _name(row: pd.Series, several_features: bool) -> str:
    return f"{row['model']} ({row['features']})" if several_features else str(row["model"])


def _with_spread(row: pd.Series, column: str, with_sd: bool) -> str:
    sd = row.get(f"{column} sd")
    return f"{row[column]:.2f}" + (f" ± {sd:.2f}" if with_sd and sd is not None and np.isfinite(sd) else "")


def compare_headline(summary: pd.DataFrame, metric: str = "CCC", *, baseline: str = BASELINE_MODEL,
                     per_song: str = "CCC-per-song") -> str:
    """The result of a live run in plain words, computed from :func:`seed_summary`'s table.

    Says which model is best on each target (with its spread over the seeds), whether the best neural model
    beats the linear baseline on each target by more than the seeds' spread (two standard deviations of the
    difference; a single seed has no spread, so any margin counts, said as such), and, from ``per_song``,
    whether every model's per-song CCC is near zero (within a song the predictions barely follow the
    annotation's rise and fall).

    Returns:
        One or a few sentences; empty for an empty table.
    """
    if summary.empty:
        return ""
    several = summary["features"].nunique() > 1
    seeds = int(summary["seeds"].min()) if "seeds" in summary else 1
    with_sd = seeds > 1
    direction = "lower" if lower_is_better(metric) else "higher"
    sentences = []
    best_words = []
    for target in TARGETS:
        best = _best(summary, f"{target}/{metric}")
        if best is not None:
            best_words.append(f"{_name(best, several)} on {target} ({_with_spread(best, f'{target}/{metric}', with_sd)})")
    if best_words:
        sentences.append(f"Best {metric} ({direction} is better" + (f", mean ± sd over {seeds} seeds" if with_sd
                                                                   else ", one seed") + "): "
                         + " and ".join(best_words) + ".")
    base = summary[summary["model"] == baseline]
    neural = summary[summary["model"] != baseline]
    if base.empty:
        sentences.append(f"No linear baseline ({baseline}) in this run, so there is nothing to say whether the "
                         "neural models beat it.")
    elif neural.empty:
        sentences.append(f"Only the linear baseline ({baseline}) was run.")
    else:
        beats, ties, loses = [], [], []
        for target in TARGETS:
            column = f"{target}/{metric}"
            b, n = _best(base, column), _best(neural, column)
            if b is None or n is None:
                continue
            margin = (b[column] - n[column]) if lower_is_better(metric) else (n[column] - b[column])
            spread = 2.0 * float(np.hypot(b.get(f"{column} sd", 0.0) or 0.0, n.get(f"{column} sd", 0.0) or 0.0))
            words = f"{target} ({_name(n, several)} {n[column]:.2f} vs {b[column]:.2f})"
            if margin > spread:
                beats.append(words)
            elif margin < -spread:
                loses.append(words)
            else:
                ties.append(words)
        if loses and not beats and not ties:
            sentences.append(f"The linear baseline ({baseline}) beats every neural model on every target "
                             "(best neural model vs the baseline): " + "; ".join(loses) + ".")
        else:
            parts = []
            if beats:
                parts.append("a neural model beats the linear baseline on " + "; ".join(beats))
            if ties and with_sd:
                parts.append("no neural model beats the linear baseline beyond the seeds' spread on "
                             + "; ".join(ties))
            elif ties:
                parts.append("the best neural model and the linear baseline are level on " + "; ".join(ties))
            if loses:
                parts.append("the linear baseline beats every neural model on " + "; ".join(loses))
            text = "; ".join(parts)
            if text:
                sentences.append(text[:1].upper() + text[1:] + ".")
    per_song_columns = [f"{t}/{per_song}" for t in TARGETS if f"{t}/{per_song}" in summary]
    if per_song_columns:
        values = summary[per_song_columns].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size and np.abs(values).max() < NEAR_ZERO_CCC:
            sentences.append(f"Per-song CCC is near zero for every model (at most {values.max():.2f}): within a "
                             "song, no model follows the annotation's rise and fall; the pooled figures come from "
                             "telling songs apart.")
        elif values.size:
            best = max(((t, _best(summary, f"{t}/{per_song}")) for t in TARGETS if f"{t}/{per_song}" in summary),
                       key=lambda tb: -np.inf if tb[1] is None else tb[1][f"{tb[0]}/{per_song}"])
            if best[1] is not None:
                sentences.append(f"Per-song CCC reaches {best[1][f'{best[0]}/{per_song}']:.2f} "
                                 f"({_name(best[1], several)} on {best[0]}).")
    if not with_sd:
        sentences.append("One seed only: the differences may be chance.")
    return " ".join(sentences)
