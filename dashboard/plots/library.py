"""Figures of the Library page: a collection's songs on the valence-arousal plane, histograms per model, and two
subsets' means with their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import finish, model_colour, pinned_scale
from dashboard.resources import QUADRANTS

__all__ = ["AGREEMENT_SCALE", "SUBSET_COLOURS", "va_plane", "histograms", "subset_means"]

#: Model agreement, 0 (the models disagree) to 1 (they agree): a sequential scale written as rgb() stops, so
#: Streamlit's plotly theme cannot replace it.
AGREEMENT_SCALE = pinned_scale("Viridis")
#: Songs whose agreement is unknown (a library with one per-frame model).
NO_AGREEMENT_COLOUR = "rgb(150, 150, 150)"
#: Subsets A and B in the comparison (Okabe-Ito blue and orange).
SUBSET_COLOURS = {"A": "#0072B2", "B": "#E69F00"}
#: Marker diameters (px) of the shortest and the longest song.
_SIZES = (7.0, 22.0)


def _sizes(duration: pd.Series) -> np.ndarray:
    seconds = pd.to_numeric(duration, errors="coerce").fillna(0.0).to_numpy(float)
    if len(seconds) == 0:
        return seconds
    lo, hi = float(seconds.min()), float(seconds.max())
    scaled = (seconds - lo) / (hi - lo) if hi > lo else np.full(len(seconds), 0.5)
    return _SIZES[0] + scaled * (_SIZES[1] - _SIZES[0])


def va_plane(songs: pd.DataFrame, *, title: str = "", height: int = 560) -> go.Figure:
    """One marker per song at its mean valence and arousal (``x_valence``, ``x_arousal``): colour by model
    agreement (``agreement``, 0 to 1), size by duration. Each marker's ``customdata`` is its ``song_id``, so a
    selection on the chart names the songs."""
    fig = go.Figure()
    for (v, a), name in QUADRANTS.items():  # the quadrants' names in their corners, faint
        fig.add_annotation(x=0.95 * v, y=0.95 * a, text=name, showarrow=False, opacity=0.45,
                           xanchor="right" if v > 0 else "left", yanchor="top" if a > 0 else "bottom")
    agreement = (pd.to_numeric(songs["agreement"], errors="coerce") if "agreement" in songs
                 else pd.Series(np.nan, index=songs.index))
    sizes = _sizes(songs["duration_s"]) if "duration_s" in songs else np.full(len(songs), _SIZES[0])
    names = (songs["name"] if "name" in songs else songs["path"]).astype(str).to_numpy()
    known = agreement.notna().to_numpy()
    for measured in (True, False):  # songs without a measure (one model) in grey, never as "no agreement"
        part = known if measured else ~known
        if not part.any():
            continue
        marker = dict(size=sizes[part], line=dict(width=0.6, color="rgb(90, 90, 90)"), opacity=0.85)
        if measured:
            marker.update(color=agreement[part].to_numpy(float), colorscale=AGREEMENT_SCALE, cmin=0.0, cmax=1.0,
                          colorbar=dict(title=dict(text="model<br>agreement"), thickness=12))
        else:
            marker.update(color=NO_AGREEMENT_COLOUR)
        fig.add_trace(go.Scatter(
            x=songs["x_valence"].to_numpy(float)[part], y=songs["x_arousal"].to_numpy(float)[part], mode="markers",
            name="songs" if measured else "agreement unknown (one model)", showlegend=not measured,
            customdata=songs["song_id"].astype(str).to_numpy()[part], text=names[part], marker=marker,
            hovertemplate="%{text}<br>valence %{x:+.2f}, arousal %{y:+.2f}"
                          + ("<br>agreement %{marker.color:.2f}" if measured else "") + "<extra></extra>",
        ))
    for axis in (fig.update_xaxes, fig.update_yaxes):
        axis(range=[-1.05, 1.05], zeroline=True, zerolinewidth=1.5, constrain="domain")
    fig.update_xaxes(title_text="valence (-1 to 1)")
    fig.update_yaxes(title_text="arousal (-1 to 1)", scaleanchor="x", scaleratio=1)
    # no dragmode or clickmode here: Streamlit then makes a click select a song (with dragmode "select" or
    # "lasso" it turns click selection off); the box and lasso are in the chart's toolbar
    return finish(fig, title=title, height=height)


def histograms(values: pd.DataFrame, *, bins: int = 20, title: str = "", height: int = 360) -> go.Figure:
    """Valence and arousal side by side, one overlaid histogram per model (``values``: model, target, value)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Valence", "Arousal"], shared_yaxes=True)
    edges = dict(start=-1.0, end=1.0, size=2.0 / bins)
    for col, target in enumerate(("valence", "arousal"), start=1):
        part = values[values["target"] == target]
        for model, rows in part.groupby("model", sort=False):
            fig.add_trace(go.Histogram(x=rows["value"], name=str(model), legendgroup=str(model), showlegend=col == 1,
                                       xbins=edges, marker=dict(color=model_colour(str(model))), opacity=0.6,
                                       hovertemplate=f"{model}<br>%{{x}}: %{{y}} songs<extra></extra>"),
                          row=1, col=col)
        fig.update_xaxes(title_text=f"song mean {target} (-1 to 1)", range=[-1, 1], row=1, col=col)
    fig.update_yaxes(title_text="songs", row=1, col=1)
    fig.update_layout(barmode="overlay")
    return finish(fig, title=title, height=height)


def subset_means(table: pd.DataFrame, labels: dict[str, str], *, title: str = "", height: int = 320) -> go.Figure:
    """Each subset's mean valence and arousal with its interval (``table``:
    :func:`memo_core.explain.collection.subset_difference`), subsets A and B side by side per target."""
    fig = go.Figure()
    for which in ("A", "B"):
        s = which.lower()
        means = table[f"mean_{s}"].to_numpy(float)
        fig.add_trace(go.Scatter(
            x=[t.capitalize() for t in table["target"]], y=means, mode="markers", name=labels.get(which, which),
            marker=dict(size=12, color=SUBSET_COLOURS[which], symbol="circle" if which == "A" else "diamond"),
            error_y=dict(type="data", symmetric=False, array=table[f"{s}_hi"].to_numpy(float) - means,
                         arrayminus=means - table[f"{s}_lo"].to_numpy(float), thickness=2,
                         color=SUBSET_COLOURS[which]),
            offsetgroup=which,
            hovertemplate="%{x}: mean %{y:+.3f}<extra>" + labels.get(which, which)[:40] + "</extra>",
        ))
    fig.update_layout(scattermode="group")
    fig.update_yaxes(title_text="song mean (-1 to 1)", zeroline=True)
    return finish(fig, title=title, height=height)
