"""MEMO dashboard: routing only (STYLE.md section 7). Start with ``streamlit run dashboard/app.py``."""

import sys
from pathlib import Path

# `streamlit run` puts dashboard/ on sys.path, not the repository root that holds memo_core.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

st.set_page_config(page_title="MEMO: music emotion, explained", page_icon="🎵", layout="wide")

_PAGES = Path(__file__).resolve().parent / "app_pages"
navigation = st.navigation(
    [
        st.Page(_PAGES / "corpus.py", title="Synthetic corpus", icon="🎼", default=True),
    ]
)
navigation.run()
