"""Export any figure: one HTML file with plotly.js inside (opens offline), or PNG where kaleido is installed.

MEMO downloads nothing to export: the HTML files carry plotly.js (about 4.6 MB) rather than pointing at a CDN, so
a class handout opens without a network; PNG needs plotly's static export (kaleido and its browser), which is
optional, and every chart's camera icon saves a PNG in the browser anyway.
"""

from __future__ import annotations

import html
import importlib.util

import plotly.graph_objects as go

__all__ = ["figure_html", "png_export_available", "figure_png"]


def figure_html(fig: go.Figure, *, title: str = "") -> bytes:
    """The figure as one HTML file with plotly.js inside it (about 4.6 MB): it opens offline, in any browser."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False},
                       default_width="100%", div_id=None).replace("<head>", f"<head><title>{html.escape(title)}</title>", 1
                                                                   ).encode("utf-8")


def png_export_available() -> bool:
    """Whether plotly's static export (kaleido) is installed; MEMO downloads nothing to get it."""
    return importlib.util.find_spec("kaleido") is not None


def figure_png(fig: go.Figure, *, width: int = 1400, height: int | None = None) -> bytes | None:
    """The figure as PNG through kaleido, or None where kaleido is not installed or cannot run here."""
    if not png_export_available():
        return None
    try:
        return fig.to_image(format="png", width=width, height=height or fig.layout.height or 500)
    except Exception:  # noqa: BLE001 - kaleido present but without its browser: no PNG, the HTML still works
        return None
