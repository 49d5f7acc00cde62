"""DAMFF (Zhang et al. 2023): where in time and frequency the dual attention looks, which channels it keeps, and
how it mixes its two convolution branches, on the song's log-mel and chromagram."""

import numpy as np
import streamlit as st

from dashboard import map_checks, resources, sidebar, trust_cues, widgets
from dashboard.plots import damff as plots
from dashboard.plots import song as song_plots
from dashboard.resources import (
    MemoError,
    bands_on_view,
    damff_step,
    damff_variant,
    damff_variant_table,
    gate_share,
    logmel_between,
    unfold_damff,
)

st.title("DAMFF: dual attention on the log-mel")
st.caption("Zhang et al. (ISMIR 2023). Every 500 ms step of the log-mel goes through a multi-scale CNN whose last "
           "layer has two branches, A (3x3) and B (5x5). The Dual Attention Feature Fusion (DAFF) module computes a "
           "**spatial attention** S (*where* in the step's time-frequency map), a **channel attention** C (*which* "
           "feature channels) and fuses the branches with X' = sigmoid(S + C): Z = X'·A + (1 − X')·B. "
           "A BiLSTM over 30 s windows of steps then predicts valence and arousal.")
ctx = sidebar.song_context()
entries = {str(e.get("key")): e for e in resources.manifest_entries()}
loaded, _ = resources.checkpoints()
damff_results = {key: r for key, r in ctx.results(task="regression").items() if r.model_name == "damff"}
damff_presets = {key: str(e.get("preset", "")) for key, e in entries.items() if e.get("model") == "damff"}
for key, ckpt in loaded.items():  # loaded checkpoints outside the manifest's damff entries, if any
    if ckpt.info.get("model_name") == "damff" and key not in damff_presets:
        damff_presets[key] = str(ckpt.info.get("manifest", {}).get("preset", ckpt.info.get("preset", key)))


def _variants_table() -> None:
    st.markdown("**Ablations and architectures** (the paper's Tables 1 and 3). The dashboard shows the checkpoints "
                "listed in the checkpoint set's `manifest.json`; a variant without one can be trained with the command "
                "shown and inspected with `python -m memo_core predict --checkpoint FILE.pt --out OUT SONG.wav`.")
    table = damff_variant_table(damff_presets)
    st.dataframe(table, hide_index=True, width="stretch", key="damff_variants",
                 column_config={"train": st.column_config.TextColumn("train (command)", width="large")})


st.subheader(ctx.source.name)
widgets.player(ctx.source.data)  # a click on a time-axis chart plays from there; a line follows
if not damff_results:
    ctx.explain_missing(("damff",), "No DAMFF checkpoint is chosen: select one under **DAMFF** in the sidebar's "
                        "checkpoints to see its attention maps.")
    _variants_table()
    st.stop()

# predicted against annotated curves
predictions = {key: r.predictions for key, r in damff_results.items()}
found = trust_cues.familiarity(ctx, damff_results)
fig_va = song_plots.va_over_time(ctx.truth, predictions, ctx.selection.targets, scale=ctx.selection.scale,
                                 duration_s=ctx.audio.duration)
st.plotly_chart(trust_cues.shade(fig_va, found), width="stretch", key="damff_va")
if ctx.truth is None:
    st.caption("This song has no annotation: only DAMFF's predictions are shown.")
trust_cues.show(ctx, damff_results, found)

keys = list(damff_results)
key = keys[0]
if len(keys) > 1:
    key = st.selectbox("Maps of", keys, key="damff_checkpoint",
                       format_func=lambda k: f"{k} ({damff_variant(damff_presets.get(k, ''))})")
result = damff_results[key]
maps = result.explanations
ckpt = loaded.get(key)
n_mels = int(getattr(getattr(getattr(ckpt, "model", None), "config", None), "n_mels", 128))
sample_rate = int(((getattr(ckpt, "feature_spec", None) or {}).get("params") or {}).get("sample_rate", 16_000))

spatial = unfold_damff(maps["spatial_attention"], n_mels=n_mels, sample_rate=sample_rate) \
    if "spatial_attention" in maps else None
