"""The Compare page's live experiment: :func:`memo_core.experiments.compare.compare_models` once per
feature set on one dataset split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from memo_core.data import load_dataset
from memo_core.data.splits import dataset_split
from memo_core.errors import MemoError
from memo_core.experiments.compare import compare_models, parse_lineup
from memo_core.explain.compare import EXPERIMENT_METRICS, EXPERIMENT_MODELS, TARGETS

__all__ = [
    "ExperimentResult",
    "check_experiment_dataset",
    "run_experiment",
]

_MIN_SONGS = 3



@dataclass
class ExperimentResult:
    """What :func:`run_experiment` made: one row per (feature set, model), and what it was made from."""

    table: pd.DataFrame
    dataset: str
    root: str
    n_songs: dict[str, int]
    features: tuple[str, ...]
    models: tuple[str, ...]
    epochs: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)



def check_experiment_dataset(dataset: str, root: str | None) -> dict[str, list[str]]:
    """The song-wise split the experiment would use, after checking it can train and score a model.

    Raises:
        MemoError: the dataset cannot be read, or has fewer than three songs with audio and
            valence/arousal annotations, or its split leaves no training or no test song; the
            message says what to do.
    """

    load = load_dataset(dataset, root, require_audio=True)
    usable = [s for s in load.songs if s.has_audio and s.valence is not None and s.arousal is not None]
    if len(usable) < _MIN_SONGS:
        raise MemoError(
            f"{dataset} has {len(usable)} song(s) with audio and valence/arousal annotations; the experiment "
            f"needs at least {_MIN_SONGS} (songs to train on, to validate on and to test on). Render a bigger "
            "synthetic corpus (the Synthetic corpus page, or `python -m memo_core corpus`) or choose a dataset "
            "with more annotated songs.")
    split = dataset_split(load)
    if not split.get("train") or not split.get("test"):
        raise MemoError(
            f"{dataset}'s split has {len(split.get('train', []))} training and {len(split.get('test', []))} test "
            "song(s); the experiment needs both. Add songs to the missing split, or use a dataset without an "
            "official split (it is then split by song).")
    return split



def run_experiment(*, dataset: str = "synth", root: str | None = None, models: Sequence[str] = ("mlr", "at"),
                   features: Sequence[str] = ("chroma",), epochs: int = 2, seed: int = 0,
                   progress: Callable[[str, int, int], None] | None = None) -> ExperimentResult:
    """Train ``models`` (tiny presets) for ``epochs`` on each feature set and score them on held-out songs.

    One :func:`memo_core.experiments.compare.compare_models` run per feature set (features are extracted once per
    set and cached on disk; every model sees the same split).

    Args:
        dataset, root: the dataset (``root=None`` with ``synth``: the default corpus).
        models: names of :data:`EXPERIMENT_MODELS` (or any registered per-frame model, at its default preset).
        features: 500 ms feature sets.
        epochs: cap on each model's epochs.
        progress: called as ``(step, done, total)``; ``total`` counts every (feature set, model) pair.

    Returns:
        The table: ``model, preset, features, params, train (s), epochs``, then ``valence/METRIC`` and
        ``arousal/METRIC`` for :data:`EXPERIMENT_METRICS` and every other metric the models report.

    Raises:
        MemoError: no model or feature set chosen, or a dataset that cannot train and score a model.
    """

    if not models:
        raise MemoError("choose at least one model")
    if not features:
        raise MemoError("choose at least one feature set")
    if epochs < 1:
        raise MemoError("epochs must be at least 1")
    check_experiment_dataset(dataset, root)
    lineup = tuple((name, EXPERIMENT_MODELS[name]) if name in EXPERIMENT_MODELS else parse_lineup(name)[0]
                   for name in models)
    total = len(lineup) * len(features)
    rows, info = [], {}
    started = time.perf_counter()
    for i, feats in enumerate(features):
        def step(text: str, done: int, _total: int, _offset: int = i * len(lineup), _feats: str = feats) -> None:
            if progress is not None:
                progress(f"{_feats}: {text}", _offset + done, total)

        found, info = compare_models(dataset=dataset, root=root, features=feats, targets=TARGETS, lineup=lineup,
                                     max_epochs=epochs, seed=seed, progress=False, progress_callback=step)
        for row in found:
            rows.append({
                "model": row.model, "preset": row.preset, "features": row.features, "params": row.n_parameters,
                "train (s)": row.train_seconds, "epochs": row.epochs,
                **{f"{t}/{m}": row.metrics.get(f"{t}/{m}") for t in TARGETS for m in EXPERIMENT_METRICS},
                **{k: v for k, v in row.metrics.items() if k.split("/")[0] in TARGETS},
            })
    if progress is not None:
        progress("done", total, total)
    table = pd.DataFrame(rows)
    return ExperimentResult(table, dataset, str(info.get("root", root or "")), dict(info.get("n_songs", {})),
                            tuple(features), tuple(models), int(epochs), time.perf_counter() - started, info)
