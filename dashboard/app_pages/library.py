"""Library: a whole collection analysed by ``python -m memo_core library analyse``, every song on the valence-arousal
plane, filtered, sorted, compared by subsets, and opened on the Song page."""

import pandas as pd
import streamlit as st

from dashboard import resources, sidebar
from dashboard.plots import library as plots
from dashboard.plots import song as song_plots
from dashboard.resources import (
    DATASET_COLUMNS,
    LIBRARY_AVERAGE,
    MemoError,
    filter_songs,
    folders_of,
    in_folder,
    label_agreement,
    library_models,
    model_values,
    subset_difference,
    tags_of,
)

#: The song picked on this page whose audio is out of reach (its stored curves are shown here).
_PICKED = "library_picked"
#: The selection already acted on (a rerun with the same selection opens nothing again).
_HANDLED = "library_handled"
_SHOWN = "every song shown (the filters above)"
_TABLE_COLUMNS = ["name", "valence", "arousal", "quadrant", "quadrant_confidence", "agreement", "duration_s",
                  "sections", "top_tags", "ood_share", "silent_share", "dataset", "dataset_song_id", "label_valence",
                  "label_arousal", "path", "checkpoint_set"]

st.title("Library")
st.caption("A whole collection, analysed once with `python -m memo_core library analyse SOURCE --out LIBRARY` and "
           "kept as Parquet tables: every song on the valence-arousal plane, filters, a sortable table, histograms "
           "per model and a comparison of two subsets. Click a song (on the plane or in the table) to open it on "
           "the Song page with its curves from the library (nothing is analysed again). This page does not depend on the song chosen in the sidebar.")

current = resources.settings()
if "library_dir" not in st.session_state:
    st.session_state["library_dir"] = resources.default_library_dir()
text = st.text_input("Library folder", key="library_dir", placeholder="/path/to/LIBRARY",
                     help="The folder written by `python -m memo_core library analyse` (it holds manifest.json and "
                          "the songs, frames and errors tables)."
                          + (" This server opens folders inside its configured roots only." if current.restricted
                             else ""))
if not text.strip():
    st.info("Type the folder of a library above. Make one with `python -m memo_core library analyse SOURCE --out "
            "LIBRARY` (SOURCE: a folder of audio, a dataset folder or a text file listing audio paths).")
    st.stop()
try:
    folder = str(resources.check_library_dir(text, current))
    tables = resources.library_tables(folder)
except MemoError as exc:
    st.error(f"That folder cannot be opened as a library: {exc}")
    st.stop()

songs, errors, models = tables["songs"], tables["errors"], tables["models"]
st.caption(f"**{len(songs)} songs** in {folder}, analysed by {', '.join(models) or 'no per-frame model'}"
           + (f"; updated {tables['updated']}" if tables.get("updated") else "")
           + (f"; {len(errors)} file(s) could not be analysed (listed at the bottom)" if len(errors) else "") + ".")
if songs.empty:
    st.info("This library holds no analysed song yet. Run `python -m memo_core library analyse` into it.")
    st.stop()
older = int((songs["checkpoint_set"].astype(str) != tables["checkpoint_set"]).sum()) if "checkpoint_set" in songs \
    else 0
if older:
    st.warning(f"{older} of {len(songs)} songs were analysed with other checkpoints than the library's latest run "
               f"({', '.join(models) or 'none'}), so their means come from other models (a run that was stopped, or "
               "sources analysed under an earlier set). Run `python -m memo_core library analyse` on their sources "
               "with the same checkpoints to bring them up to date; the table's `checkpoint_set` column says which.")

# --------------------------------------------------------------------------- filters

with st.container(border=True):
    st.markdown("**Filters**")
    left, middle, right = st.columns(3)
    quadrants = sorted(songs["quadrant"].dropna().astype(str).unique())
    chosen_quadrants = left.multiselect("Quadrant", quadrants, default=quadrants, key="library_quadrants")
    # the models with song means in the table: a run killed before its first song under a new checkpoint set
    # leaves the manifest naming models that no song row has yet
    model = middle.selectbox("Model", [LIBRARY_AVERAGE, *library_models(songs)], key="library_model",
                             help="Whose song means place the songs on the plane (and which songs have them): one "
                                  "model, or the average over every per-frame model of the library.")
    seconds = pd.to_numeric(songs["duration_s"], errors="coerce").dropna()
    duration = None
    if len(seconds) and seconds.min() < seconds.max():
        lo, hi = float(seconds.min()), float(seconds.max())
        duration = right.slider("Duration (s)", min_value=float(int(lo)), max_value=float(int(hi) + 1),
                                value=(float(int(lo)), float(int(hi) + 1)), key="library_duration")
    tag_options = tags_of(songs)
    chosen_tags = left.multiselect("Tags (all of)", tag_options, key="library_tags",
                                   disabled=not tag_options,
                                   help="The library's top tags (from its tagger checkpoints)." if tag_options
                                   else "This library has no tags (no tagger checkpoint, or no tag above threshold).")
    path_text = middle.text_input("Path contains", key="library_path_text", placeholder="e.g. a folder or a name")

