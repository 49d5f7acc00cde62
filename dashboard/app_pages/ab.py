"""A/B: two checkpoints on one song, or one checkpoint on two songs, side by side with their difference; the
song's beats and sections on every time axis; a per-section table; the maps and a one-page report to download."""

import streamlit as st

from dashboard import resources, sidebar, trust_cues, widgets
from dashboard.plots import ab as plots
from dashboard.plots.structure import add_structure
from dashboard.resources import MemoError

st.title("A/B")
st.caption("Put two readings of the music side by side: **two checkpoints on one song** (do they hear the same "
           "thing?) or **one checkpoint on two songs** (what changes between the songs?). The difference A - B is "
           "drawn below the curves; where both have the same map (attention, scale weights), the maps and their "
           "difference too. Beats (dotted) and section starts (solid, numbered §) are found in the audio.")

TWO_CHECKPOINTS, TWO_SONGS = "Two checkpoints on one song", "One checkpoint on two songs"
mode = st.radio("Compare", [TWO_CHECKPOINTS, TWO_SONGS], horizontal=True, key="ab_mode")
ctx = sidebar.song_context()  # song A: the sidebar's song (a message and a stop when there is none)
targets = ctx.selection.targets
# every valence/arousal result of the song: the sidebar's chosen checkpoints first (the defaults), then the others
regression = ctx.results(task="regression")
regression |= {k: r for k, r in ctx.analysis.results.items() if r.task == "regression" and k not in regression}
if len(regression) < (2 if mode == TWO_CHECKPOINTS else 1):
    st.info("Two checkpoints of the set in use must have valence/arousal results on this song to compare them "
            "(see the sidebar)." if mode == TWO_CHECKPOINTS else "No checkpoint of the set in use has a "
            "valence/arousal result on this song (see the sidebar).")
    st.stop()
keys = list(regression)


def _truth_label(truth) -> str:
    return str(truth.get("label", "annotation")) if isinstance(truth, dict) else "annotation"


def _song_b():
    """Song B (an upload or a song of the built-in corpus) as a SongSource with its annotation, or Nones."""
    where = st.radio("Song B", ["Upload a file", "A song of the built-in corpus"], horizontal=True, key="ab_b_from")
    if where == "Upload a file":
        return sidebar.upload_source("Song B's audio", "ab_upload", "WAV, MP3, FLAC or OGG; it stays in memory."), None
    root = resources.default_corpus_dir()
    if not resources.corpus_is_ready(root):
        st.info("The built-in corpus is not rendered yet (the sidebar's **A dataset song** offers to render it); "
                "upload song B instead.")
        return None, None
    try:
        table, _ = resources.corpus_table(str(root))
        song_id = st.selectbox("Corpus song", table["song"].astype(str).tolist(), key="ab_corpus_song")
        found = resources.song_file(str(root), song_id)
    except (OSError, MemoError) as exc:
        st.error(f"The corpus song cannot be read: {exc}")
        return None, None
    if found is None:
        return None, None
    data, digest = found
    source = resources.SongSource("dataset", f"corpus song {song_id}", digest, "synth", str(root), song_id, data)
    return source, resources.song_curves(str(root), song_id)


structure_a = resources.song_structure(ctx.source.key, ctx.audio)
chosen_keys: list[str]
if mode == TWO_CHECKPOINTS:
    first, second = resources.default_pair(regression)  # two that share a map, where there are such
    c1, c2 = st.columns(2)
    key_a = c1.selectbox("A", keys, index=keys.index(first), key="ab_a")
    key_b = c2.selectbox("B", keys, index=keys.index(second), key="ab_b")
    if key_a == key_b:
        st.info("Choose two different checkpoints for A and B.")
        st.stop()
    result_a, result_b = regression[key_a], regression[key_b]
    label_a, label_b = key_a, key_b
    chosen_keys = [key_a, key_b]
    st.subheader(ctx.source.name)
    widgets.player(ctx.source.data)
    try:
        aligned = resources.align_curves(result_a.predictions, result_b.predictions, targets=targets)
    except MemoError as exc:
        st.error(f"The two curves cannot be compared: {exc}")
        st.stop()
    curves = plots.ab_curves(aligned, targets, label_a=label_a, label_b=label_b, truth=ctx.truth,
                             truth_label=_truth_label(ctx.truth), duration_s=ctx.audio.duration,
                             title=f"A: {label_a} and B: {label_b}")
    st.plotly_chart(add_structure(curves, structure_a), width="stretch", key="ab_curves")
    trust_cues.show(ctx, chosen_keys)
    difference = add_structure(plots.difference_chart(aligned, targets, duration_s=ctx.audio.duration,
                                                      title=f"A - B: where {label_a} reads higher (above 0)"),
                               structure_a)
