"""Figures of the A/B page: two curves and their difference, two maps and their difference; figure export.

Arrays in (from :mod:`memo_core.explain.ab` through ``resources``), figures out. A is orange and solid, B green
and dashed, A - B purple, on every chart of the page. :func:`figure_html` and :func:`figure_png` export any
figure (:mod:`dashboard.plots.export`: HTML with plotly.js inside, so it opens offline; PNG only where kaleido
is installed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import DIVERGING_SCALE, HEATMAP_SCALE, TRUTH_COLOUR, finish, time_axis_title
from dashboard.plots.export import figure_html, figure_png, png_export_available
from dashboard.resources import MapDifference

__all__ = ["A_COLOUR", "B_COLOUR", "DIFF_COLOUR", "ab_curves", "difference_chart", "song_curves", "map_triptych",
           "figure_html", "png_export_available", "figure_png"]

A_COLOUR = "#E69F00"
B_COLOUR = "#009E73"
DIFF_COLOUR = "#6a3d9a"


def _x(aligned: pd.DataFrame) -> tuple[np.ndarray, str]:
    if "time_s" in aligned:
        return aligned["time_s"].to_numpy(float), time_axis_title()
    return aligned["position"].to_numpy(float), "position in the song (%)"


def ab_curves(aligned: pd.DataFrame, targets: Sequence[str], *, label_a: str, label_b: str,
              truth: Mapping | None = None, truth_label: str = "annotation", duration_s: float | None = None,
              title: str = "") -> go.Figure:
    """A and B on one grid (:func:`~memo_core.explain.ab.align_curves`' table), one row per target, with the
    annotation (or design) in grey when given and on the same time axis."""
    targets = [t for t in targets if f"a/{t}" in aligned]
    fig = make_subplots(rows=max(len(targets), 1), cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[t.capitalize() for t in targets])
    x, x_title = _x(aligned)
    for row, target in enumerate(targets, start=1):
        if truth is not None and truth.get(target) is not None and "time_s" in aligned:
            fig.add_trace(go.Scatter(x=np.asarray(truth["time_s"], float), y=np.asarray(truth[target], float),
                                     name=truth_label, legendgroup="truth", showlegend=row == 1,
                                     line=dict(color=TRUTH_COLOUR, width=3)), row=row, col=1)
        for part, label, colour, dash in (("a", label_a, A_COLOUR, None), ("b", label_b, B_COLOUR, "dash")):
            fig.add_trace(go.Scatter(x=x, y=aligned[f"{part}/{target}"], name=f"{part.upper()}: {label}",
                                     legendgroup=part, showlegend=row == 1,
                                     line=dict(color=colour, width=2, dash=dash),
                                     hovertemplate=f"{part.upper()} {label}: %{{y:.2f}} at %{{x:.1f}}<extra></extra>"),
                          row=row, col=1)
        fig.update_yaxes(title_text=f"{target} (-1 to 1)", range=[-1.05, 1.05], row=row, col=1)
    fig.update_xaxes(title_text=x_title, row=max(len(targets), 1), col=1)
    if duration_s and "time_s" in aligned:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, title=title, height=200 + 170 * max(len(targets), 1), time_aligned=True)


def difference_chart(aligned: pd.DataFrame, targets: Sequence[str], *, label: str = "A - B",
                     duration_s: float | None = None, title: str = "") -> go.Figure:
    """``A - B`` per target, one row each, filled to zero (above zero: A reads higher)."""
    targets = [t for t in targets if f"diff/{t}" in aligned]
    fig = make_subplots(rows=max(len(targets), 1), cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[f"{t.capitalize()}: {label}" for t in targets])
    x, x_title = _x(aligned)
    for row, target in enumerate(targets, start=1):
        diff = aligned[f"diff/{target}"].to_numpy(float)
        fig.add_trace(go.Scatter(x=x, y=diff, name=label, legendgroup="diff", showlegend=row == 1, fill="tozeroy",
                                 line=dict(color=DIFF_COLOUR, width=1.8), fillcolor="rgba(106,61,154,0.25)",
                                 hovertemplate=f"{target} {label}: %{{y:+.2f}} at %{{x:.1f}}<extra></extra>"),
                      row=row, col=1)
        top = max(0.25, float(np.nanmax(np.abs(diff))) * 1.1 if diff.size else 0.25)
        fig.update_yaxes(title_text=f"{target} difference", range=[-top, top], zeroline=True, row=row, col=1)
    fig.update_xaxes(title_text=x_title, row=max(len(targets), 1), col=1)
    if duration_s and "time_s" in aligned:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, title=title, height=180 + 150 * max(len(targets), 1), time_aligned=True)


def song_curves(predictions: pd.DataFrame, targets: Sequence[str], *, label: str, colour: str = A_COLOUR,
                truth: Mapping | None = None, truth_label: str = "annotation", duration_s: float | None = None,
                title: str = "", dash: str | None = None) -> go.Figure:
    """One song's curve of one checkpoint, one row per target (the two-songs comparison draws one per song)."""
    fig = make_subplots(rows=max(len(targets), 1), cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[t.capitalize() for t in targets])
    for row, target in enumerate(targets, start=1):
        if truth is not None and truth.get(target) is not None:
            fig.add_trace(go.Scatter(x=np.asarray(truth["time_s"], float), y=np.asarray(truth[target], float),
                                     name=truth_label, legendgroup="truth", showlegend=row == 1,
                                     line=dict(color=TRUTH_COLOUR, width=3)), row=row, col=1)
        if target in predictions:
            fig.add_trace(go.Scatter(x=predictions["time_s"], y=predictions[target], name=label, legendgroup="m",
                                     showlegend=row == 1, line=dict(color=colour, width=2, dash=dash)),
                          row=row, col=1)
        fig.update_yaxes(title_text=f"{target} (-1 to 1)", range=[-1.05, 1.05], row=row, col=1)
    fig.update_xaxes(title_text=time_axis_title(), row=max(len(targets), 1), col=1)
    if duration_s:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, title=title, height=200 + 170 * max(len(targets), 1), time_aligned=True)


