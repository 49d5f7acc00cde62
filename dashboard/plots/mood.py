"""Figures of the Mood/theme page: the taggers' tag scores with thresholds (and their late fusion), tag scores along
the song, occlusion, and the VGG-ish tagger's local self-attention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import (
    DIVERGING_SCALE,
    HEATMAP_SCALE,
    TRUTH_COLOUR,
    finish,
    model_colour,
)

__all__ = ["FUSED_COLOUR", "tag_label", "tag_bars", "tag_windows", "tag_occlusion", "neighbourhood", "time_lean",
           "tag_spread", "SPREAD_RANGE_COLOUR", "SPREAD_MEAN_COLOUR", "SONG_COLOUR", "SONG_SCORE"]

#: The late fusion: dark grey-blue, apart from every checkpoint's colour.
FUSED_COLOUR = "#34495e"
_INPUT_NOTE = "input loops from the song's start"
_AFTER_NOTE = "after the tagger's first input window"
#: The min-max range of a tag's scores across songs (pale grey) and its mean (orange tick): legible in both themes.
SPREAD_RANGE_COLOUR = "rgba(127,127,127,0.35)"
SPREAD_MEAN_COLOUR = "#e6550d"
#: This song's score on the spread chart: a magenta diamond (solid when the tag is predicted).
SONG_COLOUR = "rgb(212, 0, 154)"
SONG_SCORE = "this song's score"


def tag_label(tag: str, true_tags: Iterable[str]) -> str:
    """The tag as shown on an axis: starred when it is one of the song's annotated tags."""
    return f"★ {tag}" if tag in set(true_tags) else str(tag)


def _colour(model: str, fused_name: str) -> str:
    return FUSED_COLOUR if model == fused_name else model_colour(model)


def tag_bars(table: pd.DataFrame, order: Sequence[str], *, true_tags: Iterable[str] = (),
             fused_name: str = "late fusion", height: int | None = None) -> go.Figure:
    """One panel per model: each tag's score as a bar, its decision threshold as a tick, predicted tags solid.

    Args:
        table: :func:`memo_core.explain.tags.tag_score_table` (model, tag, score, threshold, predicted, true).
        order: the tags to show, top first.
        true_tags: the song's annotated tags (starred on the axis).
        fused_name: the model name of the late fusion in ``table``.
    """
    true_tags = tuple(true_tags)
    models = list(dict.fromkeys(table["model"]))
    fig = make_subplots(rows=1, cols=max(1, len(models)), shared_yaxes=True, horizontal_spacing=0.02,
                        subplot_titles=models)
    labels = [tag_label(t, true_tags) for t in order]
    for j, model in enumerate(models, start=1):
        rows = table[table["model"] == model].set_index("tag").reindex(list(order))
        colour = _colour(model, fused_name)
        predicted = rows["predicted"].fillna(False).astype(bool).to_numpy()
        fig.add_trace(go.Bar(x=rows["score"], y=labels, orientation="h", name=model, legendgroup=model,
                             text=[f"{v:.2f}" for v in rows["score"]], textposition="outside", cliponaxis=False,
                             textfont=dict(size=11),
                             marker=dict(color=colour, opacity=np.where(predicted, 1.0, 0.3).tolist(),
                                         line=dict(color=colour, width=np.where(predicted, 2, 0).tolist())),
                             hovertext=[f"{model}<br>{label}: score {score:.2f}, threshold {threshold:.2f} "
                                        f"({'predicted' if hit else 'not predicted'})"
                                        for label, score, threshold, hit in zip(labels, rows["score"],
                                                                                rows["threshold"], predicted)],
                             hoverinfo="text", showlegend=False), row=1, col=j)
        fig.add_trace(go.Scatter(x=rows["threshold"], y=labels, mode="markers", name="decision threshold",
                                 legendgroup="threshold", showlegend=j == 1,
                                 marker=dict(symbol="line-ns", size=14, line=dict(width=3, color=TRUTH_COLOUR)),
                                 hovertemplate="threshold %{x:.2f}<extra></extra>"), row=1, col=j)
        fig.update_xaxes(title_text="score (0-1)", range=[0, 1.15], row=1, col=j)
    fig.update_yaxes(autorange="reversed", title_text="tag (★ = annotated)", row=1, col=1)
    fig.update_annotations(font_size=12)
    fig = finish(fig, height=height or 190 + 26 * len(order), legend_below=True)
    fig.update_layout(bargap=0.25)
    return fig