shown = filter_songs(songs, quadrants=chosen_quadrants, model=model, duration=duration, tags=chosen_tags,
                     path_text=path_text)
st.markdown(f"**{len(shown)} of {len(songs)} songs** pass the filters.")

# --------------------------------------------------------------------------- the plane and the table


def _open(song_id: str) -> None:
    """Open the song on the Song page when its audio is reachable; else keep it to show its stored curves here."""
    row = songs[songs["song_id"] == song_id]
    if row.empty:
        return
    source, reason = resources.library_song(str(row.iloc[0]["path"]), song_id, str(row.iloc[0]["name"]), current,
                                            folder=folder)
    if source is not None:
        st.session_state.pop(_PICKED, None)
        st.session_state[sidebar.LIBRARY_PENDING] = source
        st.switch_page("app_pages/song.py")
    st.session_state[_PICKED] = (song_id, reason)


if shown.empty:
    st.info("No song passes the filters; widen them.")
else:
    event = st.plotly_chart(plots.va_plane(shown, title="Every song's mean valence and arousal"), width="stretch",
                            key="library_plane", on_select="rerun", selection_mode=("points", "box", "lasso"))
    st.caption("Colour: how far the models agree on the song (1: the same curves); size: the song's duration. "
               "Click a song to open it; with the box or lasso tool (the chart's toolbar) round several, the table lists "
               "just them.")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    picked = list(dict.fromkeys(str(p["customdata"]) for p in points if p.get("customdata") is not None))
    listed = shown[shown["song_id"].isin(picked)] if len(picked) > 1 else shown
    if len(picked) > 1:
        st.markdown(f"**{len(picked)} songs selected on the plane**; clear the selection to list them all.")
    has_dataset = "dataset" in listed and listed["dataset"].fillna("").astype(str).ne("").any()
    table = listed[[c for c in ["song_id", *_TABLE_COLUMNS] if c in listed and (has_dataset or c not in DATASET_COLUMNS)]
                   ].reset_index(drop=True)
    rows = st.dataframe(
        table, key="library_table", on_select="rerun", selection_mode="single-row", hide_index=True,
        width="stretch", column_order=[c for c in _TABLE_COLUMNS if c in table],
        column_config={"valence": st.column_config.NumberColumn(format="%+.2f"),
                       "arousal": st.column_config.NumberColumn(format="%+.2f"),
                       "agreement": st.column_config.NumberColumn(format="%.2f"),
                       "quadrant_confidence": st.column_config.NumberColumn(
                           "in mean's quadrant", format="%.2f",
                           help="Share of the song's frames (every model's) in the quadrant of its mean point: 1 "
                                "stays there throughout, 0.25 is chance. Given also for songs near the centre."),
                       "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
                       "ood_share": st.column_config.NumberColumn("unfamiliar share", format="%.2f"),
                       "silent_share": st.column_config.NumberColumn("silent share", format="%.2f"),
                       "label_valence": st.column_config.NumberColumn("listeners' valence", format="%+.2f"),
                       "label_arousal": st.column_config.NumberColumn("listeners' arousal", format="%+.2f")})
    st.caption("Click a column's name to sort by it; select a row to open the song.")
    chosen_rows = (rows or {}).get("selection", {}).get("rows", []) if rows else []
    wanted = (str(table.iloc[chosen_rows[0]]["song_id"]) if chosen_rows and chosen_rows[0] < len(table) else
              picked[0] if len(picked) == 1 else None)
    if wanted is not None and st.session_state.get(_HANDLED) != wanted:
        st.session_state[_HANDLED] = wanted
        _open(wanted)
    elif wanted is None:
        st.session_state.pop(_HANDLED, None)

