"""The Compare page: the manifest's metrics as tables and charts, the papers' rows, and the live comparison."""

from __future__ import annotations

import json

import pytest

from memo_core.pretrained import read_manifest
from tests.dashboard._helpers import open_page, song_wav, texts, upload

#: The page tabulates the whole shipped set from its manifest (tests/dashboard/conftest.py): all of it.
CHECKPOINT_KEYS = None


def _charts(app) -> dict[str, dict]:
    """The page's charts by title."""
    out = {}
    for chart in app.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def _frame_with(app, column: str):
    return next(d.value for d in app.dataframe if column in d.value.columns)


def _bars(spec) -> dict[str, list]:
    return {trace["name"]: trace["y"] for trace in spec["data"]}


@pytest.fixture(scope="module")
def manifest():
    return {e["key"]: e for e in read_manifest()["checkpoints"]}


def test_checkpoints_papers_and_metric_switch(corpus_env, manifest):
    app = open_page("compare")
    assert not app.exception
    assert app.selectbox(key="compare_metric").value == "CCC"
    charts = _charts(app)
    models = charts["Held-out CCC per model"]
    assert {"target"} == {models["layout"]["xaxis"]["title"]["text"]}
    assert "CCC (higher is better)" == models["layout"]["yaxis"]["title"]["text"]
    bars = _bars(models)
    assert {"mca", "dblstm_elm", "at", "bat", "damff"} <= set(bars) and "at_chroma" not in bars
    assert bars["mca"] == pytest.approx([manifest["mca"]["metrics"]["valence/CCC"],
                                         manifest["mca"]["metrics"]["arousal/CCC"]])
    assert models["data"][0]["marker"]["color"] != models["data"][1]["marker"]["color"]  # one colour per model
    # the linear baseline on every valence/arousal chart: a dashed line at mlr's values
    line = [s for s in models["layout"]["shapes"] if s.get("name") == "mlr (linear baseline)"]
    assert [s["y0"] for s in line] == pytest.approx([manifest["mlr"]["metrics"]["valence/CCC"],
                                                     manifest["mlr"]["metrics"]["arousal/CCC"]])
    assert line[0]["line"]["dash"] == "dash" and line[0]["showlegend"] and not line[1]["showlegend"]
    table = _frame_with(app, "training data")
    row = table.set_index("checkpoint").loc["dblstm_elm"]
    assert row["arousal"] == pytest.approx(manifest["dblstm_elm"]["metrics"]["arousal/CCC"])
    assert row["test songs"] == manifest["dblstm_elm"]["split_sizes"]["test"]
    subsets_chart = charts["Held-out CCC of AT per feature set"]
    subsets = _bars(subsets_chart)
    assert [s["y0"] for s in subsets_chart["layout"]["shapes"] if s.get("name", "").startswith("mlr (linear")] == \
        pytest.approx([manifest["mlr"]["metrics"]["valence/CCC"], manifest["mlr"]["metrics"]["arousal/CCC"]])
    assert {"at_deam260 · deam260", "at_chroma · chroma", "at_compare6373 · compare6373"} <= set(subsets)
    taggers = _frame_with(app, "ROC-AUC-macro").set_index("checkpoint")
    assert taggers.loc["vggish", "ROC-AUC-macro"] == pytest.approx(manifest["vggish"]["metrics"]["ROC-AUC-macro"])
    assert "Held-out ROC-AUC and PR-AUC per tagger" in charts
    assert "synthetic corpus" in texts(app)

    # the papers' figures, labelled as the papers' and as not comparable
    page = texts(app)
    assert "These are the papers' numbers, on the papers' datasets" in page and "not comparable" in page
    papers = [d.value for d in app.dataframe if "paper's figure (paper's dataset)" in d.value.columns]
    assert len(papers) >= 5  # one per family
    chaki = next(p for p in papers if "at" in set(p["checkpoint"]))
    at_r2 = chaki[(chaki["checkpoint"] == "at") & (chaki["metric"] == "R2_A")].iloc[0]
    assert at_r2["paper"] == "Chaki et al. 2020" and at_r2["table"] == "Table 1"
    assert at_r2["paper's figure (paper's dataset)"] == 0.75 and "emoMusic" in at_r2["dataset"]
    assert at_r2["ours (synthetic corpus, not comparable)"] == pytest.approx(manifest["at"]["metrics"]["arousal/R2"])
    rajamani = next(p for p in papers if "vggish" in set(p["checkpoint"]))
    assert {"ROC-AUC", "PR-AUC"} <= set(rajamani["metric"]) and "MTG-Jamendo" in rajamani["dataset"].iloc[0]

    # another metric redraws the charts from the manifest
    app.selectbox(key="compare_metric").set_value("RMSE").run()
    assert not app.exception
    rmse = _charts(app)["Held-out RMSE per model"]
    assert rmse["layout"]["yaxis"]["title"]["text"] == "RMSE (lower is better)"
    assert _bars(rmse)["mca"] == pytest.approx([manifest["mca"]["metrics"]["valence/RMSE"],
                                               manifest["mca"]["metrics"]["arousal/RMSE"]])
    assert "Held-out CCC per model" not in _charts(app)


