"""Figures of the Song page: the song's signal views, valence/arousal over time, the path through the plane."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import (
    CHROMA_SCALE,
    HEATMAP_SCALE,
    TRUTH_COLOUR,
    finish,
    model_colour,
    time_axis_title,
    value_axis_title,
)
from dashboard.resources import QUADRANTS, SongView, scale_range, to_scale

__all__ = ["signal_views", "va_over_time", "va_path", "drawable", "mel_ticks", "add_time_marker"]


def mel_ticks(mel_hz: np.ndarray, n: int = 6) -> tuple[list[int], list[str]]:
    """Band indices and Hz labels for a mel axis drawn by band index (the mel scale stays evenly spaced)."""
    idx = np.unique(np.linspace(0, len(mel_hz) - 1, n).round().astype(int))
    return idx.tolist(), [f"{mel_hz[i]:.0f}" if mel_hz[i] < 1000 else f"{mel_hz[i] / 1000:.1f}k" for i in idx]


def signal_views(view: SongView, *, rows: Sequence[str] = ("waveform", "log-mel", "chroma"),
                 height: int = 520) -> go.Figure:
    """Waveform, log-mel and chromagram stacked on one shared time axis, each colour scale with its legend."""
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=[0.6 if r == "waveform" else 1.0 for r in rows])
    n = len(rows)
    for i, row in enumerate(rows, start=1):
        top = 1.0 - (i - 1) / n
        bar = dict(len=0.9 / n, y=top - 0.5 / n, yanchor="middle", thickness=12)
        if row == "waveform":
            t = view.wave_time_s
            fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]),
                                     y=np.concatenate([view.wave_high, view.wave_low[::-1]]),
                                     fill="toself", line=dict(width=0.5, color="#636efa"), name="waveform",
                                     hoverinfo="skip", showlegend=False), row=i, col=1)
            fig.update_yaxes(title_text="amplitude", range=[-1, 1], row=i, col=1)
        elif row == "log-mel":
            fig.add_trace(go.Heatmap(x=view.time_s, z=view.logmel_db, colorscale=HEATMAP_SCALE, zmin=-80, zmax=0,
                                     colorbar=dict(title=dict(text="dB"), **bar), name="log-mel",
                                     hovertemplate="%{x:.1f} s, band %{y}: %{z:.0f} dB<extra></extra>"),
                          row=i, col=1)
            ticks, labels = mel_ticks(view.mel_hz)
            fig.update_yaxes(title_text="mel band (Hz)", tickvals=ticks, ticktext=labels, row=i, col=1)
        elif row == "chroma":
            fig.add_trace(go.Heatmap(x=view.time_s, y=list(SongView.PITCH_CLASSES), z=view.chroma,
                                     colorscale=CHROMA_SCALE, zmin=0, zmax=1,
                                     colorbar=dict(title=dict(text="chroma"), **bar), name="chroma",
                                     hovertemplate="%{x:.1f} s, %{y}: %{z:.2f}<extra></extra>"), row=i, col=1)
            fig.update_yaxes(title_text="pitch class", row=i, col=1)
    fig.update_xaxes(title_text=time_axis_title(), range=[0, view.duration_s], row=n, col=1)
    return finish(fig, height=height, legend_below=False, time_aligned=True)


#: The band of the chosen models' spread (behind the model in focus): a plain grey fill, unlike the
#: annotation's hatched rater spread, and unlike any model's colour.
SPREAD_FILL = "rgba(128, 128, 128, 0.25)"
#: The song mean with its interval on the plane (purple: no valence/arousal model has it).
POSITION_COLOUR = "#9467bd"


def _band(fig, t, mean, std, colour, name, row, legendgroup, *, hatched: bool = False):
    """A band from ``mean - std`` to ``mean + std``; ``hatched``: grey diagonal hatching (the rater spread)."""
    style = (dict(fillcolor="rgba(127, 127, 127, 0.10)", line=dict(width=0.8, color=colour, dash="dot"),
                  fillpattern=dict(shape="/", fgcolor=colour, fgopacity=0.45, size=7, solidity=0.15))
             if hatched else dict(fillcolor=colour, opacity=0.18, line=dict(width=0)))
    fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([mean + std, (mean - std)[::-1]]),
                             fill="toself", name=name, hoverinfo="skip", legendgroup=legendgroup,
                             showlegend=row == 1, **style), row=row, col=1)


def _spread_band(fig, spread: pd.DataFrame, scale: str, name: str, row: int) -> None:
    t = spread["time_s"].to_numpy(float)
    lo, hi = to_scale(spread["lo"].to_numpy(float), scale), to_scale(spread["hi"].to_numpy(float), scale)
    fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([hi, lo[::-1]]), fill="toself",
                             fillcolor=SPREAD_FILL, line=dict(width=0), name=name, legendgroup="spread",
                             showlegend=row == 1, hoverinfo="skip"), row=row, col=1)


def va_over_time(truth: Mapping | None, predictions: Mapping[str, pd.DataFrame], targets: Sequence[str], *,
                 scale: str = "-1-1", duration_s: float | None = None, height: int | None = None,
                 marker_s: float | None = None, truth_label: str = "annotation (ground truth)",
                 focus: str | None = None, spread: Mapping[str, pd.DataFrame] | None = None,
                 spread_label: str = "spread of the chosen models (lowest to highest)") -> go.Figure:
    """Predicted against annotated valence/arousal, one row per target on one time axis.

    Args:
        truth: annotation curves (``time_s``, ``valence``, ``arousal``, ``*_std``) or ``None``.
        predictions: ``{checkpoint key: frame predictions (time_s, valence, arousal)}``.
        targets: the rows to draw.
        scale: the value scale shown (``"-1-1"``, ``"0-1"`` or ``"1-9"``); data are in [-1, 1].
        marker_s: a time to mark with a vertical line (the player's position).
        truth_label: the legend name of ``truth`` (the Emotion lab's is the designed trajectory).
        focus: a key of ``predictions`` to draw in focus: its curve solid and thick over ``spread``, the
            other models' curves hidden until their legend entry is clicked. None: every curve alike.
        spread: ``{target: model_spread table (time_s, lo, hi)}`` on [-1, 1], drawn as a band when ``focus``
            is given.
        spread_label: the band's legend name.
    """
    focus = focus if focus in predictions else None
    fig = make_subplots(rows=len(targets), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[t.capitalize() for t in targets])
    lo, hi = scale_range(scale)
    for row, target in enumerate(targets, start=1):
        if truth is not None and truth.get(target) is not None:
            t = np.asarray(truth["time_s"], float)
            mean = to_scale(np.asarray(truth[target], float), scale)
            std = truth.get(f"{target}_std")
            if std is not None:
                _band(fig, t, mean, to_scale(np.asarray(std, float), scale, spread=True), TRUTH_COLOUR,
                      "rater spread (±1 sd)", row, "truth", hatched=focus is not None)
            fig.add_trace(go.Scatter(x=t, y=mean, name=truth_label, legendgroup="truth",
                                     showlegend=row == 1, line=dict(color=TRUTH_COLOUR, width=3)), row=row, col=1)
        if focus is not None and spread is not None and spread.get(target) is not None and len(spread[target]):
            _spread_band(fig, spread[target], scale, spread_label, row)
        # the model in focus last, so it is drawn over the others
        for key, frame in sorted(predictions.items(), key=lambda item: item[0] == focus):
            if target not in frame:
                continue
            styled = (dict(line=dict(color=model_colour(key), width=1.8)) if focus is None else
                      dict(line=dict(color=model_colour(key), width=3.2), legendrank=1) if key == focus else
                      dict(line=dict(color=model_colour(key), width=1.2), visible="legendonly"))
            fig.add_trace(go.Scatter(x=frame["time_s"], y=to_scale(frame[target].to_numpy(float), scale), name=key,
                                     legendgroup=key, showlegend=row == 1, **styled,
                                     hovertemplate=f"{key}: %{{y:.2f}} at %{{x:.1f}} s<extra></extra>"),
                          row=row, col=1)
        fig.update_yaxes(title_text=value_axis_title(target, scale), range=[lo - 0.03 * (hi - lo),
                                                                             hi + 0.03 * (hi - lo)], row=row, col=1)
        if marker_s is not None:
            fig.add_vline(x=marker_s, line=dict(color="#888", dash="dot", width=1), row=row, col=1)
    fig.update_xaxes(title_text=time_axis_title(), row=len(targets), col=1)
    if duration_s:
        fig.update_xaxes(range=[0, duration_s])
    return finish(fig, height=height or 250 + 170 * len(targets), time_aligned=True)


def va_path(truth: Mapping | None, predictions: Mapping[str, pd.DataFrame], *, height: int = 520,
            truth_label: str = "annotation (ground truth)", focus: str | None = None,
            position: Mapping[str, tuple[float, float, float]] | None = None,
            position_label: str = "song mean (interval)") -> go.Figure:
    """The song's path through the valence-arousal plane (Russell's circumplex), quadrants labelled.

    Each path starts at a circle and ends at a triangle; hovering shows the time. With ``focus`` (a key of
    ``predictions``) only that model's path is drawn, over a faint cloud of the other models' frames (their
    paths can be shown from the legend). ``position``: ``{"valence": (mean, lo, hi), "arousal": (...)}`` on
    [-1, 1], drawn as a cross with the interval of the mean on each axis.
    """
    focus = focus if focus in predictions else None
    fig = go.Figure()
    for (v, a), words in QUADRANTS.items():
        fig.add_annotation(x=0.62 * v, y=0.93 * a, text=words, showarrow=False, font=dict(size=13, color="#888"))
    if focus is not None:
        others = [f for k, f in predictions.items() if k != focus and {"valence", "arousal"} <= set(f.columns)]
        if others:
            fig.add_trace(go.Scatter(x=np.concatenate([f["valence"].to_numpy(float) for f in others]),
                                     y=np.concatenate([f["arousal"].to_numpy(float) for f in others]), mode="markers",
                                     name=f"other models, every frame ({len(others)})", legendgroup="cloud",
                                     marker=dict(size=4, color="rgba(128, 128, 128, 0.28)"), hoverinfo="skip"))
    paths = []
    if truth is not None and truth.get("valence") is not None and truth.get("arousal") is not None:
        paths.append((truth_label, np.asarray(truth["time_s"]), np.asarray(truth["valence"]),
                      np.asarray(truth["arousal"]), TRUTH_COLOUR, 3, True))
    for key, frame in sorted(predictions.items(), key=lambda item: item[0] == focus):
        if {"valence", "arousal"} <= set(frame.columns):
            paths.append((key, frame["time_s"].to_numpy(), frame["valence"].to_numpy(), frame["arousal"].to_numpy(),
                          model_colour(key), 3.0 if key == focus else 1.6, focus is None or key == focus))
    for name, t, v, a, colour, width, shown in paths:
        visible = True if shown else "legendonly"
        fig.add_trace(go.Scatter(x=v, y=a, mode="lines", name=name, legendgroup=name, line=dict(color=colour,
                                 width=width), customdata=t, visible=visible,
                                 hovertemplate=f"{name}<br>%{{customdata:.1f}} s: valence %{{x:.2f}}, "
                                               f"arousal %{{y:.2f}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[v[0], v[-1]], y=[a[0], a[-1]], mode="markers", legendgroup=name, showlegend=False,
                                 marker=dict(symbol=["circle", "triangle-up"], size=11, color=colour),
                                 visible=visible, hovertemplate=f"{name}: start / end<extra></extra>"))
    if position and position.get("valence") and position.get("arousal"):
        (vm, vlo, vhi), (am, alo, ahi) = position["valence"], position["arousal"]
        if all(np.isfinite([vm, vlo, vhi, am, alo, ahi])):
            fig.add_trace(go.Scatter(x=[vm], y=[am], mode="markers", name=position_label,
                                     marker=dict(symbol="x-thin", size=14, line=dict(width=3, color=POSITION_COLOUR)),
                                     error_x=dict(type="data", symmetric=False, array=[vhi - vm],
                                                  arrayminus=[vm - vlo], color=POSITION_COLOUR, thickness=2, width=6),
                                     error_y=dict(type="data", symmetric=False, array=[ahi - am],
                                                  arrayminus=[am - alo], color=POSITION_COLOUR, thickness=2, width=6),
                                     hovertemplate=(f"{position_label}<br>valence %{{x:.2f}} [{vlo:.2f}, {vhi:.2f}]"
                                                    f"<br>arousal %{{y:.2f}} [{alo:.2f}, {ahi:.2f}]<extra></extra>")))
    fig.add_hline(y=0, line=dict(color="#999", width=1))
    fig.add_vline(x=0, line=dict(color="#999", width=1))
    fig.update_xaxes(title_text="valence (-1 to 1): unpleasant → pleasant", range=[-1.05, 1.05], zeroline=False,
                     constrain="domain")  # a square plane: the wide axis shrinks instead of showing -2 .. 2
    fig.update_yaxes(title_text="arousal (-1 to 1): calm → energetic", range=[-1.05, 1.05], zeroline=False,
                     scaleanchor="x", scaleratio=1)
    return finish(fig, height=height, legend_below=True)


def add_time_marker(fig: go.Figure, t: float) -> go.Figure:
    """A dotted vertical line at ``t`` seconds on every subplot (the player's position)."""
    fig.add_vline(x=t, line=dict(color="#888", dash="dot", width=1))
    return fig


def drawable(fig: go.Figure) -> go.Figure:
    """A valence-arousal plane made for drawing on: dragging traces a lasso (the path drawn), over a faint
    grid of points that the selection can report."""
    grid = np.linspace(-1.0, 1.0, 21)
    gv, ga = np.meshgrid(grid, grid)
    fig.add_trace(go.Scatter(x=gv.ravel(), y=ga.ravel(), mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(size=3, color="rgba(128,128,128,0.25)"), name="drawing grid"))
    fig.update_layout(dragmode="lasso", newselection=dict(line=dict(color="#d4009a", width=2)))
    return fig
