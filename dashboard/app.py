"""MEMO dashboard: routing and the shared sidebar only (STYLE.md section 7).

Start with ``streamlit run dashboard/app.py``.
"""

import sys
from pathlib import Path

# `streamlit run` puts dashboard/ on sys.path, not the repository root that holds memo_core.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from dashboard import sidebar  # noqa: E402

st.set_page_config(page_title="MEMO: music emotion, explained", page_icon="🎵", layout="wide")

_PAGES = Path(__file__).resolve().parent / "app_pages"
navigation = st.navigation(
    {
        "Explore a song": [
            st.Page(_PAGES / "song.py", title="Song", icon="🎧", default=True),
            st.Page(_PAGES / "attention.py", title="Attention", icon="🔦"),
            st.Page(_PAGES / "multiscale.py", title="Multi-scale", icon="🪜"),
            st.Page(_PAGES / "damff.py", title="DAMFF", icon="🧩"),
            st.Page(_PAGES / "mood.py", title="Mood/theme", icon="🏷️"),
        ],
        "Compare and learn": [
            st.Page(_PAGES / "compare.py", title="Compare", icon="📊"),
            st.Page(_PAGES / "ab.py", title="A/B", icon="🆚"),
            st.Page(_PAGES / "lab.py", title="Emotion lab", icon="🧪"),
            st.Page(_PAGES / "corpus.py", title="Synthetic corpus", icon="🎼"),
            st.Page(_PAGES / "about.py", title="About", icon="📖"),
        ],
        "Collections": [
            st.Page(_PAGES / "library.py", title="Library", icon="📚"),
        ],
    }
)
sidebar.render()
navigation.run()
