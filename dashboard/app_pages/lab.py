"""Emotion lab: choose or draw a valence/arousal trajectory, hear it rendered, and watch the models follow it."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import resources, sidebar, trust_cues
from dashboard.plots import song as plots
from dashboard.resources import MemoError, follow_summaries, song_metrics_table

#: What the lab calls its trajectory on every chart and table (it is the design, not a listener's annotation).
DESIGN = "design"

st.title("Emotion lab")
st.caption(
    "Design how a piece should feel over time, let MEMO compose and render it with the synthetic corpus's musical "
    "cues (arousal: tempo, note density, loudness, brightness, percussion; valence: major or minor mode, "
    "consonance, register), then see whether each model hears what you designed. A good way to show a class what "
    "the models pick up on, and where they fail."
)

left, right = st.columns([1, 1])
with left:
    mode = st.radio("Trajectory", ["A preset", "Draw your own"], horizontal=True, key="lab_mode")
    duration = float(st.slider("Length (s)", 10, 60, 30, step=5, key="lab_duration"))
    seed = int(st.number_input("Instruments, key and melody (seed)", 0, 9999, 0, key="lab_seed",
                               help="The same trajectory with another seed: other instruments, key, room and melody."))
    preset, points = None, None
    if mode == "A preset":
        preset = st.selectbox("Preset", resources.lab_presets(), key="lab_preset")
        label = preset
    else:
        st.markdown("**Draw** a path on the plane to the right (drag with the mouse; the music walks along it "
                    "at an even pace over the song), or edit its points here (time in seconds; valence and "
                    "arousal from -1 to 1; straight lines between points).")
        start = st.session_state.get("lab_drawn")
        if start is None or start["time_s"].max() > duration:  # nothing drawn yet, or drawn for a longer song
            start = pd.DataFrame({"time_s": [0.0, duration / 2, duration], "valence": [-0.5, 0.6, 0.2],
                                  "arousal": [-0.6, 0.7, -0.3]})
        points = st.data_editor(start, num_rows="dynamic", key="lab_points", hide_index=True, column_config={
            "time_s": st.column_config.NumberColumn("time (s)", min_value=0.0, max_value=duration, step=0.5),
            "valence": st.column_config.NumberColumn("valence", min_value=-1.0, max_value=1.0, step=0.05),
            "arousal": st.column_config.NumberColumn("arousal", min_value=-1.0, max_value=1.0, step=0.05)})
        label = "your trajectory"
try:
    frame_times, valence, arousal = resources.lab_frames(preset, points, duration)
except MemoError as exc:
    st.error(f"This trajectory cannot be rendered: {exc}")
    st.stop()
design = {"time_s": frame_times, "valence": valence, "arousal": arousal}
#: The design as rendered: a change of points, preset, length or seed makes the last result stale.
signature = (tuple(np.round(np.asarray(valence, float), 4)), tuple(np.round(np.asarray(arousal, float), 4)),
             duration, seed)


def _drawn() -> None:
    """The lasso just drawn on the plane becomes the trajectory's points."""
    event = st.session_state.get("lab_draw")
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", {})
    lassos = selection.get("lasso", []) if isinstance(selection, dict) else getattr(selection, "lasso", [])
    if lassos and lassos[-1].get("x") and lassos[-1].get("y"):
        try:
            st.session_state["lab_drawn"] = resources.lab_points_from_path(list(lassos[-1]["x"]),
                                                                           list(lassos[-1]["y"]), duration)
        except MemoError as exc:
            st.session_state["lab_draw_error"] = str(exc)


with right:
    path = plots.va_path(design, {}, height=380, truth_label=DESIGN)
    if mode == "A preset":
        st.plotly_chart(path, width="stretch", key="lab_design_path")
    else:
        st.plotly_chart(plots.drawable(path), width="stretch", key="lab_draw", on_select=_drawn,
                        selection_mode="lasso")
        drawn = st.session_state.get("lab_drawn")
        if drawn is not None:
            st.caption(f"Drawn path: {len(drawn)} points, from valence {drawn['valence'].iloc[0]:+.2f}, arousal "
                       f"{drawn['arousal'].iloc[0]:+.2f} to valence {drawn['valence'].iloc[-1]:+.2f}, arousal "
                       f"{drawn['arousal'].iloc[-1]:+.2f}. Drag again to redraw.")
        if "lab_draw_error" in st.session_state:
            st.error(f"That path cannot be used: {st.session_state.pop('lab_draw_error')}")

