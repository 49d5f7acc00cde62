"""reproduce: the papers' tables transcribed, MEMO's runs named, ours beside theirs, end to end on tiny corpora."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from memo_core import papers
from memo_core.cli.experiments import cmd_reproduce
from memo_core.cli.parser import build_parser
from memo_core.errors import MemoError
from memo_core.experiments import reproduce as rp
from memo_core.features import list_features
from memo_core.models.registry import (
    get_model,
    list_models,
    list_presets,
    model_class,
    model_config,
)
from tests._helpers import make_tone

ROW_COUNTS = {
    "ma2017": {1: 6, 2: 6, 3: 4, 4: 4},
    "li2016": {1: 4, 2: 4},
    "chaki2020": {1: 8, 2: 8, 3: 4, 4: 4},
    "zhang2023": {1: 5, 2: 10, 3: 5},
    "rajamani2020": {1: 7},
}
REGRESSION_SUFFIXES = {"RMSE", "MAE", "R2", "r", "CCC", "RMSE-per-song", "r-per-song", "CCC-per-song", "tau-per-song"}
ALL_ROWS = [row for spec in papers.PAPER_SPECS.values() for table in spec.tables for row in table.rows]


def _row(paper: str, table: int, label: str) -> papers.PaperRow:
    spec = papers.PAPER_SPECS[paper]
    return next(r for t in spec.tables if t.number == table for r in t.rows if r.label == label)


def test_every_paper_has_its_tables_with_the_papers_row_counts():
    assert papers.PAPERS == ("ma2017", "li2016", "chaki2020", "zhang2023", "rajamani2020")
    assert set(papers.PAPER_SPECS) == set(papers.PAPERS)
    for paper, counts in ROW_COUNTS.items():
        assert {t.number: len(t.rows) for t in papers.PAPER_SPECS[paper].tables} == counts, paper


@pytest.mark.parametrize("paper, table, label, metric, value", [
    ("zhang2023", 2, "DAMFF, MER1101", "A CCC", 0.4223),
    ("zhang2023", 2, "DAMFF, DEAM2015", "V RMSE", 0.3403),
    ("zhang2023", 2, "CRNN [16], DEAM2015", "V PCC", -0.0292),
    ("zhang2023", 3, "w/o DAFF", "A CCC", 0.3982),
    ("zhang2023", 1, "Square CNN", "A PCC", 0.6894),
    ("rajamani2020", 1, "1. VGG-ish baseline", "ROC-AUC", 0.725),
    ("rajamani2020", 1, "1. VGG-ish baseline", "PR-AUC", 0.107),
    ("rajamani2020", 1, "2. Self-attention in Layer3", "#Parameters", 350074),
    ("rajamani2020", 1, "7. Late fusion of models 1, 2 and 5", "PR-AUC", 0.118),
    ("rajamani2020", 1, "6. Late fusion of models 2 and 5", "GFLOPS", None),
    ("ma2017", 1, "l=20, A-LSTM, h=100, n=2", "RMSE", 0.294),
    ("ma2017", 4, "MCA, A-LSTM, h=150, n=2", "RMSE", 0.241),
    ("li2016", 1, "sequence length 60", "V-RMSE, test", 0.333),
    ("li2016", 1, "sequence length 10", "A-RMSE, validation", 0.157),
    ("li2016", 2, "ELM(431-full)", "V-RMSE", 0.318),
    ("chaki2020", 1, "AT (Multi Layer), best AT_2048_1024", "R2_A", 0.78),
    ("chaki2020", 4, "Chroma(STFT+CQT), 24, AT_64", "tau_V", 0.002),
    ("chaki2020", 2, "Transformer, best Transformer_1L", "MAE_V", 0.10),
])
def test_spot_checked_figures_are_the_papers(paper, table, label, metric, value):
    assert _row(paper, table, label).figures[metric] == value


def test_every_row_names_a_registered_run_or_says_why_not():
    features = set(list_features())
    models = set(list_models())
    for row in ALL_ROWS:
        table = next(t for t in papers.PAPER_SPECS[row.paper].tables if t.number == row.table)
        assert set(row.figures) == {m.label for m in table.metrics}, row.label
        assert row.dataset in papers.DATASET_NAMES
        if row.run is None:
            assert "not implemented in MEMO" in row.not_implemented, row.label
            continue
        for run in (row.run.members if isinstance(row.run, papers.FusionSpec) else (row.run,)):
            assert run.model in models
            assert {run.preset, run.quick_preset} <= set(list_presets(run.model)), row.label
            assert run.quick_preset.startswith(("tiny", "uniform_tiny", "avg_tiny")), row.label
            model_config(run.model, run.preset, **dict(run.overrides))  # raises on an unknown field
            model_config(run.model, run.quick_preset, **dict(run.quick_overrides))
            assert (run.features or model_class(run.model).default_features) in features
            assert run.protocol in ("holdout", "kfold")


def test_only_zhangs_comparison_models_are_not_implemented():
    missing = [r for r in ALL_ROWS if r.run is None]
    assert len(missing) == 8
    assert {r.label.split(" [")[0] for r in missing} == {"CRNN", "BCRSN", "DNN", "MCRNN"}
    assert all(r.paper == "zhang2023" and r.table == 2 for r in missing)


def test_metric_keys_are_memos_metric_names():
    for spec in papers.PAPER_SPECS.values():
        for table in spec.tables:
            for m in table.metrics:
                if spec.task == "tagging":
                    assert m.key in {"ROC-AUC-macro", "PR-AUC-macro", "params", "GFLOPs"}
                else:
                    target, suffix = m.key.split("/")
                    assert target in ("valence", "arousal") and suffix in REGRESSION_SUFFIXES
                assert m.part in ("test", "validation")


def test_protocol_options_follow_the_papers():
    ma = _row("ma2017", 3, "MCA, A-LSTM, h=150, n=3").run
    assert ma.smooth and ma.targets == ("valence",) and dict(ma.overrides) == {
        "hidden_size": 150, "n_layers": 3, "attention": True}
    chaki = _row("chaki2020", 2, "AT (Single Layer), best AT_400").run
    assert (chaki.protocol, chaki.n_folds, chaki.targets, chaki.preset) == ("kfold", 10, ("valence",), "AT_400")
    assert _row("chaki2020", 4, "Spectral Features, 197, AT_128").run.features == "spectral"
    damff = _row("zhang2023", 1, "T-F CNN").run
    assert (damff.preset, damff.quick_preset, dict(damff.score_hops)) == (
        "paper_tf", "tiny_tf", {"arousal": 2.5, "valence": 0.5})
    li = _row("li2016", 1, "sequence length 30").run
    assert dict(li.overrides) == {"scales": (30,), "fusion": "avg"} and dict(li.quick_overrides)["per_target_networks"]
    fusion = _row("rajamani2020", 1, "7. Late fusion of models 1, 2 and 5").run
    assert [m.preset for m in fusion.members] == ["paper", "paper_sa3", "paper_arelu"]


def test_format_puts_paper_and_ours_side_by_side_and_marks_differences():
    spec = papers.PAPER_SPECS["zhang2023"]
    results = []
    for table in spec.tables:
        for row in table.rows:
            ours = {} if row.run is None else {m.label: 0.5 for m in table.metrics}
            notes = ["synthetic corpus instead of the paper's X"]
            notes += [row.not_implemented] if row.run is None else (["only here"] if row.label == "T-F CNN" else [])
            results.append(rp.RowResult(row, ours, "not implemented in MEMO" if row.run is None else "`damff:tiny`",
                                        notes))
    text = rp.format_reproduction("zhang2023", results, {"dataset": "synth", "quick": True, "seed": 0})
    assert "### Zhang et al. 2023, Table 2: Compared with the existing results" in text
    assert "| A CCC (paper) | A CCC (ours) | A PCC (paper) | A PCC (ours) |" in text
    assert "| DAMFF, MER1101 | `damff:tiny` | 0.4223 | 0.5000 | 0.6856 | 0.5000 |" in text
    crnn = next(line for line in text.splitlines() if line.startswith("| CRNN [16], MER1101 |"))
    assert "| not implemented in MEMO | 0.2798 | – |" in crnn and "not implemented in MEMO" in crnn.split("|")[-2]
    # a note every row shares is said once under the heading; a row's own stays in its notes column
    assert "every row MEMO runs: synthetic corpus instead of the paper's X." in text
    tf = next(line for line in text.splitlines() if line.startswith("| T-F CNN |"))
    assert tf.rstrip(" |").endswith("only here")
    assert "Columns marked *paper* are the figures the paper publishes" in text


def test_paper_cells_keep_their_printed_digits():
    assert rp._cell(0.002, 2, paper=True) == "0.002"
    assert rp._cell(0.60, 2, paper=True) == "0.60"
    assert rp._cell(448122, 0, paper=True) == "448122"
    assert rp._cell(None, 3, paper=True) == "–"
    assert rp._cell(float("nan"), 3, paper=False) == "–"


def test_unknown_paper_and_missing_dataset_folders_are_clear_errors(tmp_path):
    with pytest.raises(MemoError, match="unknown paper 'ma2018'.*ma2017"):
        rp.reproduce("ma2018", dataset="synth")
    with pytest.raises(MemoError, match="--dataset deam needs --root PATH"):
        rp.reproduce("ma2017", dataset="deam")
    with pytest.raises(MemoError, match="deam"):
        rp.reproduce("li2016", dataset="deam", root=tmp_path / "no-such-folder")
    with pytest.raises(MemoError, match="max_epochs"):
        rp.reproduce("ma2017", dataset="synth", max_epochs=0)


def test_a_tagging_paper_refuses_a_dataset_without_tags(tmp_path):
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "a.wav", make_tone(2.0), 22_050)
    (tmp_path / "annotations.csv").write_text("song_id,time_s,valence,arousal\na,0.5,0.1,0.2\na,1.0,0.1,0.3\n")
    with pytest.raises(MemoError, match="mood/theme tagger.*--dataset mtg_jamendo --root PATH"):
        rp.reproduce("rajamani2020", dataset="generic", root=tmp_path, progress=False)
    # with --paper all the table is kept, its rows marked not run
    results = rp.reproduce("rajamani2020", dataset="generic", root=tmp_path, progress=False, skip_unsupported=True)
    assert len(results) == 7
    assert all(not r.ours and any(n.startswith("not run: ") for n in r.notes) for r in results)
    assert "not run: Rajamani et al. 2020 trains a mood/theme tagger" in rp.format_reproduction("rajamani2020", results)


def test_parser_takes_the_papers_or_all_and_refuses_others(capsys):
    parser = build_parser()
    args = parser.parse_args(["reproduce", "--paper", "all", "--quick", "--max-epochs", "1", "--out", "t.md"])
    assert (args.paper, args.dataset, args.root, args.quick, args.max_epochs, args.seed, args.out) == (
        "all", "synth", None, True, 1, 0, "t.md")
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["reproduce", "--paper", "nope"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_run_cli_refuses_a_real_dataset_without_its_folder():
    args = build_parser().parse_args(["reproduce", "--paper", "ma2017", "--dataset", "deam"])
    args.quiet = True
    with pytest.raises(MemoError, match="needs --root PATH"):
        cmd_reproduce(args)


def test_the_cli_gives_exit_2_with_the_message(capsys):
    from memo_core.cli.parser import main

    assert main(["reproduce", "--paper", "chaki2020", "--dataset", "emomusic", "-q"]) == 2
    assert "--dataset emomusic needs --root PATH" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end on tiny corpora


@pytest.fixture
def count_training(monkeypatch):
    """Counts train_model and cross_validate calls (each distinct run should train once)."""
    import memo_core.experiments.evaluation as evaluation

    calls = {"train_model": 0, "cross_validate": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(rp, "train_model")  # the runs the runner trains itself
    counting(evaluation, "train_model")  # and the folds cross_validate trains
    counting(rp, "cross_validate")
    return calls


def _check_figures(results, paper):
    spec = papers.PAPER_SPECS[paper]
    assert len(results) == sum(len(t.rows) for t in spec.tables)
    for result in results:
        if result.row.run is None:
            assert not result.ours
            continue
        table = next(t for t in spec.tables if t.number == result.row.table)
        assert set(result.ours) == {m.label for m in table.metrics}, result.row.label
        assert all(math.isfinite(v) for v in result.ours.values()), result.row.label


def test_li2016_end_to_end_through_the_cli(tiny_corpus, tmp_path, capsys, count_training):
    out = tmp_path / "li.md"
    args = build_parser().parse_args(["reproduce", "--paper", "li2016", "--root", str(tiny_corpus), "--quick", "--max-epochs", "1", "--out", str(out)])
    args.quiet = True
    assert cmd_reproduce(args) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    assert "Table 1: RMSE of DBLSTM models" in text and "Table 2: RMSE of V/A after multi-scale fusion" in text
    assert "`dblstm_elm:tiny` (scales=(60,), fusion=avg, per_target_networks=True)" in text
    assert "same MEMO run as Table 2, 'ELM(431x30, 58-full)'" in text
    assert "synthetic corpus instead of the paper's DEAM" in text and "epochs capped at 1 (paper schedule: 100)" in text
    # 4 single scales + AVG + ELM; the two pre-training rows of each fusion share a run
    assert count_training["train_model"] == 6


@pytest.mark.slow  # 3 s: trains every DAMFF variant
def test_zhang2023_end_to_end_trains_each_variant_once(tiny_corpus, count_training):
    results = rp.reproduce("zhang2023", dataset="synth", root=tiny_corpus, quick=True, max_epochs=1, progress=False)
    _check_figures(results, "zhang2023")
    assert count_training["train_model"] == 9  # 5 architectures + 4 ablations; DAMFF rows of Tables 2-3 reuse Hybrid
    by = {(r.row.table, r.row.label): r for r in results}
    assert by[(1, "Hybrid CNN")].ours == by[(3, "DAMFF")].ours == by[(2, "DAMFF, DEAM2015")].ours
    assert "same MEMO run as Table 1, 'Hybrid CNN'" in by[(3, "DAMFF")].notes
    assert by[(2, "CRNN [16], MER1101")].run == "not implemented in MEMO"
    assert any("MER1101" in n for n in by[(2, "DAMFF, MER1101")].notes)
    assert any("tiny preset `tiny_wo_daff` instead of `paper_wo_daff`" in n for n in by[(3, "w/o DAFF")].notes)


@pytest.mark.slow
def test_ma2017_end_to_end(tiny_corpus, count_training):
    results = rp.reproduce("ma2017", dataset="synth", root=tiny_corpus, quick=True, max_epochs=1, progress=False)
    _check_figures(results, "ma2017")
    assert count_training["train_model"] == 20  # every row is its own run (scale, model, size, target)
    text = rp.format_reproduction("ma2017", results)
    assert "`mca:uniform_tiny` (attention=False), `deam260`, valence" in text
    assert "| l=5, LSTM, h=200, n=3 | `ma_lstm:tiny` (window=5), `deam260`, valence | 0.358 |" in text


@pytest.mark.slow
def test_chaki2020_end_to_end_cross_validates_with_fewer_folds(tiny_corpus, count_training):
    results = rp.reproduce("chaki2020", dataset="synth", root=tiny_corpus, quick=True, max_epochs=1, progress=False)
    _check_figures(results, "chaki2020")
    # 7 + 7 model runs (the baseline and the single-layer LSTM share the tiny LSTM) + 4 + 4 feature sets
    assert count_training["cross_validate"] == 22
    assert count_training["train_model"] == 22 * papers.QUICK_FOLDS
    text = rp.format_reproduction("chaki2020", results)
    assert "3-fold cross-validation instead of 10 (--quick)" in text
    assert "`at:tiny`, `chroma_cqt`, arousal" in text


@pytest.mark.slow
def test_rajamani2020_end_to_end_with_late_fusion(tags_corpus, count_training):
    """On the session's 12-song tagged corpus (tests/conftest.py)."""
    results = rp.reproduce("rajamani2020", dataset="synth", root=tags_corpus, quick=True, max_epochs=1,
                           progress=False)
    _check_figures(results, "rajamani2020")
    assert count_training["train_model"] == 5  # the fusions reuse the members' runs
    by = {r.row.label: r for r in results}
    fused = by["7. Late fusion of models 1, 2 and 5"]
    members = [by["1. VGG-ish baseline"], by["2. Self-attention in Layer3"], by["5. AReLU activation in baseline"]]
    assert fused.ours["#Parameters"] == sum(m.ours["#Parameters"] for m in members)
    assert 0.0 <= fused.ours["ROC-AUC"] <= 1.0
    assert any("18 tags instead of MTG-Jamendo's 56" in n for n in by["1. VGG-ish baseline"].notes)
    assert by["1. VGG-ish baseline"].ours["#Parameters"] == get_model("vggish", "tiny", n_targets=18).n_parameters()


