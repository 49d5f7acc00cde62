"""Multi-scale: which time scale the MCA and DBLSTM-ELM models lean on, and when (Ma et al. 2017, Li et al. 2016)."""

import numpy as np
import streamlit as st

from dashboard import map_checks, resources, sidebar, trust_cues, widgets
from dashboard.plots import model_colour
from dashboard.plots import multiscale as plots
from dashboard.resources import (
    DBLSTM_SCALES,
    MCA_SCALES,
    SONG_METRICS,
    avg_fusion,
    is_uniform,
    nearest_frame,
    scale_curves,
    scale_frames,
    scale_label,
    scale_predictions_table,
    scale_weights_table,
    song_metrics_table,
    window_attention_at,
)

st.title("Multi-scale")
ctx = sidebar.song_context()
targets = ctx.selection.targets
scale = ctx.selection.scale
duration = ctx.audio.duration
regression = ctx.results(task="regression")
loaded, _ = resources.checkpoints()


def _config(key: str) -> dict:
    found = loaded.get(key)
    return dict(found.info.get("model_config", {})) if found is not None else {}


def _metrics_table(curves: dict, caption: str, key: str) -> None:
    if ctx.truth is None:
        st.caption("This song has no annotation, so no metrics can be computed.")
        return
    table = song_metrics_table(ctx.truth, curves, targets)
    if table.empty:
        return
    st.markdown(caption)
    st.dataframe(table.style.format({m: "{:.3f}" for m in SONG_METRICS}, na_rep="n/a"), hide_index=True,
                 width="stretch", key=key)


st.subheader(ctx.source.name)
widgets.player(ctx.source.data)  # a click on a time-axis chart plays from there; a line follows
mca = {k: r for k, r in regression.items() if "scale_weights" in r.explanations}
dblstm = {k: r for k, r in regression.items() if "scale_shares" in r.explanations and k not in mca}
scales_of = {k: scale_frames(r, _config(k), MCA_SCALES) for k, r in mca.items()}
weights_of = {k: scale_weights_table(r, scales_of[k]) for k, r in mca.items()}
learned = [k for k in mca if not is_uniform(weights_of[k])]
uniform = [k for k in mca if k not in learned]

# --------------------------------------------------------------------------- MCA scale weights
st.header("MCA: which context length matters when")
if not mca:
    ctx.explain_missing(("mca",), "No MCA checkpoint is chosen: pick **mca** (and **mca_uniform** "
                        "to compare) in the sidebar's *MCA* family to see scale weights and window attention.")
