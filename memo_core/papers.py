"""The five papers' results tables, transcribed: each row with the paper's figure, the run that
reproduces it (:class:`RunSpec`, :class:`FusionSpec`) and where our protocol differs.
Plain data; :mod:`memo_core.experiments.reproduce` runs them and the Compare page shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from memo_core.errors import MemoError

__all__ = [
    "PAPERS",
    "QUICK_EPOCHS",
    "QUICK_FOLDS",
    "DATASET_NAMES",
    "Metric",
    "RunSpec",
    "FusionSpec",
    "PaperRow",
    "PaperTable",
    "PaperSpec",
    "PAPER_SPECS",
    "ProtocolNote",
    "DEAM_2015_TRAINING_NOTE",
]

PAPERS = ("ma2017", "li2016", "chaki2020", "zhang2023", "rajamani2020")



#: Epochs of every run under ``quick`` (``max_epochs``, when given, replaces it).
QUICK_EPOCHS = 2



#: Folds of Chaki et al.'s cross-validation under ``quick`` (the paper: 10).
QUICK_FOLDS = 3



#: How the tables name a PAPER's dataset (the papers' rows' ``dataset``): MEMO's loader names, and MER1101,
#: which MEMO has no loader for. These name what the paper used; what a run used is counted from the
#: loaded data (``reproduce``'s ``info["data"]``), never taken from here.
DATASET_NAMES = {
    "deam": "DEAM / MediaEval 2015 as the paper used it (431 development clips, 58 full test songs)",
    "emomusic": "1000 Songs / emoMusic (744 annotated 45 s clips)",
    "mtg_jamendo": "MTG-Jamendo mood/theme (MediaEval 2020, 56 tags)",
    "mer1101": "MER1101 (the authors' dataset; MEMO has no loader for it)",
    "pmemo": "PMEmo",
    "generic": "a generic annotated folder",
    "synth": "the synthetic corpus",
}



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
        averaging: how ``key`` averages, when the paper's figure is read as that
            averaging (``"per song"``): shown in our column's heading.
        also: ``(key, name)`` of further figures of ours printed beside, where
            MEMO's other averaging differs from the paper's (``("valence/RMSE",
            "pooled")``: all test frames together).
    """

    key: str
    label: str
    part: str = "test"
    decimals: int = 3
    averaging: str = ""
    also: tuple[tuple[str, str], ...] = ()



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
        span: the frames of each song the model sees: ``"song"`` (all) or
            ``"annotated"`` (from the first to the last annotated frame: Chaki et
            al.'s last 30 s, 61 frames, of each emoMusic clip).
        feature_params: the feature extractor's parameters of a paper-size run
            (DAMFF's log-mel at the paper's 44.1 kHz); ``()``: its defaults.
        quick_feature_params: those of a ``quick`` run (``None``: as ``feature_params``).
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
    span: str = "song"
    feature_params: tuple[tuple[str, Any], ...] = ()
    quick_feature_params: tuple[tuple[str, Any], ...] | None = None

    def resolved(self, quick: bool) -> tuple[str, dict[str, Any]]:
        """``(preset, model config overrides)`` of a paper-size or a quick run."""
        return (self.quick_preset, dict(self.quick_overrides)) if quick else (self.preset, dict(self.overrides))

    def resolved_feature_params(self, quick: bool) -> dict[str, Any]:
        """The feature extractor's parameters of a paper-size or a quick run (``{}``: its defaults)."""
        if quick and self.quick_feature_params is not None:
            return dict(self.quick_feature_params)
        return dict(self.feature_params)

    def describe(self, quick: bool, features: str | None = None) -> str:
        preset, overrides = self.resolved(quick)
        fields = ", ".join(f"{k}={_plain(v)}" for k, v in overrides.items())
        text = f"`{self.model}:{preset}`" + (f" ({fields})" if fields else "")
        params = self.resolved_feature_params(quick)
        named = f"`{features or self.features}`" + (
            " (" + ", ".join(f"{k}={_plain(v)}" for k, v in params.items()) + ")" if params else "")
        span = ", annotated span" if self.span == "annotated" else ""
        return text + f", {named}, " + ("+".join(self.targets) or "the dataset's tags") + span



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
class ProtocolNote:
    """One point where MEMO's protocol for a table was checked against the paper's text.

    Attributes:
        key: a stable name (tests look for it: ``"deam-431"``, ``"rmsprop-defaults"``, ...).
        text: what MEMO does and, where it differs, what the paper did and why MEMO does not.
        matches: MEMO follows the paper here (listed under "Follows the paper"); else it differs.
        quick_text: under ``--quick`` the point differs, in these words (DAMFF's 16 kHz CPU preset).
    """

    key: str
    text: str
    matches: bool = False
    quick_text: str | None = None

    def differs(self, quick: bool) -> bool:
        return not self.matches or (quick and self.quick_text is not None)

    def words(self, quick: bool) -> str:
        return self.quick_text if quick and self.quick_text is not None else self.text



@dataclass(frozen=True)
class PaperTable:
    """A paper's table: its rows, and ``protocol``, every checked point of MEMO's protocol for it
    (:class:`ProtocolNote`: the known differences, and what follows the paper)."""

    paper: str
    number: int
    caption: str
    metrics: tuple[Metric, ...]
    rows: tuple[PaperRow, ...]
    note: str = ""
    protocol: tuple[ProtocolNote, ...] = ()



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
         dataset: str, note: str = "", protocol: Sequence[ProtocolNote] = ()) -> PaperTable:
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
    return PaperTable(paper, number, caption, tuple(metrics), tuple(out), note, tuple(protocol))



