"""Shading on any chart with a song's time axis: where the song is silent or near-silent (grey) and where its
features are outside what the models learned from (amber), as :class:`memo_core.explain.familiarity.Familiarity`
finds them. Each band is a shape named :data:`SILENCE_NAME` or :data:`OUTSIDE_NAME`, with one legend entry each."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

__all__ = ["SILENCE_NAME", "OUTSIDE_NAME", "SILENCE_COLOUR", "OUTSIDE_COLOUR", "add_bands"]

SILENCE_NAME = "silent or near-silent"
OUTSIDE_NAME = "outside what the models know"
#: Grey for silence, amber for unfamiliar features: both read on light and dark backgrounds, and neither is a
#: model's or a target's colour.
SILENCE_COLOUR = "rgb(127, 127, 127)"
OUTSIDE_COLOUR = "rgb(255, 159, 28)"


def _legend_entry(fig: go.Figure, name: str, colour: str) -> None:
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip", showlegend=True,
                             marker=dict(symbol="square", size=12, color=colour, opacity=0.5)))


def add_bands(fig: go.Figure, *, silent: Sequence[tuple[float, float]] = (),
              outside: Sequence[tuple[float, float]] = (), legend: bool = True) -> go.Figure:
    """Shade ``silent`` and ``outside`` spans (``(start_s, end_s)`` on the x axis) on every subplot of ``fig``.

    Args:
        fig: a chart whose x axes are the song's time in seconds (subplots too: every row is shaded).
        silent: spans where the song is silent or near-silent.
        outside: spans where its features are outside what the models know.
        legend: add one legend entry per kind of band drawn.
    """
    grid = getattr(fig, "_grid_ref", None) is not None
    where = dict(row="all", col="all") if grid else {}
    for spans, name, colour, opacity in ((silent, SILENCE_NAME, SILENCE_COLOUR, 0.3),
                                         (outside, OUTSIDE_NAME, OUTSIDE_COLOUR, 0.22)):
        for start, end in spans:
            fig.add_vrect(x0=float(start), x1=float(end), fillcolor=colour, opacity=opacity, line_width=0,
                          layer="above", name=name, **where)
        if spans and legend:
            _legend_entry(fig, name, colour)
    return fig
