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

import argparse
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import MemoError

__all__ = [
    "PAPERS",
    "PAPER_SPECS",
    "DATASET_NAMES",
    "QUICK_EPOCHS",
    "QUICK_FOLDS",
    "Metric",
    "RunSpec",
    "FusionSpec",
    "PaperRow",
    "PaperTable",
    "PaperSpec",
    "RowResult",
    "Reproduction",
    "reproduce",
    "format_reproduction",
    "configure_parser",
    "run_cli",
]

PAPERS = ("ma2017", "li2016", "chaki2020", "zhang2023", "rajamani2020")

#: Epochs of every run under ``quick`` (``max_epochs``, when given, replaces it).
QUICK_EPOCHS = 2
#: Folds of Chaki et al.'s cross-validation under ``quick`` (the paper: 10).
QUICK_FOLDS = 3

#: How the tables name the datasets: MEMO's loader names, and MER1101, which MEMO has no loader for.
DATASET_NAMES = {
    "deam": "DEAM (MediaEval 2015: 431 training clips, 58 full test songs)",
    "emomusic": "1000 Songs / emoMusic (744 annotated 45 s clips)",
    "mtg_jamendo": "MTG-Jamendo mood/theme (MediaEval 2020, 56 tags)",
    "mer1101": "MER1101 (the authors' dataset; MEMO has no loader for it)",
    "pmemo": "PMEmo",
    "generic": "a generic annotated folder",
    "synth": "the synthetic corpus",
}


# --------------------------------------------------------------------------- the transcribed tables


@dataclass(frozen=True)
class Metric:
    """One figure column of a paper table.

    Attributes:
        key: MEMO's metric name (``"arousal/RMSE"``, ``"ROC-AUC-macro"``) or
            ``"params"`` / ``"GFLOPs"`` (the model's size, torch's FLOP counter
            over one 30 s input or a tagger's 1400 mel frames).
        label: the column as the paper heads it.
        part: the songs it is computed on: ``"test"`` or ``"validation"``.
        decimals: digits the paper prints (ours are printed alike).
    """

    key: str
    label: str
    part: str = "test"
    decimals: int = 3


@dataclass(frozen=True)
class RunSpec:
    """What MEMO trains and scores for a row.

    Attributes:
        model: registered model name.
        preset: its paper-size preset.
        quick_preset: the closest tiny preset (``quick`` runs).
        features: 500 ms feature set; ``None``: the model's own (DAMFF, the tagger).
        targets: regression targets trained together (one for papers that train
            valence and arousal separately).
        overrides: model config fields over ``preset`` (the row's reported size).
        quick_overrides: model config fields over ``quick_preset`` (the row's
            structure: window, scales, attention, depth).
        protocol: ``"holdout"`` (train / validation / test songs) or ``"kfold"``
            (cross-validation by song over all songs).
        n_folds: folds of ``"kfold"``.
        val_fraction: share of the training songs held out for validation where
            the dataset has no validation split (Ma: 50 of 431, Li: 20 of 431).
        smooth: Ma et al.'s 25-frame triangle filter before scoring.
        score_hops: ``(target, seconds)``: the test-time sliding-window hop each
            target is scored at, for models with ``set_hop_seconds`` (DAMFF).
    """

    model: str
    preset: str
    quick_preset: str
    features: str | None = None
    targets: tuple[str, ...] = ("valence", "arousal")
    overrides: tuple[tuple[str, Any], ...] = ()
    quick_overrides: tuple[tuple[str, Any], ...] = ()
    protocol: str = "holdout"
    n_folds: int = 10
    val_fraction: float = 0.15
    smooth: bool = False
    score_hops: tuple[tuple[str, float], ...] = ()

    def resolved(self, quick: bool) -> tuple[str, dict[str, Any]]:
        """``(preset, model config overrides)`` of a paper-size or a quick run."""
        return (self.quick_preset, dict(self.quick_overrides)) if quick else (self.preset, dict(self.overrides))

    def describe(self, quick: bool, features: str | None = None) -> str:
        preset, overrides = self.resolved(quick)
        fields = ", ".join(f"{k}={_plain(v)}" for k, v in overrides.items())
        text = f"`{self.model}:{preset}`" + (f" ({fields})" if fields else "")
        return text + f", `{features or self.features}`, " + ("+".join(self.targets) or "the dataset's tags")