#: Why MEMO's DEAM training set is not MediaEval 2015's 431 development clips (issue 14).
DEAM_2015_TRAINING_NOTE = (
    "training songs on DEAM: every DEAM excerpt below song 2001 that has audio (1,744 in the release: all of "
    "MediaEval 2013-2014's annotated 45 s clips), split into training and validation, instead of MediaEval "
    "2015's 431 development clips. The 431 cannot be derived from the DEAM release: neither its annotation "
    "files (what MEMO's loader reads) nor its metadata (artist, title, genre, segment per song) mark the 2015 "
    "selection, which the organisers made by annotation quality; `reproduce` on DEAM prints the counts it "
    "used. Test songs: the 58 full songs 2001-2058, as the paper")


def _deam_431(*, matters: str = "") -> ProtocolNote:
    return ProtocolNote("deam-431", DEAM_2015_TRAINING_NOTE + (f"; {matters}" if matters else ""))


def _rmse_averaging(paper_words: str) -> ProtocolNote:
    return ProtocolNote(
        "rmse-averaging",
        "RMSE averaged per song (each test song's RMSE, then their mean: the 'ours, per song' column), with "
        "the pooled RMSE over all test frames beside it ('ours, pooled'). The paper does not say how it "
        f"averages ({paper_words}); it sets its figures beside the MediaEval 2015 runs, whose official "
        "evaluation averages per song (the task overview, ref. [3] of Ma et al., reports them as mean and "
        "standard deviation over songs), so per song is MEMO's reading",
        matches=True)


#: TensorFlow's defaults where a paper trained with TensorFlow and says nothing more (Ma et al., Chaki et al.).
_TF_RMSPROP = ProtocolNote(
    "rmsprop-defaults",
    "RMSProp with PyTorch's defaults (running-average decay alpha 0.99, eps 1e-8); the paper used "
    "TensorFlow's (decay 0.9, epsilon 1e-10 in tf.train.RMSPropOptimizer, 1e-7 in Keras): the same learning "
    "rate gives different steps. Kept so that MEMO has one RMSProp")
_TF_FORGET_BIAS = ProtocolNote(
    "forget-gate-bias",
    "LSTM forget-gate bias: PyTorch's initialisation (small random values, two bias vectors); TensorFlow's LSTM "
    "cells add 1 to the forget gate (forget_bias=1.0, Keras's unit_forget_bias), which keeps early memory open")