else:
    key_a = st.selectbox("Checkpoint", keys, key="ab_checkpoint")
    source_b, truth_b = _song_b()
    if source_b is None:
        st.info("Choose song B (upload a file, or pick a corpus song) to compare it with the sidebar's song.")
        st.stop()
    ctx_b = sidebar.context_for(source_b, ctx.selection, truth_b)
    result_a, result_b = regression[key_a], ctx_b.analysis.results.get(key_a)
    if result_b is None:
        st.error(f"{key_a} could not analyse song B: {ctx_b.analysis.problems.get(key_a, 'no result')}")
        st.stop()
    label_a, label_b = f"{key_a} on {ctx.source.name}", f"{key_a} on {source_b.name}"
    chosen_keys = [key_a]
    relative = st.radio("Line the songs up by", ["time (s)", "position in the song (%)"], horizontal=True,
                        key="ab_align", help="Songs of different lengths: by position, 50 % is each song's middle."
                        ) != "time (s)"
    structure_b = resources.song_structure(source_b.key, ctx_b.audio)
    left, right = st.columns(2)
    for column, c, result, structure, colour, name, dash in (
            (left, ctx, result_a, structure_a, plots.A_COLOUR, "A", None),
            (right, ctx_b, result_b, structure_b, plots.B_COLOUR, "B", "dash")):
        with column:
            st.markdown(f"**{name}: {c.source.name}** ({c.audio.duration:.1f} s)")
            st.audio(c.source.data)
            fig = plots.song_curves(result.predictions, targets, label=f"{name}: {key_a}", colour=colour,
                                    truth=c.truth, truth_label=_truth_label(c.truth), duration_s=c.audio.duration,
                                    dash=dash)
            st.plotly_chart(add_structure(fig, structure), width="stretch", key=f"ab_song_{name.lower()}")
    trust_cues.show(ctx, chosen_keys)
    try:
        aligned = resources.align_curves(result_a.predictions, result_b.predictions, targets=targets,
                                         relative=relative, duration_a=ctx.audio.duration,
                                         duration_b=ctx_b.audio.duration)
    except MemoError as exc:
        st.error(f"The two curves cannot be compared: {exc}")
        st.stop()
    difference = plots.difference_chart(aligned, targets, duration_s=None if relative else
                                         min(ctx.audio.duration, ctx_b.audio.duration),
                                         title="A - B: where song A reads higher (above 0)")

st.plotly_chart(difference, width="stretch", key="ab_difference")
summary = resources.difference_summary(aligned)
st.dataframe(summary.style.format({c: "{:+.2f}" for c in ("mean A - B",)} | {
    c: "{:.2f}" for c in ("mean |A - B|", "largest |A - B|", "at", "r (A, B)")}, na_rep="n/a"),
    hide_index=True, width="stretch", key="ab_summary")
st.caption("**mean A - B**: above 0, A reads higher on average; **largest |A - B|** and **at** (s, or % of the "
           "song): where they differ most; **r (A, B)**: whether they rise and fall together (1), ignore each other "
           "(0) or move in opposite ways (-1).")

# --------------------------------------------------------------------------- maps

st.subheader("Maps")
shared = resources.shared_maps(result_a, result_b)
map_fig = None
if not shared:
    st.info("A and B have no map in common (attention maps belong to AT, BAT, the Transformer; scale weights to "
            "MCA; DAMFF's to DAMFF), so there is no map difference to draw. Choose two checkpoints of one family.")
else:
    pair = (label_a, label_b)
    if st.session_state.get("ab_map_pair") != pair:  # another A or B: start from their richest shared map
        st.session_state.pop("ab_map", None)
        st.session_state["ab_map_pair"] = pair
    name = st.selectbox("Map", shared, key="ab_map")
    try:
        found = resources.map_difference(result_a, result_b, name)
    except MemoError as exc:
        st.warning(f"The {name} maps cannot be put on one grid: {exc}")
    else:
        map_fig = plots.map_triptych(found, label_a=label_a, label_b=label_b)
        if mode == TWO_CHECKPOINTS and found.axis_names and found.axis_names[0].endswith("_s"):
            add_structure(map_fig, structure_a, beats=False, label_sections=False)
        st.plotly_chart(map_fig, width="stretch", key="ab_map_chart")
        st.caption(f"{name}, reduced to its axes {' and '.join(found.axis_names)} (other axes averaged) and put on "
                   "one grid. A and B share one colour scale; A - B has its own, centred on 0 (red: A weighs "
                   "more, blue: B weighs more).")

# --------------------------------------------------------------------------- sections

st.subheader("Section by section")
section_curves = {label_a: result_a.predictions}
if mode == TWO_CHECKPOINTS:
    section_curves[label_b] = result_b.predictions
if isinstance(ctx.truth, dict):
    section_curves = {_truth_label(ctx.truth): ctx.truth, **section_curves}
widgets.section_table(section_curves, structure_a, targets, key="ab_sections")

# --------------------------------------------------------------------------- export

st.subheader("Export")
report_keys = chosen_keys
c1, c2, c3 = st.columns(3)
# the files are built only when a button is pressed, not on every run of the page
c1.download_button("One-page report (HTML)", lambda: resources.song_report(
    ctx.analysis, song=ctx.source.name, checkpoints=report_keys, entries=resources.loaded_entries(),
    truth=ctx.truth if isinstance(ctx.truth, dict) else None, truth_label=_truth_label(ctx.truth),
    structure=structure_a).encode("utf-8"), file_name="memo_report.html", mime="text/html", key="ab_report",
    help="For a class handout: the song, the models with their trust on real music and training data, the curves, "
         "the quadrant and the sections. No script, prints on one page.")
c2.download_button("Curves and difference (HTML)", lambda: plots.figure_html(difference, title="A - B"),
                   file_name="memo_ab_difference.html", mime="text/html", key="ab_diff_html")
if map_fig is not None:
    c3.download_button("Maps (HTML)", lambda: plots.figure_html(map_fig, title="maps"), file_name="memo_ab_maps.html",
                       mime="text/html", key="ab_map_html")
if plots.png_export_available():  # kaleido takes seconds: render only when asked, not on every run of the page
    if st.button("Render the chart as PNG", key="ab_png_render"):
        png = plots.figure_png(map_fig if map_fig is not None else difference)
        if png is None:
            st.warning("kaleido is installed but could not render here (it needs its own browser); save a PNG with "
                       "the chart's camera icon instead.")
        else:
            st.download_button("Chart (PNG)", png, file_name="memo_ab.png", mime="image/png", key="ab_png")
else:
    st.caption("The HTML files hold plotly.js, so they open offline in any browser. PNG export needs kaleido, which "
               "is not installed here (MEMO downloads nothing); each chart's camera icon saves a PNG.")
