"""Browse the synthetic emotion corpus: songs on the valence-arousal plane, one song's audio and curves."""

import streamlit as st

from dashboard import resources
from dashboard.plots import corpus as plots
from dashboard.resources import MIN_CELL_SONGS, MemoError

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
grid = resources.coverage_grid(table)
left, right = st.columns([1, 1])
with left:
    st.plotly_chart(plots.va_plane(table, grid, min_songs=MIN_CELL_SONGS), width="stretch", key="corpus_plane")
with right:
    st.dataframe(table, hide_index=True, height=460)
st.markdown(f"**Where the corpus is thin.** {resources.coverage_note(grid, min_songs=MIN_CELL_SONGS)}")
st.caption("Each point is one song's mean valence and arousal; the plane is cut into a 3 x 3 grid (thirds of each "
           f"axis) and cells with fewer than {MIN_CELL_SONGS} training songs are shaded. The models learn from "
           "the training songs (the test songs only score them), so a thin cell is music they have hardly heard.")
with st.expander("Songs per cell"):
    st.dataframe(grid, hide_index=True, width="stretch", key="corpus_coverage")

song_id = st.selectbox("Song", table["song"].tolist())
audio = resources.song_audio(str(root), song_id)
if audio is not None:
    st.audio(audio, format="audio/flac")
st.plotly_chart(plots.va_curves(resources.song_curves(str(root), song_id), title=f"Song {song_id}"),
                width="stretch")
