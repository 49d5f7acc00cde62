"""Compare: the shipped checkpoints' held-out metrics, the papers' published figures, and a small live run."""

import pandas as pd
import streamlit as st

from dashboard import resources, sidebar, widgets
from dashboard.plots import compare as plots
from dashboard.resources import (
    BASELINE_MODEL,
    DEFAULT_SEEDS,
    EXPERIMENT_FEATURES,
    EXPERIMENT_METRICS,
    EXPERIMENT_MODELS,
    FEATURE_SUBSET_FAMILY,
    METRIC_DESCRIPTIONS,
    PAPER_SPECS,
    TAG_METRICS,
    MemoError,
    checkpoint_metrics,
    compare_headline,
    feature_subset_metrics,
    metric_names,
    paper_rows,
    run_experiment,
    seed_summary,
    tagger_metrics,
)

_RESULT = "compare_result"  # the last live run, kept for this session
_SPREADS = {"sd": "mean ± standard deviation", "range": "mean, min to max"}

st.title("Compare")
st.caption("Every checkpoint's figures on the same held-out songs (those of the checkpoint set chosen in the "
           "sidebar), the papers' own figures on their datasets, and a small comparison you can run here. This "
           "page does not depend on the song chosen in the sidebar.")

entries = resources.manifest_entries()
names = metric_names(entries)
if names:
    metric = st.selectbox("Metric", names, index=names.index("CCC") if "CCC" in names else 0, key="compare_metric",
                          format_func=lambda m: f"{m}: {METRIC_DESCRIPTIONS.get(m, '')}".rstrip(": "))
else:
    metric = "CCC"


def _fmt(frame: pd.DataFrame, columns) -> "pd.io.formats.style.Styler":
    return frame.style.format({c: "{:.3f}" for c in columns if c in frame}, na_rep="n/a")


def _baseline(frame: pd.DataFrame, name: str = "checkpoint") -> dict[str, float] | None:
    """The linear baseline's valence and arousal values in ``frame`` (its row named ``mlr``), or None."""
    rows = frame[frame[name] == BASELINE_MODEL] if name in frame else frame.iloc[0:0]
    return None if rows.empty else {t: float(rows.iloc[0][t]) for t in ("valence", "arousal") if t in rows}


tab_set, tab_real, tab_papers, tab_run = st.tabs(
    ["The checkpoints in use", "Real recordings", "The papers' figures", "Run a small comparison"], key="compare_tab")

# --------------------------------------------------------------------------- 1. the checkpoints of the set in use

