"""Attention: where AT, BAT and the Transformer look in the song (Chaki et al. 2020, Figures 3-6)."""

import streamlit as st

from dashboard import map_checks, sidebar, trust_cues, widgets
from dashboard.plots import attention as plots
from dashboard.resources import (
    FLAT_LIFT,
    attention_received,
    attention_row,
    flatness,
    flatness_note,
    later_frame_weight,
    layer_attention,
    pool_for_display,
    temporal_attention,
    top_attended,
)

st.title("Attention")
ctx = sidebar.song_context()
regression = ctx.results(task="regression")
attentive = {key: found for key, r in regression.items() if (found := temporal_attention(r)) is not None}
transformers = {key: found for key, r in regression.items() if (found := layer_attention(r)) is not None}
st.subheader(ctx.source.name)
widgets.player(ctx.source.data)  # a click on a time-axis chart plays from there; a line follows
st.caption("Attention weights show where a model looks, not why it predicts what it does: read them as hints "
           "to check against the music (Chaki et al. 2020, Sec. 5).")

# --------------------------------------------------------------------------- AT / BAT maps
st.header("AT and BAT attention maps")
if not attentive:
    ctx.explain_missing(("at", "bat"), "No attentive checkpoint is chosen: pick **at**, **bat** or an **at_*** "
                        "feature-subset model (families *AT/BAT* and *Feature subsets*) in the sidebar to see "
                        "attention maps.")
else:
    keys = list(attentive)
    chosen = st.selectbox("Attentive checkpoint", keys, index=keys.index("at") if "at" in keys else 0,
                          key="attention_checkpoint",
                          help="AT attends to every frame of the song; BAT only to earlier frames; the at_* "
                               "models are AT trained on one feature subset each.")
    weights, query_t, key_t = attentive[chosen]
    options = [round(float(t), 3) for t in query_t]
    frame_s = widgets.settle_choice("attention_frame", options)
    pair = [k for k in ("at", "bat") if k in attentive]
    shown = pair if chosen in pair and len(pair) == 2 else [chosen]
    # long songs: maps averaged over blocks of frames so the browser gets at most 400 x 400 cells
    st.plotly_chart(plots.attention_maps({k: pool_for_display(*attentive[k]) for k in shown}, frame_s=frame_s),
                    width="stretch", key="attention_maps")
    causal = {k: later_frame_weight(attentive[k][0]) for k in shown}
    st.caption("Each row is one prediction (its time on the y axis, rising upwards); the colours along the row "
               "show how much that prediction draws on each frame of the song (x axis), and every row sums to 1. "
               "Each map has its own colour scale (its bar beside it, from its 1st to its 99th percentile weight), "
               "so compare patterns, not colours, across maps. Cells right of the dashed diagonal are later "
               "frames: " + "; ".join(f"{k} puts at most {w:.3f} on them" for k, w in causal.items())
               + " (BAT never attends to later frames, so its map is an upper-left triangle). The magenta line is "
                 "the prediction frame chosen below.")
    flat_maps = {k: flatness(attentive[k][0]) for k in shown}
    st.markdown("**How far from uniform attention** (every frame a prediction may see weighted 1/T): "
                + "; ".join(flatness_note(k, f) for k, f in flat_maps.items()) + ".")
    if any(f.flat for f in flat_maps.values()):
        st.info("A **nearly flat** map (largest weights under " f"{FLAT_LIFT:g}x uniform) spreads its attention almost "
                "evenly over the song: its own colour scale stretches differences of a few thousandths, so its "
                "patterns are faint preferences, not a focus.")
    for k in shown:  # does deleting the most attended frames move the prediction more than random frames?
        map_checks.show(ctx, k, "temporal_attention", label=k if len(shown) > 1 else None)

    # ----------------------------------------------------------------------- most attended frames
    st.header("The most attended frames")
    measures = ["mean weight received", "relative to uniform attention"]
    measure = st.radio("Measure", measures, index=1 if later_frame_weight(weights) == 0 else 0, horizontal=True,
                       key="attention_measure",
                       help="Relative: 1 means the frame gets what it would under uniform attention. Use it for "
                            "BAT, whose early frames are seen by every later prediction and so collect more weight.")
    received = attention_received(weights, relative=measure != measures[0])
    top_k = st.slider("How many frames to mark", 1, min(10, len(received)), min(5, len(received)),
                      key="attention_topk") if len(received) > 1 else 1
    flat = flat_maps.get(chosen) or flatness(weights)
    noise = flat.flat_received
    if noise:  # the top frames differ from uniform by a few thousandths: marking them would highlight noise
        st.info(f"**{chosen}'s attention is nearly flat**: no frame receives {FLAT_LIFT:g}x what uniform attention "
                f"would give it (the most attended gets {flat.top_lift:.2f}x, {flat.top_excess:.4f} more weight than "
                f"uniform's {flat.uniform:.4f}), so the frames it ranks highest are noise and are not marked.")
        noise = not st.checkbox("Mark them anyway", key="attention_mark_anyway")
    top = top_attended(received, top_k) if not noise else top_attended(received, 0)
    if ctx.truth is not None:
        curves = {t: (ctx.truth["time_s"], ctx.truth[t]) for t in ctx.selection.targets
                  if ctx.truth.get(t) is not None}
        label = "annotation"
    else:
        frame = regression[chosen].predictions
        curves = {t: (frame["time_s"].to_numpy(), frame[t].to_numpy()) for t in ctx.selection.targets if t in frame}
        label = f"{chosen} prediction"
    found = trust_cues.familiarity(ctx, [chosen])
    st.plotly_chart(trust_cues.shade(plots.attended_frames(received, key_t, top, ctx.view, curves, curve_label=label,
                                                           scale=ctx.selection.scale,
                                                           colour=plots.model_colour(chosen), measure=measure),
                                     found),
                    width="stretch", key="attention_top")
    if len(top):
        st.caption(f"Top: the attention each frame receives from {chosen}'s predictions ({measure}); the {len(top)} "
                   f"highest are magenta bars, shaded through the {label} curves and outlined (white and magenta) "
                   "on the chromagram, as in Chaki et al.'s Figures 4 and 5. Look at what these frames share: a "
                   "change in the curves, a chord, a loud onset.")
    else:
        st.caption(f"Top: the attention each frame receives from {chosen}'s predictions ({measure}); below, the "
                   f"{label} curves and the chromagram on the same time axis.")
    trust_cues.show(ctx, [chosen], found)
    if ctx.truth is None:
        st.caption("This song has no annotation, so the marks sit on the model's own prediction.")

    # ----------------------------------------------------------------------- one prediction frame
    st.header("One prediction frame")
    frame_s = widgets.choice_slider("Prediction frame", options, key="attention_frame",
                                    format_func=lambda t: f"{t:.1f} s")
    index, row = attention_row(weights, query_t, frame_s)
    st.plotly_chart(trust_cues.shade(plots.frame_over_chroma(row, key_t, float(query_t[index]), ctx.view,
                                                             name=chosen), found),
                    width="stretch", key="attention_row")
    st.caption(f"The bars are the weights {chosen}'s prediction at {query_t[index]:.1f} s (magenta band, outlined on "
               "the chromagram) gives to "
               "every frame; below is the chromagram on the same time axis, so you can see which notes and chords "
               "those frames hold. Move the slider to follow how the attention shifts through the song.")
    if row.sum() == 0:
        st.info("This prediction frame attends to nothing: BAT's first frame has no earlier frame to look at.")

