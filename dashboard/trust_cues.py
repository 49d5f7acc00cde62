"""What every page with a prediction says next to it: what the checkpoints learned from and how they scored on real
recordings (their manifest entries), and whether this song is like what they learned from (silence and
features outside the training songs', :mod:`memo_core.explain.familiarity`), with the bands the page shades on
its time axes (:func:`dashboard.plots.bands.add_bands`).

A page computes the song's :func:`familiarity` for the checkpoints it shows, shades its time-axis charts with
:func:`shade`, and calls :func:`show` beside the prediction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dashboard import resources
from dashboard.plots.bands import add_bands
from dashboard.resources import Familiarity, familiarity_notes, trained_on_brief, trust_brief
from dashboard.widgets import plain

__all__ = ["familiarity", "shade", "show", "LEARNED_FROM", "ON_REAL"]

#: The caption's two parts (tests look for them).
LEARNED_FROM = "Learned from"
ON_REAL = "On real recordings"
#: More models than this get their trust levels only (the figures of each would not be brief).
_MAX_FIGURES = 3


def familiarity(ctx: Any, keys: Iterable[str]) -> Familiarity:
    """The song of ``ctx`` (a :class:`dashboard.sidebar.SongContext`) against the training songs of ``keys``
    (those with a result for it)."""
    results = {k: ctx.analysis.results[k] for k in keys if k in ctx.analysis.results}
    return resources.song_familiarity(ctx.source.key, ctx.audio, results, getattr(ctx, "stored_entries", None))


def shade(fig: go.Figure, found: Familiarity | None) -> go.Figure:
    """Shade ``fig`` (a chart on the song's time axis) where the song is silent or outside what the models know."""
    if found is not None:
        add_bands(fig, silent=found.silent_spans, outside=found.outside_spans)
    return fig


def show(ctx: Any, keys: Iterable[str], found: Familiarity | None = None, *, figures: bool = True) -> None:
    """Beside a prediction of checkpoints ``keys``: one caption with what they learned from and (``figures``) how
    they scored on real recordings, then a warning for silence or unfamiliar features (or one line saying there
    is none). ``found``: the page's :func:`familiarity` (computed here when not given)."""
    keys = [k for k in keys if k in ctx.analysis.results]
    if not keys:
        return
    entries = {e["key"]: e for e in resources.loaded_entries()}
    learned: dict[str, list[str]] = {}
    for key in keys:
        learned.setdefault(trained_on_brief(entries.get(key, {"key": key})), []).append(key)
    parts = [f"**{LEARNED_FROM}**: " + "; ".join(
        plain(what) + (f" ({', '.join(ks)})" if len(learned) > 1 else "") for what, ks in learned.items()) + "."]
    if figures and len(keys) <= _MAX_FIGURES:
        parts.append(f"**{ON_REAL}**: " + "; ".join(f"{k} {plain(trust_brief(entries.get(k, {'key': k})))}"
                                                     for k in keys) + ".")
    elif figures:  # many models: their levels here, their figures on the Song page
        trusts = resources.trust()
        levels: dict[str, list[str]] = {}
        for key in keys:
            found_trust = trusts.get(key)
            levels.setdefault(f"{found_trust.badge} {found_trust.level}" if found_trust else "?", []).append(key)
        parts.append(f"**{ON_REAL}**: " + "; ".join(f"{level}: {', '.join(ks)}" for level, ks in levels.items())
                     + " (each model's figures: the Song page's *How far to trust these models on real music*).")
    st.caption("  \n".join(parts))
    found = found if found is not None else familiarity(ctx, keys)
    for level, text in familiarity_notes(found):
        if level == "warning":
            st.warning(text, icon="⚠️")
        else:
            st.caption("✓ " + text)