_MA_PROTOCOL = (
    _deam_431(matters="validation: 50/431 (11.6 %) of MEMO's training songs at random, as the paper's 50 of 431"),
    _rmse_averaging("'The prediction accuracy is evaluated with RMSE (root mean square error) on the test set', "
                    "Sec. 5"),
    ProtocolNote("last-epoch",
                 "the weights after the last of 50 epochs, no early stopping (Sec. 4.3: 'The training is stopped "
                 "after 50 epochs'; TrainConfig.restore='last')", matches=True),
    _TF_RMSPROP,
    _TF_FORGET_BIAS,
    ProtocolNote("init-l2-batch",
                 "LSTM weights from PyTorch's default initialisation (the paper tunes the standard deviation of a "
                 "zero-mean initialisation on validation); the L2 coefficient and batch size are not given: 1e-4 "
                 "and 8 here"),
    ProtocolNote("model-selection",
                 "each row trains the size the paper reports for it (h, n); the paper chose the size per row on "
                 "the validation loss"),
    ProtocolNote("smoothing", "the 25-frame triangle filter on each song's output before scoring, one target per "
                              "run (Sec. 4.3)", matches=True),
)


_MA_VAL = 50 / 431  # Sec. 4.3: 50 of the 431 training clips for validation



def _per_song_rmse(target: str, label: str, part: str = "test") -> Metric:
    """The papers' RMSE read as averaged per song (MediaEval 2015's), MEMO's pooled RMSE beside it."""
    return Metric(f"{target}/RMSE-per-song", label, part, averaging="per song",
                  also=((f"{target}/RMSE", "pooled"),))


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
        tables.append(_tbl("ma2017", number, caption, [_per_song_rmse(target, "RMSE")], [
            (f"l={l}, {kind}, h={h}, n={n}", _ma_single(target, l, kind, h, n), (rmse,))
            for (l, kind), (h, n, rmse) in zip(single, rows)], dataset="deam", protocol=_MA_PROTOCOL))
    for number, target, caption, rows in ((3, "valence", "Valence RMSE of multi-scale model", t3),
                                          (4, "arousal", "Arousal RMSE of multi-scale model", t4)):
        tables.append(_tbl("ma2017", number, caption, [_per_song_rmse(target, "RMSE")], [
            (f"{'uniform MCA' if uniform else 'MCA'}, {kind}, h={h}, n={n}", _ma_multi(target, uniform, kind, h, n),
             (rmse,)) for (uniform, kind), (h, n, rmse) in zip(multi, rows)], dataset="deam", protocol=_MA_PROTOCOL))
    return tuple(tables)



_LI_VAL = 20 / 431  # Sec. 3.2.1: 411 training and 20 validation clips per partition



def _li_run(preset: str, quick_preset: str, **fields: Any) -> RunSpec:
    # per_target_networks: the paper trains valence and arousal separately (Sec. 3.2.2); the tiny presets share
    # one network, so quick runs switch it back on.
    return RunSpec("dblstm_elm", preset, quick_preset, "deam260", ("valence", "arousal"),
                   overrides=tuple(fields.items()),
                   quick_overrides=tuple({**fields, "per_target_networks": True}.items()), val_fraction=_LI_VAL)