gate = unfold_damff(maps["fusion_gate"], n_mels=n_mels, sample_rate=sample_rate) if "fusion_gate" in maps else None
channel = maps.get("channel_attention")
missing = [name for name in ("spatial_attention", "channel_attention", "fusion_gate") if name not in maps]
if missing:
    st.info(f"{key} ({damff_variant(damff_presets.get(key, ''))}) has no {', '.join(missing)}: that component "
            "is ablated in this variant.")

# the step to zoom into (kept valid when the song changes)
steps = np.asarray(result.predictions["time_s"], dtype=float)
options = [float(t) for t in steps]
chosen_step = widgets.settle_choice("damff_frame", options)

st.markdown("#### The maps on the song's time axis")
st.caption("Spatial attention and fusion gate are computed for each 500 ms step on a coarse grid (16 groups of the "
           f"model's 128 mel bands, 0-{sample_rate / 2000:g} kHz × 6 slices of 80 ms) and are laid side by side "
           "here, so they line up with the log-mel and the chromagram. Bright spatial attention = positions the model weights up; "
           "gate above 0.5 (red) = the 3×3 branch A dominates, below 0.5 (blue) = the 5×5 branch B. The orange "
           "box marks the step chosen below.")
marker = float(chosen_step) if chosen_step is not None else 0.0
fig_maps = plots.damff_maps(ctx.view, spatial=spatial,
                            spatial_on_view=bands_on_view(spatial.row_hz, ctx.view.mel_hz) if spatial else None,
                            gate=gate, gate_share=gate_share(maps["fusion_gate"]) if "fusion_gate" in maps else None,
                            channel=channel, key=key, marker_s=marker)
st.plotly_chart(fig_maps, width="stretch", key="damff_maps")
map_checks.show(ctx, key, "spatial_attention")

st.markdown("#### One step up close")
if options:
    chosen = widgets.choice_slider("Step (start time)", options, key="damff_frame",
                                   format_func=lambda t: f"{t:.1f} s",
                                   help="Zoom into one 500 ms step: the map the model computed for it.")
    step = int(np.argmin(np.abs(steps - chosen)))
    block, block_t = logmel_between(ctx.view.logmel_db, ctx.view.time_s, chosen, chosen + 0.5)
    try:
        spatial_step = damff_step(maps["spatial_attention"], step)[0] if "spatial_attention" in maps else None
        gate_step = damff_step(maps["fusion_gate"], step)[0] if "fusion_gate" in maps else None
    except MemoError as exc:
        st.warning(f"That step cannot be shown: {exc}")
    else:
        row_hz = (spatial or gate).row_hz if (spatial or gate) is not None else np.array([])
        ref = maps.get("spatial_attention") or maps.get("fusion_gate")
        if ref is None:
            st.info("This variant has no spatial map to zoom into.")
        else:
            st.plotly_chart(plots.step_zoom(logmel_block=block, block_time_s=block_t, view_mel_hz=ctx.view.mel_hz,
                                            step_start_s=chosen, row_hz=row_hz,
                                            step_time_s=np.asarray(ref["axes"]["step_time_s"]),
                                            spatial=spatial_step, gate=gate_step,
                                            spatial_range=(float(spatial.values.min()), float(spatial.values.max()))
                                            if spatial is not None else (0.0, 1.0)),
                            width="stretch", key="damff_step")
            st.caption("Columns of the maps: 80 ms slices of the step, in time order (the two halves of the "
                       "first layer are averaged); rows: groups of 8 mel bands, low to high, up to "
                       f"{sample_rate / 2000:g} kHz, this checkpoint's Nyquist frequency (the display log-mel on "
                       "the left goes up to 11 kHz).")

# variants side by side
st.markdown("#### Variants side by side")
if len(keys) > 1:
    st.plotly_chart(plots.variants_spatial({k: unfold_damff(r.explanations["spatial_attention"], n_mels=n_mels,
                                                            sample_rate=sample_rate)
                                            if "spatial_attention" in r.explanations else None
                                            for k, r in damff_results.items()}, duration_s=ctx.audio.duration),
                    width="stretch", key="damff_variant_maps")
else:
    st.caption(f"Only one DAMFF checkpoint ({key}) is available, so there is nothing to set beside it: the other "
               "variants have no checkpoint yet (table below).")
_variants_table()
