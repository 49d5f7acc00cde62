"""Figures of the Attention page: AT/BAT attention maps, the most attended frames, one frame's attention over
the chromagram, and the Transformer's maps by layer and head (Chaki et al. 2020, Figures 3-6).

Attention maps come as ``(weights [query, key], query_time_s, key_time_s)`` with frame START times; each
cell is drawn over its frame's half second, so the maps line up with the chromagram and the Song page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import (
    CHROMA_SCALE,
    HEATMAP_SCALE,
    TARGET_COLOURS,
    TRUTH_COLOUR,
    finish,
    model_colour,
    time_axis_title,
    value_axis_title,
)
from dashboard.resources import FRAME_SECONDS, SongView, colour_range, scale_range, to_scale

__all__ = ["attention_maps", "attended_frames", "frame_over_chroma", "layer_head_grid", "CHROMA_MARK"]

HALF = FRAME_SECONDS / 2.0
#: Colour of the highlighted (most attended) frames: a magenta that reads on light and dark backgrounds.
HIGHLIGHT = "#d4009a"  # unlike every model colour (BAT is vermilion, MCA orange)
_BAR_TITLE = "attention weight"
#: The name of the outlines that mark frames on the chromagram (a magenta fill would vanish in its magma scale).
CHROMA_MARK = "marked on the chromagram"


def _colourbar(fig: go.Figure, row: int, col: int, *, title: str | None = _BAR_TITLE) -> dict:
    """A colour bar beside subplot (row, col): each map has its own scale, so each shows its own bar."""
    ref = fig.get_subplot(row, col)
    x_end = ref.xaxis.domain[1]
    y0, y1 = ref.yaxis.domain
    return dict(x=x_end + 0.008, xanchor="left", y=(y0 + y1) / 2, yanchor="middle", len=(y1 - y0) * 0.95,
                thickness=10, tickformat=".3g", title=dict(text=title, side="right") if title else None)


def _own_scale(weights: np.ndarray) -> dict:
    """The map's own colour scale (:func:`memo_core.explain.attention.colour_range`)."""
    lo, hi = colour_range(weights)
    return dict(colorscale=HEATMAP_SCALE, zmin=lo, zmax=hi)


def _outline(fig: go.Figure, x0: float, x1: float, row: int, *, name: str = CHROMA_MARK) -> None:
    """Outline ``[x0, x1]`` over the whole height of subplot ``row``: white under magenta, legible on any colour."""
    for colour, width in (("white", 3.5), (HIGHLIGHT, 1.8)):
        fig.add_vrect(x0=x0, x1=x1, fillcolor="rgba(0,0,0,0)", line=dict(color=colour, width=width), layer="above",
                      name=name, row=row, col=1)


def _centres(times: np.ndarray) -> np.ndarray:
    return np.asarray(times, float) + HALF


def attention_maps(maps: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], *, frame_s: float | None = None,
                   height: int = 480) -> go.Figure:
    """One heatmap per checkpoint, side by side, each on its own colour scale with its own colour bar.

    y = the prediction frame (time rising upwards), x = the attended frame; the dashed diagonal marks
    "attends to itself": cells right of it are later frames (BAT leaves them empty). One scale for all would
    let BAT's first rows (weights near 1) hide AT's structure (differences of a few thousandths): each map's
    scale runs over its own weights (:func:`memo_core.explain.attention.colour_range`).
    """
    names = list(maps)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.16)
    for col, name in enumerate(names, start=1):
        weights, q, k = maps[name]
        fig.add_trace(go.Heatmap(x=_centres(k), y=_centres(q), z=weights, name=name, **_own_scale(weights),
                                 colorbar=_colourbar(fig, 1, col),
                                 hovertemplate=(f"{name}<br>prediction at %{{y:.1f}} s<br>attends to %{{x:.1f}} s"
                                                "<br>weight %{z:.4f}<extra></extra>")), row=1, col=col)
        end = float(max(k[-1], q[-1])) + FRAME_SECONDS if len(k) and len(q) else 1.0
        fig.add_trace(go.Scatter(x=[0, end], y=[0, end], mode="lines", line=dict(color="#bbbbbb", dash="dash",
                                 width=1), name="same frame (diagonal)", showlegend=col == 1, hoverinfo="skip"),
                      row=1, col=col)
        if frame_s is not None:
            fig.add_hline(y=frame_s + HALF, line=dict(color=HIGHLIGHT, width=1.5), row=1, col=col)
        fig.update_xaxes(title_text="attended frame time (s)", range=[0, end], row=1, col=col)
        fig.update_yaxes(title_text="prediction frame time (s)" if col == 1 else None, range=[0, end], row=1, col=col)
    fig = finish(fig, height=height)
    fig.update_layout(margin_l=70)  # room for the first map's time ticks and title
    return fig