def _axis_title(name: str) -> str:
    return name.replace("_s", " (s)").replace("_", " ") if name.endswith("_s") else name.replace("_", " ")


def map_triptych(found: MapDifference, *, label_a: str, label_b: str, height: int = 380) -> go.Figure:
    """A's map, B's map (one shared, pinned colour scale) and ``A - B`` (a diverging scale centred on 0), side by
    side on the same axes; a one-axis map is drawn as lines."""
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[f"A: {label_a}", f"B: {label_b}", "A - B"])
    if found.a.ndim == 1:
        x = found.axes[0]
        for col, (values, colour) in enumerate(((found.a, A_COLOUR), (found.b, B_COLOUR), (found.diff, DIFF_COLOUR)),
                                               start=1):
            fig.add_trace(go.Scatter(x=x, y=values, line=dict(color=colour), showlegend=False), row=1, col=col)
        for col in (1, 2, 3):
            fig.update_xaxes(title_text=_axis_title(found.axis_names[0]), row=1, col=col)
        return finish(fig, height=height, legend_below=False)
    x, y = found.axes
    lo = float(np.nanmin([np.nanmin(found.a), np.nanmin(found.b)]))
    hi = float(np.nanmax([np.nanmax(found.a), np.nanmax(found.b)]))
    hi = hi if hi > lo else lo + 1e-6
    top = float(np.nanmax(np.abs(found.diff))) or 1e-6
    names = found.axis_names
    for col, values in ((1, found.a), (2, found.b)):
        fig.add_trace(go.Heatmap(x=x, y=y, z=values.T, colorscale=HEATMAP_SCALE, zmin=lo, zmax=hi, zauto=False,
                                 showscale=col == 2, colorbar=dict(title=dict(text="weight"), x=0.64, len=0.9,
                                                                   thickness=10),
                                 hovertemplate=f"{names[0]} %{{x:.2f}}, {names[1]} %{{y:.2f}}: %{{z:.3f}}"
                                               "<extra></extra>"), row=1, col=col)
    fig.add_trace(go.Heatmap(x=x, y=y, z=found.diff.T, colorscale=DIVERGING_SCALE, zmin=-top, zmax=top, zmid=0,
                             zauto=False, colorbar=dict(title=dict(text="A - B"), thickness=10, len=0.9),
                             hovertemplate=f"{names[0]} %{{x:.2f}}, {names[1]} %{{y:.2f}}: %{{z:+.3f}}<extra></extra>"),
                  row=1, col=3)
    for col in (1, 2, 3):
        fig.update_xaxes(title_text=_axis_title(names[0]), row=1, col=col)
    fig.update_yaxes(title_text=_axis_title(names[1]), row=1, col=1)
    return finish(fig, height=height, legend_below=False)
