"""Song: hear it, see its signal, and compare predicted with annotated valence and arousal over time."""

import streamlit as st

from dashboard import resources, sidebar, trust_cues, widgets
from dashboard.plots import song as plots
from dashboard.plots.export import figure_html
from dashboard.plots.structure import add_structure
from dashboard.resources import (
    SCALE_NAMES,
    SONG_METRICS,
    curves_table,
    focus_model,
    model_spread,
    song_metrics_table,
    song_position_table,
    to_scale,
)

st.title("Song")
ctx = sidebar.song_context(stored=True)  # a library song: the library's curves, not analysed again
chosen = ctx.selection
regression = ctx.results(task="regression")
predictions = {key: r.predictions for key, r in regression.items()}

st.subheader(ctx.source.name)
if ctx.stored_in is not None:
    loaded, _ = resources.checkpoints()
    own = [k for k in ctx.analysis.results if k not in loaded]  # the library's own (LIBRARY_ONLY) checkpoints
    when = f"{ctx.stored_when[:16].replace('T', ' ')} UTC" if ctx.stored_when else "earlier"
    st.caption(f"{ctx.audio.duration:.1f} s · **curves from the library** {widgets.plain(ctx.stored_in)} "
               f"(analysed {when}; the curves of {len(ctx.analysis.results)} per-frame checkpoints; nothing is "
               "analysed again here). "
               + (f"{', '.join(own)}: the library's own checkpoints, not those of the set in use (shown always; "
                  "choose the library's checkpoint set in the sidebar for their trust notes). " if own else "")
               + "The explanation pages analyse the song with the checkpoints in use when you open them.")
    if st.button("Analyse it with the checkpoints in use", key="song_fresh",
                 help="Run the sidebar's checkpoint set on the song now (as for any other song) instead of showing "
                      "the curves the library holds."):
        st.session_state[sidebar.FRESH_LIBRARY_SONG] = ctx.source.key
        st.rerun()
    if ctx.analysis.results and not any(resources.DISTANCE_MAP in r.explanations
                                        for r in ctx.analysis.results.values()):
        st.info("This library holds no feature distances for these curves (it was analysed before MEMO kept them), "
                "so stretches unlike the training songs are not marked here; only silence is. The explanation pages "
                "analyse the song afresh and mark them.")
else:
    st.caption(f"{ctx.audio.duration:.1f} s · analysed by {len(ctx.analysis.results)} checkpoints"
               + (" (from cache)" if ctx.analysis.cached else ""))

# the player, and the playhead: a click on any chart below plays from there, a line follows the player
widgets.player(ctx.source.data)

# beats and sections, found in the audio, on every time axis of the page (cached per song)
show_structure = st.toggle("Beats and sections", value=True, key="song_structure",
                           help="Beats (dotted) from librosa's beat tracker; section starts (solid, numbered §) where "
                                "harmony and timbre change. Read a curve or the chromagram against the music's form.")
structure = resources.song_structure(ctx.source.key, ctx.audio) if show_structure else None

fig_signal = plots.signal_views(ctx.view)
if structure is not None:
    fig_signal = add_structure(fig_signal, structure)
st.plotly_chart(fig_signal, width="stretch", key="song_signal")

trusts = resources.trust() if predictions else {}
focus = None
if len(predictions) >= 2:  # one model in focus over the spread of all of them
    best = focus_model(resources.loaded_entries(), list(predictions))
    options = list(predictions)
    # the choice is remembered apart from the widget: Streamlit forgets a widget's value on runs that do not
    # draw it (a page stopped while a new upload is analysed), and the browser then showed the first option
    remembered = st.session_state.get("memo_song_focus")
    focus = st.selectbox("Model in focus", options, key="song_focus",
                         index=options.index(remembered if remembered in options else best),
                         on_change=lambda: st.session_state.update(memo_song_focus=st.session_state["song_focus"]),
                         format_func=lambda k: f"{k} {trusts[k].badge}" if k in trusts else k,
                         help="Its curve is drawn solid over the band of every chosen model's spread; click a name "
                              "in the legend to show another model's curve. It starts on the model best trusted "
                              "on real music.")
    why = "best trusted on real music of the chosen models" if focus == best else "your choice"
    st.caption(f"**{focus}** in focus ({why}); the grey band spans the {len(predictions)} chosen models' curves, "
               "lowest to highest at each instant; the hatched grey band is the raters' spread (±1 sd).")

if not predictions and ctx.truth is None:
    st.info("Choose at least one valence/arousal checkpoint in the sidebar to see predictions.")
else:
    spread = {t: model_spread(predictions, t) for t in chosen.targets} if focus else None
    fig_va = plots.va_over_time(ctx.truth, predictions, chosen.targets, scale=chosen.scale,
                                duration_s=ctx.audio.duration, focus=focus, spread=spread)
    found = trust_cues.familiarity(ctx, predictions)  # silence and unfamiliar features, shaded on the curves
    fig_va = trust_cues.shade(fig_va, found)
    if structure is not None:
        fig_va = add_structure(fig_va, structure)
    st.plotly_chart(fig_va, width="stretch", key="song_va")
    if ctx.truth is None:
        st.caption("This song has no annotation, so only predictions are shown and no metrics can be computed.")
