"""Beat and section markers for any chart on a song's time axis, and the structure's own small figure.

:func:`add_structure` takes any plotly figure whose x axes are time in seconds (one chart or stacked
subplots: curves, a chromagram, an attention map) and a :class:`~memo_core.explain.structure.SongStructure`
(``resources.song_structure(key, audio)``), and draws faint dotted lines at the beats and solid lines with
numbers at the section starts, each kind with one legend entry (click it to hide the kind). The markers are
layout shapes, added in one step, so a song with hundreds of beats stays quick to draw.

Any page can use it::

    from dashboard.plots.structure import add_structure
    fig = plots.va_over_time(...)
    add_structure(fig, resources.song_structure(ctx.source.key, ctx.audio))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.plots import finish, time_axis_title
from dashboard.resources import SongStructure

__all__ = ["add_structure", "novelty_figure", "BEAT_COLOUR", "SECTION_COLOUR", "time_axes"]

#: Beats: a light grey; sections: a dark magenta that is neither a target nor a model colour.
BEAT_COLOUR = "rgba(128,128,128,0.35)"
SECTION_COLOUR = "#8e0152"


def time_axes(fig: go.Figure) -> list[tuple[str, str]]:
    """``(x axis id, y axis id)`` of each subplot of ``fig`` (``[("x", "y")]`` for a plain figure)."""
    layout = fig.layout.to_plotly_json()
    found = []
    for key in sorted((k for k in layout if k.startswith("xaxis")), key=lambda k: int(k[5:] or 1)):
        suffix = key[5:]
        anchor = layout[key].get("anchor") or f"y{suffix}"
        found.append((f"x{suffix}", anchor if anchor != "free" else f"y{suffix}"))
    return found or [("x", "y")]


def add_structure(fig: go.Figure, structure: SongStructure, *, beats: bool = True, sections: bool = True,
                  axes: Sequence[str] | None = None, label_sections: bool = True) -> go.Figure:
    """Beat and section markers on every time axis of ``fig`` (or on the x axes named in ``axes``, e.g.
    ``["x", "x2"]``).

    Beats are faint dotted lines; section starts solid lines, numbered inside the top of the first marked
    subplot ("§2", "§3", ...: section 1 starts at 0 s; ``label_sections=False`` leaves the numbers out).
    Returns ``fig``.
    """
    chosen = [(x, y) for x, y in time_axes(fig) if axes is None or x in axes]
    shapes = list(fig.layout.shapes or ())
    annotations = list(fig.layout.annotations or ())
    legend = {"beats": False, "sections": False}
    for x, y in chosen:
        if beats:
            for t in np.asarray(structure.beat_times_s, float):
                shapes.append(dict(type="line", xref=x, yref=f"{y} domain", x0=t, x1=t, y0=0, y1=1, layer="above",
                                   line=dict(color=BEAT_COLOUR, width=1, dash="dot"), name="beats",
                                   legendgroup="beats", showlegend=not legend["beats"]))
                legend["beats"] = True
        if sections:
            for t in np.asarray(structure.boundaries_s, float):
                shapes.append(dict(type="line", xref=x, yref=f"{y} domain", x0=t, x1=t, y0=0, y1=1, layer="above",
                                   line=dict(color=SECTION_COLOUR, width=2), name="section starts",
                                   legendgroup="sections", showlegend=not legend["sections"]))
                legend["sections"] = True
    if sections and label_sections and chosen:
        x, y = chosen[0]
        for i, t in enumerate(np.asarray(structure.boundaries_s, float), start=2):
            annotations.append(dict(x=float(t), y=0.99, xref=x, yref=f"{y} domain", text=f"§{i}", showarrow=False,
                                    xanchor="left", yanchor="top", font=dict(size=11, color=SECTION_COLOUR)))
    fig.update_layout(shapes=shapes, annotations=annotations)
    return fig


def novelty_figure(structure: SongStructure, *, height: int = 200, title: str = "") -> go.Figure:
    """The novelty curve the sections come from, with the beats and section starts marked."""
    fig = go.Figure(go.Scatter(x=structure.novelty_time_s, y=structure.novelty, name="novelty",
                               line=dict(color=SECTION_COLOUR, width=1.5), showlegend=False,
                               hovertemplate="%{x:.1f} s: novelty %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title_text=time_axis_title(), range=[0, structure.duration_s])
    fig.update_yaxes(title_text="novelty (0 to 1)", range=[0, 1.05])
    add_structure(fig, structure, label_sections=True)
    return finish(fig, title=title, height=height, time_aligned=True)
