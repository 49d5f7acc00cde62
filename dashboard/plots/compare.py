"""Figures of the Compare page: held-out metrics of checkpoints and of a live run, as grouped bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.plots import finish, model_colour
from dashboard.resources import TARGETS, lower_is_better

__all__ = ["target_bars", "tagger_bars", "metric_axis_title", "add_baseline", "BASELINE_COLOUR"]

#: The linear baseline's dashed line: dark grey, legible on light and dark backgrounds.
BASELINE_COLOUR = "#555555"

_PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")
#: Bars per group up to which each bar carries its value (more would overlap; hover shows them all).
_MAX_LABELLED = 6


def metric_axis_title(metric: str) -> str:
    """``"CCC (higher is better)"``: the metric with the direction to read it in."""
    return f"{metric} ({'lower' if lower_is_better(metric) else 'higher'} is better)"


def target_bars(frame: pd.DataFrame, metric: str, *, name: str = "checkpoint", colour: str | None = None,
                pattern: str | None = None, title: str = "", height: int = 380, spread: str | None = None,
                baseline: Mapping[str, float] | None = None, baseline_label: str = "mlr (linear baseline)",
                ) -> go.Figure:
    """Valence and arousal side by side, one bar per row of ``frame`` in each group.

    Args:
        frame: one row per model with ``valence`` and ``arousal`` columns (the metric's values).
        metric: the metric's name, for the value axis.
        name: the column naming each bar (its legend entry).
        colour: the column whose value picks the bar's colour (:func:`model_colour`); default ``name``.
        pattern: a column whose distinct values get distinct bar patterns (e.g. the feature set).
        spread: error bars: ``"sd"`` (± the ``<target> sd`` column) or ``"range"`` (from ``<target> min`` to
            ``<target> max``); None: none.
        baseline: ``{target: value}`` of the linear baseline, drawn as a dashed line across each group (one
            legend entry, ``baseline_label``).
    """
    fig = go.Figure()
    patterns = {v: _PATTERNS[i % len(_PATTERNS)] for i, v in enumerate(dict.fromkeys(frame[pattern]))} \
        if pattern else {}
    targets = [t for t in TARGETS if t in frame]
    labelled = len(frame) <= _MAX_LABELLED
    for _, row in frame.iterrows():
        label = str(row[name])
        values = [row[t] for t in targets]
        error = None
        if spread == "sd" and all(f"{t} sd" in row for t in targets):
            error = dict(type="data", array=[row[f"{t} sd"] for t in targets], visible=True, thickness=1.5)
        elif spread == "range" and all(f"{t} min" in row and f"{t} max" in row for t in targets):
            error = dict(type="data", symmetric=False, visible=True, thickness=1.5,
                         array=[row[f"{t} max"] - row[t] for t in targets],
                         arrayminus=[row[t] - row[f"{t} min"] for t in targets])
        fig.add_trace(go.Bar(
            x=[t.capitalize() for t in targets], y=values, name=label,
            marker=dict(color=model_colour(str(row[colour or name])),
                        pattern=dict(shape=patterns.get(row[pattern], "")) if pattern else None),
            error_y=error,
            text=[f"{v:.2f}" if pd.notna(v) else "n/a" for v in values] if labelled and error is None else None,
            textposition="outside", cliponaxis=False,
            hovertemplate=f"{label}<br>%{{x}}: {metric} %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    if baseline:
        add_baseline(fig, baseline, targets, label=baseline_label)
    fig.update_xaxes(title_text="target")
    fig.update_yaxes(title_text=metric_axis_title(metric), zeroline=True)
    return finish(fig, title=title, height=height)


def add_baseline(fig: go.Figure, baseline: Mapping[str, float], targets: Sequence[str], *,
                 label: str = "mlr (linear baseline)") -> go.Figure:
    """A dashed line at the baseline's value across each target's group of bars, with one legend entry."""
    shown = False
    for i, target in enumerate(targets):
        value = baseline.get(target)
        if value is None or not pd.notna(value):
            continue
        fig.add_shape(type="line", xref="x", yref="y", x0=i - 0.46, x1=i + 0.46, y0=float(value), y1=float(value),
                      line=dict(color=BASELINE_COLOUR, width=2, dash="dash"), name=label, legendgroup="baseline",
                      showlegend=not shown)
        fig.add_annotation(x=i + 0.46, y=float(value), xref="x", yref="y", text=f"baseline {float(value):.2f}",
                           showarrow=False, xanchor="right", yanchor="bottom", font=dict(size=11,
                                                                                            color=BASELINE_COLOUR))
        shown = True
    return fig


def tagger_bars(frame: pd.DataFrame, metrics: Sequence[str] = ("ROC-AUC-macro", "PR-AUC-macro"), *,
                title: str = "", height: int = 340) -> go.Figure:
    """The taggers' macro ROC-AUC and PR-AUC, grouped by metric, one colour per checkpoint."""
    fig = go.Figure()
    for _, row in frame.iterrows():
        key = str(row["checkpoint"])
        values = [row[m] for m in metrics]
        fig.add_trace(go.Bar(x=list(metrics), y=values, name=key, marker=dict(color=model_colour(key)),
                             text=[f"{v:.2f}" if pd.notna(v) else "n/a" for v in values], textposition="outside",
                             cliponaxis=False,
                             hovertemplate=f"{key}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_xaxes(title_text="metric (macro over the tags)")
    fig.update_yaxes(title_text="area under the curve (higher is better)", range=[0, 1.05])
    return finish(fig, title=title, height=height)
