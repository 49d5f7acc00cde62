"""Figures of the Compare page: held-out metrics of checkpoints and of a live run, as grouped bars."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.plots import finish, model_colour
from dashboard.resources import TARGETS, lower_is_better

__all__ = ["target_bars", "tagger_bars", "metric_axis_title"]

_PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")
#: Bars per group up to which each bar carries its value (more would overlap; hover shows them all).
_MAX_LABELLED = 6


def metric_axis_title(metric: str) -> str:
    """``"CCC (higher is better)"``: the metric with the direction to read it in."""
    return f"{metric} ({'lower' if lower_is_better(metric) else 'higher'} is better)"


def target_bars(frame: pd.DataFrame, metric: str, *, name: str = "checkpoint", colour: str | None = None,
                pattern: str | None = None, title: str = "", height: int = 380) -> go.Figure:
    """Valence and arousal side by side, one bar per row of ``frame`` in each group.

    Args:
        frame: one row per model with ``valence`` and ``arousal`` columns (the metric's values).
        metric: the metric's name, for the value axis.
        name: the column naming each bar (its legend entry).
        colour: the column whose value picks the bar's colour (:func:`model_colour`); default ``name``.
        pattern: a column whose distinct values get distinct bar patterns (e.g. the feature set).
    """
    fig = go.Figure()
    patterns = {v: _PATTERNS[i % len(_PATTERNS)] for i, v in enumerate(dict.fromkeys(frame[pattern]))} \
        if pattern else {}
    targets = [t for t in TARGETS if t in frame]
    labelled = len(frame) <= _MAX_LABELLED
    for _, row in frame.iterrows():
        label = str(row[name])
        values = [row[t] for t in targets]
        fig.add_trace(go.Bar(
            x=[t.capitalize() for t in targets], y=values, name=label,
            marker=dict(color=model_colour(str(row[colour or name])),
                        pattern=dict(shape=patterns.get(row[pattern], "")) if pattern else None),
            text=[f"{v:.2f}" if pd.notna(v) else "n/a" for v in values] if labelled else None,
            textposition="outside", cliponaxis=False,
            hovertemplate=f"{label}<br>%{{x}}: {metric} %{{y:.3f}}<extra></extra>",
        ))
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_xaxes(title_text="target")
    fig.update_yaxes(title_text=metric_axis_title(metric), zeroline=True)
    return finish(fig, title=title, height=height)


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
