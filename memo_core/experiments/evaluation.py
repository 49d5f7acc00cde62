"""Evaluation over datasets: a checkpoint on a dataset's split (``python -m memo_core evaluate``),
late fusion of checkpoints, and Chaki et al.'s 10-fold cross-validation by song.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from memo_core.data import load_dataset
from memo_core.data.sequences import SequenceExample, select_targets
from memo_core.data.splits import dataset_split, kfold_by_song, train_val_test_by_song
from memo_core.errors import MemoError
from memo_core.experiments.pipeline import build_task_examples
from memo_core.training.checkpoints import load_checkpoint
from memo_core.training.loop import train_model
from memo_core.training.scoring import (
    _report,
    late_fusion_metrics,
    model_protocol,
    paper_metrics,
    predict_examples,
    score_model,
)

__all__ = [
    "SPLITS",
    "cross_validate",
    "evaluate_checkpoint",
    "evaluate_late_fusion",
]

#: The splits a checkpoint can be scored on (``evaluate --split``): its recorded ones, or every song.
SPLITS = ("test", "validation", "train", "all")


def cross_validate(
    model_name: str,
    preset: str | None,
    examples: Sequence[SequenceExample],
    *,
    n_folds: int = 10,
    seed: int = 0,
    val_fraction: float = 0.1,
    targets: Sequence[str] | None = None,
    config_overrides: dict[str, Any] | None = None,
    model_overrides: dict[str, Any] | None = None,
    smooth: bool = False,
    on_fold: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """K-fold cross-validation by song (Chaki et al. 2020: 10 folds; R^2, tau per song, MAE).

    Each fold trains a fresh model on the other folds' songs, holding out
    ``val_fraction`` of them (at least one song) for early stopping, and
    predicts its own songs.

    Args:
        model_name, preset: the registered model and preset.
        examples: raw songs (all of the dataset).
        n_folds: folds (10 in Chaki et al.).
        seed: fold assignment and training seed.
        val_fraction: share of each fold's training songs used for early stopping.
        targets: target names to train on (``None``: the examples').
        config_overrides, model_overrides: as :func:`~memo_core.training.loop.train_model`.
        smooth: smooth predictions before scoring.
        on_fold: called with ``(fold, metrics)`` after each fold.
        progress: show tqdm bars.

    Returns:
        ``{"folds": [metrics per fold], "mean": {...}, "std": {...},
        "pooled": metrics over all out-of-fold predictions, "paper": the
        ``kfold`` paper metrics of "mean", "n_folds": n}``.
    """


    if targets is not None:
        examples = select_targets(examples, targets)
    by_id = {ex.song_id: ex for ex in examples}
    folds = kfold_by_song(list(by_id), n_folds=n_folds, seed=seed)
    overrides = {"seed": seed, **(config_overrides or {})}
    fold_reports: list[dict[str, float]] = []
    oof_examples: list[SequenceExample] = []
    oof_pred: list[np.ndarray] = []
    for k, (train_ids, test_ids) in enumerate(tqdm(folds, desc=f"{n_folds}-fold {model_name}", disable=not progress)):
        if len(train_ids) >= 3 and val_fraction > 0:
            inner = train_val_test_by_song(train_ids, val=val_fraction, test=0.0, seed=seed + k)
            fit_ids, val_ids = inner["train"], inner["validation"]
        else:
            fit_ids, val_ids = train_ids, []
        result = train_model(model_name, preset, [by_id[i] for i in fit_ids], [by_id[i] for i in val_ids],
                             config_overrides=overrides, model_overrides=model_overrides)
        test = [by_id[i] for i in test_ids]
        pred = predict_examples(result.model, test, result.normalizer, smooth=smooth)
        report = _report(test, pred)
        fold_reports.append(report)
        oof_examples.extend(test)
        oof_pred.extend(pred)
        if on_fold is not None:
            on_fold(k, report)
    keys = list(fold_reports[0])
    mean = {k: float(np.nanmean([r[k] for r in fold_reports])) for k in keys}
    std = {k: float(np.nanstd([r[k] for r in fold_reports])) for k in keys}
    return {
        "n_folds": n_folds,
        "folds": fold_reports,
        "mean": mean,
        "std": std,
        "pooled": _report(oof_examples, oof_pred),
        "paper": paper_metrics(mean, "kfold"),
    }



def evaluate_checkpoint(
    path: str | Path,
    *,
    dataset: str | None = None,
    root: str | Path | None = None,
    split: str = "test",
    smooth: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Score a checkpoint on its test songs (or another dataset's).

    With no ``dataset``/``root`` the checkpoint's own training record names
    the dataset, folder and test songs. With another dataset, its official
    ``split`` is used where it has one, all songs otherwise (cross-dataset).

    Returns:
        ``{"metrics": ..., "paper": holdout paper metrics, "n_songs": n,
        "dataset": name, "songs": ids}``.

    Raises:
        MemoError: the checkpoint records no dataset and none is given, or no
            song of the split has audio.
    """

    ckpt = load_checkpoint(path)
    name, songs = _checkpoint_songs(ckpt, path, dataset=dataset, root=root, split=split)
    spec = ckpt.feature_spec
    task = getattr(ckpt.model, "task", "regression")
    examples = build_task_examples(task, songs, features=spec["name"], feature_params=spec.get("params") or {},
                                   targets=ckpt.targets, progress=progress)
    metrics = score_model(ckpt.model, examples, ckpt.normalizer, smooth=smooth)
    protocol = model_protocol(ckpt.model)
    return {"metrics": metrics, "paper": paper_metrics(metrics, protocol), "n_songs": len(examples),
            "dataset": name, "songs": [ex.song_id for ex in examples], "task": task, "protocol": protocol}



def evaluate_late_fusion(
    paths: Sequence[str | Path],
    *,
    dataset: str | None = None,
    root: str | Path | None = None,
    split: str = "test",
    progress: bool = True,
) -> dict[str, Any]:
    """Score the late fusion of several tagger checkpoints (Rajamani et al. 2020, Section 3.3).

    The songs are the first checkpoint's ``split`` (as :func:`evaluate_checkpoint`);
    the fused thresholds are the mean of the members' validation thresholds.

    Returns:
        ``{"metrics", "paper", "n_songs", "dataset", "members", "task": "tagging"}``.

    Raises:
        MemoError: fewer than two checkpoints, a checkpoint that is not a tagger,
            or different tag lists.
    """

    if len(paths) < 2:
        raise MemoError("late fusion needs at least two tagger checkpoints")
    members = [load_checkpoint(p) for p in paths]
    for path, member in zip(paths, members):
        if getattr(member.model, "task", "regression") != "tagging":
            raise MemoError(f"{path} is a {member.info.get('model_name')} checkpoint: late fusion averages taggers' scores")
        if member.targets != members[0].targets:
            raise MemoError(f"{path} was trained on other tags than {paths[0]}: late fusion needs one tag list")
    name, songs = _checkpoint_songs(members[0], paths[0], dataset=dataset, root=root, split=split)
    specs = {(m.feature_spec["name"], repr(sorted((m.feature_spec.get("params") or {}).items()))) for m in members}
    if len(specs) != 1:
        raise MemoError("late fusion needs taggers trained on one feature set; these used "
                        + ", ".join(sorted(name for name, _ in specs)))
    examples = build_task_examples("tagging", songs, features=members[0].feature_spec["name"],
                                   targets=members[0].targets, progress=progress)
    ids = [ex.song_id for ex in examples]
    metrics = late_fusion_metrics([(m.model, m.normalizer) for m in members], examples)
    return {"metrics": metrics, "paper": paper_metrics(metrics, "tagging"), "n_songs": len(ids), "dataset": name,
            "members": [str(p) for p in paths], "songs": ids, "task": "tagging"}



def _checkpoint_songs(ckpt, path, *, dataset, root, split) -> tuple[str, list]:
    """The dataset name and the song records a checkpoint is scored on."""

    if split not in SPLITS:
        raise MemoError(f"unknown split {split!r}; the splits are {', '.join(SPLITS)}")
    info = ckpt.info.get("train_info") or {}
    name = dataset or info.get("dataset")
    if not name:
        raise MemoError(f"{path} records no training dataset; give --dataset and --root")
    same = name == info.get("dataset") and root is None
    folder = root if root is not None else (info.get("root") if name == info.get("dataset") else None)
    options = dict(info.get("load_options") or {}) if name == info.get("dataset") else {}
    options = {k: int(v) if str(v).lstrip("-").isdigit() else v for k, v in options.items()}
    load = load_dataset(name, folder, require_audio=True, **options)
    recorded = (info.get("split") or {}).get(split) if same else None
    if recorded is not None:
        ids = set(recorded)
    elif split == "all":
        ids = {s.song_id for s in load.songs}
    else:
        parts = dataset_split(load, seed=int(info.get("split_seed", 0)))
        ids = set(parts.get(split) or []) or {s.song_id for s in load.songs}
    songs = [s for s in load.songs if s.song_id in ids]
    if not songs:
        raise MemoError(f"no song of {name}'s {split!r} split has audio under {folder}")
    return name, songs
