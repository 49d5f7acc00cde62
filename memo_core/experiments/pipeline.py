"""From a dataset to a trained checkpoint: examples for a model's task, the split, training, held-out
scores and the checkpoint written (:func:`train_from_dataset`, behind ``python -m memo_core train``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from memo_core.data import load_dataset
from memo_core.data.mixture import Source, build_mixture, clip_labelled_only
from memo_core.data.sequences import build_examples
from memo_core.data.splits import (
    dataset_split,  # re-exported: train's callers split datasets through it
)
from memo_core.data.tags import build_tag_examples, tag_vocabulary
from memo_core.errors import MemoError
from memo_core.features import get_extractor
from memo_core.models.registry import model_class
from memo_core.training.checkpoints import save_checkpoint
from memo_core.training.loop import TrainResult, train_model
from memo_core.training.scoring import evaluate_clips, score_model

__all__ = [
    "build_task_examples",
    "split_examples",
    "model_data_defaults",
    "score_held_out",
    "save_trained",
    "train_from_dataset",
]


def build_task_examples(
    task: str,
    songs,
    *,
    features: str,
    targets: Sequence[str],
    feature_params: dict | None = None,
    progress: bool = True,
) -> list:
    """The examples a model of ``task`` trains on: per-frame sequences, or tagger inputs.

    Args:
        task: the model class's ``task`` (``"regression"`` or ``"tagging"``).
        songs: song records with audio (or, for tagging, mel ``.npy`` files).
        features: the feature set.
        targets: regression: target names (``("valence", "arousal")``); tagging: the tag names.
        feature_params: the extractor's parameters, if not the defaults (regression only: taggers read
            their features with the default parameters).
        progress: tqdm bars.

    Raises:
        MemoError: ``feature_params`` for a tagger.
    """
    if task == "tagging":

        if feature_params:
            raise MemoError(f"taggers read {features} with its default parameters; got feature_params "
                            f"{feature_params} (build_tag_examples takes none)")

        return build_tag_examples(songs, tag_names=targets, features=features, progress=progress)

    return build_examples(songs, features=features, feature_params=feature_params, targets=targets, progress=progress)



def split_examples(
    task: str,
    load,
    split: dict[str, Sequence[str]],
    *,
    features: str,
    targets: Sequence[str],
    progress: bool = True,
    feature_params: dict | None = None,
) -> dict[str, list]:
    """:func:`build_task_examples` for each part of a split (``{"train": ids, ...}``); a part
    without songs with audio is an empty list. ``feature_params``: the extractor's parameters, if not
    its defaults (DAMFF's 44.1 kHz log-mel in ``reproduce``)."""
    by_id = load.by_id()
    parts = {}
    for part, ids in split.items():
        songs = [by_id[i] for i in ids if i in by_id]
        parts[part] = build_task_examples(task, songs, features=features, targets=targets, progress=progress,
                                          feature_params=feature_params) if songs else []
    return parts



def model_data_defaults(model_name: str, load, *, features: str | None = None,
                        targets: Sequence[str] = ("valence", "arousal")) -> tuple[str, str, tuple[str, ...]]:
    """``(task, features, targets)`` for training ``model_name``: the model's own feature set when none
    is given (``default_features`` of its class: ``logmel128_steps`` for DAMFF, ``mel96`` for the
    tagger), and for a tagger the dataset's tag vocabulary as targets.

    Args:
        model_name: a registered model.
        load: the loaded dataset (a tagger's targets are its tag vocabulary).
        features: the feature set, or ``None`` for the model's own.
        targets: a per-frame model's targets.

    Raises:
        MemoError: no feature set given and the model has no default.
    """

    cls = model_class(model_name)
    task = getattr(cls, "task", "regression")
    features = features or getattr(cls, "default_features", None)
    if not features:
        raise MemoError(f"{model_name} needs a feature set: give --features NAME (see `python -m memo_core features`)")
    if task == "tagging":

        targets = tuple(tag_vocabulary(load))
    return task, features, tuple(targets)



def score_held_out(result: TrainResult, test: Sequence[Any], *, smooth: bool = False) -> dict[str, float]:
    """The task's held-out metrics of a trained model, or ``{}`` with ``result.metrics_note`` saying why.

    A test set too small to score (no tag with both classes among its songs)
    leaves the trained model usable rather than failing the run.
    """

    if not test:
        result.metrics_note = "the split has no test songs with audio"
        return {}
    try:
        return score_model(result.model, test, result.normalizer, smooth=smooth)
    except MemoError as exc:
        result.metrics_note = f"no held-out metrics: {exc}"
        return {}



def save_trained(path: str | Path, result: TrainResult, parts: dict[str, Sequence[Any]], *, dataset: str,
                 features: str, split_seed: int, metrics: dict[str, float],
                 info: dict[str, Any] | None = None) -> Path:
    """Save a trained model with the record of its data: split song ids and counts, config, targets, metrics.

    Args:
        path: the checkpoint file.
        result: what :func:`train_model` returned.
        parts: the examples per split part (``train``, ``validation``, ``test``).
        dataset, features, split_seed: what it was trained on.
        metrics: its held-out metrics.
        info: more ``train_info`` fields (the dataset folder, loader options, ...).
    """

    train_info = {
        "dataset": dataset,
        "root": None,
        "features": features,
        "split_seed": split_seed,
        "split": {part: [ex.song_id for ex in exs] for part, exs in parts.items()},
        "n_songs": {part: len(exs) for part, exs in parts.items()},
        "train_config": dataclasses.asdict(result.config),
        "targets": list(result.targets),
        "metrics_note": result.metrics_note,
        **(info or {}),
    }
    return save_checkpoint(path, result.model, feature_spec=get_extractor(features).spec(),
                           normalizer=result.normalizer, targets=result.targets, train_info=train_info,
                           metrics=metrics, history=result.history)



def train_from_dataset(
    model_name: str,
    preset: str | None,
    *,
    dataset: str,
    root: str | Path | None,
    features: str | None,
    targets: Sequence[str] = ("valence", "arousal"),
    config_overrides: dict[str, Any] | None = None,
    model_overrides: dict[str, Any] | None = None,
    split_seed: int = 0,
    out: str | Path | None = None,
    smooth: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = True,
    load_options: dict[str, Any] | None = None,
) -> tuple[TrainResult, dict[str, float]]:
    """Load a dataset, split it, train, evaluate on the held-out test songs, save a checkpoint.

    ``load_options`` go to the dataset's loader (MTG-Jamendo: ``mel_dir``,
    ``audio_dir``, ``split_index``) and are recorded in the checkpoint, so
    ``evaluate`` reads the dataset the same way.

    Returns:
        ``(result, test_metrics)``; ``test_metrics`` is empty when the split has
        no test songs with audio.
    """

    load = load_dataset(dataset, root, require_audio=True, **(load_options or {}))
    task, features, targets = model_data_defaults(model_name, load, features=features, targets=targets)
    extra: dict[str, Any] = {}
    if task == "regression" and clip_labelled_only(load, targets):
        # 4Q, EMOPIA: clip-level signs only; one source of a mixture (split by artist/group, clip sign loss)
        parts, record = build_mixture([Source(dataset, load)], features=features, targets=targets, seed=split_seed,
                                      progress=progress)
        extra = {"sources": record}
    else:
        parts = split_examples(task, load, dataset_split(load, seed=split_seed), features=features, targets=targets,
                               progress=progress)
    if not parts.get("train"):
        raise MemoError(f"{dataset}: the split has no training songs with audio")
    result = train_model(model_name, preset, parts["train"], parts.get("validation", []),
                         config_overrides=config_overrides, model_overrides=model_overrides, on_epoch=on_epoch,
                         progress=progress)
    test = parts.get("test", [])
    if extra:

        metrics = evaluate_clips(result.model, test, result.normalizer) if test else {}
        if not test:
            result.metrics_note = "the split has no test songs with audio"
    else:
        metrics = score_held_out(result, test, smooth=smooth)
    if out is not None:
        save_trained(out, result, parts, dataset=dataset, features=features, split_seed=split_seed, metrics=metrics,
                     info={**extra, "root": None if root is None else str(Path(root).expanduser().resolve()),
                           "smooth_in_metrics": smooth,
                           "load_options": {k: str(v) for k, v in (load_options or {}).items()}})
    return result, metrics
