"""The Compare page's live experiment: tiny per-frame models trained on one dataset split, once per feature set
and per seed, and scored on the held-out test songs (the same building blocks as
:func:`memo_core.experiments.compare.compare_models`: :func:`~memo_core.training.loop.train_model` with the
paper's schedule capped at a few epochs, :func:`~memo_core.training.scoring.score_model`).

Features are extracted once per feature set, song by song (through the on-disk feature cache), with progress
reported per song, so the first run on a corpus says how far it is; every seed and model then reuses them.
The linear baseline (:data:`~memo_core.explain.compare.BASELINE_MODEL`) is run with every line-up unless told
not to, so every figure has it beside the neural models.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from memo_core.data import load_dataset
from memo_core.data.sequences import build_examples
from memo_core.data.splits import dataset_split
from memo_core.errors import DatasetError, MemoError
from memo_core.experiments.compare import parse_lineup
from memo_core.experiments.pipeline import model_data_defaults
from memo_core.explain.compare import BASELINE_MODEL, EXPERIMENT_METRICS, EXPERIMENT_MODELS, TARGETS
from memo_core.models.registry import get_model, model_class
from memo_core.training.loop import train_model
from memo_core.training.scoring import score_model

__all__ = [
    "DEFAULT_SEEDS",
    "ExperimentResult",
    "run_experiment",
]

_MIN_SONGS = 3
#: Seeds of a live run: three, so every figure has a spread.
DEFAULT_SEEDS = (0, 1, 2)


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` made: one row per (feature set, seed, model), and what it was made from."""

    table: pd.DataFrame
    dataset: str
    root: str
    n_songs: dict[str, int]
    features: tuple[str, ...]
    models: tuple[str, ...]
    epochs: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)


def _usable(dataset: str, root: str | None):
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
    return load, split


def _examples(load, split: dict[str, Sequence[str]], feats: str, step: Callable[[int, int], None], *,
              dataset: str) -> dict[str, list]:
    """Examples of every part of the split for one feature set (:func:`build_examples`, ``step(done, total)``
    after each song over all parts); songs that cannot be used are left out."""
    by_id = load.by_id()
    songs = {part: [by_id[i] for i in ids if i in by_id] for part, ids in split.items()}
    total = sum(len(s) for s in songs.values())
    parts: dict[str, list] = {}
    offset = 0
    for part, part_songs in songs.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the skipped songs' warning is for the CLI, not a page
                parts[part] = build_examples(part_songs, features=feats, targets=TARGETS, progress=False,
                                             on_song=lambda done, _n, _o=offset: step(_o + done, total))
        except DatasetError:
            parts[part] = []  # no usable song in this part
        offset += len(part_songs)
    if not parts.get("train") or not parts.get("test"):
        raise MemoError(f"{dataset}: after extracting {feats}, the "
                        "split has no usable training or no usable test song (unreadable audio or annotations "
                        "outside the audio)")
    return parts