_LI_PROTOCOL = (
    _deam_431(matters="validation: 20/431 (4.6 %) of MEMO's training songs at random; the paper's 20 were chosen "
                      "to match the test songs' genres, in 5 disjoint partitions"),
    _rmse_averaging("'The prediction accuracy was evaluated with RMSE', Sec. 4, beside 'the best performance ... "
                    "compared with other submitted results'"),
    ProtocolNote("per-network-stopping",
                 "each DBLSTM (one per scale and target) stops on its own validation error after 20 epochs without "
                 "a new best, at most 100, and keeps its own best epoch's weights (Sec. 3.2.2; "
                 "TrainConfig.stopping='per_network'); the networks still share one optimiser run and one "
                 "shuffled song order, where the paper trained them as separate runs", matches=True),
    ProtocolNote("autoencoder-pretraining",
                 "no autoencoder pre-training of the first two layers (the paper pre-trains them on its 431 clips, "
                 "or its 431 full songs and the 58 test songs: Table 2's parentheses) and PyTorch's default "
                 "initialisation (forget-gate bias included) instead of N(0, 0.1) for the other layers: MEMO has "
                 "no pre-training step"),
    ProtocolNote("partitions-and-selection",
                 "one partition and one trial per scale, one network per scale fused; the paper trains 5 "
                 "partitions x 3 trials per scale, selects two groups of four models and averages their fusions"),
    ProtocolNote("currennt-learning-rate",
                 "CURRENNT sums the error over a sequence's frames; MEMO's loss is the frame mean, so the paper's "
                 "learning rate 5e-6 is restated as 5e-6 x 60 frames = 3e-4 (momentum 0.9, input noise 0.6, "
                 "songs one at a time, as the paper)"),
    ProtocolNote("elm-size", "ELM hidden nodes, delta window and smoothing width are not given: 100, 2 and 5 here"),
)



def _li_tables() -> tuple[PaperTable, ...]:
    val = "validation"
    t1 = _tbl("li2016", 1, "RMSE of DBLSTM models with different sequence length", [
        _per_song_rmse("valence", "V-RMSE, validation", val), _per_song_rmse("arousal", "A-RMSE, validation", val),
        _per_song_rmse("valence", "V-RMSE, test"), _per_song_rmse("arousal", "A-RMSE, test")], [
        (f"sequence length {length}", _li_run("paper", "tiny", scales=(length,), fusion="avg"), figures)
        for length, figures in ((10, (0.181, 0.157, 0.364, 0.231)), (20, (0.188, 0.152, 0.360, 0.241)),
                                (30, (0.180, 0.148, 0.363, 0.240)), (60, (0.162, 0.151, 0.333, 0.279)))],
        dataset="deam", protocol=_LI_PROTOCOL)
    avg, elm = _li_run("avg", "avg_tiny"), _li_run("paper", "tiny")
    pretrain = "the paper's pre-training data ({}) has no counterpart: MEMO does not pre-train"
    t2 = _tbl("li2016", 2, "RMSE of V/A after multi-scale fusion", [
        _per_song_rmse("valence", "V-RMSE"), _per_song_rmse("arousal", "A-RMSE")], [
        ("AVG(431x30, 58-full)", avg, (0.331, 0.230), pretrain.format("431 x 30 s clips and the 58 full test songs")),
        ("AVG(431-full)", avg, (0.331, 0.233), pretrain.format("431 full training songs")),
        ("ELM(431x30, 58-full)", elm, (0.308, 0.234), pretrain.format("431 x 30 s clips and the 58 full test songs")),
        ("ELM(431-full)", elm, (0.318, 0.239), pretrain.format("431 full training songs")),
    ], dataset="deam", note="The paper averages the fusions of two groups of selected DBLSTMs (Sec. 3.3, 3.5); "
                            "MEMO fuses one DBLSTM per scale.", protocol=_LI_PROTOCOL)
    return t1, t2



_CHAKI_QUICK_DEPTH = {1: (16,), 2: (16, 8), 3: (16, 8, 8)}



def _chaki_run(model: str, preset: str, target: str, features: str = "compare6373") -> RunSpec:
    depth = len(preset.split("_")) - 1
    if model == "transformer":
        quick = (("n_layers", int(preset.split("_")[1].rstrip("L"))),)
    else:
        quick = (("hidden_sizes", _CHAKI_QUICK_DEPTH[depth]),) if depth > 1 else ()
    return RunSpec(model, preset, "tiny", features, (target,), quick_overrides=quick, protocol="kfold", n_folds=10,
                   span="annotated")


