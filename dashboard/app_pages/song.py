"""Song: hear it, see its signal, and compare predicted with annotated valence and arousal over time."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import resources, sidebar
from dashboard.plots import song as plots
from memo_core.views import SONG_METRICS, quadrant, song_metrics

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
st.audio(ctx.source.data, format=resources.audio_mime(ctx.source.data), start_time=start)
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

# per-song metrics against the annotation
if ctx.truth is not None and predictions:
    rows = []
    for key, frame in predictions.items():
        for target in chosen.targets:
            if ctx.truth.get(target) is None or target not in frame:
                continue
            scores = song_metrics(ctx.truth["time_s"], ctx.truth[target], frame["time_s"], frame[target])
            rows.append({"checkpoint": key, "target": target, **scores})
    if rows:
        st.markdown("**This song's metrics** (prediction against the annotation, where both exist; "
                    "RMSE and MAE on the [-1, 1] scale)")
        table = pd.DataFrame(rows)
        st.dataframe(table.style.format({m: "{:.3f}" for m in SONG_METRICS}, na_rep="n/a"), hide_index=True,
                     width="stretch")

left, right = st.columns([1, 1])
with left:
    st.plotly_chart(plots.va_path(ctx.truth, predictions), width="stretch", key="song_path")
with right:
    st.markdown("**Where the song sits** (mean over the song, Russell's quadrants)")
    summary = []
    if ctx.truth is not None and ctx.truth.get("valence") is not None and ctx.truth.get("arousal") is not None:
        v, a = float(np.nanmean(ctx.truth["valence"])), float(np.nanmean(ctx.truth["arousal"]))
        summary.append({"source": "annotation", "valence": v, "arousal": a, "quadrant": quadrant(v, a)})
    for key, frame in predictions.items():
        if {"valence", "arousal"} <= set(frame.columns):
            v, a = float(frame["valence"].mean()), float(frame["arousal"].mean())
            summary.append({"source": key, "valence": v, "arousal": a, "quadrant": quadrant(v, a)})
    if summary:
        st.dataframe(pd.DataFrame(summary).style.format({"valence": "{:.2f}", "arousal": "{:.2f}"}),
                     hide_index=True, width="stretch")

# exports
st.markdown("**Export** (each chart's camera icon saves it as PNG)")
merged = None
for key, frame in predictions.items():
    part = frame.rename(columns={c: f"{key}/{c}" for c in frame.columns if c != "time_s"})
    merged = part if merged is None else merged.merge(part, on="time_s", how="outer")
if merged is not None and ctx.truth is not None:
    truth = pd.DataFrame({"time_s": ctx.truth["time_s"],
                          **{f"annotation/{t}": ctx.truth[t] for t in ("valence", "arousal")
                             if ctx.truth.get(t) is not None}})
    merged = merged.merge(truth, on="time_s", how="outer").sort_values("time_s")
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
