"""The model comparison tables: every model on one held-out split, the MLR baseline beside them.

:func:`compare_models` extracts features once per feature set, trains each
model of a line-up with its paper's optimiser and schedule (``train_defaults``,
optionally capped), and scores it on the same held-out test songs:

* per-frame models: RMSE and R^2 pooled over the annotated test frames (Ma et
  al. and Li et al. report RMSE; Chaki et al. R^2), CCC, PCC and RMSE averaged
  per song (Zhang et al.'s convention) — see :mod:`memo_core.metrics`;
* taggers: ROC-AUC and PR-AUC macro over the tags (Rajamani et al.), F1 at the
  thresholds chosen on validation songs; late-fusion rows average the scores of
  taggers of the line-up.

Each row also has the parameter count, the FLOPs of one 30 s input (torch's
flop counter: 2 per multiply-add) and the wall-clock training time. Models that
bring their own input (DAMFF's log-mel steps, the tagger's ``mel96``) use it;
the others use the chosen 500 ms feature set. :func:`format_markdown` writes
one table per task, as the README shows them.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from memo_core.data import load_dataset
from memo_core.data.splits import dataset_split
from memo_core.errors import MemoError
from memo_core.experiments.pipeline import model_data_defaults, split_examples
from memo_core.metrics import REGRESSION_METRICS
from memo_core.models.complexity import count_flops
from memo_core.models.registry import _spec, get_model, model_class
from memo_core.training.loop import train_model
from memo_core.training.scoring import late_fusion_metrics, score_model

__all__ = ["DEFAULT_LINEUP", "DAMFF_LINEUP", "TAGGER_LINEUP", "TAGGER_FUSIONS", "ComparisonRow", "compare_models",
           "format_markdown", "parse_columns", "parse_lineup", "parse_fusions"]

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

#: DAMFF (Zhang et al. 2023, Tables 1 and 3) and its variants at CPU size, with the MLR baseline.
DAMFF_LINEUP: tuple[tuple[str, str], ...] = (
    ("mlr", "paper"),
    ("damff", "tiny"),
    ("damff", "tiny_tf"),
    ("damff", "tiny_square"),
    ("damff", "tiny_ts"),
    ("damff", "tiny_fs"),
    ("damff", "tiny_wo_fusion"),
    ("damff", "tiny_wo_channel"),
    ("damff", "tiny_wo_spatial"),
    ("damff", "tiny_wo_daff"),
)

#: The VGG-ish tagger variants of Rajamani et al. 2020, Table 1, at CPU size.
TAGGER_LINEUP: tuple[tuple[str, str], ...] = (
    ("vggish", "tiny"),
    ("vggish", "tiny_sa3"),
    ("vggish", "tiny_sa4"),
    ("vggish", "tiny_sa5"),
    ("vggish", "tiny_arelu"),
)
#: Table 1's late fusions: models 2 and 5, and models 1, 2 and 5.
TAGGER_FUSIONS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("vggish", "tiny_sa3"), ("vggish", "tiny_arelu")),
    (("vggish", "tiny"), ("vggish", "tiny_sa3"), ("vggish", "tiny_arelu")),
)

METRIC_COLUMNS = ("RMSE", "CCC-per-song", "R2")
TAG_COLUMNS = ("ROC-AUC-macro", "PR-AUC-macro", "F1-macro")


@dataclass
class ComparisonRow:
    model: str
    preset: str
    n_parameters: int
    train_seconds: float
    epochs: int
    metrics: dict[str, float]
    features: str = ""
    task: str = "regression"
    flops: int | None = None


def parse_columns(text: str | None) -> tuple[str, ...]:
    """``"CCC-per-song,r-per-song"`` -> the per-target metric columns of the per-frame table; None: the default.

    Raises:
        MemoError: a name that is not a per-target metric (the message lists them), or none given.
    """
    if text is None:
        return METRIC_COLUMNS
    columns = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in columns if c not in REGRESSION_METRICS]
    if unknown or not columns:
        raise MemoError(f"--metrics {text!r}: {'unknown metric(s) ' + ', '.join(unknown) if unknown else 'no metric'}; "
                        f"the per-target metrics are {', '.join(REGRESSION_METRICS)}")
    return columns


def parse_lineup(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"mlr,mca:tiny,at:AT_32"`` -> ((mlr, default preset), ...); None gives the default line-up.

    ``damff`` and ``taggers`` name the DAMFF and tagger line-ups.
    """
    if not text:
        return DEFAULT_LINEUP

    named = {"damff": DAMFF_LINEUP, "taggers": TAGGER_LINEUP}
    out = []
    for item in text.split(","):
        item = item.strip()
        if item in named:
            out.extend(named[item])
            continue
        name, _, preset = item.partition(":")
        out.append((name, preset or _spec(name).default_preset))
    return tuple(dict.fromkeys(out))


