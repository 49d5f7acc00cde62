"""Figure builders: numpy/pandas in, plotly figures out. No Streamlit, no model code.

One module per page (``song``, ``attention``, ...); this module holds what they
share so every page looks alike: one colour per checkpoint across pages, one
colour per target, axis titles with units, and layouts that read in both the
light and the dark theme (transparent backgrounds; Streamlit's plotly theme
sets the fonts and grid colours).
"""

from __future__ import annotations

import hashlib

import plotly.graph_objects as go

from dashboard.resources import scale_range

__all__ = ["TARGET_COLOURS", "TRUTH_COLOUR", "model_colour", "finish", "time_axis_title", "value_axis_title",
           "HEATMAP_SCALE", "DIVERGING_SCALE", "TIME_MARGINS"]

#: Valence blue, arousal red, in every chart.
TARGET_COLOURS = {"valence": "#1f77b4", "arousal": "#d62728"}
#: The annotation (ground truth): a neutral grey that reads on white and on dark backgrounds.
TRUTH_COLOUR = "#7f7f7f"
#: Sequential scale for attention and spectrograms (perceptually uniform, legible in both themes).
HEATMAP_SCALE = "Viridis"
DIVERGING_SCALE = "RdBu_r"

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


def finish(fig: go.Figure, *, title: str = "", height: int = 380, legend_below: bool = True,
           time_aligned: bool = False) -> go.Figure:
    """The shared layout: title, height, tight margins, legend under the chart, transparent background.

    ``time_aligned`` gives the chart :data:`TIME_MARGINS` (and no automatic y margins), so charts of one song
    drawn one above the other have their time axes at the same place on the page.
    """
    sides = TIME_MARGINS if time_aligned else dict(l=10, r=10)
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left"), height=height,
        margin=dict(**sides, t=45 if title else 15, b=10),
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", hovermode="closest",
    )
    if time_aligned:
        fig.update_yaxes(automargin=False, title_standoff=8)
    if legend_below:
        fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0.0))
    return fig
