"""memo_core.comparison: the manifest's metrics, the papers' rows beside ours, and the live experiment."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.experiments import compare_features
from memo_core.explain import compare as comparison
from memo_core.papers import PAPER_SPECS
from memo_core.pretrained import FEATURE_SUBSET_FAMILY, read_manifest


@pytest.fixture(scope="module")
def entries():
    return read_manifest()["checkpoints"]


def _entry(entries, key):
    return next(e for e in entries if e["key"] == key)


def test_metric_names_are_the_per_target_suffixes(entries):
    names = comparison.metric_names(entries)
    assert {"RMSE", "CCC", "CCC-per-song", "r-per-song", "R2", "tau-per-song"} <= set(names)
    assert not any("/" in n or "AUC" in n for n in names)
    assert comparison.lower_is_better("RMSE-per-song") and comparison.lower_is_better("arousal/MAE")
    assert not comparison.lower_is_better("CCC")


def test_the_feature_subsets_are_the_default_sets():
    from memo_core.pretrained import DEFAULT_SET, FEATURE_SUBSETS

    assert comparison.EXPERIMENT_FEATURES is FEATURE_SUBSETS  # one list, not a copy to keep in step
    subset_checkpoints = {s.key for s in DEFAULT_SET if s.family == FEATURE_SUBSET_FAMILY}
    at_features = next(s.features for s in DEFAULT_SET if s.key == "at")
    assert subset_checkpoints == {f"at_{name}" for name in FEATURE_SUBSETS if name != at_features}


def test_checkpoint_metrics_hold_the_manifest_values(entries):
    table = comparison.checkpoint_metrics(entries, "RMSE", exclude_families=[FEATURE_SUBSET_FAMILY])
    assert "at_chroma" not in set(table["checkpoint"]) and "vggish" not in set(table["checkpoint"])
    row = table.set_index("checkpoint").loc["mca"]
    assert row["valence"] == pytest.approx(_entry(entries, "mca")["metrics"]["valence/RMSE"])
    assert row["arousal"] == pytest.approx(_entry(entries, "mca")["metrics"]["arousal/RMSE"])
    assert row["train songs"] == _entry(entries, "mca")["split_sizes"]["train"]
    assert "synthetic corpus" in row["training data"]


def test_feature_subsets_start_with_at_on_its_own_features(entries):
    table = comparison.feature_subset_metrics(entries, "CCC")
    assert list(table["checkpoint"])[0] == "at"
    assert set(table["features"]) == {"deam260_tonal", "deam260", "chroma", "cqt", "chroma_cqt", "spectral",
                                      "compare6373"}
    assert (table["model"] == "at").all()


def test_tagger_metrics(entries):
    table = comparison.tagger_metrics(entries).set_index("checkpoint")
    assert set(table.index) == {"vggish", "vggish_sa3", "vggish_arelu"}
    assert table.loc["vggish_sa3", "PR-AUC-macro"] == pytest.approx(
        _entry(entries, "vggish_sa3")["metrics"]["PR-AUC-macro"])


def test_paper_rows_reuse_the_transcribed_tables(entries):
    rows = comparison.paper_rows(entries)
    # every paper figure is the transcribed one, not a copy
    for _, r in rows.iterrows():
        table = next(t for s in PAPER_SPECS.values() if s.citation == r["paper"] for t in s.tables
                     if f"Table {t.number}" == r["table"])
        paper_row = next(p for p in table.rows if p.label == r["paper row"])
        label = r["metric"].split(" (")[0]
        expected = paper_row.figures[label]
        assert (expected is None and math.isnan(r["paper's figure"])) or r["paper's figure"] == expected
    by_key = {k: set(part["paper row"]) for k, part in rows.groupby("checkpoint")}
    assert by_key["mca"] == {"MCA, A-LSTM, h=150, n=3", "MCA, A-LSTM, h=150, n=2"}  # attention on, not uniform
    assert all(r.startswith("uniform MCA, A-LSTM") for r in by_key["mca_uniform"])
    assert all(r.startswith("ELM") for r in by_key["dblstm_elm"])  # not the single-scale or AVG rows
    assert by_key["at_chroma"] == {"Chroma(STFT+CQT), 24, AT_64"}  # the feature table matches on features
    assert all(r.startswith("AT (Single Layer)") for r in by_key["at_compare6373"])
    assert all(r.startswith("AT (Single Layer)") for r in by_key["at"])
    assert "DAMFF, DEAM2015" in by_key["damff"]
    assert by_key["vggish_arelu"] == {"5. AReLU activation in baseline"}
    at = rows[rows["checkpoint"] == "at"]
    assert (at["note"].str.contains("compare6373")).all()  # AT on deam260 beside ComParE rows: flagged
    assert (rows[rows["checkpoint"] == "at_compare6373"]["note"] == "").all()
    r2 = at[at["metric key"] == "arousal/R2"].iloc[0]
    assert r2["paper's figure"] == 0.75 and r2["ours (synthetic corpus)"] == pytest.approx(
        _entry(entries, "at")["metrics"]["arousal/R2"])
    assert "emoMusic" in r2["dataset"]
    # Li's validation columns have no counterpart in the manifest
    li = rows[(rows["checkpoint"] == "dblstm_elm")]
    assert li["ours (synthetic corpus)"].notna().all()


def test_experiment_refuses_too_few_songs(two_song_corpus):
    root = two_song_corpus
    with pytest.raises(MemoError, match="at least 3"):
        compare_features.run_experiment(root=str(root), models=["mlr"], features=["chroma"], epochs=1)
    with pytest.raises(MemoError, match="at least one model"):
        compare_features.run_experiment(root=str(root), models=[], features=["chroma"])


def test_experiment_trains_every_seed_with_the_baseline_and_reports_progress_per_song(tiny_corpus):
    steps = []
    result = compare_features.run_experiment(root=str(tiny_corpus), models=["at"], features=["chroma", "cqt"],
                                             epochs=1, seeds=(0, 1), progress=lambda s, d, n: steps.append((s, d, n)))
    table = result.table
    # the baseline joins the line-up first; one row per (feature set, seed, model)
    assert result.models == ("mlr", "at") and result.seeds == (0, 1)
    assert list(zip(table["features"], table["seed"], table["model"])) == [
        ("chroma", 0, "mlr"), ("chroma", 0, "at"), ("chroma", 1, "mlr"), ("chroma", 1, "at"),
        ("cqt", 0, "mlr"), ("cqt", 0, "at"), ("cqt", 1, "mlr"), ("cqt", 1, "at")]
    assert (table["epochs"] <= 1).all()
    assert {"valence/CCC", "arousal/RMSE", "valence/r-per-song"} <= set(table.columns)
    assert table["arousal/RMSE"].notna().all()
    at = table[(table["model"] == "at") & (table["features"] == "chroma")]
    assert at["arousal/RMSE"].iloc[0] != at["arousal/RMSE"].iloc[1]  # another seed, another model
    assert result.n_songs["test"] >= 1 and result.features == ("chroma", "cqt")
    # progress: every song's features for each set (4 songs), then every trained model (8), monotone
    assert steps[-1] == ("done", 16, 16)
    assert [d for _, d, _ in steps] == sorted(d for _, d, _ in steps) and {n for _, _, n in steps} == {16}
    song_steps = [s for s, _, _ in steps if "features of song" in s]
    assert song_steps[:4] == [f"chroma: features of song {i} of 4" for i in range(1, 5)] and len(song_steps) == 8
    assert "cqt: trained at, seed 2 of 2" in [s for s, _, _ in steps]
    # without the baseline, only the chosen models
    alone = compare_features.run_experiment(root=str(tiny_corpus), models=["at"], features=["chroma"], epochs=1,
                                            seeds=(0,), baseline=False)
    assert list(alone.table["model"]) == ["at"]
    with pytest.raises(MemoError, match="at least one seed"):
        compare_features.run_experiment(root=str(tiny_corpus), models=["at"], seeds=())
    with pytest.raises(MemoError, match="tagger"):
        compare_features.run_experiment(root=str(tiny_corpus), models=["vggish"], seeds=(0,))


def _runs(rows):
    """A live run's table from ``(model, seed, valence CCC, arousal CCC, valence CCC-per-song)`` rows."""
    return pd.DataFrame([{"model": m, "features": "chroma", "seed": s, "valence/CCC": v, "arousal/CCC": a,
                          "valence/CCC-per-song": p, "arousal/CCC-per-song": p / 2, "valence/RMSE": 1 - v,
                          "arousal/RMSE": 1 - a} for m, s, v, a, p in rows])


