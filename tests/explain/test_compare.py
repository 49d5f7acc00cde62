"""memo_core.comparison: the manifest's metrics, the papers' rows beside ours, and the live experiment."""

from __future__ import annotations

import math

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


def test_experiment_refuses_too_few_songs(tmp_path):
    from memo_core.data.synth import generate_corpus

    root = generate_corpus(tmp_path / "two", n_songs=2, seed=3, duration_s=16.0, workers=1, progress=False)
    with pytest.raises(MemoError, match="at least 3"):
        compare_features.run_experiment(root=str(root), models=["mlr"], features=["chroma"], epochs=1)
    with pytest.raises(MemoError, match="at least one model"):
        compare_features.run_experiment(root=str(root), models=[], features=["chroma"])


def test_experiment_trains_and_scores_with_progress(tiny_corpus):
    steps = []
    result = compare_features.run_experiment(root=str(tiny_corpus), models=["mlr", "at"], features=["chroma", "cqt"],
                                       epochs=1, progress=lambda s, d, n: steps.append((s, d, n)))
    table = result.table
    assert list(zip(table["model"], table["features"])) == [("mlr", "chroma"), ("at", "chroma"), ("mlr", "cqt"),
                                                            ("at", "cqt")]
    assert (table["epochs"] <= 1).all()
    assert {"valence/CCC", "arousal/RMSE", "valence/r-per-song"} <= set(table.columns)
    assert table["arousal/RMSE"].notna().all()
    assert result.n_songs["test"] >= 1 and result.features == ("chroma", "cqt")
    assert steps[-1] == ("done", 4, 4)
    assert [d for _, d, _ in steps] == sorted(d for _, d, _ in steps)  # monotone progress
    assert any("features" in s for s, _, _ in steps)