def run_experiment(*, dataset: str = "synth", root: str | None = None, models: Sequence[str] = ("mlr", "at"),
                   features: Sequence[str] = ("chroma",), epochs: int = 2, seeds: Sequence[int] = DEFAULT_SEEDS,
                   baseline: bool = True, progress: Callable[[str, int, int], None] | None = None,
                   ) -> ExperimentResult:
    """Train ``models`` (tiny presets) for ``epochs`` on each feature set and seed; score them on held-out songs.

    Args:
        dataset, root: the dataset (``root=None`` with ``synth``: the default corpus).
        models: names of :data:`EXPERIMENT_MODELS` (or any registered per-frame model, at its default preset).
        features: 500 ms feature sets.
        epochs: cap on each model's epochs.
        seeds: training seeds (model initialisation and batch order); the split stays the same.
        baseline: run :data:`BASELINE_MODEL` too when ``models`` lacks it (first in the line-up).
        progress: called as ``(step, done, total)``: after each song's features (``"chroma: features of song
            3 of 150"``) and after each trained model (``"chroma: trained at, seed 2 of 3"``); ``total`` counts
            both, so the bar moves inside every step.

    Returns:
        The table: ``model, preset, features, seed, params, train (s), epochs``, then ``valence/METRIC`` and
        ``arousal/METRIC`` for :data:`EXPERIMENT_METRICS` and every other metric the models report. Summarise
        it over the seeds with :func:`memo_core.explain.compare.seed_summary`.

    Raises:
        MemoError: no model, feature set or seed chosen; a tagging model; or a dataset that cannot train and
            score a model.
    """
    if not models:
        raise MemoError("choose at least one model")
    if not features:
        raise MemoError("choose at least one feature set")
    if epochs < 1:
        raise MemoError("epochs must be at least 1")
    seeds = tuple(dict.fromkeys(int(s) for s in seeds))
    if not seeds:
        raise MemoError("choose at least one seed")
    names = list(dict.fromkeys(models))
    if baseline and BASELINE_MODEL not in names:
        names.insert(0, BASELINE_MODEL)
    lineup = tuple((name, EXPERIMENT_MODELS[name]) if name in EXPERIMENT_MODELS else parse_lineup(name)[0]
                   for name in names)
    for name, _ in lineup:
        if getattr(model_class(name), "task", "regression") != "regression":
            raise MemoError(f"{name} is a tagger; the live comparison trains per-frame valence/arousal models")
    load, split = _usable(dataset, root)

    # the feature set each (chosen set, model) trains on: the chosen one, or the model's own input
    plan: dict[str, list[tuple[str, str, str]]] = {}
    for feats in features:
        for name, preset in lineup:
            own = getattr(model_class(name), "default_features", None)
            _, used, _ = model_data_defaults(name, load, features=own or feats, targets=TARGETS)
            plan.setdefault(feats, []).append((name, preset, used))
    needed = list(dict.fromkeys(used for rows in plan.values() for _, _, used in rows))
    n_songs = sum(len(ids) for ids in split.values())
    total = n_songs * len(needed) + sum(len(rows) for rows in plan.values()) * len(seeds)
    done = 0

    def report(text: str) -> None:
        if progress is not None:
            progress(text, done, total)

    started = time.perf_counter()
    examples: dict[str, dict[str, list]] = {}
    for feats in needed:
        def step(i: int, n: int, _feats: str = feats) -> None:
            nonlocal done
            done += 1
            report(f"{_feats}: features of song {i} of {n}")

        report(f"{feats}: extracting features, song 1 of {n_songs}")
        examples[feats] = _examples(load, split, feats, step, dataset=dataset)

    rows = []
    for feats in features:
        for seed_index, seed in enumerate(seeds, start=1):
            for name, preset, used in plan[feats]:
                parts = examples[used]
                overrides: dict[str, Any] = {"seed": seed}
                paper_epochs = get_model(name, preset).train_defaults().get("max_epochs", epochs)
                overrides["max_epochs"] = min(int(paper_epochs), int(epochs))
                tic = time.perf_counter()
                result = train_model(name, preset, parts["train"], parts.get("validation", []),
                                     config_overrides=overrides, progress=False)
                seconds = time.perf_counter() - tic
                metrics = score_model(result.model, parts["test"], result.normalizer)
                rows.append({
                    "model": name, "preset": preset, "features": used, "seed": seed,
                    "params": result.model.n_parameters(), "train (s)": seconds,
                    "epochs": result.history.epochs_run,
                    **{f"{t}/{m}": metrics.get(f"{t}/{m}") for t in TARGETS for m in EXPERIMENT_METRICS},
                    **{k: v for k, v in metrics.items() if k.split("/")[0] in TARGETS},
                })
                done += 1
                report(f"{feats}: trained {name}, seed {seed_index} of {len(seeds)}")
    if progress is not None:
        progress("done", total, total)
    first = examples[needed[0]]
    n_parts = {part: len(exs) for part, exs in first.items()}
    info = {"dataset": dataset, "root": str(load.root) if load.root else "(default corpus)",
            "n_songs": n_parts, "n_songs_by_features": {f: {p: len(e) for p, e in ex.items()}
                                                       for f, ex in examples.items()},
            "lineup": [f"{n}:{p}" for n, p in lineup], "seeds": list(seeds), "max_epochs": int(epochs)}
    return ExperimentResult(pd.DataFrame(rows), dataset, info["root"], n_parts, tuple(features),
                            tuple(n for n, _ in lineup), int(epochs), time.perf_counter() - started, info, seeds)