def test_the_button_runs_three_seeds_with_the_baseline_and_says_the_result(corpus_env):
    from memo_core.explain.compare import compare_headline, seed_summary

    app = open_page("compare")
    assert "press **Run the comparison**" in texts(app)
    assert [t.label for t in app.tabs] == ["The checkpoints in use", "Real recordings", "The papers' figures",
                                           "Run a small comparison"]
    assert app.multiselect(key="compare_models").value == ["mlr", "chaki_lstm", "at", "bat"]
    assert app.number_input(key="compare_seeds").value == 3  # three seeds by default
    app.multiselect(key="compare_models").set_value(["at"])  # the baseline is run anyway
    app.number_input(key="compare_epochs").set_value(1)
    app.button(key="compare_run").click().run()
    assert not app.exception and not app.error
    result = app.session_state["compare_result"]
    assert result.seeds == (0, 1, 2) and result.models == ("mlr", "at")
    run = _frame_with(app, "train (s)")  # every seed's figures
    assert list(run["model"]) == ["mlr", "at"] * 3 and list(run["seed"]) == [0, 0, 1, 1, 2, 2]
    assert set(run["features"]) == {"chroma"} and run["valence/CCC"].notna().all() and (run["epochs"] <= 1).all()
    assert "Last run:** synth (2 training, 1 validation, 1 test songs)" in texts(app) and "3 seed(s)" in texts(app)
    # the summary: mean ± sd over the seeds, the baseline marked
    summary = _frame_with(app, "seeds").set_index("model")
    assert list(summary.index) == ["mlr", "at"] and set(summary["seeds"]) == {3}
    assert summary.loc["mlr", ""] == "baseline"
    expected = seed_summary(result.table).set_index("model")
    assert summary.loc["at", "valence/CCC"] == (f"{expected.loc['at', 'valence/CCC']:.3f} ± "
                                                f"{expected.loc['at', 'valence/CCC sd']:.3f}")
    # the one-line reading, computed from the numbers, above the table
    headline = compare_headline(seed_summary(result.table), "CCC")
    assert headline.startswith("Best CCC (higher is better, mean ± sd over 3 seeds)")
    assert any(i.value == f"**In short:** {headline}" for i in app.info)
    # the chart: mean bars with the seeds' spread as error bars, the baseline's bar and its dashed line
    chart = _charts(app)["Held-out CCC of this run (mean ± standard deviation over 3 seed(s))"]
    assert set(_bars(chart)) == {"mlr · chroma", "at · chroma"}
    at_bar = next(t for t in chart["data"] if t["name"] == "at · chroma")
    assert at_bar["error_y"]["array"] == pytest.approx([expected.loc["at", "valence/CCC sd"],
                                                        expected.loc["at", "arousal/CCC sd"]])
    baseline = [s for s in chart["layout"]["shapes"] if s.get("name") == "mlr (linear baseline)"]
    assert [s["y0"] for s in baseline] == pytest.approx([expected.loc["mlr", "valence/CCC"],
                                                         expected.loc["mlr", "arousal/CCC"]])
    # min to max instead of the standard deviation
    app.radio(key="compare_spread").set_value("range").run()
    summary = _frame_with(app, "seeds").set_index("model")
    assert summary.loc["at", "valence/CCC"] == (f"{expected.loc['at', 'valence/CCC']:.3f} "
                                                f"({expected.loc['at', 'valence/CCC min']:.3f} to "
                                                f"{expected.loc['at', 'valence/CCC max']:.3f})")
    # the result stays for the session: a widget change neither reruns nor loses it
    app.selectbox(key="compare_metric").set_value("R2").run()
    assert list(_frame_with(app, "train (s)")["model"]) == ["mlr", "at"] * 3
    assert any("Held-out R2 of this run" in title for title in _charts(app))
    assert any(i.value.startswith("**In short:** Best R2") for i in app.info)
    app.multiselect(key="compare_features").set_value(["chroma", "cqt"]).run()
    assert "settings above have changed" in texts(app)
    # an uploaded song in the sidebar does not change this page
    upload(app, "my song.wav", song_wav(6.0))
    assert not app.exception and "Held-out R2 per model" in _charts(app)


