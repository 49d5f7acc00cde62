"""Figures of the DAMFF page: the spatial attention on the log-mel, the fusion gate and the channel attention beside
the chromagram on the song's time axis; one 500 ms step up close; the variants' spatial maps side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plots import (
    CHROMA_SCALE,
    DIVERGING_SCALE,
    HEATMAP_SCALE,
    finish,
    model_colour,
    time_axis_title,
)
from dashboard.plots.song import mel_ticks
from dashboard.resources import SongView, UnfoldedMap

__all__ = ["hz_label", "damff_maps", "step_zoom", "variants_spatial"]

#: The outline of the highest spatial attention on the log-mel: orange, legible on Viridis in both themes.
_CONTOUR = "#ff7f0e"
_CONTOUR_SCALE = [[0.0, _CONTOUR], [1.0, _CONTOUR]]


def hz_label(hz: float) -> str:
    return f"{hz:.0f}" if hz < 1000 else f"{hz / 1000:.1f}k"


def _row_ticks(row_hz: np.ndarray, n: int = 5) -> dict:
    idx = np.unique(np.linspace(0, len(row_hz) - 1, min(n, len(row_hz))).round().astype(int))
    return dict(tickvals=idx.tolist(), ticktext=[hz_label(row_hz[i]) for i in idx])


def _bar(row: int, n_rows: int, heights: Sequence[float]) -> dict:
    """A colorbar beside subplot ``row`` (1-based) of a stack with these relative heights."""
    total = float(sum(heights))
    top = 1.0 - sum(heights[: row - 1]) / total
    size = heights[row - 1] / total
    return dict(len=max(0.08, 0.9 * size), y=top - size / 2, yanchor="middle", thickness=12)


def damff_maps(view: SongView, *, spatial: UnfoldedMap | None, spatial_on_view: np.ndarray | None,
               gate: UnfoldedMap | None, gate_share: tuple[np.ndarray, np.ndarray] | None,
               channel: Mapping | None, key: str = "damff", marker_s: float | None = None,
               step_seconds: float = 0.5, top_share: float = 0.1) -> go.Figure:
    """DAMFF's maps stacked on the song's time axis (as the Song page's signal views).

    Rows, each where its map exists: the log-mel with the spatial attention's
    contours; the spatial attention (mel band x time); the fusion gate X'
    (share of branch A, 3x3); the mean share of A per step; the channel
    attention (channel x time); the chromagram.

    Args:
        view: the song's display views.
        spatial, gate: :func:`memo_core.explain.damff.unfold_damff` of the maps, or ``None``.
        spatial_on_view: each spatial row's position on the log-mel's band axis (nan: off the chart).
        gate_share: ``(step start times, share of A)``.
        channel: the ``channel_attention`` entry (``values`` [n_steps, n_channels], ``axes``).
        key: the checkpoint, named in hovers.
        marker_s: a time to mark (the zoomed step's start).
        top_share: the outline on the log-mel encloses this share of the spatial attention's positions (the highest).
    """
    rows = [("log-mel", 1.0)]
    if spatial is not None:
        rows.append(("spatial", 0.8))
    if gate is not None:
        rows.append(("gate", 0.8))
    if gate_share is not None:
        rows.append(("share", 0.45))
    if channel is not None:
        rows.append(("channel", 0.8))
    rows.append(("chroma", 0.7))
    heights = [h for _, h in rows]
    titles = {
        "log-mel": f"log-mel (dB); orange outlines: the top {top_share:.0%} of {key}'s spatial attention",
        "spatial": f"{key}: spatial attention sigmoid(S): where in time and frequency",
        "gate": f"{key}: fusion gate X' = sigmoid(S + C): share of branch A (3x3) against B (5x5)",
        "share": f"{key}: share of branch A, mean over the step",
        "channel": f"{key}: channel attention sigmoid(C): which feature channels",
        "chroma": "chromagram",
    }
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.035, row_heights=heights,
                        subplot_titles=[titles[name] for name, _ in rows])
    half = step_seconds / 2.0
    for i, (name, _) in enumerate(rows, start=1):
        bar = _bar(i, len(rows), heights)
        if name == "log-mel":
            fig.add_trace(go.Heatmap(x=view.time_s, z=view.logmel_db, colorscale=HEATMAP_SCALE, zmin=-80, zmax=0,
                                     colorbar=dict(title=dict(text="dB"), **bar), name="log-mel",
                                     hovertemplate="%{x:.2f} s, band %{y}: %{z:.0f} dB<extra></extra>"), row=i, col=1)
            if spatial is not None and spatial_on_view is not None:
                keep = np.isfinite(spatial_on_view)
                if keep.sum() >= 2:
                    level = float(np.quantile(spatial.values[keep], 1.0 - top_share))
                    fig.add_trace(go.Contour(x=spatial.time_s, y=spatial_on_view[keep], z=spatial.values[keep],
                                             contours=dict(coloring="lines", showlabels=False, start=level,
                                                           end=level, size=1.0), autocontour=False,
                                             colorscale=_CONTOUR_SCALE, line=dict(width=1.4, color=_CONTOUR),
                                             showscale=False, name="spatial attention (outline)", showlegend=False,
                                             hovertemplate="%{x:.2f} s: spatial attention %{z:.2f}<extra></extra>"),
                                  row=i, col=1)
            ticks, labels = mel_ticks(view.mel_hz)
            fig.update_yaxes(title_text="mel band (Hz)", tickvals=ticks, ticktext=labels,
                             range=[-0.5, len(view.mel_hz) - 0.5], row=i, col=1)
        elif name in ("spatial", "gate"):
            unfolded = spatial if name == "spatial" else gate
            if name == "spatial":  # its own range: sigmoid(S) rarely leaves the middle of [0, 1]
                scale, lo, hi, mid = HEATMAP_SCALE, float(np.min(unfolded.values)), float(np.max(unfolded.values)), None
            else:
                scale, lo, hi, mid = DIVERGING_SCALE, 0.0, 1.0, 0.5
            what = "spatial attention" if name == "spatial" else "share of A"
            fig.add_trace(go.Heatmap(x=unfolded.time_s, y=np.arange(len(unfolded.row_hz)), z=unfolded.values,
                                     colorscale=scale, zmin=lo, zmax=hi, zmid=mid, name=what,
                                     colorbar=dict(title=dict(text=what if name == "spatial" else "X' (A share)"),
                                                   **bar),
                                     customdata=np.repeat(unfolded.row_hz[:, None], unfolded.values.shape[1], 1),
                                     hovertemplate=f"%{{x:.2f}} s, ~%{{customdata:.0f}} Hz: {what} "
                                                   f"%{{z:.2f}}<extra></extra>"), row=i, col=1)
            fig.update_yaxes(title_text="mel band (Hz)", **_row_ticks(unfolded.row_hz), row=i, col=1)
        elif name == "share":
            t, share = gate_share
            fig.add_trace(go.Scatter(x=np.asarray(t) + half, y=share, mode="lines", name="share of branch A",
                                     showlegend=False,
                                     line=dict(color=model_colour(key), width=1.6),
                                     hovertemplate="%{x:.1f} s: A %{y:.2f}, B %{customdata:.2f}<extra></extra>",
                                     customdata=1.0 - np.asarray(share)), row=i, col=1)
            fig.add_hline(y=0.5, line=dict(color="#888", dash="dot", width=1), row=i, col=1)
            fig.update_yaxes(title_text="A share (0-1)", range=[0, 1], row=i, col=1)
        elif name == "channel":
            values = np.asarray(channel["values"], dtype=float)
            t = np.asarray(channel["axes"]["time_s"], dtype=float) + half
            fig.add_trace(go.Heatmap(x=t, y=np.arange(values.shape[1]), z=values.T, colorscale=HEATMAP_SCALE,
                                     zmin=0, zmax=1, name="channel attention",
                                     colorbar=dict(title=dict(text="channel attention"), **bar),
                                     hovertemplate="step at %{x:.2f} s, channel %{y}: %{z:.2f}<extra></extra>"),
                          row=i, col=1)
            fig.update_yaxes(title_text="channel", row=i, col=1)
        else:
            fig.add_trace(go.Heatmap(x=view.time_s, y=list(SongView.PITCH_CLASSES), z=view.chroma,
                                     colorscale=CHROMA_SCALE, zmin=0, zmax=1, colorbar=dict(title=dict(text="chroma"), **bar), name="chroma",
                                     hovertemplate="%{x:.1f} s, %{y}: %{z:.2f}<extra></extra>"), row=i, col=1)
            fig.update_yaxes(title_text="pitch class", row=i, col=1)
    if marker_s is not None:
        for i in range(1, len(rows) + 1):
            fig.add_vrect(x0=marker_s, x1=marker_s + step_seconds, line=dict(color="#e6550d", width=1.5),
                          fillcolor="rgba(0,0,0,0)", row=i, col=1)
    fig.update_xaxes(range=[0, view.duration_s])
    fig.update_xaxes(title_text=time_axis_title(), row=len(rows), col=1)
    fig.update_annotations(font_size=12, x=0.0, xanchor="left")
    return finish(fig, height=int(190 * sum(heights) + 120), legend_below=False, time_aligned=True)


def step_zoom(*, logmel_block: np.ndarray, block_time_s: np.ndarray, view_mel_hz: np.ndarray, step_start_s: float,
              row_hz: np.ndarray, step_time_s: np.ndarray, spatial: np.ndarray | None, gate: np.ndarray | None,
              spatial_range: tuple[float, float] = (0.0, 1.0), step_seconds: float = 0.5) -> go.Figure:
    """One 500 ms step: its log-mel, its spatial attention map and its fusion gate (mel band x time in the step).

    Args:
        logmel_block: the display log-mel's columns in the step. [shape=(n_mels, k)]
        block_time_s: their centres in the song. [shape=(k,)]
        row_hz: the maps' row frequencies. [shape=(n_rows,)]
        step_time_s: the maps' column starts within the step. [shape=(n_cols,)]
        spatial, gate: the step's maps [shape=(n_rows, n_cols)] or ``None``.
        spatial_range: the spatial attention's colour range (the song's, as on the song-long chart).
    """
    panels = [("log-mel of the step", "logmel")]
    if spatial is not None:
        panels.append(("spatial attention", "spatial"))
    if gate is not None:
        panels.append(("fusion gate (share of A)", "gate"))
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.14,
                        subplot_titles=[f"{title}, {step_start_s:.1f}-{step_start_s + step_seconds:.1f} s"
                                        for title, _ in panels])
    width = float(np.diff(step_time_s).mean()) if len(step_time_s) > 1 else step_seconds
    cols_ms = (np.asarray(step_time_s) + width / 2.0) * 1000.0
    for j, (_, name) in enumerate(panels, start=1):
        bar = dict(len=0.85, thickness=10)
        if name == "logmel":
            fig.add_trace(go.Heatmap(x=(np.asarray(block_time_s) - step_start_s) * 1000.0, z=logmel_block,
                                     colorscale=HEATMAP_SCALE, zmin=-80, zmax=0, name="log-mel",
                                     colorbar=dict(title=dict(text="dB"), **bar),
                                     hovertemplate="%{x:.0f} ms, band %{y}: %{z:.0f} dB<extra></extra>"), row=1, col=j)
            ticks, labels = mel_ticks(view_mel_hz)
            fig.update_yaxes(title_text="mel band (Hz)", tickvals=ticks, ticktext=labels, row=1, col=j)
        else:
            z = spatial if name == "spatial" else gate
            lo, hi = spatial_range if name == "spatial" else (0.0, 1.0)
            fig.add_trace(go.Heatmap(x=cols_ms, y=np.arange(len(row_hz)), z=z, zmin=lo, zmax=hi,
                                     colorscale=HEATMAP_SCALE if name == "spatial" else DIVERGING_SCALE,
                                     zmid=None if name == "spatial" else 0.5, name=name,
                                     colorbar=dict(title=dict(text="attention" if name == "spatial" else "X'"), **bar),
                                     customdata=np.repeat(np.asarray(row_hz)[:, None], len(cols_ms), 1),
                                     hovertemplate="%{x:.0f} ms, ~%{customdata:.0f} Hz: %{z:.2f}<extra></extra>"),
                          row=1, col=j)
            fig.update_yaxes(title_text="mel band (Hz)", **_row_ticks(np.asarray(row_hz)), row=1, col=j)
        fig.update_xaxes(title_text="time in the step (ms)", range=[0, step_seconds * 1000.0], row=1, col=j)
    for j in range(1, len(panels) + 1):  # each colorbar just right of its own panel
        right = fig.get_subplot(1, j).xaxis.domain[1]
        fig.data[j - 1].colorbar.x = right + 0.005
    fig.update_annotations(font_size=12)
    return finish(fig, height=360, legend_below=False)


def variants_spatial(maps: Mapping[str, UnfoldedMap | None], *, duration_s: float) -> go.Figure:
    """Each chosen DAMFF checkpoint's spatial attention, one row each on one time axis (a row says when it has none)."""
    keys = list(maps)
    fig = make_subplots(rows=len(keys), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[k if maps[k] is not None else f"{k}: no spatial attention (ablated)"
                                        for k in keys])
    for i, key in enumerate(keys, start=1):
        unfolded = maps[key]
        if unfolded is None:
            fig.add_trace(go.Scatter(x=[0, duration_s], y=[0, 0], mode="lines", line=dict(width=0), showlegend=False,
                                     hoverinfo="skip", name=key), row=i, col=1)
            fig.update_yaxes(visible=False, row=i, col=1)
            continue
        fig.add_trace(go.Heatmap(x=unfolded.time_s, y=np.arange(len(unfolded.row_hz)), z=unfolded.values,
                                 colorscale=HEATMAP_SCALE, zmin=0, zmax=1, name=key, showscale=i == 1,
                                 colorbar=dict(title=dict(text="spatial attention"), thickness=12),
                                 hovertemplate=f"{key}: %{{x:.2f}} s, row %{{y}}: %{{z:.2f}}<extra></extra>"),
                      row=i, col=1)
        fig.update_yaxes(title_text="mel band (Hz)", **_row_ticks(unfolded.row_hz), row=i, col=1)
    fig.update_xaxes(range=[0, duration_s])
    fig.update_xaxes(title_text=time_axis_title(), row=len(keys), col=1)
    fig.update_annotations(font_size=12, x=0.0, xanchor="left")
    return finish(fig, height=110 + 170 * len(keys), legend_below=False)
