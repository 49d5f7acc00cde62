"""Small widgets the pages share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

__all__ = ["choice_slider", "settle_choice"]


def settle_choice(key: str, options: Sequence[Any], *, default: Any = None) -> Any:
    """The current value of widget ``key``: kept while it is one of ``options``, else ``default`` (the middle
    option when not given), e.g. after switching to a shorter song. Pages call it to draw a chart marker
    before the widget itself, which :func:`choice_slider` draws further down."""
    options = list(options)
    if options and st.session_state.get(key) not in options:
        st.session_state[key] = options[len(options) // 2] if default is None else default
    return st.session_state.get(key)


def choice_slider(label: str, options: Sequence[Any], *, key: str, format_func: Callable[[Any], str] = str,
                  container: Any = st, **kwargs: Any) -> Any:
    """``select_slider`` over ``options``, or the only option with a note when there is just one (a slider
    needs two ends: a song shorter than a second has one frame)."""
    options = list(options)
    if len(options) >= 2:
        settle_choice(key, options)
        return container.select_slider(label, options=options, key=key, format_func=format_func, **kwargs)
    if not options:
        container.caption(f"{label}: nothing to choose.")
        return None
    container.caption(f"{label}: {format_func(options[0])} (the only one in this song)")
    return options[0]