def _chroma(fig: go.Figure, view: SongView, row: int, bar_y: float, bar_len: float) -> None:
    fig.add_trace(go.Heatmap(x=view.time_s, y=list(SongView.PITCH_CLASSES), z=view.chroma, colorscale=CHROMA_SCALE,
                             zmin=0, zmax=1, name="chroma",
                             colorbar=dict(title=dict(text="chroma"), thickness=12, len=bar_len, y=bar_y,
                                           yanchor="middle"),
                             hovertemplate="%{x:.1f} s, %{y}: %{z:.2f}<extra></extra>"), row=row, col=1)
    fig.update_yaxes(title_text="pitch class", row=row, col=1)


def attended_frames(received: np.ndarray, key_times: np.ndarray, top: Sequence[int], view: SongView,
                    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, curve_label: str, scale: str = "-1-1",
                    colour: str | None = None, measure: str = "mean weight received",
                    height: int = 640) -> go.Figure:
    """The attention each frame receives (top frames highlighted) over the valence/arousal curves and chromagram.

    Args:
        received: the attention each key frame receives (``measure`` says how it is counted).
        key_times: the key frames' start times (s).
        top: indices of the most attended frames.
        view: the song's views (its chromagram is drawn).
        curves: ``{target: (time_s, values)}`` on [-1, 1]: the annotation, or a model's prediction.
        curve_label: what the curves are (legend).
    """
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.25, 0.4, 0.35])
    key_times = np.asarray(key_times, float)
    top = np.asarray(top, int)
    mark = np.zeros(len(key_times), bool)
    mark[top] = True
    fig.add_trace(go.Bar(x=_centres(key_times), y=received, width=FRAME_SECONDS,
                         marker=dict(color=np.where(mark, HIGHLIGHT, colour or "#636efa")),
                         name=f"attention received ({measure})",
                         hovertemplate="frame at %{x:.1f} s: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.update_yaxes(title_text="attention<br>received", rangemode="tozero", row=1, col=1)
    if "relative" in measure:  # 1 = what uniform attention would give
        fig.add_hline(y=1.0, line=dict(color="#999999", dash="dot", width=1), row=1, col=1)
    for n, (target, (t, y)) in enumerate(curves.items()):
        t, y = np.asarray(t, float), to_scale(np.asarray(y, float), scale)
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"{target} ({curve_label})",
                                 line=dict(color=TARGET_COLOURS.get(target, TRUTH_COLOUR), width=2.2)), row=2, col=1)
        if len(t) and len(top):
            at = key_times[top]  # frame starts, where the curves' values sit (frame i covers [t_i, t_i + 0.5))
            inside = (at >= t.min()) & (at <= t.max())
            fig.add_trace(go.Scatter(x=at[inside], y=np.interp(at[inside], t, y), mode="markers",
                                     name="most attended frames", legendgroup="top", showlegend=n == 0,
                                     marker=dict(color=HIGHLIGHT, size=9, line=dict(color="white", width=1)),
                                     hovertemplate=f"attended frame at %{{x:.1f}} s: {target} %{{y:.2f}}"
                                                   "<extra></extra>"),
                          row=2, col=1)
    lo, hi = scale_range(scale)
    fig.update_yaxes(title_text=value_axis_title("valence / arousal", scale), range=[lo, hi], row=2, col=1)
    _chroma(fig, view, 3, bar_y=0.175, bar_len=0.33)
    for i in top:
        for row in (1, 2):
            fig.add_vrect(x0=key_times[i], x1=key_times[i] + FRAME_SECONDS, fillcolor=HIGHLIGHT, opacity=0.18,
                          line_width=0, row=row, col=1)
        _outline(fig, float(key_times[i]), float(key_times[i]) + FRAME_SECONDS, 3)
    fig.update_xaxes(title_text=time_axis_title(), range=[0, view.duration_s], row=3, col=1)
    return finish(fig, height=height)