# --------------------------------------------------------------------------- issue 14: the protocol actually used

# Each paper's known differences (and checked points) that every one of its tables must list.
KNOWN = {
    "ma2017": {"deam-431", "rmse-averaging", "last-epoch", "rmsprop-defaults", "forget-gate-bias", "init-l2-batch",
               "model-selection", "smoothing"},
    "li2016": {"deam-431", "rmse-averaging", "per-network-stopping", "autoencoder-pretraining",
               "partitions-and-selection", "currennt-learning-rate", "elm-size"},
    "chaki2020": {"annotated-span", "rmsprop-defaults", "forget-gate-bias", "kept-epoch", "metric-averaging",
                  "layer-size-search", "model-choices", "cross-validation"},
    "zhang2023": {"no-mer1101", "one-split", "logmel-44k", "per-song-metrics", "early-stopping",
                  "sizes-and-architectures", "deam-431"},
    "rajamani2020": {"first-1400-frames", "schedule", "tag-vocabulary", "flops-counter", "fusion-sizes"},
}
# Points where MEMO now follows the paper (issue 14's fixes and readings); all others are differences.
FOLLOWS = {"last-epoch", "rmse-averaging", "smoothing", "per-network-stopping", "annotated-span", "logmel-44k",
           "per-song-metrics", "first-1400-frames", "schedule"}


