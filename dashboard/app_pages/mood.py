"""Mood/theme (Rajamani et al. 2020, MTG-Jamendo): the VGG-ish taggers' tags with their thresholds, where along the
song each tag comes from, the self-attention of vggish_sa3, and the late fusion of the chosen taggers."""

import pandas as pd
import streamlit as st

from dashboard import resources, sidebar, trust_cues, widgets
from dashboard.plots import mood as plots
from dashboard.resources import (
    FLAT_TAG_STD,
    FLAT_TAGS,
    TAG_STANDS_OUT,
    UNVALIDATED,
    MemoError,
    attention_neighbourhood,
    attention_time_lean,
    fuse_taggers,
    tag_contrast,
    tag_order,
    tag_score_table,
    tag_spread_of,
    tag_table_wide,
    tags_stand_out,
)

FUSED = "late fusion"

st.title("Mood/theme tags")
st.caption("Rajamani et al. (MediaEval 2020) on the MTG-Jamendo baseline: a VGG-ish CNN reads the first ~30 s of the "
           "mel spectrogram and gives every mood/theme tag a probability; a tag is predicted when it reaches that "
           "tag's threshold (chosen on validation songs). Variants: **vggish** (baseline), **vggish_sa3** "
           "(stand-alone self-attention instead of the 3rd convolution), **vggish_arelu** (AReLU activations). "
           "Late fusion averages the models' probabilities.")
ctx = sidebar.song_context()
taggers = ctx.results(task="tagging")
st.subheader(ctx.source.name)
if not taggers:
    ctx.explain_missing(("vggish",), "No mood/theme tagger is chosen: select vggish, vggish_sa3 or vggish_arelu "
                        "under **VGG-ish** in the sidebar's checkpoints.")
    st.stop()

# the song's annotated tags, where the dataset has them
true_tags: tuple[str, ...] = ()
source = ctx.source
if source.kind == "dataset" and source.dataset and source.root and source.song_id:
    try:
        record = resources.dataset(source.dataset, source.root).by_id().get(source.song_id)
        true_tags = tuple(record.tags) if record is not None else ()
    except MemoError:
        true_tags = ()
known = set().union(*(set(r.targets) for r in taggers.values()))
if true_tags:
    st.markdown("**Annotated tags of this song:** " + ", ".join(f"★ {t}" for t in true_tags))
    if not set(true_tags) & known:
        st.caption("None of them is in the taggers' tag list.")
else:
    st.caption("This song has no annotated tags, so only predictions are shown.")

# late fusion (Rajamani et al.: the mean of the models' probabilities)
fused = None
if len(taggers) >= 2:
    try:
        fused = fuse_taggers(taggers)
    except MemoError as exc:
        st.warning(f"The chosen taggers cannot be late-fused: {exc}")

table = tag_score_table(taggers, true_tags=true_tags, fused=fused, fused_name=FUSED)
order = tag_order(table, by=FUSED if fused is not None else None)
n_tags = len(order)
predicted = set(table.loc[table["predicted"].astype(bool), "tag"])
above = [t for t in order if t in predicted]  # tags at or above the threshold of at least one model

st.markdown("#### Tags above their threshold")
show_all = st.checkbox("Show tags below their threshold too", key="mood_all_tags",
                       help="By default only the tags some model predicts (score at or above its threshold).")
if show_all:
    top_n = n_tags if n_tags <= 3 else st.slider("Tags shown (top by score)", min_value=3, max_value=n_tags,
                                                     value=min(10, n_tags), key="mood_top_n")
    shown = order[:top_n]
else:
    shown = above
if shown:
    st.plotly_chart(plots.tag_bars(table, shown, true_tags=true_tags, fused_name=FUSED), width="stretch",
                    key="mood_bars")
    st.caption("Each bar's score is written beside it. Solid bars: predicted tags (score at or above the tag's "
               "threshold, the grey tick); pale bars: not predicted by that model. ★ marks the song's annotated "
               "tags. Tags are ordered by "
               + ("the late fusion's score." if fused is not None else "the mean score of the chosen taggers.")
               + ("" if show_all else " Only tags some model predicts are shown."))
else:
    st.info("No tag reaches its threshold for this song in any chosen tagger.")
found = trust_cues.familiarity(ctx, taggers)
trust_cues.show(ctx, taggers, found, figures=False)
trusts = resources.trust()
widgets.trust_notes({key: trusts[key] for key in taggers if key in trusts})
wide = tag_table_wide(table, order)
st.dataframe(wide, hide_index=True, width="stretch", key="mood_table",
             column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in wide.columns
                            if c.endswith(" score") or c.endswith(" threshold")})

