"""The playhead: click a chart on the song's time axis to play from there; a cursor follows the player.

:func:`playhead` puts a small marker and ``playhead.js`` on the page with ``st.html`` (scripts run in the
app's own page, no iframe, nothing downloaded). While the marker is on the page, the script finds the page's
audio player (the last ``st.audio`` before the marker) and every plotly chart drawn by ``st.plotly_chart``
whose x axis is the song's time axis: an axis listed in the figure's ``layout.meta["memo_time_axes"]``
(:func:`dashboard.plots.finish` lists every x axis of a ``time_aligned`` chart), else an axis titled
:func:`dashboard.plots.time_axis_title` and the axes matched to it (stacked subplots). Clicking inside such a
subplot seeks the player there and plays; a vertical cursor (``div.memo-cursor``) on every such subplot
follows the player while it plays. The charts stay ordinary ``st.plotly_chart`` charts (zoom, hover and
export work as before); the cursor is an overlay, so a rerun of the page never waits for it.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import streamlit as st

from dashboard.plots import time_axis_title

__all__ = ["playhead", "PLAYHEAD_HINT"]

#: What the marker says, under the player.
PLAYHEAD_HINT = ("Click any chart with a time axis to play from there; the pink line follows the player on every "
                 "time-aligned chart.")


#: What Streamlit's HTML sanitiser (DOMPurify, SAFE_FOR_XML) takes for markup inside a script: a script whose
#: text holds it (even in a comment, e.g. "<audio>") is removed whole, silently.
_MARKUP = re.compile(r"<[/\w!]")


@cache
def _script() -> str:
    """``playhead.js``; raises when it holds text the sanitiser would drop the script for (see :data:`_MARKUP`)."""
    text = (Path(__file__).resolve().with_name("playhead.js")).read_text(encoding="utf-8")
    found = _MARKUP.search(text)
    if found:
        raise ValueError(f"playhead.js holds {found.group()!r} at {found.start()}: Streamlit's sanitiser would drop "
                         "the script; write 'a < b' with spaces and no tags in comments")
    return text


def playhead(hint: str = PLAYHEAD_HINT, *, play_on_click: bool = True) -> None:
    """Draw the playhead's marker (a one-line hint) and install its script; call it right after ``st.audio``.

    Args:
        hint: the line shown (plain text).
        play_on_click: whether a click also starts a paused player (it always moves it).
    """
    st.html(f'<div class="memo-playhead" data-time-title="{html.escape(time_axis_title())}" '
            f'data-play="{str(play_on_click).lower()}" style="font-size:0.85rem;opacity:0.75">'
            f"{html.escape(hint)}</div><script>{_script()}</script>", unsafe_allow_javascript=True)