if predictions:  # how far each curve can be believed on real music, beside the curves
    widgets.trust_notes({key: trusts[key] for key in predictions if key in trusts})
    trust_cues.show(ctx, predictions, found, figures=False)

# per-song metrics against the annotation
if ctx.truth is not None and predictions:
    table = song_metrics_table(ctx.truth, predictions, chosen.targets, label="checkpoint")
    if not table.empty:
        st.markdown("**This song's metrics** (prediction against the annotation, where both exist; "
                    "RMSE and MAE on the [-1, 1] scale)")
        st.dataframe(table.style.format({m: "{:.3f}" for m in SONG_METRICS}, na_rep="n/a"), hide_index=True,
                     width="stretch")
if predictions:
    with st.expander(widgets.TRUST_EXPANDER):
        widgets.trust_tables(resources.loaded_entries())

# where the song sits, and how sure that is
positions = song_position_table(ctx.truth, predictions)
overall = positions.iloc[-1] if not positions.empty and positions.iloc[-1]["source"] != "annotation" else None
scale = chosen.scale


def shown(row, axis: str) -> str:
    mean, lo, hi = (float(to_scale(row[f"{axis}{s}"], scale)) for s in ("", "_lo", "_hi"))
    return "n/a" if mean != mean else f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


left, right = st.columns([1, 1])
with left:
    mark = ({a: (float(overall[a]), float(overall[f"{a}_lo"]), float(overall[f"{a}_hi"]))
             for a in ("valence", "arousal")} if overall is not None else None)
    st.plotly_chart(plots.va_path(ctx.truth, predictions, focus=focus, position=mark,
                                  position_label=f"song mean, {overall['source']} (interval)" if overall is not None
                                  else "song mean (interval)"), width="stretch", key="song_path")
with right:
    if overall is not None:
        st.markdown(f"**Where the song sits:** {overall['source']} put it **{overall['where']}** "
                    f"(valence {shown(overall, 'valence')}, arousal {shown(overall, 'arousal')} on the "
                    f"{SCALE_NAMES[scale]} scale).")
    if not positions.empty:
        st.caption("Each figure is a song mean with its interval: a curve's mean ±1.96 standard errors of its "
                   "5-second block means, joined over the curves where there are several (so it widens where the "
                   "models disagree). A quadrant of Russell's circumplex is named only when the interval lies "
                   "wholly on one side of the centre on both axes and the mean is at least 0.1 from it; otherwise "
                   "the song is called near the centre on that axis. *Frames sd*: how far the song moves around "
                   "its mean. On the plane, the purple cross is the song mean with its interval"
                   + (f"; **{focus}**'s path is drawn over every frame of the other models (grey dots)."
                      if focus else "."))
if not positions.empty:
    st.dataframe(positions.assign(valence=[shown(r, "valence") for _, r in positions.iterrows()],
                                  arousal=[shown(r, "arousal") for _, r in positions.iterrows()],
                                  **{"frames sd (valence, arousal)": [
                                      f"{float(to_scale(r['valence_sd'], scale, spread=True)):.2f}, "
                                      f"{float(to_scale(r['arousal_sd'], scale, spread=True)):.2f}"
                                      for _, r in positions.iterrows()]})
                 [["source", "where", "valence", "arousal", "frames sd (valence, arousal)"]],
                 hide_index=True, width="stretch")

# section by section: each curve's mean in each section the audio analysis found
if structure is not None and (predictions or isinstance(ctx.truth, dict)):
    st.markdown("**Section by section**")
    section_curves = dict(predictions)
    if isinstance(ctx.truth, dict):
        section_curves = {"annotation": ctx.truth, **section_curves}
    widgets.section_table(section_curves, structure, chosen.targets, key="song_sections", scale=scale)

# exports
st.markdown("**Export** (each chart's camera icon saves it as PNG; the HTML files open offline)")
merged = curves_table(ctx.truth, predictions)
c1, c2, c3, c4 = st.columns(4)
# the files are built only when a button is pressed, not on every run of the page
if predictions:
    c1.download_button("One-page report (HTML)", lambda: resources.song_report(
        ctx.analysis, song=ctx.source.name, checkpoints=list(predictions), entries=resources.loaded_entries(),
        truth=ctx.truth if isinstance(ctx.truth, dict) else None, structure=structure).encode("utf-8"),
        file_name="memo_report.html", mime="text/html", key="song_report",
        help="For a class handout: the song, the models with their trust on real music and training data, the "
             "curves, the quadrant and the sections, on one printable page without scripts.")
if merged is not None:
    c2.download_button("Curves (CSV)", lambda: merged.to_csv(index=False).encode(), file_name="memo_curves.csv",
                       mime="text/csv", key="song_csv")
if predictions or ctx.truth is not None:
    c3.download_button("Valence/arousal chart (HTML)", lambda: figure_html(fig_va, title="valence and arousal"),
                       file_name="memo_va.html", mime="text/html", key="song_va_html")
c4.download_button("Signal chart (HTML)", lambda: figure_html(fig_signal, title="signal"),
                   file_name="memo_signal.html", mime="text/html", key="song_signal_html")
