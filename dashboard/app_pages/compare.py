"""Compare: the shipped checkpoints' held-out metrics, the papers' published figures, and a small live run."""

import pandas as pd
import streamlit as st

from dashboard import resources, sidebar, widgets
from dashboard.plots import compare as plots
from dashboard.resources import (
    EXPERIMENT_FEATURES,
    EXPERIMENT_METRICS,
    EXPERIMENT_MODELS,
    FEATURE_SUBSET_FAMILY,
    METRIC_DESCRIPTIONS,
    PAPER_SPECS,
    TAG_METRICS,
    MemoError,
    checkpoint_metrics,
    feature_subset_metrics,
    metric_names,
    paper_rows,
    run_experiment,
    tagger_metrics,
)

_RESULT = "compare_result"  # the last live run, kept for this session

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


# --------------------------------------------------------------------------- 1. the checkpoints of the set in use

st.header("The checkpoints in use")
if not entries:
    st.warning("The checkpoint set in use has no readable `manifest.json`, so there are no stored metrics to show. "
               "Choose another set in the sidebar, restore `checkpoints/` with git, or train the defaults with "
               "`python -m memo_core train-defaults`.")
else:
    trained_on = sorted({str(e.get("training_data", "")) for e in entries if e.get("training_data")})
    st.markdown("**Trained and scored on:** " + "; ".join(trained_on) if trained_on else "")
    st.caption(f"{metric}: {METRIC_DESCRIPTIONS.get(metric, metric)}. Values on the [-1, 1] scale, from "
               "the set's `manifest.json` (measured on the held-out test songs when the checkpoints were "
               "trained). These are tiny models: compare them with each other, not with the papers.")

    models = checkpoint_metrics(entries, metric, exclude_families=[FEATURE_SUBSET_FAMILY])
    st.subheader("Models")
    if models.empty:
        st.info("The manifest has no valence/arousal checkpoint.")
    else:
        st.plotly_chart(plots.target_bars(models, metric, title=f"Held-out {metric} per model"), width="stretch",
                        key="compare_models_chart")
        st.dataframe(_fmt(models, ("valence", "arousal")), hide_index=True, width="stretch")

    subsets = feature_subset_metrics(entries, metric)
    st.subheader("Feature subsets (AT on each feature set, as Chaki et al. Tables 3-4)")
    if subsets.empty:
        st.info("The manifest has no feature-subset checkpoint.")
    else:
        named = subsets.assign(label=subsets["checkpoint"] + " · " + subsets["features"].astype(str))
        st.plotly_chart(plots.target_bars(named, metric, name="label", colour="checkpoint",
                                          title=f"Held-out {metric} of AT per feature set"),
                        width="stretch", key="compare_subsets_chart")
        st.dataframe(_fmt(subsets, ("valence", "arousal")), hide_index=True, width="stretch")

    taggers = tagger_metrics(entries)
    st.subheader("Mood/theme taggers")
    if taggers.empty:
        st.info("The manifest has no tagging checkpoint.")
    else:
        st.caption("Macro averages over the tags that have both positive and negative test songs (`tags scored`); "
                   "F1 at the thresholds chosen on the validation songs. The valence/arousal metric above does "
                   "not apply to taggers.")
        st.plotly_chart(plots.tagger_bars(taggers, title="Held-out ROC-AUC and PR-AUC per tagger"),
                        width="stretch", key="compare_taggers_chart")
        st.dataframe(_fmt(taggers, TAG_METRICS), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- 1b. real recordings

st.header("Real recordings")
st.caption("How far each shipped checkpoint can be trusted on real music (`python -m memo_core validate-real`): "
           "its figures on held-out real songs beside simple baselines scored on the same songs, and what it was "
           "trained on, with the sources' licences.")
if entries:
    widgets.trust_tables(entries)
else:
    st.info("No readable manifest, so no checkpoint has real-music figures to show.")

# --------------------------------------------------------------------------- 2. the papers' figures

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

st.header("Run a small comparison")
st.caption("Trains each chosen model (tiny preset, the MLR baseline at its own) on the training songs, for a few "
           "epochs, once per feature set, and scores it on the held-out test songs. On a 4-song test corpus it "
           "takes seconds. On the default 150-song corpus the first run with `chroma` takes about 2 minutes "
           "(measured: extracting the features of 150 songs, 1.8 CPU minutes; training mlr, chaki_lstm, at and bat "
           "for 2 epochs, 5 s); the features are then cached on disk, so later runs take seconds. `deam260` and "
           "`compare6373` (openSMILE) take several times longer to extract the first time.")

chosen = sidebar.selection()
source = chosen.source
options = {"synth": "the built-in synthetic corpus"}
if source is not None and source.kind == "dataset" and source.dataset and source.dataset != "synth" and source.root:
    options[source.dataset] = f"the sidebar's dataset ({sidebar.DATASET_LABELS.get(source.dataset, source.dataset)})"
data_name = st.radio("Dataset", list(options), format_func=options.get, key="compare_data", horizontal=True)
c1, c2, c3 = st.columns([2, 2, 1])
chosen_models = c1.multiselect("Models", list(EXPERIMENT_MODELS), default=["mlr", "chaki_lstm", "at", "bat"],
                               key="compare_models", help="`mlr` is the per-frame linear baseline.")
chosen_features = c2.multiselect("Feature sets", list(EXPERIMENT_FEATURES), default=["chroma"],
                                 key="compare_features",
                                 help="Two or more compare the feature sets (Chaki et al. Tables 3-4).")
epochs = c3.number_input("Epochs", min_value=1, max_value=30, value=2, step=1, key="compare_epochs")

if st.button("Run the comparison", key="compare_run", type="primary"):
    if data_name == "synth":
        root = resources.default_corpus_dir()
        root = str(root) if resources.corpus_is_ready(root) else None
    else:
        root = source.root if source is not None else None
    if root is None:
        st.error("The built-in corpus is not rendered yet: open the **Synthetic corpus** page to render it, "
                 "then run the comparison again.")
    else:
        bar = st.progress(0.0, text="Starting…")

        def _progress(step: str, done: int, total: int) -> None:
            text = step.replace("features regression", "extracting features").replace("model ", "trained ")
            bar.progress(min(1.0, done / max(total, 1)), text=f"{text} ({done}/{total})")

        try:
            result = run_experiment(dataset=data_name, root=root, models=chosen_models,
                                    features=chosen_features, epochs=int(epochs), progress=_progress)
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
    st.markdown(f"**Last run:** {result.dataset} ({n.get('train', 0)} training, {n.get('validation', 0)} "
                f"validation, {n.get('test', 0)} test songs), {', '.join(result.features)}, at most "
                f"{result.epochs} epoch(s), {result.seconds:.1f} s.")
    if (tuple(chosen_models), tuple(chosen_features), int(epochs)) != (result.models, result.features,
                                                                        result.epochs):
        st.caption("The settings above have changed since this run; press the button to run them.")
    table = result.table
    shown_metrics = list(dict.fromkeys([metric, *EXPERIMENT_METRICS]))
    cols = ["model", "preset", "features", "params", "train (s)", "epochs"] + [
        f"{t}/{m}" for m in shown_metrics for t in ("valence", "arousal") if f"{t}/{m}" in table]
    st.dataframe(table[cols].style.format({c: "{:.3f}" for c in cols[6:]} | {"train (s)": "{:.2f}"},
                                          na_rep="n/a"), hide_index=True, width="stretch")
    if f"valence/{metric}" in table:
        bars = table.assign(valence=table[f"valence/{metric}"], arousal=table[f"arousal/{metric}"],
                            label=table["model"] + " · " + table["features"])
        st.plotly_chart(plots.target_bars(bars, metric, name="label", colour="model", pattern="features",
                                          title=f"Held-out {metric} of this run"),
                        width="stretch", key="compare_run_chart")
    if n.get("test", 0) < 5:
        st.caption(f"Only {n.get('test', 0)} test song(s): these figures are a demonstration of the machinery, "
                   "not a measurement.")