_CHAKI_PROTOCOL = (
    ProtocolNote("annotated-span",
                 "each clip's annotated span only: the last 30 s, 61 frames of a 45 s emoMusic clip (Sec. 4.1: "
                 "'the last 30s or the last 61 frames of each clip are used'; RunSpec.span='annotated'), so "
                 "attention and LSTM state never see the unannotated first 15 s", matches=True),
    _TF_RMSPROP,
    _TF_FORGET_BIAS,
    ProtocolNote("kept-epoch",
                 "the best validation epoch's weights are kept after early stopping (patience 5); Keras's "
                 "EarlyStopping at TensorFlow 1.14's defaults keeps the last epoch's (restore_best_weights=False), "
                 "and the paper does not say which it kept; its 1e-4 minimum improvement is not applied (any "
                 "improvement counts)"),
    ProtocolNote("metric-averaging",
                 "Kendall's tau per song, averaged ('average Kendall's tau per song', Sec. 4.1.3), as the paper; "
                 "R^2 and MAE pooled over each fold's test frames, then the mean over folds: the paper's "
                 "definitions over 'n values' do not say whether it pools frames or songs"),
    ProtocolNote("layer-size-search",
                 "each row trains the best size the paper reports; the paper's figures are the best of its "
                 "layer-size search"),
    ProtocolNote("model-choices",
                 "the output function g and the attention score, which the paper leaves open, are a linear layer "
                 "and Bahdanau's additive score; the Transformer's widths are Vaswani et al.'s base model"),
    ProtocolNote("cross-validation",
                 "10-fold cross-validation by song over all 744 clips; the paper's folds are not published"),
)



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
                 "(as Tables 3-4 head it), which MEMO reports.",
            protocol=_CHAKI_PROTOCOL + (ProtocolNote(
                "compare-features",
                "features: MEMO's `compare6373`, the ComParE 2016 functionals per 500 ms; the paper's ComParE "
                "2013 set has 6670 ('6670 features', Sec. 4.1.1)"),)))
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
            for (label, features), (preset, figures) in zip(sets, best)], dataset="emomusic",
            protocol=_CHAKI_PROTOCOL + (ProtocolNote(
                "librosa-features",
                "features: MEMO's librosa sets per 500 ms (`chroma`, `cqt`, `chroma_cqt`, `spectral`, at the "
                "paper's 44.1 kHz resampling); their exact composition follows the paper's lists, not its code"),)))
    return tuple(tables)



_ZHANG_METRICS = tuple(
    Metric(f"{target}/{key}", f"{target[0].upper()} {label}", decimals=4)
    for target in ("arousal", "valence")
    for key, label in (("CCC-per-song", "CCC"), ("r-per-song", "PCC"), ("RMSE-per-song", "RMSE"))
)



# Sec. 4.4.1: test hops of 2.5 s for arousal and 0.5 s for valence (30 s windows).
_ZHANG_HOPS = (("arousal", 2.5), ("valence", 0.5))



#: Sec. 4.3: "the sampling rate is 44100Hz" (memo_core.models.damff.PAPER_FEATURE_PARAMS); quick runs use the
#: feature set's cheaper 16 kHz default (DAMFF's CPU preset, the shipped checkpoint's).
_ZHANG_FEATURE_PARAMS = (("sample_rate", 44_100),)


def _damff(variant: str = "") -> RunSpec:
    return RunSpec("damff", f"paper{variant}", f"tiny{variant}", None, ("valence", "arousal"), score_hops=_ZHANG_HOPS,
                   feature_params=_ZHANG_FEATURE_PARAMS, quick_feature_params=())