def parse_fusions(text: str | None) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``"vggish:tiny_sa3+vggish:tiny_arelu;..."`` -> late-fusion groups; ``"paper"`` gives Table 1's two."""
    if not text:
        return ()
    if text.strip() == "paper":
        return TAGGER_FUSIONS
    groups = []
    for group in text.split(";"):
        members = tuple(parse_lineup(item)[0] for item in group.split("+") if item.strip())
        if len(members) < 2:
            raise MemoError(f"a late fusion needs at least two models joined by '+', got {group!r}")
        groups.append(members)
    return tuple(groups)


def _flops_of_30s(model, task: str, n_features: int) -> int | None:
    """FLOPs of one forward pass over 30 s of input (60 steps; a tagger's input window)."""


    try:
        if task == "tagging":
            n = int(getattr(model.config, "input_frames", 1400))
            return count_flops(model, torch.zeros(1, n, n_features), torch.tensor([n]), explain=False)
        return count_flops(model, torch.zeros(1, 60, n_features), torch.tensor([60]))
    except Exception:  # noqa: BLE001 - a figure the counter cannot make is reported as missing, not fatal
        return None


def _check_fusions(fusions: Sequence[Sequence[tuple[str, str]]], lineup: Sequence[tuple[str, str]]) -> None:
    """Refuse a fusion group before any training: two or more taggers, each in the line-up.

    Raises:
        MemoError: a group of fewer than two, a member not in ``lineup``, or one that is not a tagger.
    """

    in_lineup = {tuple(item) for item in lineup}
    for group in fusions:
        names = [f"{n}:{p}" for n, p in group]
        if len(group) < 2:
            raise MemoError(f"a late fusion needs at least two taggers, got {' + '.join(names) or 'none'}")
        missing = [f"{n}:{p}" for n, p in group if (n, p) not in in_lineup]
        if missing:
            raise MemoError(f"late fusion of {', '.join(missing)}: add them to the line-up (--models) first")
        per_frame = [f"{n}:{p}" for n, p in group if getattr(model_class(n), "task", "regression") != "tagging"]
        if per_frame:
            raise MemoError(f"late fusion averages taggers' scores: {', '.join(per_frame)} "
                            f"{'is not a tagger' if len(per_frame) == 1 else 'are not taggers'}")