def _fake_results(paper):
    return [rp.RowResult(row, {}, "not run") for table in papers.PAPER_SPECS[paper].tables for row in table.rows]


@pytest.mark.parametrize("paper", papers.PAPERS)
def test_every_table_lists_each_of_its_known_differences(paper):
    spec = papers.PAPER_SPECS[paper]
    for quick in (False, True):
        text = rp.format_reproduction(paper, _fake_results(paper), {"dataset": "synth", "quick": quick})
        sections = text.split("\n### ")[1:]
        assert len(sections) == len(spec.tables)
        for table, section in zip(spec.tables, sections):
            keys = {n.key for n in table.protocol}
            assert KNOWN[paper] <= keys, (paper, table.number, KNOWN[paper] - keys)
            differs, _, follows = section.partition("**Follows the paper**")
            assert "**Differs from the paper**" in differs
            for note in table.protocol:
                words = note.words(quick)
                if note.differs(quick):
                    assert f"- {words}." in differs, (paper, table.number, note.key)
                else:
                    assert f"- {words}." in follows, (paper, table.number, note.key)
                assert (note.key in FOLLOWS) == note.matches, note.key
    if paper == "chaki2020":
        assert all(n.key != "compare-features" for n in spec.tables[2].protocol)


def test_zhangs_sample_rate_is_a_difference_only_under_quick():
    table = papers.PAPER_SPECS["zhang2023"].tables[0]
    full = "\n".join(rp.protocol_lines(table, quick=False))
    quick = "\n".join(rp.protocol_lines(table, quick=True))
    assert "at 44.1 kHz" in full.split("**Follows the paper**")[1]
    assert "--quick: the 128-band log-mel at 16 kHz" in quick.split("**Follows the paper**")[0]


