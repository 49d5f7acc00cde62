"""Browse the synthetic emotion corpus: songs on the valence-arousal plane, one song's audio and curves."""

import streamlit as st

from dashboard import resources
from dashboard.plots import corpus as plots
from dashboard.resources import MemoError

st.title("Synthetic emotion corpus")
st.caption(
    "Music rendered from known valence/arousal trajectories with sampled General MIDI instruments: "
    "arousal drives tempo, note density, loudness, brightness, articulation and percussion; "
    "valence drives mode, consonance, register and roughness. Annotations simulate 2 Hz listener ratings."
)

root = resources.default_corpus_dir()
if not resources.corpus_is_ready(root):
    # the sidebar holds the one "Render the demo corpus" button (with its progress and errors)
    if resources.corpus_is_damaged(root):
        st.error(f"The corpus in `{root}` is incomplete (some of its audio or annotation files are missing). "
                 "Render it again with the button in the sidebar (a few minutes), or set MEMO_DATA_DIR to another "
                 "folder.")
    else:
        st.info(f"The demo corpus is not rendered yet. Render it with the button in the sidebar: it takes a few "
                f"minutes and is written to `{root}`.")
    st.stop()

try:
    table, summary = resources.corpus_table(str(root))
except MemoError as error:
    st.error(
        f"The corpus in `{root}` cannot be read: {error} "
        "Delete the folder and render the demo corpus again, or set MEMO_DATA_DIR to another folder."
    )
    st.stop()
st.text(summary)
left, right = st.columns([1, 1])
with left:
    st.plotly_chart(plots.va_plane(table), width="stretch")
with right:
    st.dataframe(table, hide_index=True, height=420)

song_id = st.selectbox("Song", table["song"].tolist())
audio = resources.song_audio(str(root), song_id)
if audio is not None:
    st.audio(audio, format="audio/flac")
st.plotly_chart(plots.va_curves(resources.song_curves(str(root), song_id), title=f"Song {song_id}"),
                width="stretch")