_ZHANG_PROTOCOL = (
    ProtocolNote("no-mer1101",
                 "MER1101, the authors' dataset, has no loader in MEMO (it is not public): MER1101 rows run on the "
                 "dataset given"),
    ProtocolNote("one-split", "one split of the dataset, not the paper's 5-fold cross-validation"),
    ProtocolNote("logmel-44k",
                 "128-band log-mel at 44.1 kHz, 60 ms window, 10 ms hop (Sec. 4.3: 'the sampling rate is "
                 "44100Hz'), bands up to 22.05 kHz", matches=True,
                 quick_text="--quick: the 128-band log-mel at 16 kHz (bands up to 8 kHz), DAMFF's CPU preset and "
                            "the shipped checkpoint's, instead of the paper's 44.1 kHz (bands up to 22.05 kHz)"),
    ProtocolNote("per-song-metrics",
                 "CCC, PCC and RMSE per song, averaged over songs (Sec. 4.2: 'Each metric is computed by the "
                 "ground-truth and predicted V-A values for each song and averaged across songs')", matches=True),
    ProtocolNote("early-stopping",
                 "early stopping after 10 epochs without a better validation loss, keeping the best epoch: the "
                 "paper names early stopping without its patience or which weights it kept"),
    ProtocolNote("sizes-and-architectures",
                 "channel sizes, the reduction ratio (4), the reduced size (256) and the BiLSTM (128 units a "
                 "direction) are MEMO's: the paper gives none; Figure 4's architectures are not in its text, so "
                 "the T-F, Square, T-S and F-S kernel pairs are MEMO's reading"),
    _deam_431(matters="the paper's DEAM2015 training set is the same 431 clips ('431 30-second samples')"),
)



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
              note="The paper stars arousal PCC and RMSE: no significant difference between the architectures.",
              protocol=_ZHANG_PROTOCOL)
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
                   "The paper gives no hop for DEAM2015; MEMO uses the MER1101 hops there too.",
              protocol=_ZHANG_PROTOCOL)
    t3 = _tbl("zhang2023", 3, "Ablation experiments of arousal and valence on the MER1101 dataset", _ZHANG_METRICS, [
        ("DAMFF", _damff(), (0.4223, 0.6856, 0.1494, 0.1115, 0.2004, 0.2595)),
        ("w/o Fusion Strategy", _damff("_wo_fusion"), (0.4097, 0.6869, 0.1563, 0.1074, 0.1722, 0.2707),
         "MEMO's reading: Z = X'(A + B), the SCAM output passed on without Eq. 4's weighting"),
        ("w/o Channel Attention", _damff("_wo_channel"), (0.4061, 0.6740, 0.1494, 0.1071, 0.1904, 0.2650)),
        ("w/o Spatial Attention", _damff("_wo_spatial"), (0.4177, 0.6819, 0.1518, 0.1009, 0.1874, 0.2720)),
        ("w/o DAFF", _damff("_wo_daff"), (0.3982, 0.6813, 0.1562, 0.0977, 0.1693, 0.2670)),
    ], dataset="mer1101", note="The paper stars arousal PCC and RMSE: no significant difference between the variants.",
        protocol=_ZHANG_PROTOCOL)
    return t1, t2, t3



def _vggish(variant: str = "") -> RunSpec:
    return RunSpec("vggish", f"paper{variant}", f"tiny{variant}", None, ())