with tab_set:
    st.header("The checkpoints in use")
    if not entries:
        st.warning("The checkpoint set in use has no readable `manifest.json`, so there are no stored metrics to "
                   "show. Choose another set in the sidebar, restore `checkpoints/` with git, or train the defaults "
                   "with `python -m memo_core train-defaults`.")
    else:
        trained_on = sorted({str(e.get("training_data", "")) for e in entries if e.get("training_data")})
        st.markdown("**Trained and scored on:** " + "; ".join(trained_on) if trained_on else "")
        st.caption(f"{metric}: {METRIC_DESCRIPTIONS.get(metric, metric)}. Values on the [-1, 1] scale, from "
                   "the set's `manifest.json` (measured on the held-out test songs when the checkpoints were "
                   "trained). These are tiny models: compare them with each other, not with the papers. The dashed "
                   f"line is the linear baseline ({BASELINE_MODEL}): a model below it learned less than a linear "
                   "map of the features.")

        models = checkpoint_metrics(entries, metric, exclude_families=[FEATURE_SUBSET_FAMILY])
        base = _baseline(models)
        st.subheader("Models")
        if models.empty:
            st.info("The manifest has no valence/arousal checkpoint.")
        else:
            st.plotly_chart(plots.target_bars(models, metric, title=f"Held-out {metric} per model", baseline=base),
                            width="stretch", key="compare_models_chart")
            if base is None:
                st.caption(f"This set has no `{BASELINE_MODEL}` checkpoint, so no baseline line is drawn.")
            st.dataframe(_fmt(models, ("valence", "arousal")), hide_index=True, width="stretch")

        subsets = feature_subset_metrics(entries, metric)
        st.subheader("Feature subsets (AT on each feature set, as Chaki et al. Tables 3-4)")
        if subsets.empty:
            st.info("The manifest has no feature-subset checkpoint.")
        else:
            named = subsets.assign(label=subsets["checkpoint"] + " · " + subsets["features"].astype(str))
            base_features = models.loc[models["checkpoint"] == BASELINE_MODEL, "features"]
            label = f"{BASELINE_MODEL} (linear baseline, {base_features.iloc[0]})" if len(base_features) else ""
            st.plotly_chart(plots.target_bars(named, metric, name="label", colour="checkpoint",
                                              title=f"Held-out {metric} of AT per feature set", baseline=base,
                                              baseline_label=label or "linear baseline"),
                            width="stretch", key="compare_subsets_chart")
            st.dataframe(_fmt(subsets, ("valence", "arousal")), hide_index=True, width="stretch")

        taggers = tagger_metrics(entries)
        st.subheader("Mood/theme taggers")
        if taggers.empty:
            st.info("The manifest has no tagging checkpoint.")
        else:
            st.caption("Macro averages over the tags that have both positive and negative test songs (`tags "
                       "scored`); F1 at the thresholds chosen on the validation songs. The valence/arousal metric "
                       f"above, and the linear baseline ({BASELINE_MODEL}, a valence/arousal model), do not apply "
                       "to taggers: 0.5 ROC-AUC is chance.")
            st.plotly_chart(plots.tagger_bars(taggers, title="Held-out ROC-AUC and PR-AUC per tagger"),
                            width="stretch", key="compare_taggers_chart")
            st.dataframe(_fmt(taggers, TAG_METRICS), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- 1b. real recordings

with tab_real:
    st.header("Real recordings")
    st.caption("How far each shipped checkpoint can be trusted on real music (`python -m memo_core validate-real`): "
               "its figures on held-out real songs beside simple baselines scored on the same songs, and what it "
               "was trained on, with the sources' licences.")
    if entries:
        widgets.trust_tables(entries)
    else:
        st.info("No readable manifest, so no checkpoint has real-music figures to show.")

# --------------------------------------------------------------------------- 2. the papers' figures

with tab_papers:
    st.header("The papers' published figures")
    st.warning("**These are the papers' numbers, on the papers' datasets** (DEAM / MediaEval 2015, emoMusic / "
               "1000 Songs, MER1101, MTG-Jamendo), with their protocols and paper-sized models. Ours are tiny "
               "models scored on the synthetic corpus. **The two are not comparable**: a higher or lower figure "
               "here says nothing about which is better. To compare like with like, run a paper's protocol on "
               "its dataset: `python -m memo_core reproduce --paper chaki2020 --dataset emomusic --root ...`.")
    papers = paper_rows(entries) if entries else pd.DataFrame()
    if papers.empty:
        st.info("No shipped checkpoint corresponds to a row of the papers' tables.")
    else:
        shown = papers.rename(columns={"paper's figure": "paper's figure (paper's dataset)",
                                       "ours (synthetic corpus)": "ours (synthetic corpus, not comparable)"})
        columns = ["paper", "table", "paper row", "dataset", "metric", "paper's figure (paper's dataset)",
                   "checkpoint", "ours (synthetic corpus, not comparable)", "note"]
        for family, part in shown.groupby("family", sort=False):
            st.subheader(f"{family}: the papers' rows")
            st.dataframe(part[columns].style.format({c: "{:.4g}" for c in columns[5::2]}, na_rep="n/a"),
                         hide_index=True, width="stretch")
        st.caption("A row is listed beside a checkpoint when it is the same model and structure (window, scales, "
                   "attention, depth) at the paper's size; `note` flags a different feature set. Validation-only "
                   "figures and GFLOPS have no counterpart in the manifest (n/a).")
        with st.expander("The papers' protocols"):
            for spec in PAPER_SPECS.values():
                if spec.citation in set(papers["paper"]):
                    st.markdown(f"**{spec.citation}**, *{spec.title}*: {spec.protocol}")

# --------------------------------------------------------------------------- 3. a live comparison


def _run_caption() -> None:
    st.caption(f"Trains each chosen model (tiny preset; the linear baseline `{BASELINE_MODEL}` is always run beside "
               "them) on the training songs for a few epochs, once per feature set and per seed, and scores it on "
               "the held-out test songs; the figures are the mean over the seeds with their spread. On a 4-song "
               "test corpus it takes seconds. On the default 150-song corpus the first run with `chroma` takes about "
               "2 minutes (extracting the features of 150 songs, 1.8 CPU minutes; the bar moves song by song), then "
               "about 20 s per seed to train mlr, chaki_lstm, at and bat for 2 epochs (measured on two cores: 68 s "
               "for the default three seeds with the features already extracted); the features are cached on disk, "
               "so later runs skip the extraction. `deam260` and `compare6373` (openSMILE) take several times longer "
               "to extract the first time.")


def _spread_text(row: pd.Series, column: str, spread: str) -> str:
    value = row.get(column)
    if value is None or pd.isna(value):
        return "n/a"
    if row.get("seeds", 1) <= 1:
        return f"{value:.3f}"
    if spread == "range":
        return f"{value:.3f} ({row[f'{column} min']:.3f} to {row[f'{column} max']:.3f})"
    return f"{value:.3f} ± {row[f'{column} sd']:.3f}"


with tab_run:
    st.header("Run a small comparison")
    _run_caption()
    chosen = sidebar.selection()
    source = chosen.source
    options = {"synth": "the built-in synthetic corpus"}
    if (source is not None and source.kind == "dataset" and source.dataset and source.dataset != "synth"
            and source.root):
        options[source.dataset] = (f"the sidebar's dataset "
                                   f"({sidebar.DATASET_LABELS.get(source.dataset, source.dataset)})")
    data_name = st.radio("Dataset", list(options), format_func=options.get, key="compare_data", horizontal=True)
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    chosen_models = c1.multiselect("Models", list(EXPERIMENT_MODELS), default=["mlr", "chaki_lstm", "at", "bat"],
                                   key="compare_models",
                                   help=f"`{BASELINE_MODEL}` is the per-frame linear baseline; it is run even when "
                                   "not chosen, so every figure has it.")
    chosen_features = c2.multiselect("Feature sets", list(EXPERIMENT_FEATURES), default=["chroma"],
                                     key="compare_features",
                                     help="Two or more compare the feature sets (Chaki et al. Tables 3-4).")
    epochs = c3.number_input("Epochs", min_value=1, max_value=30, value=2, step=1, key="compare_epochs")
    n_seeds = c4.number_input("Seeds", min_value=1, max_value=10, value=len(DEFAULT_SEEDS), step=1,
                              key="compare_seeds", help="Each model is trained once per seed (its initial weights "
                              "and batch order); the figures are the mean and the spread over the seeds.")
    seeds = tuple(range(int(n_seeds)))

    if st.button("Run the comparison", key="compare_run", type="primary"):
        if data_name == "synth":
            root = resources.default_corpus_dir()
            root = str(root) if resources.corpus_is_ready(root) else None
        else:
            root = source.root if source is not None else None
        if root is None:
            st.error("The built-in corpus is not rendered yet: render it with the button in the sidebar "
                     "(**A dataset song** → MEMO synthetic corpus), then run the comparison again.")
        else:
            bar = st.progress(0.0, text="Starting…")

            def _progress(step: str, done: int, total: int) -> None:
                bar.progress(min(1.0, done / max(total, 1)), text=f"{step} · step {done} of {total}")

            try:
                result = run_experiment(dataset=data_name, root=root, models=chosen_models,
                                        features=chosen_features, epochs=int(epochs), seeds=seeds,
                                        progress=_progress)
            except MemoError as exc:
                bar.empty()
                st.error(f"The comparison could not run: {exc}")
            else:
                bar.empty()
                st.session_state[_RESULT] = result

    result = st.session_state.get(_RESULT)
    if result is None:
        st.info("Choose models and feature sets, then press **Run the comparison**.")
    else:
        n = result.n_songs
        run_seeds = getattr(result, "seeds", (0,))
        st.markdown(f"**Last run:** {result.dataset} ({n.get('train', 0)} training, {n.get('validation', 0)} "
                    f"validation, {n.get('test', 0)} test songs), {', '.join(result.features)}, at most "
                    f"{result.epochs} epoch(s), {len(run_seeds)} seed(s), {result.seconds:.1f} s.")
        wanted = (tuple(dict.fromkeys([BASELINE_MODEL, *chosen_models]))
                  if BASELINE_MODEL not in chosen_models else tuple(chosen_models))
        if (set(wanted), tuple(chosen_features), int(epochs), seeds) != (set(result.models), result.features,
                                                                          result.epochs, tuple(run_seeds)):
            st.caption("The settings above have changed since this run; press the button to run them.")
        summary = seed_summary(result.table)
        headline = compare_headline(summary, metric)
        if headline:
            st.info(f"**In short:** {headline}", icon="💡")
        spread = st.radio("Spread over the seeds", list(_SPREADS), format_func=_SPREADS.get, horizontal=True,
                          key="compare_spread")
        shown_metrics = list(dict.fromkeys([metric, *EXPERIMENT_METRICS]))
        value_columns = [f"{t}/{m}" for m in shown_metrics for t in ("valence", "arousal") if f"{t}/{m}" in summary]
        table = summary[["model", "features", "seeds"]].copy()
        for column in value_columns:
            table[column] = [_spread_text(row, column, spread) for _, row in summary.iterrows()]
        table.insert(0, "", ["baseline" if m == BASELINE_MODEL else "" for m in summary["model"]])
        st.dataframe(table, hide_index=True, width="stretch", key="compare_run_table")
        st.caption(f"Each cell: {_SPREADS[spread]} over {len(run_seeds)} seed(s) of the held-out test songs' "
                   "figure. " + " ".join(f"**{m}**: {METRIC_DESCRIPTIONS[m]}." for m in shown_metrics
                                          if m in METRIC_DESCRIPTIONS))
        if f"valence/{metric}" in summary:
            bars = summary.assign(label=summary["model"] + " · " + summary["features"])
            for t in ("valence", "arousal"):
                bars[t] = bars[f"{t}/{metric}"]
                for part in ("sd", "min", "max"):
                    bars[f"{t} {part}"] = bars[f"{t}/{metric} {part}"]
            base = None
            if len(result.features) == 1:
                base = _baseline(bars, "model")
            st.plotly_chart(plots.target_bars(bars, metric, name="label", colour="model", pattern="features",
                                              spread=spread, baseline=base,
                                              title=f"Held-out {metric} of this run ({_SPREADS[spread]} over "
                                                    f"{len(run_seeds)} seed(s))"),
                            width="stretch", key="compare_run_chart")
        with st.expander("Every seed's figures"):
            raw = result.table
            cols = ["model", "preset", "features", "seed", "params", "train (s)", "epochs"] + [
                c for c in value_columns if c in raw]
            st.dataframe(raw[[c for c in cols if c in raw]].style.format(
                {c: "{:.3f}" for c in value_columns} | {"train (s)": "{:.2f}"}, na_rep="n/a"),
                hide_index=True, width="stretch")
        if n.get("test", 0) < 5:
            st.caption(f"Only {n.get('test', 0)} test song(s): these figures are a demonstration of the machinery, "
                       "not a measurement.")
