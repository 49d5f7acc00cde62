"""Figure builders: numpy/pandas in, plotly figures out. No Streamlit, no model code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.plots import TARGET_COLOURS, finish

__all__ = ["va_curves", "va_plane"]

_COLOURS = TARGET_COLOURS


def va_curves(curves: dict[str, np.ndarray], *, title: str = "") -> go.Figure:
    """Valence and arousal over time: annotation mean with a rater-spread band, and the designed curve dashed."""
    fig = go.Figure()
    t = np.asarray(curves["time_s"], dtype=float)
    for target, colour in _COLOURS.items():
        mean = curves.get(target)
        if mean is None:
            continue
        std = curves.get(f"{target}_std")
        if std is not None:
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([t, t[::-1]]),
                    y=np.concatenate([mean + std, (mean - std)[::-1]]),
                    fill="toself", fillcolor=colour, opacity=0.15, line=dict(width=0),
                    name=f"{target} rater spread", hoverinfo="skip", legendgroup=target,
                )
            )
        fig.add_trace(go.Scatter(x=t, y=mean, name=f"{target} (annotation)", line=dict(color=colour, width=2.5),
                                 legendgroup=target))
        design = curves.get(f"design_{target}")
        if design is not None:
            fig.add_trace(go.Scatter(x=curves["design_times"], y=design, name=f"{target} (designed)",
                                     line=dict(color=colour, dash="dash", width=1.5), legendgroup=target))
    fig.update_layout(xaxis_title="time (s)", yaxis_title="valence / arousal (-1 to 1)", yaxis_range=[-1.05, 1.05])
    return finish(fig, title=title, height=380)


def va_plane(table: pd.DataFrame) -> go.Figure:
    """Song means on the valence-arousal plane (Russell's circumplex), coloured by split."""
    fig = go.Figure()
    for split, part in table.groupby("split", dropna=False):
        fig.add_trace(go.Scatter(x=part["valence"], y=part["arousal"], mode="markers", name=str(split),
                                 text=part["song"] + ": " + part["tags"], hovertemplate="%{text}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="grey", width=1))
    fig.add_vline(x=0, line=dict(color="grey", width=1))
    fig.update_layout(xaxis_title="valence (-1 to 1)", yaxis_title="arousal (-1 to 1)", xaxis_range=[-1, 1],
                      yaxis_range=[-1, 1])
    return finish(fig, height=420)
