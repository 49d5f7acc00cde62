"""Figure builders: numpy/pandas in, plotly figures out. No Streamlit, no model code.

One module per page (``song``, ``attention``, ...); this module holds what they
share so every page looks alike: one colour per checkpoint across pages, one
colour per target, axis titles with units, and layouts that read in both the
light and the dark theme (transparent backgrounds; Streamlit's plotly theme
sets the fonts and grid colours).
"""

from __future__ import annotations

import hashlib
import re

import plotly.graph_objects as go
from plotly.colors import get_colorscale, hex_to_rgb

from dashboard.resources import scale_range

__all__ = ["TARGET_COLOURS", "TRUTH_COLOUR", "model_colour", "finish", "time_axis_title", "value_axis_title",
           "HEATMAP_SCALE", "DIVERGING_SCALE", "CHROMA_SCALE", "TIME_MARGINS", "pinned_scale", "pin_colours"]

#: Valence blue, arousal red, in every chart.
TARGET_COLOURS = {"valence": "#1f77b4", "arousal": "#d62728"}
#: The annotation (ground truth): a neutral grey that reads on white and on dark backgrounds.
TRUTH_COLOUR = "#7f7f7f"
#: Streamlit's plotly theme writes its theme colours as placeholders #000001 .. #000040 and its frontend
#: replaces every such string in a chart's JSON, a user's colours too: Magma's low end, #000004, turns pink
#: (#ffabab). Colours written as ``rgb(r, g, b)`` are left alone.
_PLACEHOLDER = re.compile(r"#0000[0-4][0-9]\b", re.IGNORECASE)


def pinned_scale(name: str) -> list[list]:
    """A named plotly colour scale written out as ``[[position, "rgb(r, g, b)"], ...]``: what the page draws
    whatever Streamlit's theme (a name or hex colours can be replaced by the theme's, see above)."""
    out = []
    for position, colour in get_colorscale(name):
        if isinstance(colour, str) and colour.startswith("#"):
            colour = "rgb({}, {}, {})".format(*hex_to_rgb(colour))
        out.append([float(position), colour])
    return out


#: Sequential scale for attention and spectrograms (perceptually uniform, legible in both themes).
HEATMAP_SCALE = pinned_scale("Viridis")
DIVERGING_SCALE = pinned_scale("RdBu_r")
#: The chromagram's scale: black (no energy in the pitch class) to light yellow.
CHROMA_SCALE = pinned_scale("Magma")

# One colour per shipped checkpoint, fixed so a model looks the same on every page (Okabe-Ito and Tableau).
_MODEL_COLOURS = {
    "mca": "#E69F00", "mca_uniform": "#F0E442", "dblstm_elm": "#009E73", "at": "#0072B2", "bat": "#D55E00",
    "chaki_lstm": "#CC79A7", "transformer": "#56B4E9", "damff": "#8c564b", "vggish": "#9467bd",
    "vggish_sa3": "#17becf", "vggish_arelu": "#bcbd22", "at_chroma": "#1b9e77", "at_cqt": "#d95f02",
    "at_chroma_cqt": "#7570b3", "at_spectral": "#e7298a", "at_compare6373": "#66a61e",
}
_SPARE = ("#a6761d", "#e6ab02", "#666666", "#1f78b4", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6")


def model_colour(key: str) -> str:
    """The colour of checkpoint ``key`` on every page (a stable pick from a spare palette for others)."""
    if key in _MODEL_COLOURS:
        return _MODEL_COLOURS[key]
    return _SPARE[int(hashlib.md5(key.encode()).hexdigest(), 16) % len(_SPARE)]


def time_axis_title() -> str:
    return "time (s)"


def value_axis_title(target: str, scale: str) -> str:
    lo, hi = scale_range(scale)
    return f"{target} ({lo:g} to {hi:g})"


#: Fixed side margins (px) of charts on a song's time axis, so stacked charts line their time axes up
#: whatever their tick labels, and colour bars fit in the right margin.
TIME_MARGINS = dict(l=90, r=120)


def _hex_rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*hex_to_rgb(colour))


def pin_colours(fig: go.Figure) -> go.Figure:
    """Write every colour scale of ``fig`` (its traces' and colour axes') as ``rgb()`` stops, so Streamlit's
    theme cannot replace any of their colours (see :func:`pinned_scale`)."""
    def pin(scale):
        if not scale:
            return scale
        return [[float(p), _hex_rgb(c) if isinstance(c, str) and _PLACEHOLDER.fullmatch(c) else c]
                for p, c in scale]

    for trace in fig.data:
        for part in (trace, getattr(trace, "marker", None)):
            if part is not None and "colorscale" in part and part.colorscale:
                part.colorscale = pin(part.colorscale)
    for name in [k for k in fig.layout if k.startswith("coloraxis")]:
        axis = fig.layout[name]
        if axis.colorscale:
            axis.colorscale = pin(axis.colorscale)
    return fig


def _x_axis_ids(fig: go.Figure) -> list[str]:
    """The plotly ids (``x``, ``x2``, ...) of the figure's x axes."""
    names = sorted((k for k in fig.layout if re.fullmatch(r"xaxis\d*", k)), key=lambda k: int(k[5:] or 1))
    return ["x" + k[5:] for k in names] or ["x"]


def _subplot_titles_on_top(fig: go.Figure) -> bool:
    """Whether a subplot title (an annotation over a subplot's top edge) sits in the top margin."""
    return any(a.yref == "paper" and a.yanchor == "bottom" and a.y is not None and a.y >= 0.98
               for a in fig.layout.annotations)


def finish(fig: go.Figure, *, title: str = "", height: int = 380, legend_below: bool = True,
           time_aligned: bool = False) -> go.Figure:
    """The shared layout: title, height, tight margins, legend under the chart, transparent background,
    colour scales pinned (:func:`pin_colours`), room above the plot for the top subplot's title.

    ``time_aligned`` gives the chart :data:`TIME_MARGINS` (and no automatic y margins), so charts of one song
    drawn one above the other have their time axes at the same place on the page, and lists its x axes in
    ``layout.meta["memo_time_axes"]``: the playhead (:mod:`dashboard.playhead`) seeks and draws its cursor
    on them.
    """
    sides = TIME_MARGINS if time_aligned else dict(l=10, r=10)
    top = (45 if title else 15) + (26 if _subplot_titles_on_top(fig) else 0)
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"), height=height,
        margin=dict(**sides, t=top, b=10),
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", hovermode="closest",
    )
    pin_colours(fig)
    if time_aligned:
        fig.update_yaxes(automargin=False, title_standoff=8)
        meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
        fig.update_layout(meta={**meta, "memo_time_axes": _x_axis_ids(fig)})
    if legend_below:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0.0))
    return fig