def tag_windows(entry: Mapping, order: Sequence[str], *, model: str, true_tags: Iterable[str] = (),
                window_seconds: float | None = None, duration_s: float | None = None) -> go.Figure:
    """Tag scores of windows slid along the song (window start (s) x tag), on the song's time axis (0 to
    ``duration_s``)."""
    x, z = _by_tag(entry, order, "window_start_s")
    span = f" (each window covers {window_seconds:.1f} s)" if window_seconds else ""
    # cell edges: each window from its start to the next one's, the last one to its end (or the song's)
    step = float(np.median(np.diff(x))) if len(x) > 1 else float(window_seconds or 1.0)
    last = x[-1] + (float(window_seconds) if window_seconds else step) if len(x) else 0.0
    if duration_s is not None and len(x) and x[-1] < duration_s:
        last = min(last, float(duration_s))
    edges = np.append(x, last) if len(x) else x
    fig = go.Figure(go.Heatmap(x=edges, y=[tag_label(t, true_tags) for t in order], z=z, colorscale=HEATMAP_SCALE,
                               zmin=0, zmax=1, xgap=1, colorbar=dict(title=dict(text="score"), thickness=12),
                               customdata=np.repeat(np.asarray(x)[None, :], len(order), 0),
                               hovertemplate=f"{model}: window from %{{customdata:.1f}} s, %{{y}}: %{{z:.2f}}"
                                             "<extra></extra>"))
    end = float(duration_s) if duration_s is not None else (float(edges[-1]) if len(edges) else 1.0)
    fig.update_xaxes(title_text=f"time in the song (s): windows from their start{span}", range=[0, end])
    fig.update_yaxes(title_text="tag (★ = annotated)", autorange="reversed")
    fig = finish(fig, title=f"{model}: tag scores along the song", height=160 + 22 * len(order), legend_below=False)
    # the legend lists only the bands a page may shade on the song's time axis (dashboard.plots.bands): top right
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1.0))
    return fig


def tag_occlusion(entry: Mapping, order: Sequence[str], *, model: str, duration_s: float,
                  true_tags: Iterable[str] = ()) -> go.Figure:
    """Score change when a region of the input is blanked: positive (red) where the region raises the tag."""
    starts, z = _by_tag(entry, order, "region_start_s")
    width = float(np.diff(starts).mean()) if len(starts) > 1 else 1.0
    limit = float(np.nanmax(np.abs(z))) if np.size(z) and np.isfinite(z).any() else 0.0
    limit = max(limit, 1e-3)
    fig = go.Figure(go.Heatmap(x=starts + width / 2.0, y=[tag_label(t, true_tags) for t in order], z=z,
                               colorscale=DIVERGING_SCALE, zmid=0, zmin=-limit, zmax=limit, xgap=1,
                               colorbar=dict(title=dict(text="score − score without it"), thickness=12),
                               customdata=np.repeat((starts + width)[None, :], len(order), 0),
                               hovertemplate=f"{model}: %{{x:.1f}} s region, %{{y}}: %{{z:+.3f}}<extra></extra>"))
    end = float(starts[-1] + width) if len(starts) else 0.0
    if duration_s < end - 1e-6:
        fig.add_vrect(x0=duration_s, x1=end, fillcolor="#888", opacity=0.15, line_width=0,
                      annotation_text=_INPUT_NOTE, annotation_position="top left")
    elif duration_s > end + 1e-6:  # a song longer than the input: the rest is not in this window
        fig.add_vrect(x0=end, x1=duration_s, fillcolor="#888", opacity=0.15, line_width=0,
                      annotation_text=_AFTER_NOTE, annotation_position="top left")
    fig.update_xaxes(title_text="time in the song (s), the tagger's first input window", range=[0, max(end, duration_s)])
    fig.update_yaxes(title_text="tag (★ = annotated)", autorange="reversed")
    return finish(fig, title=f"{model}: which regions raise (red) or lower (blue) each tag",
                  height=160 + 22 * len(order), legend_below=False)