# --------------------------------------------------------------------------- Transformer
st.header("Transformer: attention by layer and head")
if not transformers:
    ctx.explain_missing(("transformer",), "The Transformer is not chosen: pick **transformer** (family *AT/BAT*) in "
                        "the sidebar to see its attention maps by layer and head.")
else:
    key = st.selectbox("Transformer checkpoint", list(transformers), key="attention_transformer") \
        if len(transformers) > 1 else next(iter(transformers))
    values, query_t, key_t = transformers[key]
    n_layers, n_heads = values.shape[:2]
    layers = list(range(n_layers))
    if n_layers * n_heads > 16:
        layers = [st.selectbox("Layer", layers, format_func=lambda i: f"layer {i + 1}", key="attention_layer")]
    st.plotly_chart(plots.layer_head_grid(*pool_for_display(values, query_t, key_t, max_frames=200),
                                          layers=layers, heads=list(range(n_heads))),
                    width="stretch", key="attention_layers")
    st.caption(f"{key}: {n_layers} layer(s) x {n_heads} head(s), read like the maps above (y = prediction "
               "frame, x = attended frame; each map on its own colour scale, its bar beside it). Heads of a layer "
               "often specialise: one looks at nearby frames (a bright diagonal), another at a few frames all "
               "through the song (bright columns); deeper layers mix what earlier layers gathered, so they are "
               "harder to tie to the audio.")
    heads = {f"layer {layer + 1}, head {head + 1}": flatness(values[layer, head]) for layer in layers
             for head in range(n_heads)}
    st.markdown("**How far from uniform attention**: " + "; ".join(flatness_note(name, f) for name, f in heads.items())
                + ".")
    flat_heads = [name for name, f in heads.items() if f.flat]
    if flat_heads:
        st.info(f"Nearly flat (largest weights under {FLAT_LIFT:g}x uniform): {', '.join(flat_heads)}. Their own "
                "colour scales show faint preferences; these heads spread their attention almost evenly.")
    map_checks.show(ctx, key, "layer_attention")