def test_the_2015_rows_read_rmse_per_song_with_the_pooled_figure_beside():
    for paper in ("ma2017", "li2016"):
        for table in papers.PAPER_SPECS[paper].tables:
            for m in table.metrics:
                target = m.key.split("/")[0]
                assert m.key == f"{target}/RMSE-per-song" and m.averaging == "per song"
                assert m.also == ((f"{target}/RMSE", "pooled"),)
    row = _row("ma2017", 1, "l=5, LSTM, h=200, n=3")
    result = rp.RowResult(row, {"RMSE": 0.25}, "`ma_lstm:tiny`", also={"RMSE": {"pooled": 0.2}})
    text = rp.format_reproduction("ma2017", [result], {"dataset": "synth"})
    assert "| RMSE (paper) | RMSE (ours, per song) | RMSE (ours, pooled) |" in text
    assert "| l=5, LSTM, h=200, n=3 | `ma_lstm:tiny` | 0.358 | 0.250 | 0.200 |" in text
    assert "evaluated with RMSE (root mean square error) on the test set" in text  # the paper's words, quoted


def test_the_chaki_protocol_feeds_the_annotated_span():
    from memo_core.data.sequences import SequenceExample, crop_to_annotated

    chaki = [r.run for t in papers.PAPER_SPECS["chaki2020"].tables for r in t.rows]
    assert chaki and all(run.span == "annotated" for run in chaki)
    assert all(r.run is None or r.run.span == "song" for p in ("ma2017", "li2016", "zhang2023")
               for t in papers.PAPER_SPECS[p].tables for r in t.rows)
    # a 45 s emoMusic clip: 90 frames, annotated 15.0-45.0 s (frames 29..89): the paper's 61 frames
    mask = np.zeros(90, bool)
    mask[29:] = True
    clip = SequenceExample("c", np.arange(180, dtype=np.float32).reshape(90, 2), np.ones((90, 2), np.float32), mask,
                           np.arange(90) * 0.5)
    [cropped] = crop_to_annotated([clip])
    assert cropped.n_frames == 61 and cropped.mask.all() and cropped.frame_times[0] == 14.5
    np.testing.assert_array_equal(cropped.features, clip.features[29:])
    unlabelled = SequenceExample("u", clip.features, clip.targets * 0, np.zeros(90, bool), clip.frame_times)
    assert crop_to_annotated([unlabelled])[0].n_frames == 90


