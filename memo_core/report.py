"""The model comparison table: every sequence model against the MLR baseline on one held-out split.

:func:`compare_models` extracts features once, trains each model of a line-up
with its paper's optimiser and schedule (``train_defaults``, optionally capped),
and scores it on the same held-out test songs with the same metrics:

* RMSE and R^2 pooled over the annotated test frames (Ma et al. and Li et al.
  report RMSE; Chaki et al. R^2),
* CCC averaged per song (Zhang et al.'s convention) — see :mod:`memo_core.metrics`,

plus wall-clock training time and parameter count. :func:`format_markdown`
writes the table the README shows.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .errors import MemoError

__all__ = ["DEFAULT_LINEUP", "ComparisonRow", "compare_models", "format_markdown", "parse_lineup"]

#: (model, preset) pairs of the default comparison: every family at its tiny size,
#: the MLR baseline first, the fusion variants beside their attentive forms.
DEFAULT_LINEUP: tuple[tuple[str, str], ...] = (
    ("mlr", "paper"),
    ("ma_lstm", "tiny"),
    ("ma_alstm", "tiny"),
    ("mca", "tiny"),
    ("mca", "uniform_tiny"),
    ("dblstm_elm", "tiny"),
    ("dblstm_elm", "avg_tiny"),
    ("chaki_lstm", "tiny"),
    ("at", "tiny"),
    ("bat", "tiny"),
    ("transformer", "tiny"),
)

METRIC_COLUMNS = ("RMSE", "CCC-per-song", "R2")


@dataclass
class ComparisonRow:
    model: str
    preset: str
    n_parameters: int
    train_seconds: float
    epochs: int
    metrics: dict[str, float]


def parse_lineup(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"mlr,mca:tiny,at:AT_32"`` -> ((mlr, default preset), ...); None gives the default line-up."""
    if not text:
        return DEFAULT_LINEUP
    from .models.registry import _spec  # the registry's own lookup gives the clear unknown-model message

    out = []
    for item in text.split(","):
        name, _, preset = item.strip().partition(":")
        out.append((name, preset or _spec(name).default_preset))
    return tuple(out)


def compare_models(
    *,
    dataset: str = "synth",
    root: str | None = None,
    features: str = "deam260",
    targets: Sequence[str] = ("valence", "arousal"),
    lineup: Sequence[tuple[str, str]] = DEFAULT_LINEUP,
    max_epochs: int | None = None,
    split_seed: int = 0,
    seed: int = 0,
    progress: bool = True,
    on_model: Callable[[ComparisonRow], None] | None = None,
) -> tuple[list[ComparisonRow], dict[str, Any]]:
    """Train and score every model of ``lineup`` on one split of one dataset.

    Args:
        dataset, root: the dataset (``root=None`` with ``synth`` is the default corpus).
        features: a 500 ms feature set.
        targets: trained jointly (every model predicts all of them).
        lineup: (model, preset) pairs.
        max_epochs: cap on each model's paper epoch count (``None`` keeps the papers').
        split_seed: seed of the song-wise split where the dataset has no official one.
        seed: training seed.
        progress: progress bars.
        on_model: called with each finished row (the CLI prints it).

    Returns:
        ``(rows, info)``: one row per model, and what the table was made from
        (dataset, split sizes, features, epochs cap, machine).
    """
    from .data import load_dataset
    from .data.sequences import build_examples
    from .evaluate import evaluate
    from .train import dataset_split, train_model

    load = load_dataset(dataset, root, require_audio=True)
    split = dataset_split(load, seed=split_seed)
    by_id = load.by_id()
    parts = {
        part: build_examples([by_id[i] for i in ids if i in by_id], features=features, targets=targets,
                             progress=progress) if ids else []
        for part, ids in split.items()
    }
    if not parts.get("train") or not parts.get("test"):
        raise MemoError(f"{dataset}: the split needs training and test songs with audio to compare models")
    rows = []
    for name, preset in lineup:
        overrides: dict[str, Any] = {"seed": seed}
        if max_epochs is not None:
            from .models.registry import get_model

            paper_epochs = get_model(name, preset).train_defaults().get("max_epochs", max_epochs)
            overrides["max_epochs"] = min(int(paper_epochs), max_epochs)
        started = time.perf_counter()
        result = train_model(name, preset, parts["train"], parts["validation"], config_overrides=overrides,
                             progress=progress)
        seconds = time.perf_counter() - started
        metrics = evaluate(result.model, parts["test"], result.normalizer)
        row = ComparisonRow(name, preset, result.model.n_parameters(), seconds, result.history.epochs_run, metrics)
        rows.append(row)
        if on_model is not None:
            on_model(row)
    info = {
        "dataset": dataset,
        "root": str(load.root) if load.root else "(default corpus)",
        "features": features,
        "targets": list(targets),
        "n_songs": {part: len(exs) for part, exs in parts.items()},
        "max_epochs": max_epochs,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    return rows, info


def format_markdown(rows: Sequence[ComparisonRow], info: dict[str, Any]) -> str:
    """The comparison as a markdown table, one row per model, the MLR baseline marked."""
    targets = info["targets"]
    head = ["model", "preset", "params", "train (s)", "epochs"]
    head += [f"{t[0].upper()} {m}" for t in targets for m in METRIC_COLUMNS]
    lines = [
        f"Held-out test songs of `{info['dataset']}` ({info['n_songs'].get('test', 0)} test, "
        f"{info['n_songs'].get('train', 0)} train, {info['n_songs'].get('validation', 0)} validation), "
        f"features `{info['features']}`, {info['machine']}"
        + (f", epochs capped at {info['max_epochs']}" if info.get("max_epochs") is not None else "")
        + ". RMSE and R2 pooled over annotated frames, CCC averaged per song.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in rows:
        cells = [f"`{row.model}`" + (" (baseline)" if row.model == "mlr" else ""), row.preset,
                 f"{row.n_parameters:,}", f"{row.train_seconds:.1f}", str(row.epochs)]
        for t in targets:
            for m in METRIC_COLUMNS:
                value = row.metrics.get(f"{t}/{m}")
                cells.append("-" if value is None or value != value else f"{value:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
