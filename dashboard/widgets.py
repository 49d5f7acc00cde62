"""Small widgets the pages share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

__all__ = ["choice_slider"]


def choice_slider(label: str, options: Sequence[Any], *, key: str, format_func: Callable[[Any], str] = str,
                  container: Any = st, **kwargs: Any) -> Any:
    """``select_slider`` over ``options``, or the only option with a note when there is just one (a slider
    needs two ends: a song shorter than a second has one frame)."""
    options = list(options)
    if len(options) >= 2:
        if key in st.session_state and st.session_state[key] not in options:
            del st.session_state[key]  # a value from a longer song
        return container.select_slider(label, options=options, key=key, format_func=format_func, **kwargs)
    if not options:
        container.caption(f"{label}: nothing to choose.")
        return None
    container.caption(f"{label}: {format_func(options[0])} (the only one in this song)")
    return options[0]