found = st.session_state.get(_PICKED)
if found is not None and (songs["song_id"] == found[0]).any():
    song_id, reason = found
    row = songs[songs["song_id"] == song_id].iloc[0]
    st.subheader(str(row["name"]))
    st.warning(f"The audio is not reachable, so only the library's stored curves are shown: {reason}")
    try:
        predictions = resources.library_curves(folder, song_id)
    except MemoError as exc:
        st.error(f"The library's curves of this song cannot be read: {exc}")
    else:
        if predictions:
            st.plotly_chart(song_plots.va_over_time(None, predictions, ("valence", "arousal"),
                                                    duration_s=float(row["duration_s"])),
                            width="stretch", key="library_curves")
        else:
            st.info("The library holds no per-frame curve of this song.")

# --------------------------------------------------------------------------- distributions

st.header("Valence and arousal per model")
values = model_values(shown, models)
if values.empty:
    st.info("No per-model song means among the songs shown.")
else:
    st.plotly_chart(plots.histograms(values, title=f"Song means of the {len(shown)} songs shown"), width="stretch",
                    key="library_hist")

labelled = label_agreement(shown, model)
if not labelled.empty:
    st.header("Against the listeners' labels")
    st.caption("Songs of a dataset in its official layout (found among the sources of `library analyse`) carry that "
               "dataset's song-level valence and arousal from listeners (4Q: the quadrant's signs). How often the "
               f"song means of **{model}** fall on the same side of neutral as the label; a coin gets 0.5. The "
               "interval is Wilson's 95% interval for the share. These are songs MEMO's checkpoints may have been "
               "trained on (the shipped set learned from part of 4Q): read it as a check, not a test score.")
    st.dataframe(labelled.rename(columns={"n": "songs", "agree": "same side", "share": "share", "lo": "95% low",
                                          "hi": "95% high"}),
                 column_config={c: st.column_config.NumberColumn(format="%.2f")
                                for c in ("share", "95% low", "95% high")},
                 hide_index=True, width="stretch", key="library_labels")

st.header("Compare two subsets")
folders = folders_of(shown["path"].astype(str))
options = [_SHOWN, *folders]
# by default the first two folders that hold no other (e.g. two albums side by side); none when there are not two
leaves = [f for f in folders if not any(o.startswith(f + "/") for o in folders)]
defaults = leaves[:2] if len(leaves) >= 2 else [_SHOWN, _SHOWN]
left, right = st.columns(2)
a_choice = left.selectbox("Subset A", options, index=options.index(defaults[0]), key="library_subset_a",
                          help="A folder of the collection (songs at any depth in it that pass the filters), or "
                               "every song shown.")
b_choice = right.selectbox("Subset B", options, index=options.index(defaults[1]), key="library_subset_b")


def _subset(choice: str) -> pd.DataFrame:
    return shown if choice == _SHOWN else in_folder(shown, choice)


if a_choice == b_choice:
    st.info("Choose two different subsets (for example two folders) to compare their songs' valence and arousal.")
else:
    try:
        difference = subset_difference(_subset(a_choice), _subset(b_choice))
    except MemoError as exc:
        st.warning(f"These subsets cannot be compared: {exc}")
    else:
        labels = {"A": f"A: {a_choice}", "B": f"B: {b_choice}"}
        st.plotly_chart(plots.subset_means(difference, labels, title="Mean of each subset, with its 95% interval"),
                        width="stretch", key="library_subsets")
        lines = []
        for _, r in difference.iterrows():
            interval = (f" (95% interval {r['diff_lo']:+.2f} to {r['diff_hi']:+.2f})" if pd.notna(r["diff_lo"])
                        else " (too few songs for an interval)")
            lines.append(f"- **{r['target']}**: B − A = {r['difference']:+.2f}{interval}; Kolmogorov-Smirnov "
                         f"D = {r['ks']:.2f} (p = {r['ks_p']:.3g}), {r['n_a']} vs {r['n_b']} songs")
        st.markdown("**How B differs from A**\n\n" + "\n".join(lines))
        st.caption("B − A: the difference of the subsets' mean song positions (Welch's interval). D: the largest gap "
                   "between the two subsets' distributions of song means, 0 (the same) to 1 (no overlap); a small "
                   "p says the gap is unlikely between two random draws from one collection.")
        st.dataframe(difference.style.format({c: "{:+.3f}" for c in difference if c not in ("target", "n_a", "n_b")},
                                             na_rep="n/a"), hide_index=True, width="stretch", key="library_diff")

if len(errors):
    with st.expander(f"⚠️ {len(errors)} file(s) could not be analysed"):
        st.dataframe(errors, hide_index=True, width="stretch")
