"""Predict and score: held-out evaluation and Chaki et al.'s 10-fold cross-validation.

Scores are computed on annotated frames only, through
:func:`memo_core.metrics.regression_report` and its stable names
(``"arousal/RMSE"``, ``"valence/R2"``, ...). The papers report different
figures; :data:`PAPER_METRICS` names them per protocol:

* ``holdout`` (Ma et al. 2017, Li et al. 2016): RMSE on a test split;
* ``kfold`` (Chaki et al. 2020): R^2, Kendall's tau per song and MAE, over
  10 folds by song (:func:`cross_validate`);
* ``per-song`` (Zhang et al. 2023): CCC, PCC and RMSE computed per song and
  averaged over songs;
* ``tagging`` (MTG-Jamendo, Rajamani et al. 2020): ROC-AUC and PR-AUC
  averaged over tags (:func:`evaluate_tags`), plus F1, precision and recall
  at the decision thresholds the model chose on validation data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from memo_core.data.batching import collate
from memo_core.data.sequences import Normalizer, SequenceExample, select_targets
from memo_core.errors import MemoError
from memo_core.metrics import regression_report, tagging_report
from memo_core.postprocess import triangle_smooth

__all__ = [
    "PAPER_METRICS",
    "model_protocol",
    "predict_examples",
    "evaluate",
    "predict_tag_scores",
    "tag_metrics",
    "evaluate_tags",
    "late_fusion_scores",
    "late_fusion_metrics",
    "score_model",
    "paper_metrics",
    "format_metrics",
]

#: Which metric suffixes each protocol's papers report.
PAPER_METRICS = {
    "holdout": ("RMSE",),
    "kfold": ("R2", "tau-per-song", "MAE"),
    "tagging": ("ROC-AUC-macro", "PR-AUC-macro"),
    "per-song": ("CCC-per-song", "r-per-song", "RMSE-per-song"),  # Zhang et al. 2023 (DAMFF)
}



def model_protocol(model: torch.nn.Module) -> str:
    """Which :data:`PAPER_METRICS` a model's paper reports: its class's ``metrics_protocol``, else by task."""
    own = getattr(model, "metrics_protocol", None)
    if own:
        return own
    return "tagging" if getattr(model, "task", "regression") == "tagging" else "holdout"



def predict_examples(
    model: torch.nn.Module,
    examples: Sequence[SequenceExample],
    normalizer: Normalizer,
    *,
    smooth: bool = False,
    batch_size: int = 16,
) -> list[np.ndarray]:
    """Per-frame predictions for each song (raw features in, normaliser applied here).

    Args:
        model: a trained sequence model (put in eval mode).
        examples: songs with raw (unnormalised) features.
        normalizer: the training songs' statistics.
        smooth: apply :func:`~memo_core.postprocess.triangle_smooth` to each song.
        batch_size: songs per forward pass (padded; models give padded songs
            the same output as alone).

    Returns:
        One array per song. [shape=(n_frames, n_targets)]
    """

    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    normed = normalizer.apply_examples(examples)
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(normed), batch_size):
            chunk = normed[start : start + batch_size]
            batch = collate(chunk, device=device)
            pred = model(batch.x, batch.lengths).prediction.float().cpu().numpy()
            for i, ex in enumerate(chunk):
                y = pred[i, : ex.n_frames]
                out.append(triangle_smooth(y) if smooth else y)
    return out



def _report(examples: Sequence[SequenceExample], predictions: Sequence[np.ndarray]) -> dict[str, float]:

    targets = tuple(examples[0].target_names)
    true = {t: [ex.targets[ex.mask, j] for ex in examples] for j, t in enumerate(targets)}
    pred = {t: [p[ex.mask, j] for ex, p in zip(examples, predictions)] for j, t in enumerate(targets)}
    return regression_report(true, pred, targets=targets)



def evaluate(
    model: torch.nn.Module,
    examples: Sequence[SequenceExample],
    normalizer: Normalizer,
    *,
    smooth: bool = False,
    targets: Sequence[str] | None = None,
) -> dict[str, float]:
    """All regression metrics on the annotated frames of ``examples``.

    Args:
        model: a trained model whose output columns are ``targets``.
        examples: raw test songs.
        normalizer: the training statistics.
        smooth: smooth predictions with the triangle filter first.
        targets: the model's target names, when the examples hold more
            (``None``: the examples' targets).

    Returns:
        :func:`~memo_core.metrics.regression_report`'s dict.

    Raises:
        MemoError: no examples, or a target count that does not fit the model.
    """
    if not examples:
        raise MemoError("evaluate needs at least one song")
    if targets is not None:
        examples = select_targets(examples, targets)
    n_targets = getattr(model, "n_targets", examples[0].n_targets)
    if examples[0].n_targets != n_targets:
        raise MemoError(f"the model predicts {n_targets} targets, the songs have {examples[0].target_names}")
    return _report(examples, predict_examples(model, examples, normalizer, smooth=smooth))



def clip_scores(model: torch.nn.Module, examples: Sequence[SequenceExample], normalizer: Normalizer) -> np.ndarray:
    """Each song's mean predicted value per target (what a clip-level label is compared with).

    Returns:
        [shape=(n_songs, n_targets)]
    """
    return np.stack([p.mean(axis=0) for p in predict_examples(model, examples, normalizer)])



def evaluate_clips(model: torch.nn.Module, examples: Sequence[SequenceExample], normalizer: Normalizer
                   ) -> dict[str, float]:
    """ROC-AUC of the song-mean prediction against clip-level sign labels (``song_targets``), per target.

    Returns:
        ``{"arousal/ROC-AUC": ..., "valence/ROC-AUC": ..., "n_songs": ...}`` for the targets with both
        signs among the songs.

    Raises:
        MemoError: no song with a clip label.
    """
    # lazy: scikit-learn (about 0.5 s) only for the taggers' metrics
    from sklearn.metrics import roc_auc_score

    labelled = [ex for ex in examples if getattr(ex, "has_song_targets", False)]
    if not labelled:
        raise MemoError("evaluate_clips needs songs with clip-level labels (song_targets)")
    scores = clip_scores(model, labelled, normalizer)
    labels = np.stack([np.asarray(ex.song_targets, dtype=np.float64) for ex in labelled])
    out: dict[str, float] = {}
    for j, name in enumerate(labelled[0].target_names):
        known = np.isfinite(labels[:, j])
        y = labels[known, j] > 0
        if y.any() and (~y).any():
            out[f"{name}/ROC-AUC"] = float(roc_auc_score(y, scores[known, j]))
    out["n_songs"] = float(len(labelled))
    return out



def predict_tag_scores(model: torch.nn.Module, examples: Sequence[Any], normalizer: Normalizer, *,
                       batch_size: int = 16) -> np.ndarray:
    """A tagger's sigmoid scores for each song's input (its first mel frames). [shape=(n_songs, n_tags)]"""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    normed = normalizer.apply_examples(examples)
    out = []
    with torch.inference_mode():
        for start in range(0, len(normed), batch_size):
            batch = model.make_batch(normed[start : start + batch_size], device=device)
            out.append(torch.sigmoid(model(batch.x, batch.lengths, explain=False).prediction).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, getattr(model, "n_targets", 0)), dtype=np.float32)



def tag_metrics(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray | None = None) -> dict[str, float]:
    """ROC-AUC-macro and PR-AUC-macro over the tags with both classes in ``y_true``, and, given
    thresholds, F1/precision/recall macro over all tags at them.

    Tags with no positive (or no negative) song in ``y_true`` have no ROC-AUC and are left
    out of the two AUC averages (small test sets lack rare tags); ``n_tags_scored`` says how
    many were kept.

    Args:
        y_true: 0/1 ground truth. [shape=(n_songs, n_tags)]
        scores: probabilities. [shape=(n_songs, n_tags)]
        thresholds: per-tag decision thresholds chosen on validation data. [shape=(n_tags,)]
    """

    # lazy: scikit-learn (about 0.5 s) only for the taggers' metrics
    from sklearn.metrics import f1_score, precision_score, recall_score


    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    usable = (y_true.min(axis=0) != y_true.max(axis=0)) if len(y_true) else np.zeros(0, dtype=bool)
    if not usable.any():
        raise MemoError("no tag has both positive and negative songs in this set: ROC-AUC is undefined; "
                        "evaluate on more songs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = tagging_report(y_true, scores, skip_degenerate=True)
    report["n_tags_scored"] = float(usable.sum())
    if thresholds is not None:
        decided = scores >= np.asarray(thresholds)[None, :]
        kwargs = {"average": "macro", "zero_division": 0}
        report["F1-macro"] = float(f1_score(y_true, decided, **kwargs))
        report["precision-macro"] = float(precision_score(y_true, decided, **kwargs))
        report["recall-macro"] = float(recall_score(y_true, decided, **kwargs))
    return report



def evaluate_tags(model: torch.nn.Module, examples: Sequence[Any], normalizer: Normalizer) -> dict[str, float]:
    """:func:`tag_metrics` of a tagger on tag examples, at the thresholds it chose on validation data."""
    if not examples:
        raise MemoError("evaluate_tags needs at least one song")
    scores = predict_tag_scores(model, examples, normalizer)
    thresholds = getattr(model, "thresholds", None)
    thresholds = None if thresholds is None else thresholds.float().cpu().numpy()
    return tag_metrics(np.stack([ex.targets for ex in examples]), scores, thresholds)



def late_fusion_scores(members: Sequence[tuple[torch.nn.Module, Normalizer]], examples: Sequence[Any]) -> np.ndarray:
    """Rajamani et al.'s late fusion: the mean of several taggers' scores. [shape=(n_songs, n_tags)]

    Args:
        members: ``(model, normaliser)`` pairs (from checkpoints), trained on one tag list.
        examples: tag examples with raw features.
    """
    if len(members) < 2:
        raise MemoError("late fusion needs at least two taggers")
    sizes = {int(getattr(m, "n_targets", -1)) for m, _ in members}
    if len(sizes) != 1:
        raise MemoError(f"late fusion needs taggers of one tag list; they predict {sorted(sizes)} tags")
    return np.mean([predict_tag_scores(m, examples, n) for m, n in members], axis=0)



def late_fusion_metrics(members: Sequence[tuple[torch.nn.Module, Normalizer]], examples: Sequence[Any]
                        ) -> dict[str, float]:
    """:func:`tag_metrics` of the late fusion: mean scores, judged at the mean of the members'
    validation thresholds."""
    scores = late_fusion_scores(members, examples)
    thresholds = np.mean([m.thresholds.float().cpu().numpy() for m, _ in members], axis=0)
    return tag_metrics(np.stack([ex.targets for ex in examples]), scores, thresholds)



def score_model(model: torch.nn.Module, examples: Sequence[Any], normalizer: Normalizer, *,
                smooth: bool = False) -> dict[str, float]:
    """The held-out metrics of the model's task: :func:`evaluate_tags` for taggers, else :func:`evaluate`."""
    if getattr(model, "task", "regression") == "tagging":
        return evaluate_tags(model, examples, normalizer)
    return evaluate(model, examples, normalizer, smooth=smooth)



def paper_metrics(report: dict[str, float], protocol: str) -> dict[str, float]:
    """The subset of ``report`` the papers of ``protocol`` (``"holdout"``, ``"kfold"``) give."""
    if protocol not in PAPER_METRICS:
        raise MemoError(f"unknown protocol {protocol!r}; known: {', '.join(PAPER_METRICS)}")
    wanted = PAPER_METRICS[protocol]
    return {k: v for k, v in report.items() if k.split("/", 1)[-1] in wanted}



def format_metrics(report: dict[str, float], *, highlight: Sequence[str] = ()) -> str:
    """A table: one row per metric, one column per target; metrics in ``highlight`` marked ``*``.

    Song-level metrics without a target (a tagger's ``ROC-AUC-macro``, ...) get one value column.
    """
    if not any("/" in k for k in report):
        lines = [f"{'metric':<18}{'value':>12}"]
        for name, value in report.items():
            lines.append(f"{name + ('*' if name in highlight else ' '):<18}{value:>12.4f}")
        return "\n".join(lines)
    targets = list(dict.fromkeys(k.split("/", 1)[0] for k in report))
    names = list(dict.fromkeys(k.split("/", 1)[1] for k in report if "/" in k))
    lines = [f"{'metric':<16}" + "".join(f"{t:>12}" for t in targets)]
    for name in names:
        mark = "*" if name in highlight else " "
        cells = "".join(
            f"{report[f'{t}/{name}']:>12.4f}" if f"{t}/{name}" in report else f"{'-':>12}" for t in targets
        )
        lines.append(f"{name + mark:<16}{cells}")
    return "\n".join(lines)