def test_the_chaki_runs_examples_are_61_frames_of_real_emomusic(shared_data):
    """The runner crops every Chaki run's songs: the real emoMusic clips give the paper's 61 frames."""
    import dataclasses

    from memo_core.data import load_dataset

    load = load_dataset("emomusic", shared_data / "emomusic", require_audio=True)
    runner = rp._Runner(papers.PAPER_SPECS["chaki2020"], load, quick=True, seed=0, max_epochs=1, progress=False)
    run = dataclasses.replace(_row("chaki2020", 1, "AT (Single Layer), best AT_300").run, features="loudness")
    _, _, _, parts = runner._parts(run)
    assert len(parts["all"]) == len(load.songs) >= 4
    assert {ex.n_frames for ex in parts["all"]} == {61}
    assert "annotated span (61 frames)" in runner.splits[-1]


def test_damffs_paper_runs_read_the_44k_log_mel_and_quick_runs_the_16k_preset(monkeypatch, tiny_corpus):
    from memo_core.data import load_dataset
    from memo_core.models.damff import CPU_FEATURE_PARAMS, PAPER_FEATURE_PARAMS

    damff_runs = [r.run for t in papers.PAPER_SPECS["zhang2023"].tables for r in t.rows if r.run is not None]
    for run in damff_runs:
        assert run.resolved_feature_params(quick=False) == PAPER_FEATURE_PARAMS == {"sample_rate": 44_100}
        assert run.resolved_feature_params(quick=True) == {}  # the feature set's default: the 16 kHz CPU preset
    from memo_core.features import get_extractor

    assert get_extractor("logmel128_steps").params == CPU_FEATURE_PARAMS  # the default is the CPU preset
    asked = []

    def fake_split(task, load, split, *, features, targets, progress=True, feature_params=None):
        asked.append((features, feature_params))
        raise MemoError("stop here")

    monkeypatch.setattr(rp, "split_examples", fake_split)
    load = load_dataset("synth", tiny_corpus, require_audio=True)
    for quick, expected in ((False, {"sample_rate": 44_100}), (True, None)):
        runner = rp._Runner(papers.PAPER_SPECS["zhang2023"], load, quick=quick, seed=0, max_epochs=1, progress=False)
        with pytest.raises(MemoError, match="stop here"):
            runner._parts(damff_runs[0])
        assert asked[-1] == ("logmel128_steps", expected)
    assert "`logmel128_steps` (sample_rate=44100)" in damff_runs[0].describe(False, "logmel128_steps")
    assert "`logmel128_steps`, valence+arousal" in damff_runs[0].describe(True, "logmel128_steps")