def test_a_corpus_with_too_few_songs_shows_what_to_do(corpus_env, two_song_corpus, monkeypatch):
    # the first two songs of the tiny corpus (same seed and length): too few to train, validate and test
    monkeypatch.setenv("MEMO_DATA_DIR", str(two_song_corpus))
    app = open_page("compare")
    app.button(key="compare_run").click().run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error)
    assert "has 2 song(s) with audio" in errors and "at least 3" in errors and "bigger" in errors
    assert "Held-out CCC per model" in _charts(app)  # the rest of the page still works


def test_real_recordings_section_lists_checkpoints_and_baselines(corpus_env, manifest_with):
    from tests._helpers import tagger_entry, validated_entry

    manifest_with({"mca": {k: v for k, v in validated_entry("mca").items()
                           if k in ("validation_real", "training_sources")},
                   "bat": {"validation_real": {"4q": {"arousal_auc": "0.9"}}, "training_sources": {"x": 1}},
                   "vggish": {"tag_spread": tagger_entry(std=0.01)["tag_spread"]}})
    app = open_page("compare")
    assert not app.exception
    assert "Real recordings" in [h.value for h in app.header]
    table = _frame_with(app, "kind").set_index("model")
    assert table.loc["mca", "trust"] == "🟢 good" and table.loc["mca", "4Q songs"] == 88
    assert table.loc["bat", "trust"] == "⚪ unvalidated" and table.loc["vggish", "trust"] == "🔴 poor"
    assert table.loc["at_chroma", "trust"] == "⚪ unvalidated"  # every shipped checkpoint is listed
    baselines = table[table["kind"] == "baseline"]
    # the baselines of mca's figures, and the shipped baseline checkpoints (unvalidated in this manifest)
    assert {"loudness level (baseline)", "mlr (baseline)"} <= set(baselines.index)
    assert {"loudness (baseline checkpoint)", "mlr (baseline checkpoint)",
            "songlin (baseline checkpoint)"} <= set(baselines.index)
    assert set(baselines.loc[["loudness level (baseline)", "mlr (baseline)"], "trust"]) == {"baseline"}
    assert baselines.loc["mlr (baseline)", "4Q valence AUC"] == "0.60 [0.50, 0.70]"
    sources = _frame_with(app, "licence").set_index("checkpoint")
    assert sources.loc["mca", "source"].tolist() == ["4q", "synth"]
    assert sources.loc["bat", "source"].startswith("MEMO synthetic corpus")  # unreadable sources: the training data
    assert "90 % percentile bootstrap over songs" in texts(app)
    assert "Held-out CCC per model" in _charts(app)  # the rest of the page is unchanged