st.markdown("#### Late fusion")
if fused is not None:
    hits = fused.predictions.loc[fused.predictions["predicted"]].set_index("tag")["score"]
    st.markdown(f"**{fused.model_name}** (mean of {len(taggers)} models' probabilities, judged at the mean of their "
                f"thresholds) predicts: " + (", ".join(f"**{t}** {hits[t]:.2f}" + (" ★" if t in true_tags else "")
                                                      for t in sorted(hits.index, key=order.index))
                                             if len(hits) else "no tag"))
    top = fused.predictions.sort_values("score", ascending=False).head(5)
    st.caption("Its five highest: " + ", ".join(f"{t} {s:.2f}" for t, s in zip(top["tag"], top["score"])) + ".")
else:
    st.info("Choose two or more taggers in the sidebar to see their late fusion (the mean of their probabilities, "
            "as Rajamani et al.'s best submissions).")

# this song's tags against what the taggers give real songs (a tagger that tags every song alike says nothing of
# this one)
st.markdown("#### This song's tags against real songs")
entries = {entry["key"]: entry for entry in resources.loaded_entries()}
spreads = {key: tag_spread_of(entries.get(key)) for key in taggers}
drawn = {key: spread.table for key, spread in spreads.items() if spread is not None and not spread.table.empty}
contrasts = {key: tag_contrast(taggers[key].predictions, spreads[key]) for key in taggers}
if drawn:
    on_chart = [t for t in shown if any(t in set(d["tag"]) for d in drawn.values())] or None
    st.plotly_chart(plots.tag_spread(drawn, song={k: taggers[k].predictions for k in drawn}, tags=on_chart),
                    width="stretch", key="mood_spread")
    st.caption("Each tag's score over held-out real songs: the pale bar runs from the lowest to the highest score, "
               "the coloured bar spans the mean ± one standard deviation, the orange tick is the mean; the magenta "
               "diamond is this song's score (solid: predicted). A diamond inside the coloured bar is what the "
               "tagger gives most songs; a tag whose bars are short is given about the same score whatever the song.")
    standing = {k: tags_stand_out(c) for k, c in contrasts.items() if k in drawn}
    judged = {k: v for k, v in standing.items() if v is not None}
    if judged and not any(judged.values()):
        st.warning("**The taggers cannot tell this song apart from most songs**: every tag they predict for it "
                   f"scores within {TAG_STANDS_OUT:g} standard deviations of what they give real songs on average "
                   f"({', '.join(judged)}), so these tags say what the taggers say of most songs, not of this one.",
                   icon="⚠️")
    rows = []
    for key, contrast in contrasts.items():
        if key not in drawn:
            continue
        hit = contrast[contrast["predicted"].astype(bool) & contrast["contrast"].notna()]
        rows += [{"tagger": key, "tag": r["tag"], "score": r["score"], "real songs' mean": r["real mean"],
                  "real songs' sd": r["real sd"], "contrast (sd)": r["contrast"], "reading": r["reading"]}
                 for r in hit.to_dict("records")]
    if rows:
        standout = [f"{r['tag']} ({r['tagger']}, {r['contrast (sd)']:+.1f} sd)" for r in rows
                    if abs(r["contrast (sd)"]) >= TAG_STANDS_OUT]
        if standout:
            st.markdown("**Tags that set this song apart** (at least "
                        f"{TAG_STANDS_OUT:g} standard deviations from the real songs' mean): " + ", ".join(standout))
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="mood_contrast",
                     column_config={c: st.column_config.NumberColumn(c, format="%.2f")
                                    for c in ("score", "real songs' mean", "real songs' sd", "contrast (sd)")})
        st.caption("Contrast: (this song's score − the tagger's mean score over held-out real songs) ÷ their "
                   "standard deviation; only predicted tags are listed.")
for key, spread in spreads.items():
    if spread is None:
        st.info(f"**{key}**: {UNVALIDATED}; how much its tags vary across real songs is not known.")
        continue
    summary = spread.summary()
    if spread.flat:
        songs = f" {spread.n_songs}" if spread.n_songs is not None else ""
        st.warning(f"**{key}**: {FLAT_TAGS} (every tag's score has a standard deviation below {FLAT_TAG_STD:g} "
                   f"across{songs} real songs)." + (f" {summary[0].upper()}{summary[1:]}." if summary else ""))
    else:
        st.markdown(f"**{key}** on real music: " + (summary or "no summary figures")
                    + ("" if not spread.table.empty else " (the manifest gives no per-tag spread)") + ".")