def _by_tag(entry: Mapping, order: Sequence[str], axis: str) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(entry["values"], dtype=float)
    tags = [str(t) for t in entry["axes"]["tag"]]
    x = np.asarray(entry["axes"][axis], dtype=float)
    keep = np.isfinite(x)
    index = [tags.index(t) for t in order if t in tags]
    return x[keep], values[keep][:, index].T


def neighbourhood(grid: np.ndarray, *, column_seconds: float, position_s: float, head_label: str) -> go.Figure:
    """A k x k grid of attention weights: rows lower/same/higher frequency bin, columns earlier/same/later time."""
    k = grid.shape[0]
    offsets = np.arange(k) - k // 2
    x = [f"{o * column_seconds:+.2f} s" if o else "same time" for o in offsets]
    y = [("lower" if o < 0 else "higher") + f" bin ({o:+d})" if o else "same bin" for o in offsets]
    fig = go.Figure(go.Heatmap(x=x, y=y, z=grid, colorscale=HEATMAP_SCALE, zmin=0, zmax=max(float(grid.max()), 1e-6),
                               text=np.vectorize(lambda v: f"{v:.0%}")(grid), texttemplate="%{text}",
                               colorbar=dict(title=dict(text="attention weight"), thickness=12),
                               hovertemplate="%{y}, %{x}: %{z:.2f}<extra></extra>"))
    fig.update_xaxes(title_text="neighbour's time offset")
    fig.update_yaxes(title_text="neighbour's frequency offset")
    fig = finish(fig, title=f"Where position {position_s:.1f} s looks<br><sup>{head_label}, mean over frequency "
                            "bins</sup>", height=380, legend_below=False)
    fig.update_layout(margin_t=70)
    return fig


def time_lean(lean: np.ndarray, time_s: np.ndarray, *, column_seconds: float, position_s: float,
              head_label: str, duration_s: float | None = None) -> go.Figure:
    """Mean time offset of the attention at every position of the layer's map (frequency bin x time), on the song's
    time axis (0 to the longer of ``duration_s`` and the tagger's input; what lies beyond the input is shaded)."""
    reach = max(1.0, float(np.nanmax(np.abs(lean))) if np.size(lean) else 1.0)
    fig = go.Figure(go.Heatmap(x=np.asarray(time_s) + column_seconds / 2.0, y=np.arange(lean.shape[0]), z=lean,
                               colorscale=DIVERGING_SCALE, zmid=0, zmin=-reach, zmax=reach,
                               colorbar=dict(title=dict(text="looks earlier (−) / later (+)"), thickness=12),
                               hovertemplate="%{x:.1f} s, bin %{y}: %{z:+.2f} columns<extra></extra>"))
    fig.add_vline(x=position_s + column_seconds / 2.0, line=dict(color="#e6550d", width=2, dash="dot"))
    end = float(np.asarray(time_s)[-1]) + column_seconds if len(time_s) else column_seconds
    if duration_s is not None and duration_s > end + 1e-6:
        fig.add_vrect(x0=end, x1=duration_s, fillcolor="#888", opacity=0.15, line_width=0,
                      annotation_text=_AFTER_NOTE, annotation_position="top left")
    elif duration_s is not None and duration_s < end - 1e-6:
        fig.add_vrect(x0=duration_s, x1=end, fillcolor="#888", opacity=0.15, line_width=0,
                      annotation_text=_INPUT_NOTE, annotation_position="top left")
    fig.update_xaxes(title_text="time in the song (s)", range=[0, max(end, duration_s or 0.0)])
    fig.update_yaxes(title_text="frequency bin (low → high)")
    fig = finish(fig, title=f"Where each position looks in time<br><sup>{head_label}</sup>", height=350,
                 legend_below=False)
    fig.update_layout(margin_t=70)
    return fig