else:
    keys = learned + uniform
    key = st.selectbox("MCA checkpoint", keys, key="multiscale_mca")
    result, frames, weights = mca[key], scales_of[key], weights_of[key]
    found = trust_cues.familiarity(ctx, [key])
    st.plotly_chart(trust_cues.shade(plots.weights_under_curves(weights, result.predictions, ctx.truth, key, targets,
                                                                scale=scale, duration_s=duration), found),
                    width="stretch", key="multiscale_weights")
    st.caption("The coloured bands at the bottom are the scale weights β: at each time they split 1 between the "
               + ", ".join(c for c in weights.columns if c != "time_s")
               + " of context the model looked back over. A wide band means that context length drives the "
                 "prediction above it; watch whether the balance shifts where the song changes.")
    trust_cues.show(ctx, [key], found)
    if key in uniform:
        st.info(f"{key} is uniform MCA: its weights are fixed at 1/{len(frames)} (it averages the scales), "
                "so the bands are flat by design.")
    map_checks.show(ctx, key, "scale_weights", table=True)

    st.header("Each scale against the fused prediction")
    per_scale = {t: scale_predictions_table(result, frames, t) for t in targets}
    fused = {f"{key} (fused prediction)": (result.predictions, model_colour(key), None)}
    st.plotly_chart(trust_cues.shade(plots.scales_against_fusion({t: v for t, v in per_scale.items() if v is not None},
                                                                 fused, ctx.truth, targets, scale=scale,
                                                                 duration_s=duration), found),
                    width="stretch", key="multiscale_scales")
    st.caption("Thin lines: what each scale's context alone would predict (its context vector through the shared "
               "output layer); thick line: the fusion the model outputs; grey: the annotation. Where the thick line "
               "follows one thin line, that scale carries the weight at that moment.")

    st.header("Inside each window: the A-LSTM's attention")
    times = [round(float(t), 3) for t in weights["time_s"]]
    frame_s = widgets.choice_slider("Frame", times, key="multiscale_frame", format_func=lambda t: f"{t:.1f} s")
    windows = window_attention_at(result, frames, frame_s)
    if not windows:
        st.info(f"{key} uses plain LSTM scales (no attention inside the windows).")
    else:
        row = weights.iloc[nearest_frame(weights["time_s"], frame_s)]
        betas = {c: float(row[c]) for c in weights.columns if c != "time_s"}
        st.plotly_chart(plots.window_bars(windows, betas), width="stretch", key="multiscale_windows")
        st.caption(f"For the prediction at {frame_s:.1f} s, each panel shows how one scale's A-LSTM weighs the frames "
                   "of its window: lag 0 is the frame itself, -2 s the frame two seconds before. Tall bars near 0 "
                   "mean the model attends to the present; the title gives that scale's weight β at this frame. "
                   "Near the start of the song a window has fewer frames, and the missing ones get 0.")
        for window in frames:
            map_checks.show(ctx, key, f"window_attention/{window}", label=scale_label(window))

    st.header("Uniform MCA against MCA")
    if not (learned and uniform):
        st.info("Choose both a learned MCA (**mca**) and a uniform one (**mca_uniform**) in the sidebar's *MCA* "
                "family to compare them.")
    else:
        pair = {k: (mca[k].predictions, model_colour(k), "dash" if k in uniform else None)
                for k in (learned[0], uniform[0])}
        st.plotly_chart(plots.scales_against_fusion({}, pair, ctx.truth, targets, scale=scale, duration_s=duration),
                        width="stretch", key="multiscale_uniform")
        st.caption(f"{uniform[0]} (dashed) gives every scale the same weight; {learned[0]} learns the weights β "
                   "frame by frame (Ma et al. 2017, Tables 3-4). Where the two curves part, choosing the scale "
                   "changed the prediction; compare each with the grey annotation.")
        _metrics_table({k: v[0] for k, v in pair.items()}, "**This song's metrics** (against the annotation)",
                       "multiscale_uniform_metrics")

# --------------------------------------------------------------------------- DBLSTM-ELM
st.header("DBLSTM-ELM: each scale and two fusions")
if not dblstm:
    ctx.explain_missing(("dblstm_elm",), "No DBLSTM-ELM checkpoint is chosen: pick **dblstm_elm** in the sidebar's "
                        "*DBLSTM-ELM* family to see its per-scale outputs.")
else:
    key = st.selectbox("DBLSTM-ELM checkpoint", list(dblstm), key="multiscale_dblstm") if len(dblstm) > 1 \
        else next(iter(dblstm))
    result = dblstm[key]
    frames = scale_frames(result, _config(key), DBLSTM_SCALES)
    per_scale = {t: scale_predictions_table(result, frames, t) for t in targets}
    average = avg_fusion(result)
    fusions = {f"ELM fusion ({key}'s prediction)": (result.predictions, model_colour(key), None),
               "AVG fusion (mean of the scales)": (average, "#ff7f0e", "dash")}
    found = trust_cues.familiarity(ctx, [key])
    st.plotly_chart(trust_cues.shade(plots.scales_against_fusion({t: v for t, v in per_scale.items() if v is not None},
                                                                 fusions, ctx.truth, targets, scale=scale,
                                                                 duration_s=duration), found),
                    width="stretch", key="multiscale_dblstm_chart")
    st.caption("Thin lines: each DBLSTM's own output, the song cut into chunks of "
               + ", ".join(str(f) for f in frames)
               + " frames (half-seconds). Thick line: the ELM fusion, the model's prediction, which weighs each "
                 "scale's output, its slope and its smoothed value; dashed: Li et al.'s AVG fusion, the plain mean "
                 "of the scales. Jumps in a thin line at chunk edges show where a scale starts afresh.")
    trust_cues.show(ctx, [key], found)
    map_checks.show(ctx, key, "scale_shares", table=True)
    same = all(np.allclose(result.predictions[t], average[t], atol=1e-6) for t in targets
               if t in average and t in result.predictions)
    if same:
        st.info(f"{key}'s ELM is not fitted (or it uses AVG fusion), so its prediction equals the AVG fusion.")
    _metrics_table({**scale_curves(result, frames), "AVG fusion": average, "ELM fusion": result.predictions},
                   "**This song's metrics** per scale and per fusion (against the annotation)",
                   "multiscale_dblstm_metrics")