def compare_models(
    *,
    dataset: str = "synth",
    root: str | None = None,
    features: str | None = "deam260",
    targets: Sequence[str] = ("valence", "arousal"),
    lineup: Sequence[tuple[str, str]] = DEFAULT_LINEUP,
    fusions: Sequence[Sequence[tuple[str, str]]] = (),
    max_epochs: int | None = None,
    split_seed: int = 0,
    seed: int = 0,
    progress: bool = True,
    on_model: Callable[[ComparisonRow], None] | None = None,
    progress_callback: Callable[[str, int, int], None] | None = None,
) -> tuple[list[ComparisonRow], dict[str, Any]]:
    """Train and score every model of ``lineup`` on one split of one dataset.

    Args:
        dataset, root: the dataset (``root=None`` with ``synth`` is the default corpus).
        features: the 500 ms feature set of the models without their own input
            (``None``: ``deam260``); DAMFF and the tagger always use theirs.
        targets: trained jointly (every per-frame model predicts all of them).
        lineup: (model, preset) pairs.
        fusions: groups of tagger (model, preset) pairs of ``lineup`` whose
            scores are averaged (late fusion), one row each.
        max_epochs: cap on each model's paper epoch count (``None`` keeps the papers').
        split_seed: seed of the song-wise split where the dataset has no official one.
        seed: training seed.
        progress: progress bars.
        on_model: called with each finished row (the CLI prints it).
        progress_callback: called as ``(step, done, total)`` before each feature
            extraction (``"features TASK SET"``) and after each trained model or
            fusion (``"model NAME:PRESET"``, ``"fusion ..."``); ``total`` counts
            the models and fusions (the dashboard's progress bar).

    Returns:
        ``(rows, info)``: one row per model and fusion, and what the tables were
        made from (dataset, split sizes, features, epochs cap, machine).
    """

    _check_fusions(fusions, lineup)
    load = load_dataset(dataset, root, require_audio=True)
    split = dataset_split(load, seed=split_seed)
    cache: dict[tuple, dict[str, list]] = {}

    def parts_for(task: str, feats: str, tgts: tuple[str, ...]) -> dict[str, list]:
        key = (task, feats, tgts)
        if key not in cache:
            cache[key] = split_examples(task, load, split, features=feats, targets=tgts, progress=progress)
            if not cache[key].get("train") or not cache[key].get("test"):
                raise MemoError(f"{dataset}: the split needs training and test songs with audio to compare models")
        return cache[key]

    rows: list[ComparisonRow] = []
    trained: dict[tuple[str, str], tuple[Any, Any, dict[str, list]]] = {}
    total = len(lineup) + len(fusions)

    def report(step: str) -> None:
        if progress_callback is not None:
            progress_callback(step, len(rows), total)

    for name, preset in lineup:
        own = getattr(model_class(name), "default_features", None)
        task, feats, tgts = model_data_defaults(name, load, features=own or features or "deam260",
                                                targets=targets)
        if (task, feats, tgts) not in cache:
            report(f"features {task} {feats}")
        parts = parts_for(task, feats, tgts)
        overrides: dict[str, Any] = {"seed": seed}
        if max_epochs is not None:
            paper_epochs = get_model(name, preset).train_defaults().get("max_epochs", max_epochs)
            overrides["max_epochs"] = min(int(paper_epochs), max_epochs)
        started = time.perf_counter()
        result = train_model(name, preset, parts["train"], parts.get("validation", []), config_overrides=overrides,
                             progress=progress)
        seconds = time.perf_counter() - started
        metrics = score_model(result.model, parts["test"], result.normalizer)
        row = ComparisonRow(name, preset, result.model.n_parameters(), seconds, result.history.epochs_run, metrics,
                            feats, task, _flops_of_30s(result.model, task, parts["train"][0].n_features))
        rows.append(row)
        trained[(name, preset)] = (result.model, result.normalizer, parts)
        if on_model is not None:
            on_model(row)
        report(f"model {name}:{preset}")
    for group in fusions:
        members = [trained[key] for key in group]
        test = members[0][2]["test"]
        metrics = late_fusion_metrics([(m, n) for m, n, _ in members], test)
        member_rows = [r for r in rows if (r.model, r.preset) in set(group)]
        row = ComparisonRow("late fusion", " + ".join(f"{n}:{p}" for n, p in group),
                            sum(r.n_parameters for r in member_rows), sum(r.train_seconds for r in member_rows), 0,
                            metrics, member_rows[0].features, "tagging",
                            None if any(r.flops is None for r in member_rows) else sum(r.flops for r in member_rows))
        rows.append(row)
        if on_model is not None:
            on_model(row)
        report(f"fusion {row.preset}")
    sizes = {f"{task} {feats}": {part: len(exs) for part, exs in parts.items()}
             for (task, feats, _), parts in cache.items()}
    first = next(iter(cache.values())) if cache else {}
    info = {
        "dataset": dataset,
        "root": str(load.root) if load.root else "(default corpus)",
        "features": features or "deam260",
        "targets": list(targets),
        "n_songs": {part: len(exs) for part, exs in first.items()},
        "n_songs_by_input": sizes,
        "max_epochs": max_epochs,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    return rows, info


def _cell(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def format_markdown(rows: Sequence[ComparisonRow], info: dict[str, Any], *,
                    columns: Sequence[str] = METRIC_COLUMNS) -> str:
    """The comparison as markdown: one table of per-frame models (the MLR baseline marked), one of taggers.

    Args:
        rows, info: what :func:`compare_models` returned.
        columns: the per-target metric suffixes of the per-frame table
            (e.g. ``("CCC-per-song", "r-per-song", "RMSE-per-song")`` for Zhang et al.'s).
    """
    targets = info["targets"]
    n = info["n_songs"]
    lines = [
        f"Held-out test songs of `{info['dataset']}` ({n.get('test', 0)} test, {n.get('train', 0)} train, "
        f"{n.get('validation', 0)} validation), {info['machine']}"
        + (f", epochs capped at {info['max_epochs']}" if info.get("max_epochs") is not None else "")
        + ". GFLOPs: one 30 s input (60 steps; a tagger's 1400 mel frames), torch's counter.",
        "",
    ]
    regression = [r for r in rows if r.task != "tagging"]
    tagging = [r for r in rows if r.task == "tagging"]
    common = ["model", "preset", "features", "params", "GFLOPs", "train (s)", "epochs"]

    def lead(row: ComparisonRow) -> list[str]:
        return [f"`{row.model}`" + (" (baseline)" if row.model == "mlr" else ""), row.preset, f"`{row.features}`",
                f"{row.n_parameters:,}", "-" if row.flops is None else f"{row.flops / 1e9:.3f}",
                f"{row.train_seconds:.1f}", str(row.epochs)]

    if regression:
        pooled = [c for c in columns if not c.endswith("-per-song")]
        lines.append("Per-frame models: " + ", ".join(columns)
                     + (f" ({', '.join(pooled)} pooled over annotated frames, the rest averaged per song)."
                        if pooled else " (averaged per song)."))
        lines.append("")
        head = common + [f"{t[0].upper()} {m}" for t in targets for m in columns]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in regression:
            cells = lead(row) + [_cell(row.metrics.get(f"{t}/{m}")) for t in targets for m in columns]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if tagging:
        lines.append("Taggers: macro averages over the tags with positive and negative test songs "
                     "(`n tags`); F1 at the thresholds chosen on validation songs.")
        lines.append("")
        head = common + list(TAG_COLUMNS) + ["n tags"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in tagging:
            cells = lead(row) + [_cell(row.metrics.get(m)) for m in TAG_COLUMNS]
            cells.append(str(int(row.metrics.get("n_tags_scored", 0))))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