def test_seed_summary_gives_mean_sd_min_and_max():
    table = _runs([("mlr", 0, 0.40, 0.70, 0.05), ("mlr", 1, 0.40, 0.70, 0.05), ("at", 0, 0.20, 0.60, 0.02),
                   ("at", 1, 0.30, 0.64, 0.04), ("at", 2, 0.25, 0.62, 0.03)])
    summary = comparison.seed_summary(table).set_index("model")
    assert list(summary.index) == ["mlr", "at"] and summary.loc["at", "seeds"] == 3
    assert summary.loc["at", "valence/CCC"] == pytest.approx(0.25)
    assert summary.loc["at", "valence/CCC sd"] == pytest.approx(0.05)
    assert (summary.loc["at", "valence/CCC min"], summary.loc["at", "valence/CCC max"]) == (0.20, 0.30)
    assert summary.loc["mlr", "arousal/CCC sd"] == 0.0
    only = comparison.seed_summary(table, metrics=["CCC"])
    assert "valence/RMSE" not in only and "arousal/CCC max" in only


def test_the_headline_says_the_baseline_wins_and_per_song_ccc_is_near_zero():
    table = _runs([("mlr", s, 0.40, 0.70, 0.05) for s in range(3)]
                  + [("at", s, 0.20 + 0.01 * s, 0.60, 0.02) for s in range(3)]
                  + [("bat", s, 0.25, 0.62 + 0.01 * s, -0.03) for s in range(3)])
    text = comparison.compare_headline(comparison.seed_summary(table), "CCC")
    assert text.startswith("Best CCC (higher is better, mean ± sd over 3 seeds): mlr on valence (0.40 ± 0.00) "
                           "and mlr on arousal (0.70 ± 0.00).")
    assert ("The linear baseline (mlr) beats every neural model on every target (best neural model vs the "
            "baseline): valence (bat 0.25 vs 0.40); arousal (bat 0.63 vs 0.70).") in text
    assert "Per-song CCC is near zero for every model (at most 0.05)" in text
    # RMSE: lower is better, the same reading
    rmse = comparison.compare_headline(comparison.seed_summary(table), "RMSE")
    assert "Best RMSE (lower is better" in rmse and "mlr on valence (0.60 ± 0.00)" in rmse


def test_the_headline_weighs_a_win_against_the_seeds_spread():
    wins = _runs([("mlr", s, 0.40, 0.50, 0.3) for s in range(3)]
                 + [("at", s, 0.41 + 0.1 * (s - 1), 0.80 + 0.01 * s, 0.35) for s in range(3)])
    text = comparison.compare_headline(comparison.seed_summary(wins), "CCC")
    assert "A neural model beats the linear baseline on arousal (at 0.81 vs 0.50)" in text
    assert "no neural model beats the linear baseline beyond the seeds' spread on valence (at 0.41 vs 0.40)" in text
    assert "Per-song CCC reaches 0.35 (at on valence)." in text and "near zero" not in text
    one_seed = comparison.compare_headline(comparison.seed_summary(wins[wins["seed"] == 0]), "CCC")
    assert "one seed" in one_seed and "One seed only: the differences may be chance." in one_seed
    assert "±" not in one_seed
    no_base = comparison.compare_headline(comparison.seed_summary(wins[wins["model"] == "at"]), "CCC")
    assert "No linear baseline (mlr) in this run" in no_base
    assert comparison.compare_headline(comparison.seed_summary(wins.iloc[0:0]), "CCC") == ""
