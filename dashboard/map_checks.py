"""What a page says beside a map about whether the map matters: the deletion tests of
:mod:`memo_core.explain.faithfulness` on the current song and, when the checkpoint's manifest entry has them, on the
real validation clips. A map no better than random is said to be so, in a warning box next to it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import resources
from dashboard.resources import map_notes, scale_table

__all__ = ["show"]

_BOXES = {"warning": st.warning, "info": st.info}


def show(ctx: Any, checkpoint_key: str, name: str, *, label: str | None = None, table: bool = False) -> None:
    """Write the deletion test of map ``name`` of ``checkpoint_key`` (``ctx``: the page's song context).

    Args:
        label: put before each note (e.g. the checkpoint, when several maps are side by side).
        table: for a scale test, also a table of each scale's weight and the shift when it is dropped.
    """
    song = resources.faithfulness(ctx.source.key, checkpoint_key, ctx.audio, on_disk=ctx.source.kind != "upload")
    for level, text in map_notes(song, resources.validation_faithfulness(checkpoint_key), name):
        _BOXES.get(level, st.markdown)(f"**{label}** · {text}" if label else text)
    test = (song.get("maps") or {}).get(name) if isinstance(song, dict) else None
    if table and isinstance(test, dict) and test.get("kind") == "scales":
        st.table(pd.DataFrame(scale_table(test)).set_index("scale"))