def tag_spread(tables: Mapping[str, pd.DataFrame], *, song: Mapping[str, pd.DataFrame] | None = None,
               tags: Sequence[str] | None = None, height: int | None = None) -> go.Figure:
    """How much each tag's score varies across real songs, one panel per tagger: the min-max range (pale bar),
    mean ± one standard deviation (the tagger's colour) and the mean (orange tick), and this song's score
    (a diamond): a diamond inside the coloured bar is what the tagger gives most songs.

    Args:
        tables: ``{tagger: table}`` with columns ``tag, mean, std, min, max`` (scores 0-1), as
            :attr:`memo_core.explain.trust.TagSpread.table`.
        song: ``{tagger: predictions}`` (``tag, score, predicted``): this song's scores, drawn as diamonds
            (solid: predicted).
        tags: the tags to show (default: every tag of the tables, highest mean first).
    """
    models = list(tables)
    means = pd.concat([t.set_index("tag")["mean"] for t in tables.values()], axis=1).mean(axis=1) if tables \
        else pd.Series(dtype=float)
    order = list(means.sort_values(ascending=False, kind="stable").index)
    if tags is not None:
        order = [t for t in tags if t in set(order)]
    fig = make_subplots(rows=1, cols=max(1, len(models)), shared_yaxes=True, horizontal_spacing=0.02,
                        subplot_titles=models)
    for j, model in enumerate(models, start=1):
        rows = tables[model].set_index("tag").reindex(order)
        low = (rows["mean"] - rows["std"]).clip(lower=0.0)
        high = (rows["mean"] + rows["std"]).clip(upper=1.0)
        fig.add_trace(go.Bar(x=rows["max"] - rows["min"], base=rows["min"], y=order, orientation="h", width=0.8,
                             marker=dict(color=SPREAD_RANGE_COLOUR), name="lowest to highest score",
                             legendgroup="range", showlegend=j == 1, customdata=rows[["min", "max"]].to_numpy(),
                             hovertemplate=f"{model}, %{{y}}: %{{customdata[0]:.2f}} to %{{customdata[1]:.2f}}"
                                           "<extra></extra>"), row=1, col=j)
        fig.add_trace(go.Bar(x=high - low, base=low, y=order, orientation="h", width=0.4,
                             marker=dict(color=model_colour(model)), name=f"{model}: mean ± 1 sd",
                             customdata=rows[["mean", "std"]].to_numpy(),
                             hovertemplate=f"{model}, %{{y}}: mean %{{customdata[0]:.2f}} ± %{{customdata[1]:.2f}}"
                                           "<extra></extra>"), row=1, col=j)
        fig.add_trace(go.Scatter(x=rows["mean"], y=order, mode="markers", name="mean", legendgroup="mean",
                                 showlegend=j == 1, marker=dict(symbol="line-ns", size=14,
                                                                line=dict(width=3, color=SPREAD_MEAN_COLOUR)),
                                 hovertemplate="mean %{x:.2f}<extra></extra>"), row=1, col=j)
        if song is not None and model in song:
            mine = song[model].set_index("tag").reindex(order)
            hit = mine["predicted"].fillna(False).astype(bool).to_numpy()
            fig.add_trace(go.Scatter(x=mine["score"], y=order, mode="markers", name=SONG_SCORE, legendgroup="song",
                                     showlegend=j == 1,
                                     marker=dict(symbol="diamond", size=11, color=np.where(hit, SONG_COLOUR,
                                                                                           "rgba(0,0,0,0)").tolist(),
                                                 line=dict(color=SONG_COLOUR, width=2)),
                                     hovertemplate=f"{model}, %{{y}}: this song %{{x:.2f}}<extra></extra>"),
                          row=1, col=j)
        fig.update_xaxes(title_text="score across songs (0-1)", range=[0, 1.02], row=1, col=j)
    fig.update_yaxes(autorange="reversed", title_text="tag", row=1, col=1)
    fig.update_annotations(font_size=12)
    fig = finish(fig, height=height or 190 + 24 * len(order), legend_below=True)
    fig.update_layout(barmode="overlay")
    return fig
