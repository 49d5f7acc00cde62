"""Re-run the five papers' experiments and set MEMO's figures beside the published ones.

Every row of the papers' result tables is transcribed here as a :class:`PaperRow`:
the paper's figures exactly as printed, the dataset it used, and what MEMO runs
for it (a :class:`RunSpec`: registered model, preset and config fields, feature
set, targets, protocol options) or ``None`` with the reason when MEMO does not
implement the row's model. :func:`reproduce` runs one paper's protocol on a
dataset, training each distinct run once and reusing it across the rows and
tables that share it; :func:`format_reproduction` writes one markdown table per
paper table, the paper's figure and ours side by side, with a notes column that
says where the run departs from the paper's protocol and why.

Tables (the papers in ``shared/papers``):

* Ma et al. 2017, Tables 1-4: single-scale LSTM / A-LSTM at l = 5, 10, 20, and
  (uniform) MCA over scales 5, 10, 20; each target trained on its own; RMSE after
  the 25-frame triangle filter.
* Li et al. 2016, Tables 1-2: single-scale DBLSTMs at 10, 20, 30, 60 frames
  (validation and test RMSE), and their AVG and ELM fusions.
* Chaki et al. 2020, Tables 1-4: LSTM, AT, BAT and Transformer on ComParE
  features, AT on the smaller sets; each target on its own; 10-fold CV by song;
  R^2, Kendall's tau per song, MAE.
* Zhang et al. 2023, Tables 1-3: DAMFF's five CNN architectures, the comparison
  with earlier models (not implemented in MEMO), the four ablations; CCC, PCC
  and RMSE per song; test hops 2.5 s (arousal) and 0.5 s (valence).
* Rajamani et al. 2020, Table 1: the VGG-ish tagger, self-attention in layers
  3-5, AReLU, and two late fusions; ROC-AUC and PR-AUC macro.

With ``quick=True`` each run uses the tiny preset closest to the paper's, a
few epochs and 3 folds instead of 10, so the machinery runs on the synthetic
corpus in minutes; the tables say so.

>>> from memo_core.reproduce import reproduce, format_reproduction
>>> results = reproduce("ma2017", dataset="synth", quick=True)      # doctest: +SKIP
>>> print(format_reproduction("ma2017", results))                    # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo_core.data import load_dataset, synth
from memo_core.data.sequences import crop_to_annotated, select_targets
from memo_core.data.splits import dataset_split
from memo_core.errors import MemoError
from memo_core.experiments.compare import _flops_of_30s
from memo_core.experiments.evaluation import cross_validate
from memo_core.experiments.pipeline import model_data_defaults, split_examples
from memo_core.models.registry import get_model, model_class
from memo_core.papers import (
    DATASET_NAMES,
    QUICK_EPOCHS,
    QUICK_FOLDS,
    FusionSpec,
    Metric,
    PaperRow,
    PaperSpec,
    PaperTable,
    ProtocolNote,
    RunSpec,
    _check_paper,
    _plain,
)
from memo_core.training.loop import TrainConfig, train_model
from memo_core.training.scoring import late_fusion_metrics, score_model

__all__ = [
    "RowResult",
    "Reproduction",
    "reproduce",
    "format_reproduction",
]


@dataclass
class RowResult:
    """MEMO's figures for one paper row.

    Attributes:
        row: the transcribed row.
        ours: our figure per metric label (absent where there is none).
        run: what ran, in words (``"not implemented in MEMO"`` for rows without a run).
        notes: where the run departs from the paper's protocol for this row, and why.
        train_seconds: training time of the row's run (0 when it was reused from an earlier row).
        also: our further figures per metric label, by name (``{"RMSE": {"pooled": 0.21}}``), for
            the metrics whose :attr:`Metric.also` asks for them.
    """

    row: PaperRow
    ours: dict[str, float] = field(default_factory=dict)
    run: str = ""
    notes: list[str] = field(default_factory=list)
    train_seconds: float = 0.0
    also: dict[str, dict[str, float]] = field(default_factory=dict)



class Reproduction(list):
    """The :class:`RowResult` list :func:`reproduce` returns, with ``info``: what the runs were made from."""

    info: dict[str, Any]

    def __init__(self, rows: Sequence[RowResult] = (), info: dict[str, Any] | None = None):
        super().__init__(rows)
        self.info = dict(info or {})



def _problem_with_dataset(spec: PaperSpec, load) -> str | None:
    """Why ``load`` cannot serve ``spec``'s task, or ``None``."""
    if spec.task == "tagging":
        if not any(song.tags for song in load.songs):
            return (f"{spec.citation} trains a mood/theme tagger and {load.dataset} has no tags: give "
                    "--dataset mtg_jamendo --root PATH (with --option audio_dir=PATH or mel_dir=PATH), "
                    "or --dataset synth (its 18 tags)")
        return None
    if not any(song.valence is not None and song.arousal is not None for song in load.songs):
        return (f"{spec.citation} predicts dynamic valence and arousal and {load.dataset} has none: give "
                "--dataset deam, emomusic, pmemo, generic or synth")
    return None