def frame_over_chroma(row_weights: np.ndarray, key_times: np.ndarray, frame_s: float, view: SongView, *, name: str,
                      height: int = 460) -> go.Figure:
    """One prediction frame's attention over the song (bars) above the chromagram, on one time axis."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.4, 0.6])
    fig.add_trace(go.Bar(x=_centres(key_times), y=row_weights, width=FRAME_SECONDS, name=f"{name}: attention row",
                         marker=dict(color=model_colour(name)),
                         hovertemplate="attends to %{x:.1f} s: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.update_yaxes(title_text="attention weight", rangemode="tozero", row=1, col=1)
    _chroma(fig, view, 2, bar_y=0.3, bar_len=0.6)
    fig.add_vrect(x0=frame_s, x1=frame_s + FRAME_SECONDS, fillcolor=HIGHLIGHT, opacity=0.35, line_width=0, row=1,
                  col=1)
    _outline(fig, frame_s, frame_s + FRAME_SECONDS, 2, name="prediction frame")
    fig.add_annotation(x=frame_s + HALF, y=1.0, yref="paper", text=f"prediction frame {frame_s:.1f} s",
                       showarrow=False, yanchor="bottom", font=dict(color=HIGHLIGHT))
    fig.update_xaxes(title_text=time_axis_title(), range=[0, view.duration_s], row=2, col=1)
    return finish(fig, height=height)


def layer_head_grid(weights: np.ndarray, query_times: np.ndarray, key_times: np.ndarray, *,
                    layers: Sequence[int], heads: Sequence[int], height_per_row: int = 300) -> go.Figure:
    """Small multiples of the Transformer's maps: one row per layer, one column per head, each map on its own colour
    scale with its own colour bar (a deep layer's weights differ by a few thousandths: on one shared scale its maps
    would look empty)."""
    titles = [f"layer {layer + 1}, head {head + 1}" for layer in layers for head in heads]
    fig = make_subplots(rows=len(layers), cols=len(heads), subplot_titles=titles, horizontal_spacing=0.16,
                        vertical_spacing=0.16 if len(layers) > 1 else 0.0)
    end = float(max(key_times[-1], query_times[-1])) + FRAME_SECONDS if len(key_times) else 1.0
    for r, layer in enumerate(layers, start=1):
        for c, head in enumerate(heads, start=1):
            fig.add_trace(go.Heatmap(x=_centres(key_times), y=_centres(query_times), z=weights[layer, head],
                                     name=f"layer {layer + 1} head {head + 1}", **_own_scale(weights[layer, head]),
                                     colorbar=_colourbar(fig, r, c, title="weight" if c == len(heads) else None),
                                     hovertemplate=("prediction at %{y:.1f} s<br>attends to %{x:.1f} s"
                                                    "<br>weight %{z:.4f}<extra></extra>")), row=r, col=c)
            fig.update_xaxes(range=[0, end], title_text="attended frame time (s)" if r == len(layers) else None,
                             row=r, col=c)
            fig.update_yaxes(range=[0, end], title_text="prediction frame time (s)" if c == 1 else None, row=r, col=c)
    fig = finish(fig, height=height_per_row * len(layers) + 60, legend_below=False)
    fig.update_layout(margin_l=70)
    return fig