# tag scores along the song
st.markdown("#### Where along the song the tags come from")
loaded, _ = resources.checkpoints()
model_key = st.selectbox("Tagger", list(taggers), key="mood_model") if len(taggers) > 1 else next(iter(taggers))
maps = taggers[model_key].explanations
ckpt = loaded.get(model_key)
frame_s = float((getattr(ckpt, "feature_spec", None) or {}).get("frame_seconds", 256 / 12000))
input_s = int(getattr(getattr(getattr(ckpt, "model", None), "config", None), "input_frames", 1400)) * frame_s
if "tag_windows" in maps:
    windows = maps["tag_windows"]
    st.plotly_chart(trust_cues.shade(plots.tag_windows(windows, shown or order[:10], model=model_key,
                                                       true_tags=true_tags, window_seconds=input_s,
                                                       duration_s=ctx.audio.duration), found),
                    width="stretch", key="mood_windows")
    if len(windows["axes"]["window_start_s"]) <= 1:
        st.caption(f"The song is no longer than the tagger's input ({input_s:.1f} s), so there is one window "
                   "(looped from the start where the song is shorter).")
    else:
        st.caption(f"The tagger scores {input_s:.1f} s windows slid along the song; the tags at the top come from "
                   "the first window.")
else:
    st.info(f"{model_key} returned no tag_windows map.")
if "tag_occlusion" in maps:
    st.plotly_chart(plots.tag_occlusion(maps["tag_occlusion"], shown or order[:10], model=model_key,
                                        duration_s=ctx.audio.duration,
                                        true_tags=true_tags), width="stretch", key="mood_occlusion")
    st.caption("Occlusion: each region of the first window is blanked in turn and the tag's score recomputed. Red: "
               "the region raises the tag (the score drops without it); blue: it lowers the tag.")

# self-attention of vggish_sa3
st.markdown("#### Self-attention (vggish_sa3)")
attending = [k for k, r in taggers.items() if "self_attention" in r.explanations]
if not attending:
    st.info("No chosen tagger has a self-attention layer: select **vggish_sa3** under VGG-ish in the sidebar.")
    st.stop()
attention_key = st.selectbox("Attention of", attending, key="mood_attention_model") if len(attending) > 1 \
    else attending[0]
entry = taggers[attention_key].explanations["self_attention"]
values = entry["values"]
n_heads, n_freq, n_time, n_neigh = values.shape
time_s = entry["axes"]["time_s"]
column_s = float(time_s[1] - time_s[0]) if len(time_s) > 1 else input_s
st.markdown(
    f"Layer 3 of {attention_key} replaces a 3×3 convolution with **local self-attention**: at every point of its "
    f"internal map ({n_freq} frequency bins × {n_time} time columns of {column_s:.2f} s), each of its {n_heads} heads "
    "builds the output from the 3×3 neighbours around the point, weighted by how well they match it (the weights "
    "sum to 1). A high weight on a neighbour means that neighbour's sound shapes the point's output there. It is "
    "computed on the tagger's input window (the first ~30 s, looped if the song is shorter)."
)
heads = [-1] + list(range(n_heads))  # -1: the mean over heads
widgets.settle_choice("mood_head", heads, default=-1)
left, right = st.columns([1, 2])
head = left.selectbox("Head", heads, key="mood_head",
                      format_func=lambda h: "mean of all heads" if h < 0 else f"head {h + 1}")
position = widgets.choice_slider("Position (time column)", list(range(n_time)), key="mood_position",
                                 format_func=lambda i: f"{time_s[i]:.1f} s", container=right)
head_label = "mean of all heads" if head < 0 else f"head {head + 1}"
try:
    grid = attention_neighbourhood(values, position=position, head=None if head < 0 else head)
    lean = attention_time_lean(values, head=None if head < 0 else head)
except MemoError as exc:
    st.warning(f"The self-attention map cannot be shown: {exc}")
else:
    c1, c2 = st.columns([1, 2])
    c1.plotly_chart(plots.neighbourhood(grid, column_seconds=column_s, position_s=float(time_s[position]),
                                        head_label=head_label), width="stretch", key="mood_neighbourhood")
    c2.plotly_chart(plots.time_lean(lean, time_s, column_seconds=column_s, position_s=float(time_s[position]),
                                    head_label=head_label, duration_s=ctx.audio.duration), width="stretch",
                    key="mood_lean")
    earlier, later = float(grid[:, 0].sum()), float(grid[:, -1].sum())
    centre = float(grid[grid.shape[0] // 2, grid.shape[1] // 2])
    st.caption(f"At {time_s[position]:.1f} s ({head_label}) the layer puts {earlier:.0%} of its attention on the "
               f"column before, {later:.0%} on the column after and {centre:.0%} on the point itself (averaged over "
               "frequency bins). Right: for every point, whether it draws on earlier (blue) or later (red) columns; "
               "the dotted line is the chosen position.")