class _Runner:
    """Trains each distinct run of one paper once, and scores it for every row that asks."""

    def __init__(self, spec: PaperSpec, load, *, quick: bool, seed: int, max_epochs: int | None, progress: bool):
        self.spec, self.load, self.quick, self.seed, self.progress = spec, load, quick, seed, progress
        self.cap = (max_epochs or QUICK_EPOCHS) if quick else max_epochs
        self.examples: dict[tuple, dict[str, list]] = {}
        self.trained: dict[tuple, Any] = {}
        self.kfold: dict[tuple, dict[str, Any]] = {}
        self.scores: dict[tuple, dict[str, float]] = {}
        self.first_use: dict[tuple, str] = {}
        self.epochs: dict[str, tuple[int, int]] = {}  # "model:preset" -> (epochs run, paper epochs)
        self.kept: dict[tuple, str] = {}  # run key -> which epoch's weights the model kept, in words
        self.also: dict[str, dict[str, float]] = {}  # the last scored row's further figures (Metric.also)
        self.splits: list[str] = []
        self.tags: tuple[str, ...] = ()
        self.data = data_used(load)

    # -- data ------------------------------------------------------------------------------------------

    def _parts(self, run: RunSpec) -> tuple[str, str, tuple[str, ...], dict[str, list]]:

        task, features, targets = model_data_defaults(run.model, self.load, features=run.features,
                                                      targets=run.targets or ("valence", "arousal"))
        if task == "regression":
            targets = ("valence", "arousal")  # built once; each run selects its own
        else:
            self.tags = targets
        split_key = "all" if run.protocol == "kfold" else round(run.val_fraction, 6)
        params = run.resolved_feature_params(self.quick)
        key = (task, features, tuple(sorted(params.items())), split_key, run.span)
        if key not in self.examples:
            if run.protocol == "kfold":
                split = {"all": [s.song_id for s in self.load.songs]}
            else:
                split = dataset_split(self.load, seed=self.seed, val=run.val_fraction)
            parts = split_examples(task, self.load, split, features=features, targets=targets,
                                   progress=self.progress, feature_params=params or None)
            if run.span == "annotated":
                parts = {part: crop_to_annotated(exs) for part, exs in parts.items()}
            if run.protocol != "kfold" and (not parts.get("train") or not parts.get("test")):
                raise MemoError(f"{self.load.dataset}: the split needs training and test songs with audio")
            self.examples[key] = parts
            named = f"`{features}`" + (" (" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")
            if run.span == "annotated":
                lengths = sorted({ex.n_frames for exs in parts.values() for ex in exs})
                named += (" on each song's annotated span ("
                          + (f"{lengths[0]}" if len(lengths) == 1 else f"{lengths[0]}-{lengths[-1]}") + " frames)")
            if run.protocol == "kfold":
                self.splits.append(f"{named}: cross-validation over {len(parts['all'])} songs")
            else:
                sizes = ", ".join(f"{len(exs)} {part}" for part, exs in parts.items())
                carved = not any(song.split in ("validation", "val") for song in self.load.songs)
                self.splits.append(f"{named}: {sizes} songs" + (
                    f" (validation: {run.val_fraction:.1%} of the training songs, the paper's share)"
                    if carved and not math.isclose(run.val_fraction, 0.15) else ""))
        return task, features, targets, self.examples[key]

    def _select(self, task: str, examples: list, targets: tuple[str, ...]) -> list:

        return select_targets(examples, targets) if task == "regression" and examples else list(examples)

    def _epoch_overrides(self, run: RunSpec, preset: str, overrides: dict[str, Any], n_features: int) -> dict:

        paper = int(get_model(run.model, preset, **{**overrides, "n_features": n_features}).train_defaults()
                    .get("max_epochs", TrainConfig.max_epochs))
        out: dict[str, Any] = {"seed": self.seed}
        if self.cap is not None:
            out["max_epochs"] = min(paper, self.cap)
        self.epochs[f"{run.model}:{preset}"] = (out.get("max_epochs", paper), paper)
        return out

    # -- runs ------------------------------------------------------------------------------------------

    def run_key(self, run: RunSpec) -> tuple:
        preset, overrides = run.resolved(self.quick)
        base = (run.model, preset, tuple(sorted(overrides.items())), run.features,
                tuple(sorted(run.resolved_feature_params(self.quick).items())), run.span, run.targets, run.protocol)
        if run.protocol == "kfold":
            return base + (self.folds(run), run.smooth)
        return base + (round(run.val_fraction, 6),)

    def folds(self, run: RunSpec) -> int:
        wanted = QUICK_FOLDS if self.quick else run.n_folds
        return max(2, min(wanted, len(self.load.songs)))

    def train(self, run: RunSpec) -> tuple[Any, float]:
        """``((TrainResult, examples per part, task), training seconds)`` of a holdout run (0 s when reused)."""

        key = self.run_key(run)
        if key in self.trained:
            return self.trained[key], 0.0
        task, features, _, parts = self._parts(run)
        selected = {part: self._select(task, exs, run.targets) for part, exs in parts.items()}
        preset, overrides = run.resolved(self.quick)
        config = self._epoch_overrides(run, preset, overrides, selected["train"][0].n_features)
        started = time.perf_counter()
        result = train_model(run.model, preset, selected["train"], selected.get("validation", []),
                             config_overrides=config, model_overrides=overrides, progress=self.progress)
        self.trained[key] = (result, selected, task)
        self.kept[key] = kept_weights(result.history)
        return self.trained[key], time.perf_counter() - started

    def score(self, run: RunSpec, metrics: Sequence[Metric]) -> tuple[dict[str, float], float, list[str]]:
        """Our figures for ``metrics`` (by label), the training seconds, and notes on missing figures.

        The further figures a metric asks for (:attr:`Metric.also`) are left in ``self.also``.
        """
        self.also = {}
        if run.protocol == "kfold":
            return self._score_kfold(run, metrics)
        (result, parts, task), seconds = self.train(run)
        out: dict[str, float] = {}
        notes: list[str] = []
        for part in dict.fromkeys(m.part for m in metrics):
            try:
                report = self._holdout_report(run, result, parts, task, part)
            except MemoError as exc:
                notes.append(f"no {part} figures: {exc}")
                continue
            out.update({m.label: report[m.key] for m in metrics if m.part == part and m.key in report})
            for m in metrics:
                if m.part == part:
                    self.also.setdefault(m.label, {}).update(
                        {name: report[k] for k, name in m.also if k in report})
            notes += self._tag_note(report)
        out.update(self._size(result.model, task, parts, metrics))
        return out, seconds, notes

    def _tag_note(self, report: Mapping[str, float]) -> list[str]:
        scored = report.get("n_tags_scored")
        if scored is None or int(scored) == len(self.tags):
            return []
        return [f"AUCs over the {int(scored)} of {len(self.tags)} tags with positive and negative test songs"]

    def _holdout_report(self, run: RunSpec, result, parts: dict[str, list], task: str, part: str) -> dict:

        key = (self.run_key(run), run.smooth, run.score_hops, part)
        if key in self.scores:
            return self.scores[key]
        examples = parts.get(part) or []
        if not examples:
            raise MemoError(f"the split has no {part} songs")
        model = result.model
        hops = dict(run.score_hops) if hasattr(model, "set_hop_seconds") else {}
        if not hops:
            report = score_model(model, examples, result.normalizer, smooth=run.smooth)
        else:
            report, before = {}, float(model.config.hop_seconds)
            try:
                for target, hop in hops.items():
                    model.set_hop_seconds(hop)
                    scored = score_model(model, examples, result.normalizer, smooth=run.smooth)
                    report.update({k: v for k, v in scored.items() if k.startswith(f"{target}/")})
            finally:
                model.set_hop_seconds(before)
        self.scores[key] = report
        return report

    def _size(self, model, task: str, parts: dict[str, list], metrics: Sequence[Metric]) -> dict[str, float]:

        out: dict[str, float] = {}
        for m in metrics:
            if m.key == "params":
                out[m.label] = float(model.n_parameters())
            elif m.key == "GFLOPs":
                flops = _flops_of_30s(model, task, parts["train"][0].n_features)
                if flops is not None:
                    out[m.label] = flops / 1e9
        return out

    def _score_kfold(self, run: RunSpec, metrics: Sequence[Metric]) -> tuple[dict[str, float], float, list[str]]:

        key = self.run_key(run)
        seconds = 0.0
        if key not in self.kfold:
            _, _, _, parts = self._parts(run)
            preset, overrides = run.resolved(self.quick)
            examples = parts["all"]
            config = self._epoch_overrides(run, preset, overrides, examples[0].n_features)
            started = time.perf_counter()
            self.kfold[key] = cross_validate(run.model, preset, examples, n_folds=self.folds(run), seed=self.seed,
                                             targets=run.targets, config_overrides=config,
                                             model_overrides=overrides, smooth=run.smooth, progress=self.progress)
            seconds = time.perf_counter() - started
        mean = self.kfold[key]["mean"]
        for m in metrics:
            self.also[m.label] = {name: mean[k] for k, name in m.also if k in mean}
        return {m.label: mean[m.key] for m in metrics if m.key in mean}, seconds, []

    def score_fusion(self, fusion: FusionSpec, metrics: Sequence[Metric]) -> tuple[dict[str, float], float, list[str]]:

        self.also = {}
        members = [self.train(m) for m in fusion.members]
        seconds = sum(s for _, s in members)
        trained = [t for t, _ in members]
        test = trained[0][1]["test"]
        out: dict[str, float] = {}
        notes: list[str] = []
        try:
            report = late_fusion_metrics([(r.model, r.normalizer) for r, _, _ in trained], test)
            out.update({m.label: report[m.key] for m in metrics if m.key in report})
            notes += self._tag_note(report)
        except MemoError as exc:
            notes.append(f"no test figures: {exc}")
        sizes = [self._size(r.model, task, parts, metrics) for r, parts, task in trained]
        for m in metrics:
            if all(m.label in s for s in sizes) and m.key in ("params", "GFLOPs"):
                out[m.label] = float(sum(s[m.label] for s in sizes))
        return out, seconds, notes



def data_used(load) -> str:
    """The songs a run used, counted from the loaded dataset, in words (never the paper's label).

    DEAM says which songs stand in for MediaEval 2015's 431 development clips.
    """
    n = len(load.songs)
    if load.dataset == "deam":
        test = sum(1 for song in load.songs if song.split == "test")
        return (f"DEAM as MEMO loads it: {n - test} excerpts (every song below 2001 with audio) for training and "
                f"validation, {test} full songs (2001-2058) for test; not MediaEval 2015's 431 development clips, "
                "which the DEAM release does not mark")
    return f"{load.dataset}: {n} songs with audio"



def kept_weights(history) -> str:
    """Which epoch's weights a trained model holds, in words (the stopping rule the run actually used)."""
    run = history.epochs_run
    if not run:
        return ""
    if history.stopping == "per_network" and history.network_epochs:
        kept = ", ".join(f"{name} epoch {epoch}" for name, epoch in history.network_epochs.items())
        which = "best" if history.restore == "best" else "last"
        return f"each network stopped on its own and kept its {which} epoch's weights ({kept}; {run} run)"
    if history.restore == "last":
        return f"weights of the last epoch kept ({run} of {run})"
    early = ", stopped early" if history.stopped_early else ""
    return f"weights of the best validation epoch kept ({history.kept_epoch} of {run}{early})"



def _dataset_note(row: PaperRow, dataset: str, data: str = "") -> str | None:
    if row.dataset == dataset:
        return data if dataset == "deam" and data else None
    paper = DATASET_NAMES.get(row.dataset, row.dataset)
    if dataset == "synth":
        return f"synthetic corpus instead of the paper's {paper}"
    return f"`{dataset}` instead of the paper's {paper}"



def _run_notes(runner: _Runner, run: RunSpec | FusionSpec) -> list[str]:
    notes = []
    for member in (run.members if isinstance(run, FusionSpec) else (run,)):
        preset, _ = member.resolved(runner.quick)
        if runner.quick:
            fields = ", ".join(f"{k}={_plain(v)}" for k, v in member.overrides)
            notes.append(f"--quick: tiny preset `{preset}` instead of `{member.preset}`"
                         + (f" ({fields})" if fields else ""))
        epochs = runner.epochs.get(f"{member.model}:{preset}")
        if epochs and epochs[0] < epochs[1]:
            notes.append(f"epochs capped at {epochs[0]} (paper schedule: {epochs[1]})")
        if runner.kept.get(runner.run_key(member)):
            notes.append(runner.kept[runner.run_key(member)])
        if member.protocol == "kfold" and runner.folds(member) != member.n_folds:
            why = "--quick" if runner.quick else f"only {len(runner.load.songs)} songs"
            notes.append(f"{runner.folds(member)}-fold cross-validation instead of {member.n_folds} ({why})")
    if runner.tags and runner.spec.task == "tagging" and len(runner.tags) != 56:
        notes.append(f"{len(runner.tags)} tags instead of MTG-Jamendo's 56 (the output layer's parameters and "
                     "FLOPs follow)")
    return list(dict.fromkeys(notes))



def reproduce(
    paper: str,
    *,
    dataset: str,
    root: str | Path | None = None,
    quick: bool = False,
    seed: int = 0,
    max_epochs: int | None = None,
    progress: bool = True,
    on_row: Callable[[RowResult], None] | None = None,
    options: Mapping[str, Any] | None = None,
    skip_unsupported: bool = False,
) -> Reproduction:
    """Run one paper's protocol on a dataset: every row of its tables, ours beside the paper's.

    Each distinct run (model, preset, config fields, features, targets,
    protocol) is trained once and scored for every row and table that names it.

    Args:
        paper: one of :data:`PAPERS`.
        dataset: a loader name (``synth``, ``deam``, ``emomusic``, ``mtg_jamendo``, ...).
        root: the dataset folder; ``None`` with ``synth``: the default corpus (rendered if missing).
        quick: tiny presets, :data:`QUICK_EPOCHS` epochs (or ``max_epochs``), :data:`QUICK_FOLDS` folds.
        seed: split and training seed.
        max_epochs: cap on every run's paper epoch count (``None`` keeps the papers').
        progress: feature and training progress bars.
        on_row: called with each finished :class:`RowResult`.
        options: loader options (``audio_dir``/``mel_dir``/``split_index`` for MTG-Jamendo).
        skip_unsupported: a dataset that cannot serve the paper's task (no tags
            for a tagger, no valence/arousal for a regressor) gives rows without
            figures and the reason instead of raising.

    Returns:
        A :class:`Reproduction`: one :class:`RowResult` per row of every table, in
        table order, and ``info`` (dataset, split sizes, epochs, machine, seconds).

    Raises:
        MemoError: an unknown paper, a dataset folder not given or not readable,
            a dataset that cannot serve the paper, bad ``max_epochs``.
    """

    spec = _check_paper(paper)
    if max_epochs is not None and int(max_epochs) < 1:
        raise MemoError(f"max_epochs must be at least 1, got {max_epochs}")
    if root is None and dataset != "synth":
        raise MemoError(f"--dataset {dataset} needs --root PATH: the folder of your copy of the `{dataset}` "
                        "dataset in its official layout (only synth has a default, the synthetic corpus)")
    if root is None:

        root = synth.ensure_corpus(progress=progress)
    started = time.perf_counter()
    load = load_dataset(dataset, root, require_audio=True, **dict(options or {}))
    problem = _problem_with_dataset(spec, load)
    if problem and not skip_unsupported:
        raise MemoError(problem)
    runner = _Runner(spec, load, quick=quick, seed=seed, max_epochs=max_epochs, progress=progress)
    results = Reproduction()
    for table in spec.tables:
        for row in table.rows:
            result = _row_result(runner, table, row, dataset=dataset, quick=quick, problem=problem)
            results.append(result)
            if on_row is not None:
                on_row(result)
    results.info = {
        "paper": paper,
        "dataset": dataset,
        "root": str(load.root) if load.root else "",
        "quick": quick,
        "seed": seed,
        "max_epochs": runner.cap,
        "data": runner.data,
        "splits": list(dict.fromkeys(runner.splits)),
        "epochs": dict(runner.epochs),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "seconds": time.perf_counter() - started,
        "problem": problem,
    }
    return results



def _row_result(runner: _Runner, table: PaperTable, row: PaperRow, *, dataset: str, quick: bool,
                problem: str | None) -> RowResult:
    """Run (or reuse) the row's run and collect its figures and its differences from the paper."""
    result = RowResult(row)
    if row.run is None:
        result.run = "not implemented in MEMO"
        result.notes.append(row.not_implemented or "not implemented in MEMO")
    elif problem:
        result.run = row.run.describe(quick, _features_of(row.run))
        result.notes.append(f"not run: {problem}")
    else:
        fusion = isinstance(row.run, FusionSpec)
        keys = [runner.run_key(r) for r in (row.run.members if fusion else (row.run,))]
        score = runner.score_fusion if fusion else runner.score
        result.ours, result.train_seconds, missing = score(row.run, table.metrics)
        result.also = {label: dict(values) for label, values in runner.also.items() if values}
        result.run = row.run.describe(quick, _features_of(row.run))
        here = f"Table {table.number}, '{row.label}'"
        earlier = [runner.first_use[k] for k in keys if runner.first_use.get(k, here) != here]
        for k in keys:
            runner.first_use.setdefault(k, here)
        result.notes += _run_notes(runner, row.run)
        if earlier and not fusion:
            result.notes.append(f"same MEMO run as {earlier[0]}")
        result.notes += missing
    note = _dataset_note(row, dataset, runner.data)
    if note:
        result.notes.insert(0, note)
    if row.notes:
        result.notes.append(row.notes)
    return result



def _features_of(run: RunSpec | FusionSpec) -> str | None:

    first = run.members[0] if isinstance(run, FusionSpec) else run
    return first.features or getattr(model_class(first.model), "default_features", None)



def _cell(value: float | None, decimals: int, *, paper: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{decimals}f}"
    if paper and float(text) != value:  # a cell printed with more digits than its column (Chaki's 0.002)
        text = f"{value:g}"
    return text



def protocol_lines(table: PaperTable, *, quick: bool) -> list[str]:
    """A table's checked protocol points as markdown: what differs from the paper, then what follows it.

    Every :class:`ProtocolNote` of the table appears in one of the two lists (``--quick`` moves the
    points it changes, e.g. DAMFF's sample rate, to the first).
    """
    notes: Sequence[ProtocolNote] = table.protocol
    if not notes:
        return []
    lines = ["**Differs from the paper** (known differences of MEMO's protocol; a row's notes add its run's own):"]
    lines += [f"- {n.words(quick)}." for n in notes if n.differs(quick)] or ["- none known."]
    follows = [n for n in notes if not n.differs(quick)]
    if follows:
        lines += ["", "**Follows the paper** (checked against its text):"]
        lines += [f"- {n.words(quick)}." for n in follows]
    return lines + [""]



def format_reproduction(paper: str, results: Sequence[RowResult], info: Mapping[str, Any] | None = None) -> str:
    """One paper's tables as markdown: per table the paper's caption, then per row MEMO's run, the
    paper's figure and ours side by side for each metric, and the notes (protocol differences).

    Notes shared by every row of a table are listed once under its heading.

    Args:
        paper: the paper key.
        results: what :func:`reproduce` returned.
        info: its ``info`` (default: ``results.info``).
    """
    spec = _check_paper(paper)
    info = dict(info if info is not None else getattr(results, "info", {}) or {})
    by_row = {(r.row.table, r.row.label): r for r in results}
    dataset = info.get("dataset", "?")
    lines = [f"## {spec.citation}: {spec.title}", ""]
    lines.append(f"**The paper's protocol.** {spec.protocol}")
    lines.append("")
    lines.append(f"**MEMO's run.** {spec.memo_protocol}")
    lines.append("")
    made = [f"dataset `{dataset}`" + (f" ({info['root']})" if info.get("root") else "")]
    if info.get("data"):
        made.append(str(info["data"]))
    made += list(info.get("splits") or ())
    if info.get("quick"):
        kfold = any(isinstance(r.run, RunSpec) and r.run.protocol == "kfold" for t in spec.tables for r in t.rows)
        n = info.get("max_epochs") or QUICK_EPOCHS
        made.append(f"--quick: tiny presets, at most {n} epoch{'s' if n != 1 else ''}"
                    + (f", {QUICK_FOLDS} folds" if kfold else ""))
    elif info.get("max_epochs"):
        made.append(f"epochs capped at {info['max_epochs']}")
    made.append(f"seed {info.get('seed', 0)}")
    if info.get("machine"):
        made.append(info["machine"])
    if info.get("seconds") is not None:
        made.append(f"{info['seconds']:.0f} s")
    lines.append("**This reproduction.** " + "; ".join(made) + ".")
    lines.append("")
    lines.append("Columns marked *paper* are the figures the paper publishes, transcribed as printed; *ours* are "
                 "MEMO's on the data above ('ours, per song': averaged over songs, as MEMO reads the paper's "
                 "figure; 'ours, pooled': over all test frames together). '–': no figure (not given, not "
                 "implemented, or not computable).")
    lines.append("")
    for table in spec.tables:
        rows = [by_row.get((table.number, row.label)) or RowResult(row, run="not run") for row in table.rows]
        lines.append(f"### {spec.citation}, Table {table.number}: {table.caption}")
        lines.append("")
        if table.note:
            lines.append(table.note)
            lines.append("")
        lines += protocol_lines(table, quick=bool(info.get("quick")))
        ran = [r for r in rows if r.row.run is not None]
        common = [n for n in (ran[0].notes if ran else []) if all(n in r.notes for r in ran)] if len(ran) > 1 else []
        if common:
            lines.append("Differences from the paper for every row MEMO runs: " + "; ".join(common) + ".")
            lines.append("")
        head = ["row", "MEMO's run"]
        for m in table.metrics:
            head += [f"{m.label} (paper)", f"{m.label} (ours" + (f", {m.averaging})" if m.averaging else ")")]
            head += [f"{m.label} (ours, {name})" for _, name in m.also]
        head.append("notes")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r.row.label, r.run or "–"]
            for m in table.metrics:
                cells += [_cell(r.row.figures.get(m.label), m.decimals, paper=True),
                          _cell(r.ours.get(m.label), m.decimals, paper=False)]
                cells += [_cell(r.also.get(m.label, {}).get(name), m.decimals, paper=False) for _, name in m.also]
            own = [n for n in r.notes if n not in common]
            cells.append("; ".join(own) if own else "–")
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