@dataclass(frozen=True)
class FusionSpec:
    """A late fusion (the mean of the members' tag scores, Rajamani et al. Sec. 3.3)."""

    members: tuple[RunSpec, ...]

    def describe(self, quick: bool, features: str | None = None) -> str:
        return "late fusion of " + " + ".join(f"`{m.model}:{m.resolved(quick)[0]}`" for m in self.members)


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper's table.

    Attributes:
        paper: key in :data:`PAPERS`.
        table: the table's number in the paper.
        label: the row as the paper labels it.
        run: what MEMO runs for it, or ``None``.
        figures: the paper's figure per metric label, as printed; ``None`` where
            the cell is empty or unreadable (``notes`` says which).
        dataset: the dataset of the row's figures (a key of :data:`DATASET_NAMES`).
        notes: where MEMO's run departs from the row's protocol, and why.
        not_implemented: for ``run=None``, why MEMO cannot run the row.
    """

    paper: str
    table: int
    label: str
    run: RunSpec | FusionSpec | None
    figures: Mapping[str, float | None]
    dataset: str
    notes: str = ""
    not_implemented: str = ""


@dataclass(frozen=True)
class PaperTable:
    paper: str
    number: int
    caption: str
    metrics: tuple[Metric, ...]
    rows: tuple[PaperRow, ...]
    note: str = ""


@dataclass(frozen=True)
class PaperSpec:
    """A paper: citation, task, dataset, protocol in words, and its transcribed tables."""

    key: str
    citation: str
    title: str
    task: str
    dataset: str
    protocol: str
    memo_protocol: str
    tables: tuple[PaperTable, ...]


def _plain(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def _tbl(paper: str, number: int, caption: str, metrics: Sequence[Metric], rows: Sequence[tuple], *,
         dataset: str, note: str = "") -> PaperTable:
    """A table from ``(label, run, figures in metric order[, notes[, not_implemented[, dataset]]])`` tuples."""
    out = []
    for label, run, figures, *rest in rows:
        notes = rest[0] if len(rest) > 0 else ""
        missing = rest[1] if len(rest) > 1 else ""
        row_dataset = rest[2] if len(rest) > 2 else dataset
        if len(figures) != len(metrics):
            raise ValueError(f"{paper} table {number} row {label!r}: {len(figures)} figures for {len(metrics)} metrics")
        out.append(PaperRow(paper, number, label, run, dict(zip((m.label for m in metrics), figures)), row_dataset,
                            notes, missing))
    return PaperTable(paper, number, caption, tuple(metrics), tuple(out), note)


# ---- Ma et al. 2017 -----------------------------------------------------------------------------------

_MA_VAL = 50 / 431  # Sec. 4.3: 50 of the 431 training clips for validation


def _ma_single(target: str, l: int, kind: str, h: int, n: int) -> RunSpec:
    return RunSpec("ma_lstm" if kind == "LSTM" else "ma_alstm", "paper", "tiny", "deam260", (target,),
                   overrides=(("window", l), ("hidden_size", h), ("n_layers", n)),
                   quick_overrides=(("window", l),), val_fraction=_MA_VAL, smooth=True)


def _ma_multi(target: str, uniform: bool, kind: str, h: int, n: int) -> RunSpec:
    attention = kind == "A-LSTM"
    return RunSpec("mca", "uniform" if uniform else "paper", "uniform_tiny" if uniform else "tiny", "deam260",
                   (target,), overrides=(("hidden_size", h), ("n_layers", n), ("attention", attention)),
                   quick_overrides=(("attention", attention),), val_fraction=_MA_VAL, smooth=True)


def _ma_tables() -> tuple[PaperTable, ...]:
    single = [(5, "LSTM"), (5, "A-LSTM"), (10, "LSTM"), (10, "A-LSTM"), (20, "LSTM"), (20, "A-LSTM")]
    # Table 1 (valence) and Table 2 (arousal): (h, n, RMSE) per row of `single`.
    t1 = [(200, 3, 0.358), (200, 2, 0.366), (200, 4, 0.352), (200, 2, 0.308), (100, 4, 0.355), (100, 2, 0.294)]
    t2 = [(200, 4, 0.244), (100, 2, 0.255), (100, 4, 0.261), (100, 2, 0.268), (200, 3, 0.268), (100, 2, 0.272)]
    multi = [(True, "LSTM"), (True, "A-LSTM"), (False, "LSTM"), (False, "A-LSTM")]
    t3 = [(100, 3, 0.382), (100, 3, 0.292), (100, 2, 0.357), (150, 3, 0.291)]
    t4 = [(100, 2, 0.257), (100, 2, 0.270), (100, 2, 0.260), (150, 2, 0.241)]
    tables = []
    for number, target, caption, rows in ((1, "valence", "Valence RMSE of single scale model", t1),
                                          (2, "arousal", "Arousal RMSE of single scale model", t2)):
        tables.append(_tbl("ma2017", number, caption, [Metric(f"{target}/RMSE", "RMSE")], [
            (f"l={l}, {kind}, h={h}, n={n}", _ma_single(target, l, kind, h, n), (rmse,))
            for (l, kind), (h, n, rmse) in zip(single, rows)], dataset="deam"))
    for number, target, caption, rows in ((3, "valence", "Valence RMSE of multi-scale model", t3),
                                          (4, "arousal", "Arousal RMSE of multi-scale model", t4)):
        tables.append(_tbl("ma2017", number, caption, [Metric(f"{target}/RMSE", "RMSE")], [
            (f"{'uniform MCA' if uniform else 'MCA'}, {kind}, h={h}, n={n}", _ma_multi(target, uniform, kind, h, n),
             (rmse,)) for (uniform, kind), (h, n, rmse) in zip(multi, rows)], dataset="deam"))
    return tuple(tables)


# ---- Li et al. 2016 -----------------------------------------------------------------------------------

_LI_VAL = 20 / 431  # Sec. 3.2.1: 411 training and 20 validation clips per partition


def _li_run(preset: str, quick_preset: str, **fields: Any) -> RunSpec:
    # per_target_networks: the paper trains valence and arousal separately (Sec. 3.2.2); the tiny presets share
    # one network, so quick runs switch it back on.
    return RunSpec("dblstm_elm", preset, quick_preset, "deam260", ("valence", "arousal"),
                   overrides=tuple(fields.items()),
                   quick_overrides=tuple({**fields, "per_target_networks": True}.items()), val_fraction=_LI_VAL)


_LI_PROTOCOL_GAP = ("no autoencoder pre-training of the first two layers; one partition and one trial per scale "
                    "instead of 5 partitions x 3 trials and model selection (Sec. 3.2-3.3)")


def _li_tables() -> tuple[PaperTable, ...]:
    val = "validation"
    t1 = _tbl("li2016", 1, "RMSE of DBLSTM models with different sequence length", [
        Metric("valence/RMSE", "V-RMSE, validation", val), Metric("arousal/RMSE", "A-RMSE, validation", val),
        Metric("valence/RMSE", "V-RMSE, test"), Metric("arousal/RMSE", "A-RMSE, test")], [
        (f"sequence length {length}", _li_run("paper", "tiny", scales=(length,), fusion="avg"), figures,
         _LI_PROTOCOL_GAP)
        for length, figures in ((10, (0.181, 0.157, 0.364, 0.231)), (20, (0.188, 0.152, 0.360, 0.241)),
                                (30, (0.180, 0.148, 0.363, 0.240)), (60, (0.162, 0.151, 0.333, 0.279)))],
        dataset="deam")
    avg, elm = _li_run("avg", "avg_tiny"), _li_run("paper", "tiny")
    pretrain = "the paper's pre-training data ({}) has no counterpart: MEMO does not pre-train"
    t2 = _tbl("li2016", 2, "RMSE of V/A after multi-scale fusion", [
        Metric("valence/RMSE", "V-RMSE"), Metric("arousal/RMSE", "A-RMSE")], [
        ("AVG(431x30, 58-full)", avg, (0.331, 0.230), pretrain.format("431 x 30 s clips and the 58 full test songs")),
        ("AVG(431-full)", avg, (0.331, 0.233), pretrain.format("431 full training songs")),
        ("ELM(431x30, 58-full)", elm, (0.308, 0.234), pretrain.format("431 x 30 s clips and the 58 full test songs")),
        ("ELM(431-full)", elm, (0.318, 0.239), pretrain.format("431 full training songs")),
    ], dataset="deam", note="The paper averages the fusions of two groups of selected DBLSTMs (Sec. 3.3, 3.5); "
                            "MEMO fuses one DBLSTM per scale.")
    return t1, t2


# ---- Chaki et al. 2020 --------------------------------------------------------------------------------

_CHAKI_QUICK_DEPTH = {1: (16,), 2: (16, 8), 3: (16, 8, 8)}


def _chaki_run(model: str, preset: str, target: str, features: str = "compare6373") -> RunSpec:
    depth = len(preset.split("_")) - 1
    if model == "transformer":
        quick = (("n_layers", int(preset.split("_")[1].rstrip("L"))),)
    else:
        quick = (("hidden_sizes", _CHAKI_QUICK_DEPTH[depth]),) if depth > 1 else ()
    return RunSpec(model, preset, "tiny", features, (target,), quick_overrides=quick, protocol="kfold", n_folds=10)


def _chaki_tables() -> tuple[PaperTable, ...]:
    search = "the paper's figures are the best of its layer-size search; MEMO trains the best size only"
    tables = []
    # (label, model, best preset for arousal / valence, figures for arousal / valence)
    rows = [
        ("Baseline [3] (LSTM 400)", "chaki_lstm", "LSTM_400", "LSTM_400", (0.60, 0.14, 0.11), (0.29, 0.08, 0.16)),
        ("LSTM (Single Layer)", "chaki_lstm", "LSTM_1024", "LSTM_700", (0.73, 0.12, 0.12), (0.39, 0.10, 0.15)),
        ("LSTM (Multi Layer)", "chaki_lstm", "LSTM_700_128", "LSTM_2048_1024", (0.69, 0.20, 0.12),
         (0.29, 0.17, 0.15)),
        ("AT (Single Layer)", "at", "AT_300", "AT_400", (0.75, 0.15, 0.13), (0.53, 0.08, 0.16)),
        ("AT (Multi Layer)", "at", "AT_2048_1024", "AT_300_128", (0.78, 0.24, 0.11), (0.51, 0.04, 0.16)),
        ("BAT (Single Layer)", "bat", "BAT_1024", "BAT_2048", (0.55, 0.04, 0.12), (0.16, 0.13, 0.15)),
        ("BAT (Multi Layer)", "bat", "BAT_2048_1024", "BAT_400_128", (0.58, 0.06, 0.12), (0.21, 0.16, 0.14)),
        ("Transformer", "transformer", "Transformer_2L", "Transformer_1L", (0.64, 0.61, 0.27), (0.12, 0.11, 0.10)),
    ]
    for number, target, letter, caption in ((1, "arousal", "A", "Model Selection for Dynamic Arousal Prediction"),
                                            (2, "valence", "V", "Model Selection for Dynamic Valence Prediction")):
        metrics = [Metric(f"{target}/R2", f"R2_{letter}", decimals=2),
                   Metric(f"{target}/tau-per-song", f"tau_{letter} [printed r_{letter}]", decimals=2),
                   Metric(f"{target}/MAE", f"MAE_{letter}", decimals=2)]
        pick = 2 if number == 1 else 3
        fig = 4 if number == 1 else 5
        tables.append(_tbl("chaki2020", number, caption, metrics, [
            (f"{r[0]}, best {r[pick]}", _chaki_run(r[1], r[pick], target), r[fig],
             "" if r[0].startswith("Baseline") else search) for r in rows],
            dataset="emomusic",
            note="The table heads the second figure r-bar; Sec. 4.1.3 defines it as Kendall's tau per song "
                 "(as Tables 3-4 head it), which MEMO reports. Features: the paper's ComParE 2013 set "
                 "('6670 features', Sec. 4.1.1); MEMO's `compare6373` is the ComParE 2016 functionals per 500 ms."))
    sets = [("Chroma(STFT+CQT), 24", "chroma"), ("CQT on Audio clip, 252", "cqt"), ("Chroma+CQT, 276", "chroma_cqt"),
            ("Spectral Features, 197", "spectral")]
    t3 = [("AT_64", (0.15, 0.04, 0.19)), ("AT_64", (0.45, 0.06, 0.17)), ("AT_64", (0.57, 0.07, 0.14)),
          ("AT_64", (0.70, 0.03, 0.12))]
    t4 = [("AT_64", (0.01, 0.002, 0.09)), ("AT_64", (0.07, 0.01, 0.17)), ("AT_64", (0.17, 0.06, 0.14)),
          ("AT_128", (0.35, 0.07, 0.16))]
    for number, target, letter, caption, best in ((3, "arousal", "A", "Feature Sets for Arousal Prediction", t3),
                                                  (4, "valence", "V", "Feature Sets for Valence Prediction", t4)):
        metrics = [Metric(f"{target}/R2", f"R2_{letter}", decimals=2),
                   Metric(f"{target}/tau-per-song", f"tau_{letter}", decimals=2),
                   Metric(f"{target}/MAE", f"MAE_{letter}", decimals=2)]
        tables.append(_tbl("chaki2020", number, caption, metrics, [
            (f"{label}, {preset}", _chaki_run("at", preset, target, features), figures)
            for (label, features), (preset, figures) in zip(sets, best)], dataset="emomusic"))
    return tuple(tables)


# ---- Zhang et al. 2023 --------------------------------------------------------------------------------

_ZHANG_METRICS = tuple(
    Metric(f"{target}/{key}", f"{target[0].upper()} {label}", decimals=4)
    for target in ("arousal", "valence")
    for key, label in (("CCC-per-song", "CCC"), ("r-per-song", "PCC"), ("RMSE-per-song", "RMSE"))
)
# Sec. 4.4.1: test hops of 2.5 s for arousal and 0.5 s for valence (30 s windows).
_ZHANG_HOPS = (("arousal", 2.5), ("valence", 0.5))


def _damff(variant: str = "") -> RunSpec:
    return RunSpec("damff", f"paper{variant}", f"tiny{variant}", None, ("valence", "arousal"), score_hops=_ZHANG_HOPS)


def _zhang_tables() -> tuple[PaperTable, ...]:
    figure4 = "Figure 4 (the architectures) is not in the paper's text: MEMO's kernel pairs are its reading"
    t1 = _tbl("zhang2023", 1, "Experimental results of different CNN architectures on the MER1101 dataset",
              _ZHANG_METRICS, [
                  ("Hybrid CNN", _damff(), (0.4223, 0.6856, 0.1494, 0.1115, 0.2004, 0.2595)),
                  ("T-F CNN", _damff("_tf"), (0.4120, 0.6787, 0.1478, 0.0846, 0.1363, 0.2684), figure4),
                  ("Square CNN", _damff("_square"), (0.4130, 0.6894, 0.1439, 0.0732, 0.1343, 0.2703), figure4),
                  ("T-S CNN", _damff("_ts"), (0.4090, 0.6881, 0.1458, 0.1085, 0.1959, 0.2542), figure4),
                  ("F-S CNN", _damff("_fs"), (0.4150, 0.6804, 0.1562, 0.1046, 0.1640, 0.2800), figure4),
              ], dataset="mer1101",
              note="The paper stars arousal PCC and RMSE: no significant difference between the architectures.")
    others = [  # (model, MER1101 figures, DEAM2015 figures)
        ("CRNN [16]", (0.2798, 0.5177, 0.1625, 0.0573, 0.1033, 0.2721),
         (0.3488, 0.5885, 0.2197, 0.0053, -0.0292, 0.3542)),
        ("BCRSN [9]", (0.1741, 0.3770, 0.3063, 0.0660, -0.0647, 0.4143),
         (0.3168, 0.5148, 0.2397, 0.0125, -0.0171, 0.2914)),
        ("DNN [17]", (0.0529, 0.0903, 0.2372, 0.0118, 0.0017, 0.2734),
         (0.2757, 0.4282, 0.2483, 0.0075, 0.0031, 0.3353)),
        ("MCRNN [18]", (0.0564, 0.0918, 0.2401, 0.0155, 0.0028, 0.2752),
         (0.2700, 0.4396, 0.2428, 0.0137, 0.0126, 0.3135)),
    ]
    rows = []
    for label, mer, deam in others:
        reason = f"{label.split()[0]} is one of the earlier models the paper re-implements; not implemented in MEMO"
        rows.append((f"{label}, MER1101", None, mer, "", reason, "mer1101"))
        rows.append((f"{label}, DEAM2015", None, deam, "", reason, "deam"))
    rows.append(("DAMFF, MER1101", _damff(), (0.4223, 0.6856, 0.1494, 0.1115, 0.2004, 0.2595), "", "", "mer1101"))
    rows.append(("DAMFF, DEAM2015", _damff(), (0.4203, 0.6866, 0.2401, 0.0151, 0.0366, 0.3403), "", "", "deam"))
    t2 = _tbl("zhang2023", 2, "Compared with the existing results", _ZHANG_METRICS, rows, dataset="mer1101",
              note="The paper prints MER1101 and DEAM2015 side by side; here each model has one row per dataset. "
                   "The paper gives no hop for DEAM2015; MEMO uses the MER1101 hops there too.")
    t3 = _tbl("zhang2023", 3, "Ablation experiments of arousal and valence on the MER1101 dataset", _ZHANG_METRICS, [
        ("DAMFF", _damff(), (0.4223, 0.6856, 0.1494, 0.1115, 0.2004, 0.2595)),
        ("w/o Fusion Strategy", _damff("_wo_fusion"), (0.4097, 0.6869, 0.1563, 0.1074, 0.1722, 0.2707),
         "MEMO's reading: Z = X'(A + B), the SCAM output passed on without Eq. 4's weighting"),
        ("w/o Channel Attention", _damff("_wo_channel"), (0.4061, 0.6740, 0.1494, 0.1071, 0.1904, 0.2650)),
        ("w/o Spatial Attention", _damff("_wo_spatial"), (0.4177, 0.6819, 0.1518, 0.1009, 0.1874, 0.2720)),
        ("w/o DAFF", _damff("_wo_daff"), (0.3982, 0.6813, 0.1562, 0.0977, 0.1693, 0.2670)),
    ], dataset="mer1101", note="The paper stars arousal PCC and RMSE: no significant difference between the variants.")
    return t1, t2, t3


# ---- Rajamani et al. 2020 -----------------------------------------------------------------------------


def _vggish(variant: str = "") -> RunSpec:
    return RunSpec("vggish", f"paper{variant}", f"tiny{variant}", None, ())


def _rajamani_tables() -> tuple[PaperTable, ...]:
    base, sa3, sa4, sa5, arelu = _vggish(), _vggish("_sa3"), _vggish("_sa4"), _vggish("_sa5"), _vggish("_arelu")
    metrics = [Metric("GFLOPs", "GFLOPS", decimals=2), Metric("params", "#Parameters", decimals=0),
               Metric("ROC-AUC-macro", "ROC-AUC"), Metric("PR-AUC-macro", "PR-AUC")]
    numbers = ("the row numbers of rows 1 and 7 are unreadable in the transcript; "
               "they follow from the text ('models 2 and 5', 'models 1, 2 and 5')")
    fusion = "the paper gives no GFLOPS or parameter count for fusions; ours: the members' sum"
    t1 = _tbl("rajamani2020", 1, "Results on MediaEval2020 test set", metrics, [
        ("1. VGG-ish baseline", base, (3.32, 448122, 0.725, 0.107), numbers),
        ("2. Self-attention in Layer3", sa3, (2.94, 350074, 0.716, 0.108)),
        ("3. Self-attention in Layer4", sa4, (3.28, 350074, 0.723, 0.108)),
        ("4. Self-attention in Layer5", sa5, (3.32, 399098, 0.716, 0.101)),
        ("5. AReLU activation in baseline", arelu, (3.32, 448132, 0.728, 0.107)),
        ("6. Late fusion of models 2 and 5", FusionSpec((sa3, arelu)), (None, None, 0.732, 0.114), fusion),
        ("7. Late fusion of models 1, 2 and 5", FusionSpec((base, sa3, arelu)), (None, None, 0.735, 0.118),
         f"{fusion}; {numbers}"),
    ], dataset="mtg_jamendo")
    return (t1,)


PAPER_SPECS: dict[str, PaperSpec] = {
    "ma2017": PaperSpec(
        "ma2017", "Ma et al. 2017",
        "Multi-scale Context Based Attention for Dynamic Music Emotion Prediction (ACM MM 2017)",
        "regression", "deam",
        "MediaEval 2015 (DEAM): 431 training clips, 50 of them for validation, 58 full test songs; the baseline "
        "260 features per 500 ms; valence and arousal trained separately; RMSProp lr 0.005, 50 epochs, dropout "
        "0.5, L2; sizes chosen on validation; a 25-frame triangle filter on each song's output; RMSE on the test "
        "songs.",
        "`deam260`; `ma_lstm` / `ma_alstm` / `mca` at each row's reported size (window l, h, n); one target per run; "
        "the model's paper schedule; the triangle filter before scoring; RMSE pooled over the annotated test frames.",
        _ma_tables()),
    "li2016": PaperSpec(
        "li2016", "Li et al. 2016",
        "A Deep Bidirectional LSTM Based Multi-scale Approach for Music Dynamic Emotion Prediction (ICASSP 2016)",
        "regression", "deam",
        "MediaEval 2015 (DEAM): 411 training and 20 validation clips (5 partitions), 58 full test songs; baseline "
        "260 features; DBLSTMs of 5 layers x 250 units at sequence lengths 10, 20, 30, 60, valence and arousal "
        "separately, SGD lr 5e-6 momentum 0.9, input noise 0.6, early stopping; ELM or AVG fusion; RMSE.",
        "`deam260`; `dblstm_elm` with one network per target; a single scale (`scales=(L,)`) for Table 1, the four "
        "scales fused by the ELM (fitted on the validation songs' outputs, as Sec. 3.4) or by averaging for Table 2; "
        "RMSE pooled over annotated frames.",
        _li_tables()),
    "chaki2020": PaperSpec(
        "chaki2020", "Chaki et al. 2020",
        "Explaining Perceived Emotion Predictions in Music: An Attentive Approach (ISMIR 2020)",
        "regression", "emomusic",
        "1000 Songs (744 annotated clips, the last 30 s, 61 frames each); ComParE features (Tables 1-2) or librosa "
        "sets (Tables 3-4) per 500 ms; one model per target; 10-fold cross-validation; MSE, RMSProp lr 0.001, "
        "batch 20, at most 50 epochs, early stopping after 5; R^2, Kendall's tau per song, MAE.",
        "each row's best preset (`LSTM_1024`, `AT_2048_1024`, ...); one target per run; `cross_validate` by song over "
        "all songs of the dataset (10 folds); the mean over folds of R^2 and MAE (pooled within the fold) and of "
        "tau per song.",
        _chaki_tables()),
    "zhang2023": PaperSpec(
        "zhang2023", "Zhang et al. 2023",
        "Dual Attention-based Multi-scale Feature Fusion Approach for Dynamic Music Emotion Recognition (ISMIR 2023)",
        "regression", "mer1101",
        "MER1101 (their own dataset: 80/20 split, 30 s training snippets, whole test songs) and DEAM2015 (official "
        "split); 128-band log-mel, 60 ms window, 10 ms hop; Adam lr 3e-4, 100 epochs, batch 32, early stopping; "
        "loss 1 - CCC (arousal), RMSE (valence); 5-fold cross-validation; test windows of 30 s slid by 2.5 s "
        "(arousal) and 0.5 s (valence); CCC, PCC and RMSE per song, averaged over songs.",
        "`damff` presets of the five architectures and four ablations on `logmel128_steps`, valence and arousal in "
        "one model with the paper's two losses; the dataset's split (one split, not 5-fold); each target scored at "
        "its hop; CCC, PCC, RMSE per song.",
        _zhang_tables()),
    "rajamani2020": PaperSpec(
        "rajamani2020", "Rajamani et al. 2020",
        "Emotion and Theme Recognition in Music Using Attention-Based Methods (MediaEval 2020)",
        "tagging", "mtg_jamendo",
        "MTG-Jamendo mood/theme subset (MediaEval 2020: 56 tags, official split); the first 1400 mel frames; "
        "VGG-ish baseline, stand-alone self-attention in layer 3, 4 or 5, AReLU in all layers; batch 16, lr 1e-4, "
        "at most 100 epochs, early stopping on validation ROC-AUC after 35; late fusion by averaging scores; "
        "ROC-AUC and PR-AUC macro on the test set.",
        "`vggish` presets on `mel96` over the dataset's tags; the dataset's split; late fusion = mean of the members' "
        "scores at their mean validation thresholds; ROC-AUC and PR-AUC macro over the tags with positive and "
        "negative test songs; parameters and torch's FLOPs of one 1400-frame input.",
        _rajamani_tables()),
}


# --------------------------------------------------------------------------- results


@dataclass
class RowResult:
    """MEMO's figures for one paper row.

    Attributes:
        row: the transcribed row.
        ours: our figure per metric label (absent where there is none).
        run: what ran, in words (``"not implemented in MEMO"`` for rows without a run).
        notes: where the run departs from the paper's protocol for this row, and why.
        train_seconds: training time of the row's run (0 when it was reused from an earlier row).
    """

    row: PaperRow
    ours: dict[str, float] = field(default_factory=dict)
    run: str = ""
    notes: list[str] = field(default_factory=list)
    train_seconds: float = 0.0


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
        self.splits: list[str] = []
        self.tags: tuple[str, ...] = ()

    # -- data ------------------------------------------------------------------------------------------

    def _parts(self, run: RunSpec) -> tuple[str, str, tuple[str, ...], dict[str, list]]:
        from .train import dataset_split, model_data_defaults, split_examples

        task, features, targets = model_data_defaults(run.model, self.load, features=run.features,
                                                      targets=run.targets or ("valence", "arousal"))
        if task == "regression":
            targets = ("valence", "arousal")  # built once; each run selects its own
        else:
            self.tags = targets
        split_key = "all" if run.protocol == "kfold" else round(run.val_fraction, 6)
        key = (task, features, split_key)
        if key not in self.examples:
            if run.protocol == "kfold":
                split = {"all": [s.song_id for s in self.load.songs]}
            else:
                split = dataset_split(self.load, seed=self.seed, val=run.val_fraction)
            parts = split_examples(task, self.load, split, features=features, targets=targets,
                                   progress=self.progress)
            if run.protocol != "kfold" and (not parts.get("train") or not parts.get("test")):
                raise MemoError(f"{self.load.dataset}: the split needs training and test songs with audio")
            self.examples[key] = parts
            if run.protocol == "kfold":
                self.splits.append(f"cross-validation over {len(parts['all'])} songs")
            else:
                sizes = ", ".join(f"{len(exs)} {part}" for part, exs in parts.items())
                carved = not any(song.split in ("validation", "val") for song in self.load.songs)
                self.splits.append(f"`{features}`: {sizes} songs" + (
                    f" (validation: {run.val_fraction:.1%} of the training songs, as the paper holds out)"
                    if carved and not math.isclose(run.val_fraction, 0.15) else ""))
        return task, features, targets, self.examples[key]

    def _select(self, task: str, examples: list, targets: tuple[str, ...]) -> list:
        from .data.sequences import select_targets

        return select_targets(examples, targets) if task == "regression" and examples else list(examples)

    def _epoch_overrides(self, run: RunSpec, preset: str, overrides: dict[str, Any], n_features: int) -> dict:
        from .models.registry import get_model
        from .train import TrainConfig

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
        base = (run.model, preset, tuple(sorted(overrides.items())), run.features, run.targets, run.protocol)
        if run.protocol == "kfold":
            return base + (self.folds(run), run.smooth)
        return base + (round(run.val_fraction, 6),)

    def folds(self, run: RunSpec) -> int:
        wanted = QUICK_FOLDS if self.quick else run.n_folds
        return max(2, min(wanted, len(self.load.songs)))

    def train(self, run: RunSpec) -> tuple[Any, float]:
        """``((TrainResult, examples per part, task), training seconds)`` of a holdout run (0 s when reused)."""
        from .train import train_model

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
        return self.trained[key], time.perf_counter() - started

    def score(self, run: RunSpec, metrics: Sequence[Metric]) -> tuple[dict[str, float], float, list[str]]:
        """Our figures for ``metrics`` (by label), the training seconds, and notes on missing figures."""
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
            notes += self._tag_note(report)
        out.update(self._size(result.model, task, parts, metrics))
        return out, seconds, notes

    def _tag_note(self, report: Mapping[str, float]) -> list[str]:
        scored = report.get("n_tags_scored")
        if scored is None or int(scored) == len(self.tags):
            return []
        return [f"AUCs over the {int(scored)} of {len(self.tags)} tags with positive and negative test songs"]

    def _holdout_report(self, run: RunSpec, result, parts: dict[str, list], task: str, part: str) -> dict:
        from .evaluate import score_model

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
        from .report import _flops_of_30s

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
        from .evaluate import cross_validate

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
        return {m.label: mean[m.key] for m in metrics if m.key in mean}, seconds, []

    def score_fusion(self, fusion: FusionSpec, metrics: Sequence[Metric]) -> tuple[dict[str, float], float, list[str]]:

        from .evaluate import late_fusion_metrics

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


# --------------------------------------------------------------------------- notes


def _dataset_note(row: PaperRow, dataset: str) -> str | None:
    if row.dataset == dataset:
        return None
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
        if member.protocol == "kfold" and runner.folds(member) != member.n_folds:
            why = "--quick" if runner.quick else f"only {len(runner.load.songs)} songs"
            notes.append(f"{runner.folds(member)}-fold cross-validation instead of {member.n_folds} ({why})")
    if runner.tags and runner.spec.task == "tagging" and len(runner.tags) != 56:
        notes.append(f"{len(runner.tags)} tags instead of MTG-Jamendo's 56 (the output layer's parameters and "
                     "FLOPs follow)")
    return list(dict.fromkeys(notes))


# --------------------------------------------------------------------------- entry point


def _check_paper(paper: str) -> PaperSpec:
    if paper not in PAPER_SPECS:
        raise MemoError(f"unknown paper {paper!r}; known: {', '.join(PAPERS)} (or `all` on the command line)")
    return PAPER_SPECS[paper]


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
    from .data import load_dataset

    spec = _check_paper(paper)
    if max_epochs is not None and int(max_epochs) < 1:
        raise MemoError(f"max_epochs must be at least 1, got {max_epochs}")
    if root is None and dataset != "synth":
        raise MemoError(f"--dataset {dataset} needs --root PATH: the folder of your copy of "
                        f"{DATASET_NAMES.get(dataset, dataset)} (only synth has a default, the synthetic corpus)")
    if root is None:
        from .data import synth

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
        result.run = row.run.describe(quick, _features_of(row.run))
        here = f"Table {table.number}, '{row.label}'"
        earlier = [runner.first_use[k] for k in keys if runner.first_use.get(k, here) != here]
        for k in keys:
            runner.first_use.setdefault(k, here)
        result.notes += _run_notes(runner, row.run)
        if earlier and not fusion:
            result.notes.append(f"same MEMO run as {earlier[0]}")
        result.notes += missing
    note = _dataset_note(row, dataset)
    if note:
        result.notes.insert(0, note)
    if row.notes:
        result.notes.append(row.notes)
    return result


def _features_of(run: RunSpec | FusionSpec) -> str | None:
    from .models.registry import model_class

    first = run.members[0] if isinstance(run, FusionSpec) else run
    return first.features or getattr(model_class(first.model), "default_features", None)


# --------------------------------------------------------------------------- markdown


def _cell(value: float | None, decimals: int, *, paper: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{decimals}f}"
    if paper and float(text) != value:  # a cell printed with more digits than its column (Chaki's 0.002)
        text = f"{value:g}"
    return text


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
                 "MEMO's on the data above. '–': no figure (not given, not implemented, or not computable).")
    lines.append("")
    for table in spec.tables:
        rows = [by_row.get((table.number, row.label)) or RowResult(row, run="not run") for row in table.rows]
        lines.append(f"### {spec.citation}, Table {table.number}: {table.caption}")
        lines.append("")
        if table.note:
            lines.append(table.note)
            lines.append("")
        ran = [r for r in rows if r.row.run is not None]
        common = [n for n in (ran[0].notes if ran else []) if all(n in r.notes for r in ran)] if len(ran) > 1 else []
        if common:
            lines.append("Differences from the paper for every row MEMO runs: " + "; ".join(common) + ".")
            lines.append("")
        head = ["row", "MEMO's run"]
        for m in table.metrics:
            head += [f"{m.label} (paper)", f"{m.label} (ours)"]
        head.append("notes")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r.row.label, r.run or "–"]
            for m in table.metrics:
                cells += [_cell(r.row.figures.get(m.label), m.decimals, paper=True),
                          _cell(r.ours.get(m.label), m.decimals, paper=False)]
            own = [n for n in r.notes if n not in common]
            cells.append("; ".join(own) if own else "–")
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``reproduce`` subcommand's options (the caller adds ``-q/--quiet``)."""
    p.add_argument("--paper", required=True, choices=(*PAPERS, "all"),
                   help="the paper whose tables to reproduce, or all five")
    p.add_argument("--dataset", default="synth",
                   help="dataset loader name (default synth; the papers': deam, emomusic, mtg_jamendo)")
    p.add_argument("--root", help="the dataset folder (synth: the default corpus, rendered if missing)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (mtg_jamendo: audio_dir=PATH or mel_dir=PATH, split_index=0)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny presets, {QUICK_EPOCHS} epochs, {QUICK_FOLDS}-fold CV: runs the protocol in minutes")
    p.add_argument("--max-epochs", type=int, help="cap every run's paper epoch count")
    p.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    p.add_argument("--out", help="write the markdown tables here")
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run ``reproduce`` for ``--paper`` (all five for ``all``), print the tables, write ``--out``."""
    from .cli import _options, _training_root
    from .fileio import atomic_write

    quiet = bool(getattr(args, "quiet", False))
    papers = PAPERS if args.paper == "all" else (args.paper,)
    for paper in papers:
        _check_paper(paper)
    options = _options(getattr(args, "option", None))

    def show(result: RowResult) -> None:
        figures = ", ".join(f"{label} paper {_cell(result.row.figures.get(label), 4, paper=True)} ours "
                            f"{_cell(value, 4, paper=False)}" for label, value in result.ours.items())
        print(f"{result.row.paper} Table {result.row.table}, {result.row.label}: {figures or result.run}", flush=True)

    root = _training_root(args)
    sections = []
    for paper in papers:
        results = reproduce(paper, dataset=args.dataset, root=root, quick=args.quick, seed=args.seed,
                            max_epochs=args.max_epochs, progress=not quiet, on_row=None if quiet else show,
                            options=options, skip_unsupported=len(papers) > 1)
        text = format_reproduction(paper, results)
        print(text, flush=True)
        sections.append(text)
    if args.out:
        atomic_write(Path(args.out), lambda h: h.write("\n\n".join(sections)))
        print(f"written {args.out}")
    return 0