if st.button("Render and analyse", type="primary", key="lab_render"):
    try:
        rendered = resources.render_lab(tuple(map(float, valence)), tuple(map(float, arousal)), duration, seed)
    except MemoError as exc:
        st.error(f"The music could not be rendered: {exc}")
        st.stop()
    data = rendered["flac"]
    st.session_state["memo_lab_song"] = resources.SongSource("lab", f"Emotion lab: {label} (seed {seed})",
                                                             resources.digest(data), data=data)
    # "label": what other pages call this song's curves (the design, not an annotation)
    st.session_state["memo_lab_truth"] = {"time_s": rendered["time_s"], "valence": rendered["valence"],
                                          "arousal": rendered["arousal"], "label": DESIGN}
    st.session_state["memo_lab_design"] = signature
    st.session_state["memo_lab_info"] = {k: rendered[k] for k in ("tempo_bpm", "modes", "key", "n_notes")}
    st.rerun()  # so the sidebar offers the new song as a source at once

source = st.session_state.get("memo_lab_song")
if source is None:
    st.info("Press **Render and analyse** to hear the trajectory and see the models' predictions.")
    st.stop()
if st.session_state.get("memo_lab_design") != signature:
    # a new drawing, preset, length or seed: the last result belongs to another design, so it is not shown
    st.info("The design has changed since the last rendering, so its result is cleared. Press **Render and "
            "analyse** to hear the new design and see how the models follow it.")
    st.stop()

truth = st.session_state.get("memo_lab_truth")
info = st.session_state.get("memo_lab_info", {})
st.subheader(source.name)
st.caption(f"{info.get('tempo_bpm', 0):.0f} bpm in {info.get('key', '?')}; sections: "
           f"{', '.join(info.get('modes', []))}; {info.get('n_notes', 0)} notes. "
           "Choose **Emotion lab song** as the song source in the sidebar to see its attention maps on the other "
           "pages.")
st.audio(source.data, format="audio/flac")
ctx = sidebar.context_for(source, sidebar.selection(), truth)
predictions = {k: r.predictions for k, r in ctx.results(task="regression").items()}
if not predictions:
    st.info("Choose at least one valence/arousal checkpoint in the sidebar to see the models follow the design.")
else:
    found = trust_cues.familiarity(ctx, predictions)  # silence and unfamiliar features, shaded as on the Song page
    fig = plots.va_over_time(truth, predictions, ctx.selection.targets, duration_s=ctx.audio.duration,
                             truth_label=DESIGN)
    st.plotly_chart(trust_cues.shade(fig, found), width="stretch", key="lab_va")
    summaries = follow_summaries(truth, predictions, ctx.selection.targets)
    if summaries:
        st.markdown("**How each model followed the design**\n\n" + "\n".join(
            f"- **{key}**: {text}" for key, text in summaries.items()))
    trust_cues.show(ctx, predictions, found)  # what the models learned from, how they do on real music
    table = song_metrics_table(truth, predictions, ctx.selection.targets, label="checkpoint")
    st.markdown("**How closely each model follows the design** (PCC: does it rise and fall with it; CCC: and at "
                "the right level; RMSE: distance on the [-1, 1] scale)")
    st.dataframe(table[["checkpoint", "target", "PCC", "CCC", "RMSE"]].style.format(
        {"PCC": "{:.2f}", "CCC": "{:.2f}", "RMSE": "{:.2f}"}, na_rep="n/a"), hide_index=True, width="stretch")
    st.plotly_chart(plots.va_path(truth, predictions, truth_label=DESIGN), width="stretch", key="lab_path")
# the mood/theme taggers are left out here: a designed valence/arousal path says nothing about their tags
