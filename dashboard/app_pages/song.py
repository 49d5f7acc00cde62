"""Song: hear it, see its signal, and compare predicted with annotated valence and arousal over time."""

import numpy as np
import streamlit as st

from dashboard import resources, sidebar, widgets
from dashboard.plots import song as plots
from dashboard.resources import (
    SCALE_NAMES,
    SONG_METRICS,
    curves_table,
    sniff_mime,
    song_metrics_table,
    song_summary,
)

st.title("Song")
ctx = sidebar.song_context()
chosen = ctx.selection
regression = ctx.results(task="regression")
predictions = {key: r.predictions for key, r in regression.items()}

st.subheader(ctx.source.name)
st.caption(f"{ctx.audio.duration:.1f} s · analysed by {len(ctx.analysis.results)} checkpoints"
           + (" (from cache)" if ctx.analysis.cached else "")
           + " · click a point on a chart to play from there")

# the player starts where the user last clicked a chart of this song
start = float(st.session_state.get("memo_play_from", {}).get(ctx.source.key, 0.0))
st.audio(ctx.source.data, format=sniff_mime(ctx.source.data), start_time=start)
if start:
    st.caption(f"Player set to {start:.1f} s.")


def _clicked(key: str) -> None:
    event = st.session_state.get(key)
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if points:
        x = points[0].get("x")
        if isinstance(x, (int, float)) and np.isfinite(x):
            st.session_state["memo_play_from"] = {ctx.source.key: max(0.0, min(float(x), ctx.audio.duration))}


fig_signal = plots.signal_views(ctx.view)
if start:
    plots.add_time_marker(fig_signal, start)
st.plotly_chart(fig_signal, width="stretch", key="song_signal", on_select=lambda: _clicked("song_signal"),
                selection_mode="points")

if not predictions and ctx.truth is None:
    st.info("Choose at least one valence/arousal checkpoint in the sidebar to see predictions.")
else:
    fig_va = plots.va_over_time(ctx.truth, predictions, chosen.targets, scale=chosen.scale,
                                duration_s=ctx.audio.duration, marker_s=start or None)
    st.plotly_chart(fig_va, width="stretch", key="song_va", on_select=lambda: _clicked("song_va"),
                    selection_mode="points")
    if ctx.truth is None:
        st.caption("This song has no annotation, so only predictions are shown and no metrics can be computed.")
if predictions:  # how far each curve can be believed on real music, beside the curves
    trusts = resources.trust()
    widgets.trust_notes({key: trusts[key] for key in predictions if key in trusts})

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

left, right = st.columns([1, 1])
with left:
    st.plotly_chart(plots.va_path(ctx.truth, predictions), width="stretch", key="song_path")
with right:
    summary = song_summary(ctx.truth, predictions, scale=chosen.scale)
    if not summary.empty:
        st.markdown(f"**Where the song sits** (mean over the song on the {SCALE_NAMES[chosen.scale]} scale, "
                    "Russell's quadrants)")
        st.dataframe(summary.style.format({"valence": "{:.2f}", "arousal": "{:.2f}"}), hide_index=True,
                     width="stretch")

# exports
st.markdown("**Export** (each chart's camera icon saves it as PNG)")
merged = curves_table(ctx.truth, predictions)
c1, c2, c3 = st.columns(3)
# the files are built only when a button is pressed, not on every run of the page
if merged is not None:
    c1.download_button("Curves (CSV)", lambda: merged.to_csv(index=False).encode(), file_name="memo_curves.csv",
                       mime="text/csv", key="song_csv")
if predictions or ctx.truth is not None:
    c2.download_button("Valence/arousal chart (HTML)", lambda: fig_va.to_html(include_plotlyjs="cdn").encode(),
                       file_name="memo_va.html", mime="text/html", key="song_va_html")
c3.download_button("Signal chart (HTML)", lambda: fig_signal.to_html(include_plotlyjs="cdn").encode(),
                   file_name="memo_signal.html", mime="text/html", key="song_signal_html")