def _write_deam(root, n_train=4, n_test=2, seconds=20.0):
    """A DEAM layout: excerpts 1..n_train and full songs 2001.., annotated from 15 s at 2 Hz, with MP3s."""
    from tests.realdata_layouts import tone, write_mp3

    dynamic = root / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    dynamic.mkdir(parents=True)
    ids = list(range(1, n_train + 1)) + list(range(2001, 2001 + n_test))
    times = np.arange(15.0, seconds, 0.5)
    for name, sign in (("valence", 1.0), ("arousal", -1.0)):
        lines = ["song_id," + ",".join(f"sample_{int(t * 1000)}ms" for t in times)]
        for i, song in enumerate(ids):
            values = sign * np.tanh(np.linspace(-1, 1, len(times)) * (1 + i % 3) / 3)
            lines.append(f"{song}," + ",".join(f"{v:.4f}" for v in values))
        (dynamic / f"{name}.csv").write_text("\n".join(lines) + "\n")
    for i, song in enumerate(ids):
        write_mp3(root / "MEMD_audio" / f"{song}.mp3", tone(seconds, 0.1 + 0.05 * i, 220.0 * (1 + i % 4), seed=i,
                                                            slope=0.5 * (i % 2)))
    return root


@pytest.mark.slow  # 4 s: a DEAM run on the fixtures
def test_a_deam_run_is_labelled_with_the_songs_it_used_never_the_papers_431(tmp_path):
    """Li et al.'s 2015 protocol on a DEAM folder: the tables count the songs MEMO trained and tested on and say
    they are not MediaEval 2015's 431 development clips; 431 appears only as the paper's."""
    root = _write_deam(tmp_path / "DEAM")
    results = rp.reproduce("li2016", dataset="deam", root=root, quick=True, max_epochs=1, progress=False)
    assert results.info["data"].startswith("DEAM as MEMO loads it: 4 excerpts")
    assert "2 full songs (2001-2058) for test" in results.info["data"]
    text = rp.format_reproduction("li2016", results)
    assert "431 training clips" not in text  # the old label, which no run used
    assert results.info["data"] in text
    for line in text.splitlines():
        if "431" in line:
            assert "paper" in line or "not MediaEval 2015's 431" in line or "instead of MediaEval 2015's 431" in line, line
    assert "each network stopped on its own and kept its best epoch" in text  # the stopping rule the run actually used
    with pytest.raises(MemoError) as info:
        rp.reproduce("li2016", dataset="deam")
    assert "431" not in str(info.value)
