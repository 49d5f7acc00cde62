"""Figures of the Multi-scale page: MCA's scale weights under the valence/arousal curves, per-scale against
fused predictions, the A-LSTM's attention inside each window, and DBLSTM-ELM's scales against its fusions
(Ma et al. 2017; Li et al. 2016).

Curves come as DataFrames with ``time_s`` (frame start times) and values on [-1, 1]; ``scale`` is the
sidebar's display scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import (
    TRUTH_COLOUR,
    finish,
    model_colour,
    time_axis_title,
    value_axis_title,
)
from dashboard.resources import scale_range, to_scale

__all__ = ["SCALE_COLOURS", "scale_colour", "weights_under_curves", "scales_against_fusion", "window_bars"]

#: One colour per scale, short to long, the same in every chart of the page (legible in both themes, and
#: apart from the MCA/DBLSTM model colours and the grey annotation).
SCALE_COLOURS = ("#1f78b4", "#6a3d9a", "#e7298a", "#a6761d", "#66a61e", "#17becf")


def scale_colour(i: int) -> str:
    return SCALE_COLOURS[i % len(SCALE_COLOURS)]


def _truth(fig: go.Figure, truth: Mapping | None, target: str, scale: str, row: int, first: bool) -> None:
    if truth is None or truth.get(target) is None:
        return
    fig.add_trace(go.Scatter(x=np.asarray(truth["time_s"], float), y=to_scale(np.asarray(truth[target], float), scale),
                             name="annotation (ground truth)", legendgroup="truth", showlegend=first,
                             line=dict(color=TRUTH_COLOUR, width=3)), row=row, col=1)


def _line(fig: go.Figure, frame: pd.DataFrame, column: str, *, name: str, colour: str, scale: str, row: int,
          first: bool, width: float = 1.8, dash: str | None = None) -> None:
    fig.add_trace(go.Scatter(x=frame["time_s"], y=to_scale(frame[column].to_numpy(float), scale), name=name,
                             legendgroup=name, showlegend=first, line=dict(color=colour, width=width, dash=dash),
                             hovertemplate=f"{name}: %{{y:.2f}} at %{{x:.1f}} s<extra></extra>"), row=row, col=1)


def _value_axes(fig: go.Figure, targets: Sequence[str], scale: str) -> None:
    lo, hi = scale_range(scale)
    pad = 0.03 * (hi - lo)
    for row, target in enumerate(targets, start=1):
        fig.update_yaxes(title_text=value_axis_title(target, scale), range=[lo - pad, hi + pad], row=row, col=1)


def weights_under_curves(weights: pd.DataFrame, prediction: pd.DataFrame, truth: Mapping | None, key: str,
                         targets: Sequence[str], *, scale: str = "-1-1", duration_s: float | None = None,
                         height: int | None = None) -> go.Figure:
    """The fused valence/arousal prediction (and annotation) above the stacked scale weights, one time axis.

    Args:
        weights: ``time_s`` then one column per scale (its label), rows summing to 1.
        prediction: the model's fused prediction (``time_s`` and the targets).
    """
    n = len(targets)
    fig = make_subplots(rows=n + 1, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[1.0] * n + [0.9], subplot_titles=[*(t.capitalize() for t in targets),
                                                                        "Scale weights β (sum to 1)"])
    for row, target in enumerate(targets, start=1):
        _truth(fig, truth, target, scale, row, row == 1)
        if target in prediction:
            _line(fig, prediction, target, name=f"{key} (fused prediction)", colour=model_colour(key), scale=scale,
                  row=row, first=row == 1, width=2.2)
    _value_axes(fig, targets, scale)
    for i, column in enumerate(c for c in weights.columns if c != "time_s"):
        fig.add_trace(go.Scatter(x=weights["time_s"], y=weights[column], name=f"β {column}", stackgroup="beta",
                                 mode="lines", line=dict(width=0.5, color=scale_colour(i)),
                                 fillcolor=scale_colour(i),
                                 hovertemplate=f"{column}: β = %{{y:.2f}} at %{{x:.1f}} s<extra></extra>"),
                      row=n + 1, col=1)
    fig.update_yaxes(title_text="scale weight β", range=[0, 1], row=n + 1, col=1)
    fig.update_xaxes(title_text=time_axis_title(), row=n + 1, col=1)
    if duration_s:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, height=height or 200 + 190 * (n + 1))


def scales_against_fusion(scales: Mapping[str, pd.DataFrame], fusions: Mapping[str, tuple[pd.DataFrame, str, str]],
                          truth: Mapping | None, targets: Sequence[str], *, scale: str = "-1-1",
                          duration_s: float | None = None, height: int | None = None) -> go.Figure:
    """Each scale's own prediction (thin) against fused predictions (thick) and the annotation, one row a target.

    Args:
        scales: ``{target: DataFrame(time_s, <one column per scale label>)}``.
        fusions: ``{name: (DataFrame(time_s, <targets>), colour, dash)}``, e.g. the model's and an average.
    """
    fig = make_subplots(rows=len(targets), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[t.capitalize() for t in targets])
    for row, target in enumerate(targets, start=1):
        _truth(fig, truth, target, scale, row, row == 1)
        table = scales.get(target)
        if table is not None:
            for i, column in enumerate(c for c in table.columns if c != "time_s"):
                _line(fig, table, column, name=f"scale {column}", colour=scale_colour(i), scale=scale, row=row,
                      first=row == 1, width=1.2)
        for name, (frame, colour, dash) in fusions.items():
            if target in frame:
                _line(fig, frame, target, name=name, colour=colour, scale=scale, row=row, first=row == 1,
                      width=2.6, dash=dash)
    _value_axes(fig, targets, scale)
    fig.update_xaxes(title_text=time_axis_title(), row=len(targets), col=1)
    if duration_s:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, height=height or 250 + 190 * len(targets))


def window_bars(windows: Mapping[str, pd.DataFrame], betas: Mapping[str, float] | None = None, *,
                height: int = 340) -> go.Figure:
    """The A-LSTM's attention inside each scale's causal window for one frame: bars over the lag (s)."""
    names = list(windows)
    titles = [f"{n} · β = {betas[n]:.2f}" if betas and n in betas else n for n in names]
    fig = make_subplots(rows=1, cols=max(1, len(names)), subplot_titles=titles, shared_yaxes=True,
                        horizontal_spacing=0.05)
    top = max((float(w["weight"].max()) for w in windows.values() if len(w)), default=1.0)
    for col, name in enumerate(names, start=1):
        frame = windows[name]
        fig.add_trace(go.Bar(x=frame["lag_s"], y=frame["weight"], name=name, marker=dict(color=scale_colour(col - 1)),
                             width=0.4, showlegend=False,
                             hovertemplate="%{x:.1f} s before: α = %{y:.3f}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text="lag (s; 0 = this frame)", row=1, col=col)
    fig.update_yaxes(title_text="attention weight α", range=[0, max(top * 1.1, 1e-3)], row=1, col=1)
    return finish(fig, height=height, legend_below=False)