def _rajamani_tables() -> tuple[PaperTable, ...]:
    base, sa3, sa4, sa5, arelu = _vggish(), _vggish("_sa3"), _vggish("_sa4"), _vggish("_sa5"), _vggish("_arelu")
    metrics = [Metric("GFLOPs", "GFLOPS", decimals=2), Metric("params", "#Parameters", decimals=0),
               Metric("ROC-AUC-macro", "ROC-AUC"), Metric("PR-AUC-macro", "PR-AUC")]
    numbers = ("the row numbers of rows 1 and 7 are unreadable in the transcript; "
               "they follow from the text ('models 2 and 5', 'models 1, 2 and 5')")
    fusion = "the paper gives no GFLOPS or parameter count for fusions; ours: the members' sum"
    protocol = (
        ProtocolNote("first-1400-frames", "the first 1400 mel frames of each track (Sec. 2)", matches=True),
        ProtocolNote("schedule", "Adam, lr 1e-4, batch 16, at most 100 epochs, early stopping on validation "
                                 "ROC-AUC after 35 epochs without a rise, the best epoch kept (Sec. 2, 4)",
                     matches=True),
        ProtocolNote("tag-vocabulary",
                     "the dataset's tags: MTG-Jamendo's 56 on MTG-Jamendo, others elsewhere (the output layer's "
                     "parameters and FLOPs follow)"),
        ProtocolNote("flops-counter",
                     "GFLOPs from torch's FLOP counter (2 per multiply-add) over one 1400-frame input; the paper "
                     "does not say how it counted"),
        ProtocolNote("fusion-sizes", "fusion rows: the members' summed parameters and GFLOPs (the paper gives none)"),
    )
    t1 = _tbl("rajamani2020", 1, "Results on MediaEval2020 test set", metrics, [
        ("1. VGG-ish baseline", base, (3.32, 448122, 0.725, 0.107), numbers),
        ("2. Self-attention in Layer3", sa3, (2.94, 350074, 0.716, 0.108)),
        ("3. Self-attention in Layer4", sa4, (3.28, 350074, 0.723, 0.108)),
        ("4. Self-attention in Layer5", sa5, (3.32, 399098, 0.716, 0.101)),
        ("5. AReLU activation in baseline", arelu, (3.32, 448132, 0.728, 0.107)),
        ("6. Late fusion of models 2 and 5", FusionSpec((sa3, arelu)), (None, None, 0.732, 0.114), fusion),
        ("7. Late fusion of models 1, 2 and 5", FusionSpec((base, sa3, arelu)), (None, None, 0.735, 0.118),
         f"{fusion}; {numbers}"),
    ], dataset="mtg_jamendo", protocol=protocol)
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
        "the model's paper schedule (50 epochs, no early stopping, the last epoch's weights kept); the triangle "
        "filter before scoring; RMSE per song averaged over the test songs, with the pooled RMSE beside it.",
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
        "each network stopping on its own validation error and keeping its own best epoch; RMSE per song averaged "
        "over songs, with the pooled RMSE beside it.",
        _li_tables()),
    "chaki2020": PaperSpec(
        "chaki2020", "Chaki et al. 2020",
        "Explaining Perceived Emotion Predictions in Music: An Attentive Approach (ISMIR 2020)",
        "regression", "emomusic",
        "1000 Songs (744 annotated clips, the last 30 s, 61 frames each); ComParE features (Tables 1-2) or librosa "
        "sets (Tables 3-4) per 500 ms; one model per target; 10-fold cross-validation; MSE, RMSProp lr 0.001, "
        "batch 20, at most 50 epochs, early stopping after 5; R^2, Kendall's tau per song, MAE.",
        "each row's best preset (`LSTM_1024`, `AT_2048_1024`, ...); one target per run; each song's annotated span "
        "only (61 frames of an emoMusic clip); `cross_validate` by song over all songs of the dataset (10 folds); "
        "the mean over folds of R^2 and MAE (pooled within the fold) and of tau per song.",
        _chaki_tables()),
    "zhang2023": PaperSpec(
        "zhang2023", "Zhang et al. 2023",
        "Dual Attention-based Multi-scale Feature Fusion Approach for Dynamic Music Emotion Recognition (ISMIR 2023)",
        "regression", "mer1101",
        "MER1101 (their own dataset: 80/20 split, 30 s training snippets, whole test songs) and DEAM2015 (official "
        "split); 128-band log-mel, 60 ms window, 10 ms hop; Adam lr 3e-4, 100 epochs, batch 32, early stopping; "
        "loss 1 - CCC (arousal), RMSE (valence); 5-fold cross-validation; test windows of 30 s slid by 2.5 s "
        "(arousal) and 0.5 s (valence); CCC, PCC and RMSE per song, averaged over songs.",
        "`damff` presets of the five architectures and four ablations on `logmel128_steps` at 44.1 kHz (16 kHz "
        "under --quick), valence and arousal in one model with the paper's two losses; the dataset's split (one "
        "split, not 5-fold); each target scored at its hop; CCC, PCC, RMSE per song.",
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



def _check_paper(paper: str) -> PaperSpec:
    if paper not in PAPER_SPECS:
        raise MemoError(f"unknown paper {paper!r}; known: {', '.join(PAPERS)} (or `all` on the command line)")
    return PAPER_SPECS[paper]
