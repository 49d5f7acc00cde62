"""Figure builders: numpy/pandas in, plotly figures out. No Streamlit, no model code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.plots import TARGET_COLOURS, finish
from dashboard.resources import QUADRANTS

__all__ = ["va_curves", "va_plane", "SPLIT_STYLES"]

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


#: Each split's colour and marker, fixed (Okabe-Ito): train solid blue circles, test vermillion crosses.
SPLIT_STYLES = {"train": ("#0072B2", "circle", 8), "validation": ("#E69F00", "diamond", 9),
                "test": ("#D55E00", "x", 10)}
_OTHER_SPLIT = ("#7f7f7f", "square", 8)
#: Thinly covered cells: a light hatch-like grey.
THIN_FILL = "rgba(150,150,150,0.16)"


def va_plane(table: pd.DataFrame, grid: pd.DataFrame | None = None, *, min_songs: int | None = None,
             height: int = 460) -> go.Figure:
    """Song means on the valence-arousal plane (Russell's circumplex): one colour and marker per split (legend
    with the number of songs), the quadrants named, and, given :func:`coverage_grid`'s ``grid``, its cells drawn
    with the thinly covered ones (fewer than ``min_songs`` training songs) shaded grey."""
    fig = go.Figure()
    if grid is not None:
        for _, cell in grid.iterrows():
            thin = min_songs is not None and cell["train songs"] < min_songs
            fig.add_shape(type="rect", x0=cell["valence from"], x1=cell["valence to"], y0=cell["arousal from"],
                          y1=cell["arousal to"], line=dict(color="rgba(128,128,128,0.35)", width=1, dash="dot"),
                          fillcolor=THIN_FILL if thin else "rgba(0,0,0,0)", layer="below")
        if min_songs is not None:  # one legend entry for the shading
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"thin: < {min_songs} training songs",
                                     marker=dict(symbol="square", size=12, color="rgba(150,150,150,0.45)")))
    order = [s for s in SPLIT_STYLES if s in set(table["split"].astype(str))]
    order += sorted(set(table["split"].astype(str)) - set(order))
    for split in order:
        part = table[table["split"].astype(str) == split]
        colour, symbol, size = SPLIT_STYLES.get(split, _OTHER_SPLIT)
        fig.add_trace(go.Scatter(x=part["valence"], y=part["arousal"], mode="markers",
                                 name=f"{split} ({len(part)} songs)",
                                 marker=dict(color=colour, symbol=symbol, size=size,
                                             line=dict(width=1.5 if symbol == "x" else 0.5, color=colour)),
                                 text=part["song"].astype(str) + ": " + part["tags"].astype(str),
                                 hovertemplate=f"{split} · %{{text}}<br>valence %{{x:.2f}}, arousal %{{y:.2f}}"
                                               "<extra></extra>"))
    for (v, a), words in QUADRANTS.items():
        fig.add_annotation(x=0.97 * v, y=0.97 * a, text=words, showarrow=False, font=dict(size=12, color="#888"),
                           xanchor="right" if v > 0 else "left", yanchor="top" if a > 0 else "bottom")
    fig.add_hline(y=0, line=dict(color="grey", width=1))
    fig.add_vline(x=0, line=dict(color="grey", width=1))
    fig.update_xaxes(title_text="valence (-1 to 1): unpleasant → pleasant", range=[-1, 1], zeroline=False,
                     constrain="domain")
    fig.update_yaxes(title_text="arousal (-1 to 1): calm → energetic", range=[-1, 1], zeroline=False,
                     scaleanchor="x", scaleratio=1)
    return finish(fig, height=height)
